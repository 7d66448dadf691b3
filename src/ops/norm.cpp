// batch_norm and layer_norm: one fused kernel per pass, with hand-written backward. Under
// create_graph the backward is written with ops instead (recomputing the statistics from the saved
// input so they stay in the graph), which gives second derivatives.
#include <nabla/ops/conv.h>

#include <cmath>

#include <nabla/autograd/grad_mode.h>
#include <nabla/ops/arithmetic.h>
#include <nabla/ops/reduction.h>

#include "autograd/record.h"
#include "kernels/conv.h"
#include "kernels/loops.h"

namespace nabla {
using detail::BackwardContext;
using detail::record;
using Grads = std::vector<Tensor>;

namespace {

// x̂ and the input gradient of a normalisation over `dims` (count elements each), written with ops:
// gx = inv · (ĝ - mean(ĝ) - x̂ · mean(ĝ·x̂)), ĝ = g · w.
struct NormGrads {
  Tensor gx, xhat;
};
NormGrads norm_backward_ops(const Tensor& x, const Tensor& g, const Tensor& w_b, const Shape& dims, double count,
                            double eps, bool need_gx) {
  const Tensor mu = sum(x, dims, true) / count;
  const Tensor xc = x - mu;
  const Tensor inv = pow(sum(xc * xc, dims, true) / count + eps, -0.5);
  const Tensor xhat = xc * inv;
  if (!need_gx) return {Tensor(), xhat};
  const Tensor gh = w_b.defined() ? g * w_b : g;
  return {inv * (gh - sum(gh, dims, true) / count - xhat * (sum(gh * xhat, dims, true) / count)), xhat};
}

void check_param(const char* op, const char* what, const Tensor& t, const Tensor& x, const Shape& want) {
  if (!t.defined()) return;
  detail::check_floating(t, op);
  detail::check_same_dtype(x, t, op);
  if (t.shape() != want)
    throw Error(fmt::format("{}: {} of shape {} does not fit input of shape {} (expected {})", op, what, t.shape_string(),
                            x.shape_string(), shape_to_string(want)));
}

}  // namespace

Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  const char* op = "batch_norm";
  detail::check_floating(input, op);
  if (input.dim() < 2)
    throw Error(fmt::format("{}: input must be [N, C, ...] (at least 2-D), got shape {}", op, input.shape_string()));
  if (!(eps >= 0.0)) throw Error(fmt::format("{}: eps must be non-negative, got {}", op, eps));
  const std::int64_t n = input.shape()[0], c = input.shape()[1];
  const std::int64_t s = c * n == 0 ? 0 : input.numel() / (n * c);
  check_param(op, "weight", weight, input, {c});
  check_param(op, "bias", bias, input, {c});
  check_param(op, "running_mean", running_mean, input, {c});
  check_param(op, "running_var", running_var, input, {c});
  if (running_mean.defined() != running_var.defined())
    throw Error(fmt::format("{}: running_mean and running_var must both be given or both be undefined", op));
  if (!training && !running_mean.defined())
    throw Error(fmt::format("{}: evaluation mode needs running_mean and running_var (input {})", op, input.shape_string()));
  const std::int64_t count = n * s;
  if (training && count <= 1)
    throw Error(fmt::format("{}: expected more than 1 value per channel when training, got input of shape {}", op,
                            input.shape_string()));

