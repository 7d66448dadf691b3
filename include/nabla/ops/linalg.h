#pragma once
/// Matrix products through OpenBLAS.
#include <nabla/core/tensor.h>

namespace nabla {

/// Matrix product as torch.matmul: 1-D·1-D dot, 2-D·2-D, and batched N-D with broadcast batch
/// dims (via cblas sgemm/dgemm). Backward: dA = dC·Bᵀ, dB = Aᵀ·dC.
Tensor matmul(const Tensor& a, const Tensor& b);

}  // namespace nabla
