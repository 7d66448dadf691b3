// conv2d and its two backward passes (each a differentiable op of its own, so create_graph gives
// second derivatives), and constant padding.
#include <nabla/ops/conv.h>

#include <nabla/autograd/grad_mode.h>
#include <nabla/ops/reduction.h>

#include "autograd/record.h"
#include "kernels/conv.h"
#include "kernels/loops.h"

namespace nabla {
using detail::BackwardContext;
using detail::record;
using Grads = std::vector<Tensor>;

namespace {

struct ConvParams {
  Size2 stride, padding, dilation;
  std::int64_t groups;
};

// Output size along one dim, or a negative number when the dilated kernel does not fit.
std::int64_t out_size(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t p, std::int64_t d) {
  const std::int64_t span = in + 2 * p - d * (k - 1) - 1;
  return span < 0 ? -1 : span / s + 1;
}

// Validates a convolution of input_shape [N, C, H, W] by weight_shape and returns its sizes.
detail::Conv2dGeometry conv_geometry(const char* op, const Shape& x, const Shape& w, const ConvParams& p) {
  const auto xs = shape_to_string(x), ws = shape_to_string(w);
  if (p.stride.h <= 0 || p.stride.w <= 0)
    throw Error(fmt::format("{}: stride must be positive, got ({}, {}) (input {}, weight {})", op, p.stride.h,
                            p.stride.w, xs, ws));
  if (p.dilation.h <= 0 || p.dilation.w <= 0)
    throw Error(fmt::format("{}: dilation must be positive, got ({}, {}) (input {}, weight {})", op, p.dilation.h,
                            p.dilation.w, xs, ws));
  if (p.padding.h < 0 || p.padding.w < 0)
    throw Error(fmt::format("{}: padding must be non-negative, got ({}, {}) (input {}, weight {})", op, p.padding.h,
                            p.padding.w, xs, ws));
  if (p.groups <= 0) throw Error(fmt::format("{}: groups must be positive, got {}", op, p.groups));
  if (x.size() != 4)
    throw Error(fmt::format("{}: input must be 4-D [N, C, H, W] (or 3-D [C, H, W]), got shape {}", op, xs));
  if (w.size() != 4)
    throw Error(fmt::format("{}: weight must be 4-D [out_channels, in_channels / groups, kH, kW], got shape {}", op, ws));
  if (x[1] % p.groups != 0)
    throw Error(fmt::format("{}: groups={} does not divide the input's {} channels (input {}, weight {})", op, p.groups,
                            x[1], xs, ws));
  if (w[0] % p.groups != 0)
    throw Error(fmt::format("{}: groups={} does not divide the weight's {} output channels (weight {})", op, p.groups,
                            w[0], ws));
  if (w[1] * p.groups != x[1])
    throw Error(fmt::format("{}: input of shape {} has {} channels, but weight of shape {} with groups={} expects {} "
                            "(weight.shape[1] * groups)",
                            op, xs, x[1], ws, p.groups, w[1] * p.groups));
  if (w[0] == 0 || w[2] <= 0 || w[3] <= 0)
    throw Error(fmt::format("{}: weight of shape {} has an empty kernel or no output channels", op, ws));
  detail::Conv2dGeometry g;
  g.n = x[0], g.c = x[1], g.h = x[2], g.w = x[3];
  g.oc = w[0], g.kh = w[2], g.kw = w[3];
  g.sh = p.stride.h, g.sw = p.stride.w, g.ph = p.padding.h, g.pw = p.padding.w;
  g.dh = p.dilation.h, g.dw = p.dilation.w, g.groups = p.groups;
  g.oh = out_size(g.h, g.kh, g.sh, g.ph, g.dh);
  g.ow = out_size(g.w, g.kw, g.sw, g.pw, g.dw);
  if (g.oh <= 0 || g.ow <= 0)
    throw Error(fmt::format("{}: kernel ({}, {}) with dilation ({}, {}) spans ({}, {}), larger than the padded input "
                            "({}, {}) (input {}, weight {}, padding ({}, {}))",
                            op, g.kh, g.kw, g.dh, g.dw, g.dh * (g.kh - 1) + 1, g.dw * (g.kw - 1) + 1, g.h + 2 * g.ph,
                            g.w + 2 * g.pw, xs, ws, g.ph, g.pw));
  return g;
}

Tensor conv_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p);
Tensor conv_input_grad(const Tensor& gy, const Tensor& w, const Shape& x_shape, const ConvParams& p);
Tensor conv_weight_grad(const Tensor& x, const Tensor& gy, const Shape& w_shape, const ConvParams& p);

void check_grad_shape(const char* op, const Tensor& gy, const detail::Conv2dGeometry& g) {
  const Shape want{g.n, g.oc, g.oh, g.ow};
  if (gy.shape() != want)
    throw Error(fmt::format("{}: grad_output of shape {} does not match the convolution's output shape {}", op,
                            gy.shape_string(), shape_to_string(want)));
}

// y = conv(x, w) + b. Backward: the two transposed relations below, fused into one kernel call when
// no graph of the gradient is wanted.
Tensor conv_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvParams& p) {
  const auto g = conv_geometry("conv2d", x.shape(), w.shape(), p);
  const Tensor xc = detail::dense(x), wc = detail::dense(w), bc = b.defined() ? detail::dense(b) : Tensor();
  Tensor y = detail::make_empty({g.n, g.oc, g.oh, g.ow}, x.dtype());
  detail::dispatch_floating(x.dtype(), "conv2d", [&]<class T>() {
    detail::conv2d_forward<T>(g, xc.data_ptr<T>(), wc.data_ptr<T>(), bc.defined() ? bc.data_ptr<T>() : nullptr,
                              y.data_ptr<T>());
  });
  return record("conv2d", y, {x, w, b}, {x, w}, [p](const BackwardContext& c, const Tensor& gy) -> Grads {
    const Tensor x = c.saved(0), w = c.saved(1);
    Tensor gx, gw, gb;
    if (is_grad_enabled()) {  // create_graph: every gradient an op of its own
      if (c.needs_grad(0)) gx = conv_input_grad(gy, w, x.shape(), p);
      if (c.needs_grad(1)) gw = conv_weight_grad(x, gy, w.shape(), p);
      if (c.needs_grad(2)) gb = sum(gy, Shape{0, 2, 3});
      return {gx, gw, gb};
    }
    const auto g = conv_geometry("conv2d", x.shape(), w.shape(), p);
    const Tensor xc = detail::dense(x), wc = detail::dense(w), gyc = detail::dense(gy);
    if (c.needs_grad(0)) gx = detail::make_empty(x.shape(), x.dtype());
    if (c.needs_grad(1)) gw = detail::make_empty(w.shape(), w.dtype());
    if (c.needs_grad(2)) gb = detail::make_empty({g.oc}, w.dtype());
    detail::dispatch_floating(x.dtype(), "conv2d", [&]<class T>() {
      detail::conv2d_backward<T>(g, xc.data_ptr<T>(), wc.data_ptr<T>(), gyc.data_ptr<T>(),
                                 gx.defined() ? gx.data_ptr<T>() : nullptr, gw.defined() ? gw.data_ptr<T>() : nullptr,
                                 gb.defined() ? gb.data_ptr<T>() : nullptr);
    });
    return {gx, gw, gb};
  });
}

