#pragma once
/// Elementwise unary ops and activations.
#include <nabla/core/tensor.h>

namespace nabla {

/// e^x (backward: g * e^x, reusing the output).
Tensor exp(const Tensor& x);
/// Natural logarithm (IEEE results outside the domain: log(0) = -inf, log(-1) = nan).
Tensor log(const Tensor& x);
/// Square root.
Tensor sqrt(const Tensor& x);
/// |x| (gradient sign(x), 0 at 0).
Tensor abs(const Tensor& x);
/// sin(x).
Tensor sin(const Tensor& x);
/// cos(x).
Tensor cos(const Tensor& x);
/// tanh(x) (backward: g * (1 - y^2), reusing the output).
Tensor tanh(const Tensor& x);
/// 1 / (1 + e^-x) (backward: g * y * (1 - y)).
Tensor sigmoid(const Tensor& x);
/// max(x, 0) (gradient 0 at 0, as PyTorch).
Tensor relu(const Tensor& x);
/// x limited to [min, max] (gradient 1 inside, bounds included, 0 outside).
Tensor clamp(const Tensor& x, double min, double max);
/// -1, 0 or 1 per element (no gradient).
Tensor sign(const Tensor& x);

// More of <cmath>'s functions. Backward is written with ops (so second derivatives work), in
// PyTorch's form; outside a function's domain the value is the IEEE result (NaN, ±inf) and the
// gradient what that formula gives there.
/// tan(x) (backward: g * (1 + y^2), reusing the output).
Tensor tan(const Tensor& x);
/// Arc sine (backward: g / sqrt(1 - x^2)).
Tensor asin(const Tensor& x);
/// Arc cosine (backward: -g / sqrt(1 - x^2)).
Tensor acos(const Tensor& x);
/// Arc tangent (backward: g / (1 + x^2)).
Tensor atan(const Tensor& x);
/// Hyperbolic sine.
Tensor sinh(const Tensor& x);
/// Hyperbolic cosine.
Tensor cosh(const Tensor& x);
/// Inverse hyperbolic sine (backward: g / sqrt(x^2 + 1)).
Tensor asinh(const Tensor& x);
/// Inverse hyperbolic cosine (backward: g / sqrt((x - 1)(x + 1))).
Tensor acosh(const Tensor& x);
/// Inverse hyperbolic tangent (backward: g / ((1 - x)(1 + x))).
Tensor atanh(const Tensor& x);
/// log(1 + x), accurate for small x.
Tensor log1p(const Tensor& x);
/// e^x - 1, accurate for small x (backward: g * (y + 1)).
Tensor expm1(const Tensor& x);
/// Base-2 logarithm.
Tensor log2(const Tensor& x);
/// Base-10 logarithm.
Tensor log10(const Tensor& x);
/// 1 / x (backward: -g * y^2).
Tensor reciprocal(const Tensor& x);
/// 1 / sqrt(x) (backward: -g * y^3 / 2).
Tensor rsqrt(const Tensor& x);
/// x * x (backward: 2 g x).
Tensor square(const Tensor& x);
/// 2^x (backward: g * y * ln 2).
Tensor exp2(const Tensor& x);
/// Cube root, also of negative x (backward: g / (3 y²); +inf at 0).
Tensor cbrt(const Tensor& x);
// Rounding: piecewise constant, so the gradient is 0 everywhere (as PyTorch's), jumps included.
/// The largest integer not greater than x.
Tensor floor(const Tensor& x);
/// The smallest integer not less than x.
Tensor ceil(const Tensor& x);
/// x rounded to the nearest integer, halfway cases to even (as torch.round; std::round, and
/// nabla::Var's round, round them away from zero).
Tensor round(const Tensor& x);
/// x rounded toward zero.
Tensor trunc(const Tensor& x);

}  // namespace nabla
