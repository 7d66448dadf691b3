// Elementwise binary ops: forward kernel and backward gate side by side. Each backward returns
// gradients in the broadcast shape; the engine sums them back to each input's shape (sum_to).
#include <nabla/ops/arithmetic.h>

#include <cmath>

#include <nabla/ops/reduction.h>
#include <nabla/ops/unary.h>

#include "autograd/record.h"
#include "kernels/loops.h"

namespace nabla {
using detail::BackwardContext;
using detail::record;
using Grads = std::vector<Tensor>;

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const std::size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const std::int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1)
      throw Error(fmt::format("{}: shapes {} and {} cannot be broadcast together (dim {}: {} vs {})", op,
                              shape_to_string(a), shape_to_string(b), i, da, db));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

namespace {
// The checks every binary op starts with; returns the broadcast output shape.
Shape binary_shape(const Tensor& a, const Tensor& b, const char* op) {
  detail::check_floating(a, op);
  detail::check_floating(b, op);
  detail::check_same_dtype(a, b, op);
  return broadcast_shapes(a.shape(), b.shape(), op);
}

// Forward of a binary op: f applied elementwise with broadcasting.
template <class F>
Tensor binary_forward(const Tensor& a, const Tensor& b, const char* op, F f) {
  const Shape shape = binary_shape(a, b, op);
  return detail::dispatch_floating(a.dtype(), op,
                                   [&]<class T>() { return detail::map_binary<T>(a, b, shape, f); });
}
}  // namespace

Tensor scalar_like(const Tensor& like, double value) {
  return full({}, value, like.defined() && is_floating(like.dtype()) ? like.dtype() : kFloat32);
}

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(a, b, "add", [](auto x, auto y) { return x + y; });
  return record("add", out, {a, b}, {}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    return {c.needs_grad(0) ? g : Tensor(), c.needs_grad(1) ? g : Tensor()};
  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(a, b, "sub", [](auto x, auto y) { return x - y; });
  return record("sub", out, {a, b}, {}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    return {g, c.needs_grad(1) ? -g : Tensor()};
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(a, b, "mul", [](auto x, auto y) { return x * y; });
  // The mul gate swaps its inputs: d(ab)/da = b, d(ab)/db = a.
  return record("mul", out, {a, b}, {a, b}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    return {c.needs_grad(0) ? g * c.saved(1) : Tensor(), c.needs_grad(1) ? g * c.saved(0) : Tensor()};
  });
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(a, b, "div", [](auto x, auto y) { return x / y; });
  return record("div", out, {a, b}, {a, b}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor b = c.saved(1);
    const Tensor ga = g / b;
    return {c.needs_grad(0) ? ga : Tensor(), c.needs_grad(1) ? -ga * c.saved(0) / b : Tensor()};
  });
}

Tensor neg(const Tensor& a) {
  detail::check_floating(a, "neg");
  Tensor out = detail::dispatch_floating(a.dtype(), "neg",
                                         [&]<class T>() { return detail::map_unary<T>(a, [](T x) { return -x; }); });
  return record("neg", out, {a}, {}, [](const BackwardContext&, const Tensor& g) -> Grads { return {-g}; });
}

Tensor pow(const Tensor& a, double p) {
  detail::check_floating(a, "pow");
  Tensor out = detail::dispatch_floating(a.dtype(), "pow", [&]<class T>() {
    if (p == 2.0) return detail::map_unary<T>(a, [](T x) { return x * x; });
    return detail::map_unary<T>(a, [p](T x) { return static_cast<T>(std::pow(x, static_cast<T>(p))); });
  });
  return record("pow", out, {a}, {a}, [p](const BackwardContext& c, const Tensor& g) -> Grads {
    if (p == 0.0) return {zeros_like(g)};
    return {g * (p * pow(c.saved(0), p - 1.0))};
  });
}

Tensor pow(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(a, b, "pow", [](auto x, auto y) { return std::pow(x, y); });
  return record("pow", out, {a, b}, {a, b, out}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor a = c.saved(0), b = c.saved(1);
    Tensor ga, gb;
    // b * a^(b-1) is 0 * inf = nan at a == 0, b == 0; the derivative there is 0 (a^0 = 1), as in PyTorch.
    if (c.needs_grad(0)) ga = where(eq(b, scalar_like(b, 0.0)), scalar_like(g, 0.0), g * b * pow(a, b - 1.0));
    if (c.needs_grad(1)) {
      // d(a^b)/db = a^b log a; PyTorch defines it as 0 where a == 0 and b >= 0 (log 0 = -inf).
      const Tensor zero_base = eq(a, scalar_like(a, 0.0)) * ge(b, scalar_like(b, 0.0));
      gb = where(zero_base, scalar_like(g, 0.0), g * c.saved(2) * log(a));
    }
    return {ga, gb};
  });
}

