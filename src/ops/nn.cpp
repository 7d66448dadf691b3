// Neural-network ops and losses. Primitives with hand-written backward only where fusing pays
// (linear, linear_relu, cross_entropy, binary_cross_entropy_with_logits, gelu, erf) or where the
// composed backward would meet 0 · inf (binary_cross_entropy, smooth_l1_loss); the rest are composed.
#include <nabla/ops/nn.h>

#include <cmath>

#include <nabla/autograd/grad_mode.h>
#include <nabla/ops/arithmetic.h>
#include <nabla/ops/linalg.h>
#include <nabla/ops/reduction.h>
#include <nabla/ops/shape.h>
#include <nabla/ops/unary.h>

#include "autograd/record.h"
#include "core/parallel.h"
#include "kernels/gemm.h"
#include "kernels/loops.h"
#include "kernels/reduce.h"
#include "ops/relu_backward.h"

namespace nabla {
using detail::BackwardContext;
using detail::record;
using Grads = std::vector<Tensor>;

namespace {
// A loss's reduction; the mean of no samples is refused here, naming the loss and the input shape.
Tensor reduce(const Tensor& per_sample, Reduction reduction, const char* op, const Tensor& input) {
  if (reduction == Reduction::Mean && per_sample.numel() == 0)
    throw Error(fmt::format("{}: mean over an empty input (shape {}); there is nothing to average", op,
                            input.shape_string()));
  switch (reduction) {
    case Reduction::Mean: return mean(per_sample);
    case Reduction::Sum: return sum(per_sample);
    case Reduction::None: return per_sample;
  }
  return per_sample;
}

constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
}  // namespace

namespace {
// relu(v), with NaN passing through as in relu().
template <class T>
T relu_value(T v) {
  return v > 0 || v != v ? v : T(0);
}

// The affine layer's forward: one GEMM over all leading dims (W read transposed in place), then one
// pass over the output adding the bias to each row and, when `with_relu`, applying the ReLU.
Tensor affine_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, bool with_relu, const char* op) {
  detail::check_floating(x, op);
  detail::check_floating(weight, op);
  detail::check_same_dtype(x, weight, op);
  if (weight.dim() != 2) throw Error(fmt::format("{}: weight must be 2-D [out, in], got shape {}", op, weight.shape_string()));
  if (x.dim() < 1 || x.shape().back() != weight.shape()[1])
    throw Error(fmt::format("{}: input of shape {} does not fit weight of shape {} (input's last dim must be {})", op,
                            x.shape_string(), weight.shape_string(), weight.shape()[1]));
  const std::int64_t out_features = weight.shape()[0], in_features = weight.shape()[1];
  if (bias.defined()) {
    detail::check_same_dtype(x, bias, op);
    if (bias.shape() != Shape{out_features})
      throw Error(fmt::format("{}: bias of shape {} does not fit weight of shape {} (expected [{}])", op, bias.shape_string(),
                              weight.shape_string(), out_features));
  }
  const Tensor xc = detail::dense(x), wc = detail::dense(weight);
  Shape out_shape = x.shape();
  out_shape.back() = out_features;
  Tensor out = detail::make_empty(out_shape, x.dtype());
  const std::int64_t rows = in_features == 0 ? x.numel() : x.numel() / std::max<std::int64_t>(in_features, 1);
  detail::dispatch_floating(x.dtype(), op, [&]<class T>() {
    T* o = out.data_ptr<T>();
    if (in_features == 0) std::fill(o, o + out.numel(), T(0));
    else if (out.numel() > 0)
      detail::gemm(detail::MatrixView<T>{xc.data_ptr<T>(), in_features, 1},
                   detail::MatrixView<T>{wc.data_ptr<T>(), 1, in_features}, o, rows, out_features, in_features);
    if (!bias.defined() && !with_relu) return;
    const Tensor bc = bias.defined() ? detail::dense(bias) : Tensor();
    const T* b = bias.defined() ? bc.data_ptr<T>() : nullptr;
    detail::parallel_for(rows, std::max<std::int64_t>(1, detail::kParallelGrain / std::max<std::int64_t>(out_features, 1)),
                         [&](std::int64_t r0, std::int64_t r1) {
                           for (std::int64_t r = r0; r < r1; ++r) {
                             T* row = o + r * out_features;
                             if (b != nullptr)
                               for (std::int64_t j = 0; j < out_features; ++j) row[j] += b[j];
                             if (with_relu)
                               for (std::int64_t j = 0; j < out_features; ++j) row[j] = relu_value(row[j]);
                           }
                         });
  });
  return out;
}

// The affine layer's backward from the gradient g of its (pre-activation) output, with x and W saved
// as saved(0) and saved(1): dX = dY·W, dW = dYᵀ·X, db = Σ dY over rows.
Grads affine_backward(const BackwardContext& c, const Tensor& g) {
  const Tensor x = c.saved(0), w = c.saved(1);
  const std::int64_t in = w.shape()[1], outf = w.shape()[0];
  Tensor gx, gw, gb;
  if (c.needs_grad(0)) gx = matmul(g, w);
  if (c.needs_grad(1) || c.needs_grad(2)) {
    const Tensor g2 = g.reshape({-1, outf});
    if (c.needs_grad(1)) gw = matmul(g2.t(), x.reshape({-1, in}));
    if (c.needs_grad(2)) gb = sum(g2, 0);
  }
  return {gx, gw, gb};
}
}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const Tensor out = affine_forward(x, weight, bias, false, "linear");
  return record("linear", out, {x, weight, bias}, {x, weight}, affine_backward);
}

