// Elementwise unary ops and activations: forward kernel and local gradient side by side.
// Where the derivative is cheaper from the output (exp, tanh, sigmoid, sqrt, relu), the output is
// saved instead of the input.
#include <nabla/ops/unary.h>

#include <cmath>
#include <numbers>

#include <nabla/ops/arithmetic.h>

#include "autograd/record.h"
#include "ops/relu_backward.h"
#include "kernels/loops.h"

namespace nabla {
using detail::BackwardContext;
using detail::record;
using Grads = std::vector<Tensor>;

using detail::unary_forward;

Tensor exp(const Tensor& x) {
  Tensor y = unary_forward(x, "exp", [](auto v) { return std::exp(v); });
  return record("exp", y, {x}, {y}, [](const BackwardContext& c, const Tensor& g) -> Grads { return {g * c.saved(0)}; });
}

Tensor log(const Tensor& x) {
  Tensor y = unary_forward(x, "log", [](auto v) { return std::log(v); });
  return record("log", y, {x}, {x}, [](const BackwardContext& c, const Tensor& g) -> Grads { return {g / c.saved(0)}; });
}

Tensor sqrt(const Tensor& x) {
  Tensor y = unary_forward(x, "sqrt", [](auto v) { return std::sqrt(v); });
  // sqrt' = 1 / (2 sqrt x): the output is all backward needs.
  return record("sqrt", y, {x}, {y}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    return {g / (2.0 * c.saved(0))};
  });
}

Tensor abs(const Tensor& x) {
  Tensor y = unary_forward(x, "abs", [](auto v) { return std::abs(v); });
  return record("abs", y, {x}, {x}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    return {g * sign(c.saved(0))};
  });
}

Tensor sin(const Tensor& x) {
  Tensor y = unary_forward(x, "sin", [](auto v) { return std::sin(v); });
  return record("sin", y, {x}, {x}, [](const BackwardContext& c, const Tensor& g) -> Grads { return {g * cos(c.saved(0))}; });
}

Tensor cos(const Tensor& x) {
  Tensor y = unary_forward(x, "cos", [](auto v) { return std::cos(v); });
  return record("cos", y, {x}, {x}, [](const BackwardContext& c, const Tensor& g) -> Grads { return {-g * sin(c.saved(0))}; });
}

Tensor tanh(const Tensor& x) {
  Tensor y = unary_forward(x, "tanh", [](auto v) { return std::tanh(v); });
  // tanh' = 1 - y*y, so the input is not kept.
  return record("tanh", y, {x}, {y}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor y = c.saved(0);
    return {g * (1.0 - y * y)};
  });
}

Tensor sigmoid(const Tensor& x) {
  Tensor y = unary_forward(x, "sigmoid", [](auto v) {
    using T = decltype(v);
    // Two branches keep exp from overflowing for large |v|.
    return v >= 0 ? T(1) / (T(1) + std::exp(-v)) : std::exp(v) / (T(1) + std::exp(v));
  });
  return record("sigmoid", y, {x}, {y}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor y = c.saved(0);
    return {g * y * (1.0 - y)};
  });
}

namespace detail {
Tensor relu_backward(const Tensor& g, const Tensor& y) {
  Tensor out = detail::dispatch_floating(g.dtype(), "relu_backward", [&]<class T>() {
    return detail::map_binary<T>(g, y, g.shape(), [](T gv, T yv) { return yv > 0 ? gv : T(0); });
  });
  return record("relu_backward", out, {g}, {y}, [](const BackwardContext& c, const Tensor& gg) -> Grads {
    return {relu_backward(gg, c.saved(0))};
  });
}
}  // namespace detail

Tensor relu(const Tensor& x) {
  // NaN passes through (v != v), as in PyTorch, instead of becoming 0.
  Tensor y = unary_forward(x, "relu", [](auto v) { return v > 0 || v != v ? v : decltype(v)(0); });
  // The gradient passes where the output is positive; at 0 it is 0, as in PyTorch.
  return record("relu", y, {x}, {y}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    return {detail::relu_backward(g, c.saved(0).detach())};
  });
}

Tensor clamp(const Tensor& x, double lo, double hi) {
  if (std::isnan(lo) || std::isnan(hi) || lo > hi)
    throw Error(fmt::format("clamp: need min <= max, got min={} max={}", lo, hi));
  Tensor y = unary_forward(x, "clamp", [lo, hi](auto v) {
    using T = decltype(v);
    return v < T(lo) ? T(lo) : (v > T(hi) ? T(hi) : v);
  });
  return record("clamp", y, {x}, {x}, [lo, hi](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor x = c.saved(0);
    return {g * ge(x, scalar_like(x, lo)) * le(x, scalar_like(x, hi))};
  });
}

Tensor tan(const Tensor& x) {
  Tensor y = unary_forward(x, "tan", [](auto v) { return std::tan(v); });
  return record("tan", y, {x}, {y}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor y = c.saved(0);
    return {g * (1.0 + y * y)};
  });
}

Tensor asin(const Tensor& x) {
  Tensor y = unary_forward(x, "asin", [](auto v) { return std::asin(v); });
  // (1 - x)(1 + x) rather than 1 - x², which loses digits near ±1.
  return record("asin", y, {x}, {x}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor x = c.saved(0);
    return {g / sqrt((1.0 - x) * (1.0 + x))};
  });
}

Tensor acos(const Tensor& x) {
  Tensor y = unary_forward(x, "acos", [](auto v) { return std::acos(v); });
  return record("acos", y, {x}, {x}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor x = c.saved(0);
    return {-g / sqrt((1.0 - x) * (1.0 + x))};
  });
}