Tensor pow(double base, const Tensor& b) {
  detail::check_floating(b, "pow");
  Tensor out = detail::dispatch_floating(b.dtype(), "pow", [&]<class T>() {
    return detail::map_unary<T>(b, [base](T y) { return static_cast<T>(std::pow(static_cast<T>(base), y)); });
  });
  return record("pow", out, {b}, {b, out}, [base](const BackwardContext& c, const Tensor& g) -> Grads {
    if (base == 0.0) {
      const Tensor b = c.saved(0);
      return {where(ge(b, scalar_like(b, 0.0)), scalar_like(g, 0.0), g * c.saved(1) * std::log(base))};
    }
    return {g * c.saved(1) * std::log(base)};
  });
}

Tensor maximum(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(a, b, "maximum", [](auto x, auto y) { return x > y || x != x ? x : y; });
  // The max gate routes the gradient to the larger input; a tie splits it in half (as PyTorch).
  return record("maximum", out, {a, b}, {a, b}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor a = c.saved(0), b = c.saved(1);
    const Tensor half_tie = eq(a, b) * 0.5;
    return {c.needs_grad(0) ? g * (gt(a, b) + half_tie) : Tensor(), c.needs_grad(1) ? g * (lt(a, b) + half_tie) : Tensor()};
  });
}

Tensor minimum(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(a, b, "minimum", [](auto x, auto y) { return x < y || x != x ? x : y; });
  return record("minimum", out, {a, b}, {a, b}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor a = c.saved(0), b = c.saved(1);
    const Tensor half_tie = eq(a, b) * 0.5;
    return {c.needs_grad(0) ? g * (lt(a, b) + half_tie) : Tensor(), c.needs_grad(1) ? g * (gt(a, b) + half_tie) : Tensor()};
  });
}

Tensor atan2(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(a, b, "atan2", [](auto y, auto x) { return std::atan2(y, x); });
  return record("atan2", out, {a, b}, {a, b}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor a = c.saved(0), b = c.saved(1);
    const Tensor scale = g / (a * a + b * b);
    return {c.needs_grad(0) ? scale * b : Tensor(), c.needs_grad(1) ? -scale * a : Tensor()};
  });
}

Tensor hypot(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(a, b, "hypot", [](auto x, auto y) { return std::hypot(x, y); });
  return record("hypot", out, {a, b}, {a, b, out}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor scale = g / c.saved(2);
    return {c.needs_grad(0) ? scale * c.saved(0) : Tensor(), c.needs_grad(1) ? scale * c.saved(1) : Tensor()};
  });
}

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  const Shape ab = binary_shape(a, b, "where");
  if (!condition.defined()) throw Error("where: condition is undefined");
  const Shape shape = broadcast_shapes(condition.shape(), ab, "where");
  const Tensor cond = condition.to(a.dtype());
  Tensor out = detail::dispatch_floating(a.dtype(), "where", [&]<class T>() {
    Tensor o = detail::make_empty(shape, a.dtype());
    T* po = o.data_ptr<T>();
    const T *pc = cond.data_ptr<T>(), *pa = a.data_ptr<T>(), *pb = b.data_ptr<T>();
    detail::for_each_row<4>(shape,
                            {o.strides(), detail::broadcast_strides(cond, shape), detail::broadcast_strides(a, shape),
                             detail::broadcast_strides(b, shape)},
                            [&](auto off, auto st, std::int64_t n) {
                              for (std::int64_t i = 0; i < n; ++i)
                                po[off[0] + i * st[0]] = pc[off[1] + i * st[1]] != T(0) ? pa[off[2] + i * st[2]]
                                                                                       : pb[off[3] + i * st[3]];
                            });
    return o;
  });
  return record("where", out, {a, b}, {cond}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor cond = c.saved(0), zero = scalar_like(g, 0.0);
    return {c.needs_grad(0) ? where(cond, g, zero) : Tensor(), c.needs_grad(1) ? where(cond, zero, g) : Tensor()};
  });
}

// Comparisons: masks of 0 and 1, outside the graph.
#define NABLA_COMPARISON(name, expr)                                                     \
  Tensor name(const Tensor& a, const Tensor& b) {                                        \
    return binary_forward(a, b, #name, [](auto x, auto y) { return decltype(x)(expr); }); \
  }
NABLA_COMPARISON(gt, x > y)
NABLA_COMPARISON(lt, x < y)
NABLA_COMPARISON(ge, x >= y)
NABLA_COMPARISON(le, x <= y)
NABLA_COMPARISON(eq, x == y)
NABLA_COMPARISON(ne, x != y)
#undef NABLA_COMPARISON

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& a) { return neg(a); }
Tensor operator+(const Tensor& a, double b) { return add(a, scalar_like(a, b)); }
Tensor operator-(const Tensor& a, double b) { return sub(a, scalar_like(a, b)); }
Tensor operator*(const Tensor& a, double b) { return mul(a, scalar_like(a, b)); }
Tensor operator/(const Tensor& a, double b) { return div(a, scalar_like(a, b)); }
Tensor operator+(double a, const Tensor& b) { return add(scalar_like(b, a), b); }
Tensor operator-(double a, const Tensor& b) { return sub(scalar_like(b, a), b); }
Tensor operator*(double a, const Tensor& b) { return mul(scalar_like(b, a), b); }
Tensor operator/(double a, const Tensor& b) { return div(scalar_like(b, a), b); }

}  // namespace nabla