Tensor linear_relu(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const Tensor out = affine_forward(x, weight, bias, true, "linear_relu");
  // The ReLU's mask comes from the output (positive where the pre-activation was), as relu() does.
  return record("linear_relu", out, {x, weight, bias}, {x, weight, out}, [](const BackwardContext& c, const Tensor& g) {
    return affine_backward(c, detail::relu_backward(g, c.saved(2).detach()));
  });
}

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  detail::check_floating(x, "leaky_relu");
  return where(gt(x, scalar_like(x, 0.0)), x, x * negative_slope);
}

namespace {
// erf'(x) = 2/sqrt(pi) e^{-x^2}, written with ops (so that second derivatives work); erfc' is its negative.
Tensor erf_slope(const Tensor& x) { return (2.0 * kInvSqrt2Pi * std::sqrt(2.0)) * exp(-(x * x)); }
}  // namespace

Tensor erf(const Tensor& x) {
  Tensor y = detail::unary_forward(x, "erf", [](auto v) { return std::erf(v); });
  return record("erf", y, {x}, {x}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    return {g * erf_slope(c.saved(0))};
  });
}

Tensor erfc(const Tensor& x) {
  Tensor y = detail::unary_forward(x, "erfc", [](auto v) { return std::erfc(v); });
  return record("erfc", y, {x}, {x}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    return {-g * erf_slope(c.saved(0))};
  });
}

Tensor silu(const Tensor& x) {
  Tensor y = detail::unary_forward(x, "silu", [](auto v) { return v / (decltype(v)(1) + std::exp(-v)); });
  // silu' = s (1 + x (1 - s)) with s = sigmoid(x).
  return record("silu", y, {x}, {x}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor x = c.saved(0);
    const Tensor s = sigmoid(x);
    return {g * s * (1.0 + x * (1.0 - s))};
  });
}

Tensor elu(const Tensor& x, double alpha) {
  detail::check_floating(x, "elu");
  if (!std::isfinite(alpha)) throw Error(fmt::format("elu: alpha must be finite, got {}", alpha));
  Tensor y = detail::unary_forward(x, "elu", [alpha](auto v) {
    using T = decltype(v);
    return v > T(0) ? v : static_cast<T>(alpha * std::expm1(double(v)));
  });
  return record("elu", y, {x}, {x}, [alpha](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor x = c.saved(0);
    // exp of min(x, 0): the branch not taken must stay finite, or its second derivative is 0 · inf.
    return {g * where(gt(x, scalar_like(x, 0.0)), scalar_like(x, 1.0), alpha * exp(clamp(x, -INFINITY, 0.0)))};
  });
}

