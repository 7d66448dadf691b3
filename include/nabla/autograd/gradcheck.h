#pragma once
/// Numerical checks of analytic gradients (float64, central differences).
#include <functional>
#include <vector>

#include <nabla/core/tensor.h>

namespace nabla {

/// A function of tensors whose gradients are checked.
using GradcheckFn = std::function<Tensor(const std::vector<Tensor>&)>;

/// Compares, for every input that requires grad and every element, the gradient from backward with
/// the central difference (f(x + eps) - f(x - eps)) / 2 eps, for every output element.
/// Inputs must be float64. Passes when |analytic - numeric| <= atol + rtol * |numeric| everywhere.
/// Returns true on success; on failure throws nabla::Error naming the input, element and both values
/// (or returns false when raise_on_failure is false).
bool gradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs, double eps = 1e-6, double atol = 1e-5,
               double rtol = 1e-3, bool raise_on_failure = true);

/// gradcheck of the gradients themselves: checks the second derivatives that create_graph gives.
bool gradgradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs, double eps = 1e-6, double atol = 1e-5,
                   double rtol = 1e-3, bool raise_on_failure = true);

}  // namespace nabla
