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
/// log(sigmoid(x)), computed as min(x, 0) - log1p(e^-|x|) (no overflow); backward sigmoid(-x).
Tensor log_sigmoid(const Tensor& x);
/// x clamped to [min_val, max_val] with PyTorch's gradient: 1 strictly inside, 0 at and beyond the
/// ends (clamp passes it at the ends). min_val <= max_val.
Tensor hardtanh(const Tensor& x, double min_val = -1.0, double max_val = 1.0);
/// min(max(x, 0), 6) = hardtanh(x, 0, 6), as PyTorch's relu6 (gradient 0 at 0 and 6).
Tensor relu6(const Tensor& x);
/// relu6(x + 3) / 6 (gradient 1/6 strictly inside (-3, 3), comparing x itself), as torch's hardsigmoid.
Tensor hardsigmoid(const Tensor& x);
/// x · relu6(x + 3) / 6, with PyTorch's gradient: 0 below -3, x/3 + 1/2 on [-3, 3), 1 from 3 on.
Tensor hardswish(const Tensor& x);
/// scale · elu(x, alpha) with PyTorch's self-normalising constants (alpha 1.6732632423543772,
/// scale 1.0507009873554805).
Tensor selu(const Tensor& x);
/// x · tanh(softplus(x)) (Mish).
Tensor mish(const Tensor& x);
/// x / (1 + |x|).
Tensor softsign(const Tensor& x);
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
/// Mean (or sum) of |input - target|, for continuous targets (gradient sign(input - target): 0
/// where they are equal, as PyTorch).
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
/// Smooth L1, as torch.nn.functional.smooth_l1_loss: with d = input - target, 0.5 d² / beta where
/// |d| < beta, else |d| - 0.5 beta. beta >= 0; beta = 0 is l1_loss.
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
                      double beta = 1.0);
/// Huber loss, as torch.nn.functional.huber_loss: 0.5 d² where |d| < delta, else delta (|d| - 0.5
/// delta); delta > 0 (smooth_l1_loss with beta = delta, times delta).
Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean, double delta = 1.0);
/// Binary cross-entropy of probabilities p in [0, 1] (checked) against targets in [0, 1]:
/// -(t log p + (1 - t) log(1 - p)), each log clamped at -100 as PyTorch, so p = 0 or 1 gives a
/// finite loss; gradient (p - t) / max(p (1 - p), 1e-12), as PyTorch's. The gradient in the target
/// is that of the clamped loss, log(1 - p) - log(p) with each log clamped (±100 at p = 0 or 1,
/// where PyTorch's is ±inf). On logits prefer binary_cross_entropy_with_logits, which is stable
/// where sigmoid saturates.
Tensor binary_cross_entropy(const Tensor& probs, const Tensor& target, Reduction reduction = Reduction::Mean);
/// Kullback-Leibler divergence KL(target || input) per element, as torch.nn.functional.kl_div: the
/// input holds log-probabilities, the target probabilities (log-probabilities with log_target), and
/// each element is target (log target - input), 0 where target is 0 (there its gradient in the
/// target is -input; PyTorch's is NaN). Mean averages over every element, as PyTorch's "mean"; the
/// KL divergence per sample is Sum divided by the batch size.
Tensor kl_div(const Tensor& log_probs, const Tensor& target, Reduction reduction = Reduction::Mean,
              bool log_target = false);

}  // namespace nabla