Tensor softplus(const Tensor& x, double beta, double threshold) {
  detail::check_floating(x, "softplus");
  if (!(beta != 0.0) || !std::isfinite(beta))
    throw Error(fmt::format("softplus: beta must be finite and non-zero, got {}", beta));
  if (std::isnan(threshold)) throw Error("softplus: threshold is NaN");
  Tensor y = detail::unary_forward(x, "softplus", [beta, threshold](auto v) {
    using T = decltype(v);
    // beta·x in T, as the backward computes it: both then take the same branch at the threshold.
    const T bx = static_cast<T>(beta) * v;
    return bx > static_cast<T>(threshold) ? v : static_cast<T>(std::log1p(std::exp(double(bx))) / beta);
  });
  return record("softplus", y, {x}, {x}, [beta, threshold](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor bx = c.saved(0) * beta;
    return {g * where(gt(bx, scalar_like(bx, threshold)), scalar_like(bx, 1.0), sigmoid(bx))};
  });
}

Tensor log_sigmoid(const Tensor& x) {
  Tensor y = detail::unary_forward(x, "log_sigmoid", [](auto v) {
    using T = decltype(v);
    return static_cast<T>(std::min(double(v), 0.0) - std::log1p(std::exp(-std::fabs(double(v)))));
  });
  return record("log_sigmoid", y, {x}, {x}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    return {g * sigmoid(-c.saved(0))};
  });
}

namespace {
// g where lo < x < hi (strictly), else 0: the gradient of the clamping activations, PyTorch's at
// their ends. x is compared as is (not x shifted, which may round onto an end).
Tensor pass_strictly_inside(const Tensor& g, const Tensor& x, double lo, double hi) {
  const Tensor xd = x.detach();
  return where(mul(gt(xd, scalar_like(xd, lo)), lt(xd, scalar_like(xd, hi))), g, scalar_like(g, 0.0));
}
}  // namespace

Tensor hardtanh(const Tensor& x, double min_val, double max_val) {
  detail::check_floating(x, "hardtanh");
  if (!(min_val <= max_val))
    throw Error(fmt::format("hardtanh: min_val must be <= max_val, got {} and {}", min_val, max_val));
  Tensor y = detail::unary_forward(x, "hardtanh", [min_val, max_val](auto v) {
    using T = decltype(v);
    return v < T(min_val) ? T(min_val) : (v > T(max_val) ? T(max_val) : v);  // NaN stays NaN
  });
  return record("hardtanh", y, {x}, {x}, [min_val, max_val](const BackwardContext& c, const Tensor& g) -> Grads {
    return {pass_strictly_inside(g, c.saved(0), min_val, max_val)};
  });
}

Tensor relu6(const Tensor& x) {
  detail::check_floating(x, "relu6");
  return hardtanh(x, 0.0, 6.0);
}

Tensor hardsigmoid(const Tensor& x) {
  Tensor y = detail::unary_forward(x, "hardsigmoid", [](auto v) {
    using T = decltype(v);
    return v <= T(-3) ? T(0) : (v >= T(3) ? T(1) : (v + T(3)) / T(6));  // NaN stays NaN
  });
  // 1/6 strictly inside (-3, 3), as PyTorch; x itself is compared (x + 3 may round to 6 below 3).
  return record("hardsigmoid", y, {x}, {x}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    return {pass_strictly_inside(g / 6.0, c.saved(0), -3.0, 3.0)};
  });
}

Tensor hardswish(const Tensor& x) {
  Tensor y = detail::unary_forward(x, "hardswish", [](auto v) {
    using T = decltype(v);
    return v * std::min(std::max(v + T(3), T(0)), T(6)) / T(6);
  });
  // PyTorch's: 0 below -3, x / 3 + 1/2 on [-3, 3) (so -1/2 at -3), 1 from 3 on, NaN at NaN; its
  // own derivative 1/3 strictly inside (-3, 3) only (a constant -1/2 at -3 itself).
  return record("hardswish", y, {x}, {x}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor x = c.saved(0);
    const Tensor xd = x.detach();
    const Tensor middle = where(eq(xd, scalar_like(xd, -3.0)), scalar_like(x, -0.5), x / 3.0 + 0.5);
    const Tensor slope = where(lt(xd, scalar_like(xd, -3.0)), scalar_like(x, 0.0),
                               where(ge(xd, scalar_like(xd, 3.0)), scalar_like(x, 1.0), middle));
    return {g * slope};
  });
}

