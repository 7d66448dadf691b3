// Pooling: max_pool2d (the max gate), avg_pool2d and adaptive_avg_pool2d. Each forward is one pass
// over the input; the backward passes are ops of their own so that create_graph works.
#include <nabla/ops/conv.h>

#include <memory>

#include <nabla/ops/shape.h>

#include "autograd/record.h"
#include "kernels/conv.h"
#include "kernels/loops.h"

namespace nabla {
using detail::BackwardContext;
using detail::record;
using Grads = std::vector<Tensor>;

namespace {

// Input [..., H, W] of rank 3 or 4: (planes, H, W).
struct Planes {
  std::int64_t planes, h, w;
};

Planes check_pool_input(const char* op, const Tensor& x) {
  detail::check_floating(x, op);
  if (x.dim() != 3 && x.dim() != 4)
    throw Error(fmt::format("{}: input must be 4-D [N, C, H, W] (or 3-D [C, H, W]), got shape {}", op, x.shape_string()));
  const std::int64_t h = x.shape()[x.dim() - 2], w = x.shape()[x.dim() - 1];
  return {h * w == 0 ? 0 : x.numel() / (h * w), h, w};
}

Shape pooled_shape(const Tensor& x, std::int64_t oh, std::int64_t ow) {
  Shape s = x.shape();
  s[s.size() - 2] = oh;
  s[s.size() - 1] = ow;
  return s;
}

struct PoolSizes {
  std::int64_t oh, ow;
};

// Checks kernel, stride, padding and dilation of a windowed pool and returns the output size.
PoolSizes check_windows(const char* op, const Tensor& x, Size2 k, Size2 s, Size2 p, Size2 d) {
  const auto xs = x.shape_string();
  if (k.h <= 0 || k.w <= 0)
    throw Error(fmt::format("{}: kernel_size must be positive, got ({}, {}) (input {})", op, k.h, k.w, xs));
  if (s.h <= 0 || s.w <= 0)
    throw Error(fmt::format("{}: stride must be positive, got ({}, {}) (input {})", op, s.h, s.w, xs));
  if (d.h <= 0 || d.w <= 0)
    throw Error(fmt::format("{}: dilation must be positive, got ({}, {}) (input {})", op, d.h, d.w, xs));
  if (p.h < 0 || p.w < 0 || 2 * p.h > k.h || 2 * p.w > k.w)
    throw Error(fmt::format("{}: padding ({}, {}) must be non-negative and at most half the kernel ({}, {}) (input {})",
                            op, p.h, p.w, k.h, k.w, xs));
  const std::int64_t h = x.shape()[x.dim() - 2], w = x.shape()[x.dim() - 1];
  const std::int64_t span_h = h + 2 * p.h - d.h * (k.h - 1) - 1, span_w = w + 2 * p.w - d.w * (k.w - 1) - 1;
  if (span_h < 0 || span_w < 0)
    throw Error(fmt::format("{}: kernel ({}, {}) (dilation ({}, {})) is larger than the padded input ({}, {}) (input {}, "
                            "padding ({}, {}))",
                            op, k.h, k.w, d.h, d.w, h + 2 * p.h, w + 2 * p.w, xs, p.h, p.w));
  return {span_h / s.h + 1, span_w / s.w + 1};
}

// ---- max pooling ----

Tensor max_pool_backward(const Tensor& gy, const Tensor& idx, const Shape& x_shape);

// gx = the upstream gradient put back at each window's arg-max (linear in gy; its adjoint is gather).
Tensor max_pool_backward(const Tensor& gy, const Tensor& idx, const Shape& x_shape) {
  const std::int64_t h = x_shape[x_shape.size() - 2], w = x_shape[x_shape.size() - 1];
  const std::int64_t ohw = idx.shape()[idx.dim() - 2] * idx.shape()[idx.dim() - 1];
  const std::int64_t planes = h * w == 0 ? 0 : detail::checked_numel(x_shape, "max_pool2d") / (h * w);
  const Tensor gyc = detail::dense(gy);
  Tensor gx = detail::make_empty(x_shape, gy.dtype());
  detail::dispatch_floating(gy.dtype(), "max_pool2d_backward", [&]<class T>() {
    detail::max_pool2d_backward<T>(planes, h * w, ohw, gyc.data_ptr<T>(), idx.data_ptr<std::int64_t>(),
                                   gx.data_ptr<T>());
  });
  return record("max_pool2d_backward", gx, {gy}, {idx},
                [planes, h, w, ohw](const BackwardContext& c, const Tensor& hg) -> Grads {
                  // d/d gy of Σ hg · scatter(gy) = hg gathered at the arg-max of every window.
                  const Tensor idx = c.saved(0);
                  const Tensor flat = hg.reshape({planes, h * w});
                  return {gather(flat, 1, idx.reshape({planes, ohw})).reshape(idx.shape())};
                });
}

Tensor linear_pool(const Tensor& x, const std::shared_ptr<const detail::PoolWindows>& pw, const char* op);
Tensor linear_pool_adjoint(const Tensor& gy, const std::shared_ptr<const detail::PoolWindows>& pw,
                           const Shape& x_shape, const char* op);

// y = A x for the averaging map A of the windows; backward Aᵀ, whose own backward is A again.
Tensor linear_pool(const Tensor& x, const std::shared_ptr<const detail::PoolWindows>& pw, const char* op) {
  const std::int64_t hw = pw->h * pw->w;
  const std::int64_t planes = hw == 0 ? 0 : x.numel() / hw;
  const Tensor xc = detail::dense(x);
  Tensor y = detail::make_empty(pooled_shape(x, pw->oh, pw->ow), x.dtype());
  detail::dispatch_floating(x.dtype(), op, [&]<class T>() {
    detail::avg_pool2d_forward<T>(*pw, planes, xc.data_ptr<T>(), y.data_ptr<T>());
  });
  return record(op, y, {x}, {}, [pw, op](const BackwardContext& c, const Tensor& g) -> Grads {
    return {linear_pool_adjoint(g, pw, c.input_shape(0), op)};
  });
}

Tensor linear_pool_adjoint(const Tensor& gy, const std::shared_ptr<const detail::PoolWindows>& pw,
                           const Shape& x_shape, const char* op) {
  const std::int64_t hw = pw->h * pw->w;
  const std::int64_t planes = hw == 0 ? 0 : detail::checked_numel(x_shape, op) / hw;
  const Tensor gyc = detail::dense(gy);
  Tensor gx = detail::make_empty(x_shape, gy.dtype());
  detail::dispatch_floating(gy.dtype(), op, [&]<class T>() {
    detail::avg_pool2d_backward<T>(*pw, planes, gyc.data_ptr<T>(), gx.data_ptr<T>());
  });
  return record("avg_pool2d_backward", gx, {gy}, {}, [pw, op](const BackwardContext&, const Tensor& h) -> Grads {
    return {linear_pool(h, pw, op)};
  });
}

}  // namespace

Tensor max_pool2d(const Tensor& input, Size2 kernel_size, std::optional<Size2> stride, Size2 padding, Size2 dilation) {
  const char* op = "max_pool2d";
  const Planes pl = check_pool_input(op, input);
  const Size2 s = stride.value_or(kernel_size);
  // Not a structured binding: the lambda below captures oh and ow, which clang < 16 refuses for bindings.
  const auto windows = check_windows(op, input, kernel_size, s, padding, dilation);
  const std::int64_t oh = windows.oh, ow = windows.ow;
  const Tensor xc = detail::dense(input);
  const Shape out_shape = pooled_shape(input, oh, ow);
  Tensor y = detail::make_empty(out_shape, input.dtype());
  Tensor idx = detail::make_empty(out_shape, kInt64);
  detail::dispatch_floating(input.dtype(), op, [&]<class T>() {
    detail::max_pool2d_forward<T>(pl.planes, pl.h, pl.w, oh, ow, kernel_size.h, kernel_size.w, s.h, s.w, padding.h,
                                  padding.w, dilation.h, dilation.w, xc.data_ptr<T>(), y.data_ptr<T>(),
                                  idx.data_ptr<std::int64_t>());
  });
  // Only the arg-max indices are kept for backward, not the input.
  return record(op, y, {input}, {idx}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    return {max_pool_backward(g, c.saved(0), c.input_shape(0))};
  });
}

