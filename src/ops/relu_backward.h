#pragma once
// relu's backward, shared by relu (ops/unary.cpp) and the fused linear_relu (ops/nn.cpp).
#include <nabla/core/tensor.h>

namespace nabla::detail {

/// g where y > 0, else 0, in one pass. It is linear in g, so its own backward is the same mask
/// applied to the incoming gradient (y is a constant here).
Tensor relu_backward(const Tensor& g, const Tensor& y);

}  // namespace nabla::detail