Tensor selu(const Tensor& x) {
  detail::check_floating(x, "selu");
  constexpr double kAlpha = 1.6732632423543772848170429916717;
  constexpr double kScale = 1.0507009873554804934193349852946;
  return elu(x, kAlpha) * kScale;
}

Tensor mish(const Tensor& x) {
  detail::check_floating(x, "mish");
  return x * tanh(softplus(x));
}

Tensor softsign(const Tensor& x) {
  detail::check_floating(x, "softsign");
  return x / (abs(x) + 1.0);
}

Tensor gelu(const Tensor& x) {
  detail::check_floating(x, "gelu");
  Tensor y = detail::dispatch_floating(x.dtype(), "gelu", [&]<class T>() {
    return detail::map_unary<T>(x, [](T v) { return static_cast<T>(0.5 * v * (1.0 + std::erf(v * kInvSqrt2))); });
  });
  // gelu' = Φ(x) + x φ(x), written with ops so that second derivatives work.
  return record("gelu", y, {x}, {x}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor x = c.saved(0);
    const Tensor cdf = 0.5 * (1.0 + erf(x * kInvSqrt2));
    const Tensor pdf = exp(-0.5 * (x * x)) * kInvSqrt2Pi;
    return {g * (cdf + x * pdf)};
  });
}

Tensor dropout(const Tensor& x, double p, bool training) {
  detail::check_floating(x, "dropout");
  if (!(p >= 0.0 && p <= 1.0)) throw Error(fmt::format("dropout: probability must be in [0, 1], got {}", p));
  if (!training || p == 0.0) return x;
  if (p == 1.0) return x * 0.0;
  const Tensor keep = lt(rand(x.shape(), x.dtype()), scalar_like(x, 1.0 - p)) * (1.0 / (1.0 - p));
  return x * keep;
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  if (!input.defined() || !target.defined())
    throw Error(fmt::format("mse_loss: got an undefined {}", input.defined() ? "target" : "input"));
  if (input.shape() != target.shape())
    throw Error(fmt::format("mse_loss: input shape {} and target shape {} differ", input.shape_string(), target.shape_string()));
  const Tensor diff = input - target;
  return reduce(diff * diff, reduction, "mse_loss", input);
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, Reduction reduction) {
  const char* op = "binary_cross_entropy_with_logits";
  detail::check_floating(logits, op);
  detail::check_floating(target, op);
  detail::check_same_dtype(logits, target, op);
  if (logits.shape() != target.shape())
    throw Error(fmt::format("{}: logits shape {} and target shape {} differ", op, logits.shape_string(), target.shape_string()));
  // Per element: max(x, 0) - x t + log(1 + e^{-|x|}), which never overflows.
  Tensor per = detail::dispatch_floating(logits.dtype(), op, [&]<class T>() {
    return detail::map_binary<T>(logits, target, logits.shape(), [](T x, T t) {
      return (x > 0 ? x : T(0)) - x * t + std::log1p(std::exp(-std::abs(x)));
    });
  });
  per = record(op, per, {logits, target}, {logits, target}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor x = c.saved(0), t = c.saved(1);
    return {c.needs_grad(0) ? g * (sigmoid(x) - t) : Tensor(), c.needs_grad(1) ? -g * x : Tensor()};
  });
  return reduce(per, reduction, op, logits);
}

