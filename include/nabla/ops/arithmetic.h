#pragma once
/// Elementwise binary ops with NumPy broadcasting; gradients are summed back over broadcast dims.
#include <nabla/core/tensor.h>

namespace nabla {

/// a + b (the add gate: the upstream gradient goes unchanged to both inputs).
Tensor add(const Tensor& a, const Tensor& b);
/// a - b.
Tensor sub(const Tensor& a, const Tensor& b);
/// a * b (the mul gate: each input's gradient is the upstream gradient times the other input).
Tensor mul(const Tensor& a, const Tensor& b);
/// a / b.
Tensor div(const Tensor& a, const Tensor& b);
/// -a.
Tensor neg(const Tensor& a);
/// a ^ exponent, elementwise.
Tensor pow(const Tensor& a, double exponent);
/// a ^ b, elementwise with broadcasting.
Tensor pow(const Tensor& a, const Tensor& b);
/// base ^ b, elementwise.
Tensor pow(double base, const Tensor& b);
/// Elementwise larger of a and b (the max gate: the gradient goes to the larger; ties split it).
Tensor maximum(const Tensor& a, const Tensor& b);
/// Elementwise smaller of a and b.
Tensor minimum(const Tensor& a, const Tensor& b);
/// Elementwise angle of the point (b, a) in (-pi, pi], with broadcasting (backward: b / (a² + b²) and
/// -a / (a² + b²); NaN at (0, 0), as PyTorch).
Tensor atan2(const Tensor& a, const Tensor& b);
/// Elementwise sqrt(a² + b²) without overflow, with broadcasting (backward: a / out and b / out).
Tensor hypot(const Tensor& a, const Tensor& b);
/// Elementwise: a where condition is non-zero, else b (broadcast together).
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);

/// Comparison masks (1 where true, 0 where false) in a's dtype; they carry no gradient.
Tensor gt(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);

/// A one-element tensor (shape []) holding value in like's dtype: how doubles join tensor ops.
Tensor scalar_like(const Tensor& like, double value);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);

/// The shape both shapes broadcast to; throws naming `op` when they cannot.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op = "broadcast");

}  // namespace nabla