Tensor avg_pool2d(const Tensor& input, Size2 kernel_size, std::optional<Size2> stride, Size2 padding,
                  bool count_include_pad) {
  const char* op = "avg_pool2d";
  const Planes pl = check_pool_input(op, input);
  const Size2 s = stride.value_or(kernel_size);
  const auto [oh, ow] = check_windows(op, input, kernel_size, s, padding, Size2(1));
  auto pw = std::make_shared<detail::PoolWindows>();
  pw->h = pl.h, pw->w = pl.w, pw->oh = oh, pw->ow = ow;
  // As PyTorch: the window may reach at most `padding` past the input; its size with that padding
  // is the divisor when count_include_pad, else the size of its part inside the input.
  auto fill = [&](std::int64_t out, std::int64_t in, std::int64_t k, std::int64_t st, std::int64_t p,
                  std::vector<std::int64_t>& lo, std::vector<std::int64_t>& hi, std::vector<double>& div) {
    for (std::int64_t i = 0; i < out; ++i) {
      const std::int64_t start = i * st - p, end = std::min(start + k, in + p);
      const std::int64_t a = std::max<std::int64_t>(start, 0), b = std::min(end, in);
      lo.push_back(a);
      hi.push_back(b);
      div.push_back(static_cast<double>(count_include_pad ? end - start : b - a));
    }
  };
  fill(oh, pl.h, kernel_size.h, s.h, padding.h, pw->h0, pw->h1, pw->hdiv);
  fill(ow, pl.w, kernel_size.w, s.w, padding.w, pw->w0, pw->w1, pw->wdiv);
  return linear_pool(input, pw, op);
}

Tensor adaptive_avg_pool2d(const Tensor& input, Size2 output_size) {
  const char* op = "adaptive_avg_pool2d";
  const Planes pl = check_pool_input(op, input);
  if (output_size.h <= 0 || output_size.w <= 0)
    throw Error(fmt::format("{}: output_size must be positive, got ({}, {}) (input {})", op, output_size.h,
                            output_size.w, input.shape_string()));
  if (pl.h <= 0 || pl.w <= 0)
    throw Error(fmt::format("{}: input of shape {} has an empty plane", op, input.shape_string()));
  auto pw = std::make_shared<detail::PoolWindows>();
  pw->h = pl.h, pw->w = pl.w, pw->oh = output_size.h, pw->ow = output_size.w;
  auto fill = [](std::int64_t out, std::int64_t in, std::vector<std::int64_t>& lo, std::vector<std::int64_t>& hi,
                 std::vector<double>& div) {
    for (std::int64_t i = 0; i < out; ++i) {
      const std::int64_t a = i * in / out, b = ((i + 1) * in + out - 1) / out;
      lo.push_back(a);
      hi.push_back(b);
      div.push_back(static_cast<double>(b - a));
    }
  };
  fill(output_size.h, pl.h, pw->h0, pw->h1, pw->hdiv);
  fill(output_size.w, pl.w, pw->w0, pw->w1, pw->wdiv);
  return linear_pool(input, pw, op);
}

}  // namespace nabla
