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

}  // namespace nabla