namespace {
// cross_entropy's first-order backward in one pass: (p - onehot(labels)) · g · scale, with g one value
// (mean or sum) or one per row (no reduction). (With create_graph the same is composed of ops.)
Tensor softmax_minus_onehot_scaled(const Tensor& probs, const Tensor& labels, const Tensor& g, double scale) {
  const std::int64_t n = probs.shape()[0], classes = probs.shape()[1];
  const Tensor gc = detail::dense(g);
  Tensor out = detail::make_empty(probs.shape(), probs.dtype());
  detail::dispatch_floating(probs.dtype(), "cross_entropy", [&]<class T>() {
    const T* p = probs.data_ptr<T>();
    const T* gv = gc.data_ptr<T>();
    const auto* lab = labels.data_ptr<std::int64_t>();
    T* o = out.data_ptr<T>();
    const bool per_row = gc.numel() == n && gc.dim() == 1;
    for (std::int64_t r = 0; r < n; ++r) {
      // g times the scale in T, as the composed version's g * scale: the same bits.
      const T k = (per_row ? gv[r] : gv[0]) * static_cast<T>(scale);
      for (std::int64_t j = 0; j < classes; ++j) o[r * classes + j] = p[r * classes + j] * k;
      o[r * classes + lab[r]] = (p[r * classes + lab[r]] - T(1)) * k;
    }
  });
  return out;
}
}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction) {
  detail::check_floating(logits, "cross_entropy");
  if (logits.dim() != 2)
    throw Error(fmt::format("cross_entropy: logits must be [N, C], got shape {}", logits.shape_string()));
  if (!target.defined() || target.dtype() != kInt64 || target.shape() != Shape{logits.shape()[0]})
    throw Error(fmt::format("cross_entropy: target must be int64 of shape [{}] (one class per row), got {} {}",
                            logits.shape()[0], target.defined() ? dtype_name(target.dtype()) : "undefined",
                            target.defined() ? target.shape_string() : ""));
  const std::int64_t n = logits.shape()[0], classes = logits.shape()[1];
  if (reduction == Reduction::Mean && n == 0)
    throw Error(fmt::format("cross_entropy: mean over an empty batch (logits shape {})", logits.shape_string()));
  if (classes == 0 && n > 0)
    throw Error(fmt::format("cross_entropy: logits of shape {} have no classes", logits.shape_string()));
  const Tensor labels = detail::dense(target);
  const auto* lab = labels.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i)
    if (lab[i] < 0 || lab[i] >= classes)
      throw Error(fmt::format("cross_entropy: target {} at row {} is outside the classes 0..{}", lab[i], i, classes - 1));
  // One pass per row: log-softmax, the loss and (kept for backward) the softmax itself.
  const Tensor x = detail::dense(logits);
  Tensor probs = detail::make_empty(logits.shape(), logits.dtype());
  Tensor per = detail::make_empty({n}, logits.dtype());
  detail::dispatch_floating(logits.dtype(), "cross_entropy", [&]<class T>() {
    const T* px = x.data_ptr<T>();
    T* pp = probs.data_ptr<T>();
    T* pl = per.data_ptr<T>();
    detail::parallel_for(n, std::max<std::int64_t>(1, detail::kParallelGrain / std::max<std::int64_t>(classes, 1)),
                         [&](std::int64_t r0, std::int64_t r1) {
                           for (std::int64_t r = r0; r < r1; ++r) {
                             const T* row = px + r * classes;
                             T m = row[0];
                             for (std::int64_t j = 1; j < classes; ++j) m = std::max(m, row[j]);
                             T total = 0;
                             for (std::int64_t j = 0; j < classes; ++j) total += (pp[r * classes + j] = std::exp(row[j] - m));
                             const T inv = T(1) / total;
                             for (std::int64_t j = 0; j < classes; ++j) pp[r * classes + j] *= inv;
                             // log Σ e^(x_j - m) - (x_t - m): both terms stay small, so large logits
                             // (|x| ~ 1e4) lose no precision to m + log(total) - x_t cancelling.
                             pl[r] = std::log(total) - (row[lab[r]] - m);
                           }
                         });
  });
  const double scale = reduction == Reduction::Mean ? 1.0 / static_cast<double>(n) : 1.0;
  Tensor out = reduction == Reduction::None ? per
                                            : full({}, detail::dispatch_floating(per.dtype(), "cross_entropy", [&]<class T>() {
                                                return detail::sum_all_values<T>(per) * scale;
                                              }), logits.dtype());
  // Backward: (softmax - onehot) · g / N. The softmax is kept from forward; for second derivatives
  // it is recomputed from the logits so that it stays in the graph.
  return record("cross_entropy", out, {logits}, {logits, labels, probs},
                [scale, reduction, classes](const BackwardContext& c, const Tensor& g) -> Grads {
                  const Tensor labels = c.saved(1);
                  if (!is_grad_enabled()) return {softmax_minus_onehot_scaled(c.saved(2), labels, g, scale)};
                  const Tensor p = softmax(c.saved(0), 1);
                  const Tensor diff = p - one_hot(labels, classes, p.dtype());
                  if (reduction == Reduction::None) return {diff * g.unsqueeze(1)};
                  return {diff * (g * scale)};
                });
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction) {
  detail::check_floating(log_probs, "nll_loss");
  if (log_probs.dim() != 2)
    throw Error(fmt::format("nll_loss: log_probs must be [N, C], got shape {}", log_probs.shape_string()));
  if (!target.defined() || target.dtype() != kInt64 || target.shape() != Shape{log_probs.shape()[0]})
    throw Error(fmt::format("nll_loss: target must be int64 of shape [{}], got {} {}", log_probs.shape()[0],
                            target.defined() ? dtype_name(target.dtype()) : "undefined",
                            target.defined() ? target.shape_string() : ""));
  const std::int64_t classes = log_probs.shape()[1];
  if (classes == 0 && log_probs.shape()[0] > 0)
    throw Error(fmt::format("nll_loss: log_probs of shape {} have no classes", log_probs.shape_string()));
  const auto labels = target.to_vector<std::int64_t>();
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0 || labels[i] >= classes)
      throw Error(fmt::format("nll_loss: target {} at row {} is outside the classes 0..{}", labels[i], i, classes - 1));
  const Tensor picked = gather(log_probs, 1, target.reshape({-1, 1})).reshape({-1});
  return reduce(-picked, reduction, "nll_loss", log_probs);
}