  // Per-channel statistics: the batch's in training, the running ones in evaluation.
  Tensor mean = detail::make_empty({c}, input.dtype()), invstd = detail::make_empty({c}, input.dtype());
  const Tensor x = detail::dense(input);
  detail::dispatch_floating(input.dtype(), op, [&]<class T>() {
    T* pm = mean.data_ptr<T>();
    T* pi = invstd.data_ptr<T>();
    if (training) {
      Tensor var = detail::make_empty({c}, input.dtype());
      T* pv = var.data_ptr<T>();
      detail::batch_norm_stats<T>(n, c, s, x.data_ptr<T>(), pm, pv);
      for (std::int64_t ch = 0; ch < c; ++ch) pi[ch] = static_cast<T>(1.0 / std::sqrt(static_cast<double>(pv[ch]) + eps));
      if (running_mean.defined()) {
        NoGradGuard no_grad;
        const double unbias = static_cast<double>(count) / static_cast<double>(count - 1);
        Tensor rm = running_mean, rv = running_var;  // handles to the caller's buffers
        rm.mul_(1.0 - momentum).add_(mean.detach(), momentum);
        rv.mul_(1.0 - momentum).add_(var, momentum * unbias);
      }
    } else {
      const Tensor rm = detail::dense(running_mean.detach()), rv = detail::dense(running_var.detach());
      const T* prm = rm.data_ptr<T>();
      const T* prv = rv.data_ptr<T>();
      for (std::int64_t ch = 0; ch < c; ++ch) {
        pm[ch] = prm[ch];
        pi[ch] = static_cast<T>(1.0 / std::sqrt(static_cast<double>(prv[ch]) + eps));
      }
    }
  });
  Tensor y = detail::make_empty(input.shape(), input.dtype());
  const Tensor wc = weight.defined() ? detail::dense(weight) : Tensor(), bc = bias.defined() ? detail::dense(bias) : Tensor();
  detail::dispatch_floating(input.dtype(), op, [&]<class T>() {
    detail::batch_norm_apply<T>(n, c, s, x.data_ptr<T>(), mean.data_ptr<T>(), invstd.data_ptr<T>(),
                                wc.defined() ? wc.data_ptr<T>() : nullptr, bc.defined() ? bc.data_ptr<T>() : nullptr,
                                y.data_ptr<T>());
  });

  const bool has_w = weight.defined();
  Shape dims{0}, bshape(static_cast<std::size_t>(input.dim()), 1);
  for (std::int64_t d = 2; d < input.dim(); ++d) dims.push_back(d);
  bshape[1] = c;
  return record(op, y, {input, weight, bias}, {input, mean, invstd, weight},
                [training, has_w, dims, bshape, count, eps, n, c, s](const BackwardContext& ctx, const Tensor& g) -> Grads {
                  const Tensor x = ctx.saved(0), w = has_w ? ctx.saved(3) : Tensor();
                  Tensor gx, gw, gb;
                  if (!training) {
                    // Fixed statistics: an affine map per channel.
                    const Tensor inv = ctx.saved(2).reshape(bshape);
                    const Tensor scale = has_w ? inv * w.reshape(bshape) : inv;
                    if (ctx.needs_grad(0)) gx = g * scale;
                    if (ctx.needs_grad(1)) gw = sum(g * ((x - ctx.saved(1).reshape(bshape)) * inv), dims);
                    if (ctx.needs_grad(2)) gb = sum(g, dims);
                    return {gx, gw, gb};
                  }
                  if (is_grad_enabled()) {
                    const auto r = norm_backward_ops(x, g, has_w ? w.reshape(bshape) : Tensor(), dims,
                                                     static_cast<double>(count), eps, ctx.needs_grad(0));
                    if (ctx.needs_grad(1)) gw = sum(g * r.xhat, dims);
                    if (ctx.needs_grad(2)) gb = sum(g, dims);
                    return {r.gx, gw, gb};
                  }
                  const Tensor xc = detail::dense(x), gc = detail::dense(g), mean = ctx.saved(1), inv = ctx.saved(2);
                  const Tensor wc = has_w ? detail::dense(w) : Tensor();
                  if (ctx.needs_grad(0)) gx = detail::make_empty(x.shape(), x.dtype());
                  gw = detail::make_empty({c}, x.dtype());
                  gb = detail::make_empty({c}, x.dtype());
                  detail::dispatch_floating(x.dtype(), "batch_norm", [&]<class T>() {
                    detail::batch_norm_backward<T>(n, c, s, xc.data_ptr<T>(), mean.data_ptr<T>(), inv.data_ptr<T>(),
                                                   has_w ? wc.data_ptr<T>() : nullptr, gc.data_ptr<T>(),
                                                   gx.defined() ? gx.data_ptr<T>() : nullptr, gw.data_ptr<T>(),
                                                   gb.data_ptr<T>());
                  });
                  return {gx, ctx.needs_grad(1) ? gw : Tensor(), ctx.needs_grad(2) ? gb : Tensor()};
                });
}