Tensor atan(const Tensor& x) {
  Tensor y = unary_forward(x, "atan", [](auto v) { return std::atan(v); });
  return record("atan", y, {x}, {x}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor x = c.saved(0);
    return {g / (1.0 + x * x)};
  });
}

Tensor sinh(const Tensor& x) {
  Tensor y = unary_forward(x, "sinh", [](auto v) { return std::sinh(v); });
  return record("sinh", y, {x}, {x}, [](const BackwardContext& c, const Tensor& g) -> Grads { return {g * cosh(c.saved(0))}; });
}

Tensor cosh(const Tensor& x) {
  Tensor y = unary_forward(x, "cosh", [](auto v) { return std::cosh(v); });
  return record("cosh", y, {x}, {x}, [](const BackwardContext& c, const Tensor& g) -> Grads { return {g * sinh(c.saved(0))}; });
}

Tensor asinh(const Tensor& x) {
  Tensor y = unary_forward(x, "asinh", [](auto v) { return std::asinh(v); });
  return record("asinh", y, {x}, {x}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor x = c.saved(0);
    return {g / sqrt(x * x + 1.0)};
  });
}

Tensor acosh(const Tensor& x) {
  Tensor y = unary_forward(x, "acosh", [](auto v) { return std::acosh(v); });
  return record("acosh", y, {x}, {x}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor x = c.saved(0);
    return {g / sqrt((x - 1.0) * (x + 1.0))};  // finite below -1 too, as PyTorch's
  });
}

Tensor atanh(const Tensor& x) {
  Tensor y = unary_forward(x, "atanh", [](auto v) { return std::atanh(v); });
  return record("atanh", y, {x}, {x}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor x = c.saved(0);
    return {g / ((1.0 - x) * (1.0 + x))};
  });
}

Tensor log1p(const Tensor& x) {
  Tensor y = unary_forward(x, "log1p", [](auto v) { return std::log1p(v); });
  return record("log1p", y, {x}, {x}, [](const BackwardContext& c, const Tensor& g) -> Grads { return {g / (1.0 + c.saved(0))}; });
}

Tensor expm1(const Tensor& x) {
  Tensor y = unary_forward(x, "expm1", [](auto v) { return std::expm1(v); });
  return record("expm1", y, {x}, {y}, [](const BackwardContext& c, const Tensor& g) -> Grads { return {g * (c.saved(0) + 1.0)}; });
}

Tensor log2(const Tensor& x) {
  Tensor y = unary_forward(x, "log2", [](auto v) { return std::log2(v); });
  return record("log2", y, {x}, {x}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    return {g / (c.saved(0) * std::numbers::ln2)};
  });
}

Tensor log10(const Tensor& x) {
  Tensor y = unary_forward(x, "log10", [](auto v) { return std::log10(v); });
  return record("log10", y, {x}, {x}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    return {g / (c.saved(0) * std::numbers::ln10)};
  });
}

Tensor reciprocal(const Tensor& x) {
  Tensor y = unary_forward(x, "reciprocal", [](auto v) { return decltype(v)(1) / v; });
  return record("reciprocal", y, {x}, {y}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor y = c.saved(0);
    return {-g * y * y};
  });
}

Tensor rsqrt(const Tensor& x) {
  Tensor y = unary_forward(x, "rsqrt", [](auto v) { return decltype(v)(1) / std::sqrt(v); });
  return record("rsqrt", y, {x}, {y}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor y = c.saved(0);
    return {-0.5 * g * y * y * y};
  });
}

Tensor square(const Tensor& x) {
  Tensor y = unary_forward(x, "square", [](auto v) { return v * v; });
  return record("square", y, {x}, {x}, [](const BackwardContext& c, const Tensor& g) -> Grads { return {2.0 * g * c.saved(0)}; });
}

Tensor exp2(const Tensor& x) {
  Tensor y = unary_forward(x, "exp2", [](auto v) { return std::exp2(v); });
  return record("exp2", y, {x}, {y}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    return {g * c.saved(0) * std::numbers::ln2};
  });
}

Tensor cbrt(const Tensor& x) {
  Tensor y = unary_forward(x, "cbrt", [](auto v) { return std::cbrt(v); });
  return record("cbrt", y, {x}, {y}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor y = c.saved(0);
    return {g / (3.0 * y * y)};
  });
}

namespace {
// A rounding function: recorded (so that backward through it works), with gradient 0.
template <class F>
Tensor rounding(const Tensor& x, const char* op, F f) {
  Tensor y = unary_forward(x, op, f);
  return record(op, y, {x}, {}, [](const BackwardContext&, const Tensor& g) -> Grads { return {full_like(g, 0.0)}; });
}
}  // namespace

Tensor floor(const Tensor& x) { return rounding(x, "floor", [](auto v) { return std::floor(v); }); }
Tensor ceil(const Tensor& x) { return rounding(x, "ceil", [](auto v) { return std::ceil(v); }); }
Tensor round(const Tensor& x) { return rounding(x, "round", [](auto v) { return std::nearbyint(v); }); }
Tensor trunc(const Tensor& x) { return rounding(x, "trunc", [](auto v) { return std::trunc(v); }); }

Tensor sign(const Tensor& x) {
  return unary_forward(x, "sign", [](auto v) {
    using T = decltype(v);
    return v > 0 ? T(1) : (v < 0 ? T(-1) : T(0));
  });
}

}  // namespace nabla
