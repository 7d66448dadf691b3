#pragma once
/// Neural-network ops: the affine layer, activations and losses. Fused where stability or speed
/// asks for it (softmax + cross-entropy, sigmoid + binary cross-entropy, matmul + bias).
#include <cstdint>

#include <nabla/core/tensor.h>

namespace nabla {

/// x · weightᵀ + bias for x [..., in], weight [out, in], bias [out] (or undefined): the affine layer.
/// Backward: dX = dY·W, dW = dYᵀ·X, db = Σ dY.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});
/// relu(linear(x, weight, bias)) as one op: the bias and the ReLU are applied in one pass over the
/// GEMM's output, and backward masks the gradient in one pass before the affine layer's backward.
/// Same values and gradients as the two ops; nn::Sequential uses it for a Linear followed by a ReLU.
Tensor linear_relu(const Tensor& x, const Tensor& weight, const Tensor& bias = {});
/// x where x > 0, else slope * x.
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
/// x · Φ(x) with Φ the standard normal CDF (exact, as PyTorch's default GELU).
Tensor gelu(const Tensor& x);
/// The error function, elementwise.
Tensor erf(const Tensor& x);
/// The complementary error function 1 - erf(x), accurate where erf(x) is close to 1.
Tensor erfc(const Tensor& x);
/// x · sigmoid(x) (SiLU, also called swish).
Tensor silu(const Tensor& x);
/// x for x > 0, else alpha · (e^x - 1) (backward below 0: alpha · e^x).
Tensor elu(const Tensor& x, double alpha = 1.0);
/// log(1 + e^(beta·x)) / beta, and x itself where beta·x > threshold (as PyTorch, for stability);
/// backward: sigmoid(beta·x), or 1 above the threshold. beta must be non-zero.
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);
/// Inverted dropout: zeroes each element with probability p and scales the rest by 1/(1-p);
/// identity when !training or p == 0. The mask comes from the seeded generator.
Tensor dropout(const Tensor& x, double p, bool training = true);

/// How a loss combines per-sample values.
enum class Reduction { Mean, Sum, None };

/// Mean (or sum) of (input - target)^2, for continuous targets.
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
/// Binary cross-entropy on logits (sigmoid fused in, stable for large |x|): targets in [0, 1].
/// Backward: (sigmoid(x) - t) · g.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        Reduction reduction = Reduction::Mean);
/// Softmax cross-entropy of logits [N, C] against int64 class labels [N] (log-softmax fused in).
/// Backward: (softmax(x) - onehot(t)) / N, stable for large logits.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction = Reduction::Mean);
/// Negative log-likelihood of log-probabilities [N, C] against int64 labels [N].
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction = Reduction::Mean);
/// Hinge loss max(0, 1 - y·x) for scores x and labels y in {-1, +1}.
Tensor hinge_loss(const Tensor& scores, const Tensor& target, Reduction reduction = Reduction::Mean);

}  // namespace nabla
