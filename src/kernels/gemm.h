#pragma once
// C = A·B for row-major matrices through CBLAS (OpenBLAS), reading transposed layouts in place.
#include <algorithm>
#include <cstdint>

namespace nabla::detail {

/// One matrix operand: data, and its row/column strides in elements (one of them must be 1).
template <class T>
struct MatrixView {
  const T* data;
  std::int64_t row_stride, col_stride;
};

/// c[m x n] (row-major, leading dim n) = a[m x k] · b[k x n].
void gemm(MatrixView<float> a, MatrixView<float> b, float* c, std::int64_t m, std::int64_t n, std::int64_t k);
void gemm(MatrixView<double> a, MatrixView<double> b, double* c, std::int64_t m, std::int64_t n, std::int64_t k);

/// True when a matrix with these strides can be handed to BLAS without a copy (row- or column-major).
inline bool blas_compatible(std::int64_t rows, std::int64_t cols, std::int64_t row_stride, std::int64_t col_stride) {
  return ((col_stride == 1 || cols == 1) && (rows == 1 || row_stride >= cols)) ||
         ((row_stride == 1 || rows == 1) && (cols == 1 || col_stride >= rows));
}

}  // namespace nabla::detail