// gx = Aᵀ(gy; w), linear in gy and in w. For an upstream h: ∂/∂gy = conv(h, w), ∂/∂w = weight_grad(h, gy).
Tensor conv_input_grad(const Tensor& gy, const Tensor& w, const Shape& x_shape, const ConvParams& p) {
  const auto g = conv_geometry("conv2d_input_grad", x_shape, w.shape(), p);
  check_grad_shape("conv2d_input_grad", gy, g);
  const Tensor gyc = detail::dense(gy), wc = detail::dense(w);
  Tensor gx = detail::make_empty(x_shape, gy.dtype());
  detail::dispatch_floating(gy.dtype(), "conv2d_input_grad", [&]<class T>() {
    detail::conv2d_backward<T>(g, nullptr, wc.data_ptr<T>(), gyc.data_ptr<T>(), gx.data_ptr<T>(), nullptr, nullptr);
  });
  return record("conv2d_input_grad", gx, {gy, w}, {gy, w}, [p](const BackwardContext& c, const Tensor& h) -> Grads {
    const Tensor gy = c.saved(0), w = c.saved(1);
    return {c.needs_grad(0) ? conv_forward(h, w, Tensor(), p) : Tensor(),
            c.needs_grad(1) ? conv_weight_grad(h, gy, w.shape(), p) : Tensor()};
  });
}

// gw = Σ gy ⊗ unfold(x), bilinear. For an upstream h: ∂/∂x = input_grad(gy, h), ∂/∂gy = conv(x, h).
Tensor conv_weight_grad(const Tensor& x, const Tensor& gy, const Shape& w_shape, const ConvParams& p) {
  const auto g = conv_geometry("conv2d_weight_grad", x.shape(), w_shape, p);
  check_grad_shape("conv2d_weight_grad", gy, g);
  const Tensor xc = detail::dense(x), gyc = detail::dense(gy);
  Tensor gw = detail::make_empty(w_shape, x.dtype());
  detail::dispatch_floating(x.dtype(), "conv2d_weight_grad", [&]<class T>() {
    detail::conv2d_backward<T>(g, xc.data_ptr<T>(), nullptr, gyc.data_ptr<T>(), nullptr, gw.data_ptr<T>(), nullptr);
  });
  return record("conv2d_weight_grad", gw, {x, gy}, {x, gy}, [p](const BackwardContext& c, const Tensor& h) -> Grads {
    const Tensor x = c.saved(0), gy = c.saved(1);
    return {c.needs_grad(0) ? conv_input_grad(gy, h, x.shape(), p) : Tensor(),
            c.needs_grad(1) ? conv_forward(x, h, Tensor(), p) : Tensor()};
  });
}