Tensor layer_norm(const Tensor& input, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  const char* op = "layer_norm";
  detail::check_floating(input, op);
  const auto k = static_cast<std::int64_t>(normalized_shape.size());
  bool fits = k >= 1 && k <= input.dim();
  for (std::int64_t i = 0; fits && i < k; ++i) fits = input.shape()[input.dim() - k + i] == normalized_shape[i];
  if (!fits)
    throw Error(fmt::format("{}: normalized_shape {} must be non-empty and equal the trailing dims of the input's shape {}",
                            op, shape_to_string(normalized_shape), input.shape_string()));
  if (!(eps >= 0.0)) throw Error(fmt::format("{}: eps must be non-negative, got {}", op, eps));
  check_param(op, "weight", weight, input, normalized_shape);
  check_param(op, "bias", bias, input, normalized_shape);
  std::int64_t d = 1;
  for (auto v : normalized_shape) d *= v;
  const std::int64_t rows = d == 0 ? 0 : input.numel() / d;
  const Tensor x = detail::dense(input);
  const Tensor wc = weight.defined() ? detail::dense(weight) : Tensor(), bc = bias.defined() ? detail::dense(bias) : Tensor();
  Tensor y = detail::make_empty(input.shape(), input.dtype());
  Tensor mean = detail::make_empty({rows}, input.dtype()), invstd = detail::make_empty({rows}, input.dtype());
  if (d > 0)
    detail::dispatch_floating(input.dtype(), op, [&]<class T>() {
      detail::layer_norm_forward<T>(rows, d, x.data_ptr<T>(), wc.defined() ? wc.data_ptr<T>() : nullptr,
                                    bc.defined() ? bc.data_ptr<T>() : nullptr, eps, y.data_ptr<T>(), mean.data_ptr<T>(),
                                    invstd.data_ptr<T>());
    });
  const bool has_w = weight.defined();
  Shape dims, lead;
  for (std::int64_t i = input.dim() - k; i < input.dim(); ++i) dims.push_back(i);
  for (std::int64_t i = 0; i < input.dim() - k; ++i) lead.push_back(i);
  return record(op, y, {input, weight, bias}, {input, mean, invstd, weight},
                [has_w, dims, lead, rows, d, eps](const BackwardContext& ctx, const Tensor& g) -> Grads {
                  const Tensor x = ctx.saved(0), w = has_w ? ctx.saved(3) : Tensor();
                  Tensor gx, gw, gb;
                  if (is_grad_enabled()) {
                    const auto r = norm_backward_ops(x, g, w, dims, static_cast<double>(d), eps, ctx.needs_grad(0));
                    if (ctx.needs_grad(1)) gw = sum(g * r.xhat, lead);
                    if (ctx.needs_grad(2)) gb = sum(g, lead);
                    return {r.gx, gw, gb};
                  }
                  const Tensor xc = detail::dense(x), gc = detail::dense(g), mean = ctx.saved(1), inv = ctx.saved(2);
                  const Tensor wc = has_w ? detail::dense(w) : Tensor();
                  if (ctx.needs_grad(0)) gx = detail::make_empty(x.shape(), x.dtype());
                  if (ctx.needs_grad(1)) gw = detail::make_empty(w.shape(), x.dtype());
                  if (ctx.needs_grad(2)) gb = detail::make_empty(ctx.input_shape(2), x.dtype());
                  if (d > 0)
                    detail::dispatch_floating(x.dtype(), "layer_norm", [&]<class T>() {
                      detail::layer_norm_backward<T>(rows, d, xc.data_ptr<T>(), mean.data_ptr<T>(), inv.data_ptr<T>(),
                                                     has_w ? wc.data_ptr<T>() : nullptr, gc.data_ptr<T>(),
                                                     gx.defined() ? gx.data_ptr<T>() : nullptr,
                                                     gw.defined() ? gw.data_ptr<T>() : nullptr,
                                                     gb.defined() ? gb.data_ptr<T>() : nullptr);
                    });
                  return {gx, gw, gb};
                });
}

}  // namespace nabla