Tensor hinge_loss(const Tensor& scores, const Tensor& target, Reduction reduction) {
  detail::check_floating(scores, "hinge_loss");
  if (!target.defined() || target.shape() != scores.shape())
    throw Error(fmt::format("hinge_loss: target shape {} must equal scores shape {}",
                            target.defined() ? target.shape_string() : "undefined", scores.shape_string()));
  for (double y : target.to_vector<double>())
    if (y != 1.0 && y != -1.0) throw Error(fmt::format("hinge_loss: labels must be -1 or +1, got {}", y));
  return reduce(relu(1.0 - target.to(scores.dtype()) * scores), reduction, "hinge_loss", scores);
}

namespace {
// The checks of a loss between an input and a target of the same shape and floating dtype.
void check_loss_operands(const Tensor& input, const Tensor& target, const char* op, const char* input_name) {
  if (!input.defined() || !target.defined())
    throw Error(fmt::format("{}: got an undefined {}", op, input.defined() ? "target" : input_name));
  detail::check_floating(input, op);
  detail::check_floating(target, op);
  detail::check_same_dtype(input, target, op);
  if (input.shape() != target.shape())
    throw Error(fmt::format("{}: {} shape {} and target shape {} differ", op, input_name, input.shape_string(),
                            target.shape_string()));
}

// 0.5 d² / beta where |d| < beta, else |d| - 0.5 beta (smooth_l1_loss), with PyTorch's gradient
// written out, d / beta or sign(d): composed of ops, the quadratic branch's backward would form
// 1 / beta, which overflows for a tiny beta (float32 below ~3e-39) and gives 0 · inf = NaN.
Tensor smooth_l1(const Tensor& d, double beta) {
  Tensor out;
  {
    NoGradGuard no_grad;
    const Tensor a = abs(d);
    out = where(lt(a, scalar_like(a, beta)), d * d * 0.5 / beta, a - 0.5 * beta);
  }
  return record("smooth_l1", out, {d}, {d}, [beta](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor d = c.saved(0);
    return {g * where(lt(abs(d.detach()), scalar_like(d, beta)), d / beta, sign(d))};
  });
}

// log(q), at least -100 (PyTorch's clamp in binary_cross_entropy), built so that no gradient of
// any order passes through the log where it is clamped (there log(q) may be -inf, and 0 · inf NaN).
Tensor clamped_log(const Tensor& q) {
  const Tensor keep = gt(log(q.detach()), scalar_like(q, -100.0));
  return where(keep, log(where(keep, q, scalar_like(q, 1.0))), scalar_like(q, -100.0));
}
}  // namespace

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_loss_operands(input, target, "l1_loss", "input");
  return reduce(abs(input - target), reduction, "l1_loss", input);
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction, double beta) {
  if (!(beta >= 0.0) || !std::isfinite(beta))
    throw Error(fmt::format("smooth_l1_loss: beta must be finite and >= 0, got {}", beta));
  check_loss_operands(input, target, "smooth_l1_loss", "input");
  // beta = 0 is the L1 loss; the quadratic branch would divide by 0 (and where's gradient through
  // the unused branch would meet 0 · inf).
  if (beta == 0.0) return reduce(abs(input - target), reduction, "smooth_l1_loss", input);
  return reduce(smooth_l1(input - target, beta), reduction, "smooth_l1_loss", input);
}

Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction reduction, double delta) {
  if (!(delta > 0.0) || !std::isfinite(delta))
    throw Error(fmt::format("huber_loss: delta must be finite and > 0, got {}", delta));
  check_loss_operands(input, target, "huber_loss", "input");
  // |d| == delta takes the linear branch, as PyTorch (|d| < delta is quadratic): value and slope
  // agree there, and the second derivative is 0 as PyTorch's.
  const Tensor d = input - target, a = abs(d);
  return reduce(where(lt(a, scalar_like(a, delta)), 0.5 * d * d, delta * (a - 0.5 * delta)), reduction, "huber_loss",
                input);
}