void check_inputs(const char* op, const Tensor& a, const Tensor& b) {
  detail::check_floating(a, op);
  detail::check_floating(b, op);
  detail::check_same_dtype(a, b, op);
}

}  // namespace

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, Size2 stride, Size2 padding,
              Size2 dilation, std::int64_t groups) {
  check_inputs("conv2d", input, weight);
  const ConvParams p{stride, padding, dilation, groups};
  if (bias.defined()) {
    detail::check_same_dtype(input, bias, "conv2d");
    if (weight.dim() >= 1 && bias.shape() != Shape{weight.shape()[0]})
      throw Error(fmt::format("conv2d: bias of shape {} does not fit weight of shape {} (expected [{}])",
                              bias.shape_string(), weight.shape_string(), weight.shape()[0]));
  }
  if (input.dim() == 3) {  // one unbatched sample
    conv_geometry("conv2d", input.unsqueeze(0).shape(), weight.shape(), p);
    return conv_forward(input.unsqueeze(0), weight, bias, p).squeeze(0);
  }
  return conv_forward(input, weight, bias, p);
}

Tensor conv2d_input_grad(const Tensor& grad_output, const Tensor& weight, const Shape& input_shape, Size2 stride,
                         Size2 padding, Size2 dilation, std::int64_t groups) {
  check_inputs("conv2d_input_grad", grad_output, weight);
  return conv_input_grad(grad_output, weight, input_shape, ConvParams{stride, padding, dilation, groups});
}

Tensor conv2d_weight_grad(const Tensor& input, const Tensor& grad_output, const Shape& weight_shape, Size2 stride,
                          Size2 padding, Size2 dilation, std::int64_t groups) {
  check_inputs("conv2d_weight_grad", input, grad_output);
  return conv_weight_grad(input, grad_output, weight_shape, ConvParams{stride, padding, dilation, groups});
}

Tensor pad(const Tensor& input, const std::vector<std::int64_t>& pads, double value) {
  if (!input.defined()) throw Error("pad: got an undefined tensor");
  if (pads.size() % 2 != 0 || static_cast<std::int64_t>(pads.size()) > 2 * input.dim())
    throw Error(fmt::format("pad: needs an even number of amounts, at most 2 per dim ({} for shape {}), got {}",
                            2 * input.dim(), input.shape_string(), shape_to_string(pads)));
  Shape out_shape = input.shape();
  for (std::size_t i = 0; i < pads.size() / 2; ++i) {
    const std::size_t d = out_shape.size() - 1 - i;
    out_shape[d] += pads[2 * i] + pads[2 * i + 1];
    if (out_shape[d] < 0)
      throw Error(fmt::format("pad: amounts {} leave dim {} of shape {} with negative size {}", shape_to_string(pads), d,
                              input.shape_string(), out_shape[d]));
  }
  Tensor out = full(out_shape, value, input.dtype());
  {
    NoGradGuard no_grad;
    Tensor dst = out, src = input;
    bool empty = false;
    for (std::size_t i = 0; i < pads.size() / 2; ++i) {
      const auto d = static_cast<std::int64_t>(input.dim()) - 1 - static_cast<std::int64_t>(i);
      const std::int64_t lo = pads[2 * i], hi = pads[2 * i + 1];
      const std::int64_t len = input.shape()[d] + std::min<std::int64_t>(lo, 0) + std::min<std::int64_t>(hi, 0);
      if (len <= 0) {
        empty = true;
        break;
      }
      dst = dst.narrow(d, std::max<std::int64_t>(lo, 0), len);
      src = src.narrow(d, std::max<std::int64_t>(-lo, 0), len);
    }
    if (!empty && src.numel() > 0) detail::copy_into(dst, src);
  }
  std::vector<std::int64_t> back(pads.size());
  for (std::size_t i = 0; i < pads.size(); ++i) back[i] = -pads[i];
  return record("pad", out, {input}, {}, [back](const BackwardContext&, const Tensor& g) -> Grads {
    return {pad(g, back, 0.0)};
  });
}

}  // namespace nabla
