#pragma once
// GEMM through CBLAS (OpenBLAS, single-threaded), split over nabla's thread pool when large enough.
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

/// C[m x n] = op(A)·op(B) + beta·C, row-major with explicit leading dimensions (CBLAS's sgemm/dgemm
/// with alpha 1). Large products are split into column (or row) blocks, one per pool thread; inside
/// a pool job it runs on the calling thread.
void blas_gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda,
               const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc);
void blas_gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const double* a, std::int64_t lda,
               const double* b, std::int64_t ldb, double beta, double* c, std::int64_t ldc);

/// True when a matrix with these strides can be handed to BLAS without a copy (row- or column-major).
inline bool blas_compatible(std::int64_t rows, std::int64_t cols, std::int64_t row_stride, std::int64_t col_stride) {
  return ((col_stride == 1 || cols == 1) && (rows == 1 || row_stride >= cols)) ||
         ((row_stride == 1 || rows == 1) && (cols == 1 || col_stride >= rows));
}

}  // namespace nabla::detail