Tensor binary_cross_entropy(const Tensor& probs, const Tensor& target, Reduction reduction) {
  const char* op = "binary_cross_entropy";
  check_loss_operands(probs, target, op, "probs");
  detail::dispatch_floating(probs.dtype(), op, [&]<class T>() {  // read in place, not copied
    const Tensor p = detail::dense(probs);
    const T* v = p.data_ptr<T>();
    for (std::int64_t i = 0; i < p.numel(); ++i)
      if (!(v[i] >= T(0) && v[i] <= T(1)))
        throw Error(fmt::format("{}: probabilities must lie in [0, 1], got {} at flat index {} (on logits use "
                                "binary_cross_entropy_with_logits)", op, v[i], i));
  });
  // -(t log p + (1 - t) log(1 - p)), each log at least -100 (PyTorch's clamp): finite at p = 0 and 1.
  Tensor per = detail::dispatch_floating(probs.dtype(), op, [&]<class T>() {
    return detail::map_binary<T>(probs, target, probs.shape(), [](T p, T t) {
      const T log_p = std::max(std::log(p), T(-100)), log_q = std::max(std::log1p(-p), T(-100));
      return -(t * log_p + (T(1) - t) * log_q);
    });
  });
  per = record(op, per, {probs, target}, {probs, target}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor p = c.saved(0), t = c.saved(1);
    Tensor gp, gt;
    // PyTorch's: (p - t) / max(p (1 - p), 1e-12), finite at p = 0 and 1.
    if (c.needs_grad(0)) gp = g * (p - t) / maximum((1.0 - p) * p, scalar_like(p, 1e-12));
    // d/dt of the clamped loss: log(1 - p) - log(p), each clamped (finite at p = 0 and 1, where
    // PyTorch's is infinite).
    if (c.needs_grad(1)) gt = g * (clamped_log(1.0 - p) - clamped_log(p));
    return {gp, gt};
  });
  return reduce(per, reduction, op, probs);
}

Tensor kl_div(const Tensor& log_probs, const Tensor& target, Reduction reduction, bool log_target) {
  check_loss_operands(log_probs, target, "kl_div", "log_probs");
  if (log_target) return reduce(exp(target) * (target - log_probs), reduction, "kl_div", log_probs);
  // target log target is 0 at target = 0 (its limit); log is taken of 1 there, so that neither the
  // value nor any gradient meets 0 · -inf (the gradient in the target there is -input; PyTorch's is NaN).
  const Tensor positive = gt(target, scalar_like(target, 0.0));
  const Tensor log_t = log(where(positive, target, scalar_like(target, 1.0)));
  return reduce(target * (log_t - log_probs), reduction, "kl_div", log_probs);
}

}  // namespace nabla
