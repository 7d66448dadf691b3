// Elementwise unary ops and activations: forward kernel and local gradient side by side.
// Where the derivative is cheaper from the output (exp, tanh, sigmoid, sqrt, relu), the output is
// saved instead of the input.
#include <nabla/ops/unary.h>

#include <cmath>

#include <nabla/ops/arithmetic.h>

#include "autograd/record.h"
#include "ops/relu_backward.h"
#include "kernels/loops.h"

namespace nabla {
using detail::BackwardContext;
using detail::record;
using Grads = std::vector<Tensor>;

namespace {
template <class F>
Tensor unary_forward(const Tensor& x, const char* op, F f) {
  detail::check_floating(x, op);
  return detail::dispatch_floating(x.dtype(), op, [&]<class T>() { return detail::map_unary<T>(x, f); });
}
}  // namespace

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

Tensor sign(const Tensor& x) {
  return unary_forward(x, "sign", [](auto v) {
    using T = decltype(v);
    return v > 0 ? T(1) : (v < 0 ? T(-1) : T(0));
  });
}

}  // namespace nabla
