#include "kernels/gemm.h"

#include <algorithm>

#include <cblas.h>

namespace nabla::detail {
namespace {
// Maps a strided matrix onto CBLAS's (transpose flag, leading dimension) for row-major storage.
template <class T>
void layout(const MatrixView<T>& v, std::int64_t rows, std::int64_t cols, CBLAS_TRANSPOSE& trans, blasint& ld) {
  if ((v.col_stride == 1 || cols == 1) && (rows == 1 || v.row_stride >= cols)) {
    trans = CblasNoTrans;  // row-major: element (i, j) at i*ld + j
    ld = static_cast<blasint>(std::max<std::int64_t>({rows == 1 ? cols : v.row_stride, cols, 1}));
  } else {
    trans = CblasTrans;  // column-major, i.e. the transpose of a row-major matrix: (i, j) at j*ld + i
    ld = static_cast<blasint>(std::max<std::int64_t>({cols == 1 ? rows : v.col_stride, rows, 1}));
  }
}
}  // namespace

// One body for both precisions: only the CBLAS entry point differs.
template <class T, class Blas>
void gemm_with(Blas blas, MatrixView<T> a, MatrixView<T> b, T* c, std::int64_t m, std::int64_t n, std::int64_t k) {
  CBLAS_TRANSPOSE ta, tb;
  blasint lda, ldb;
  layout(a, m, k, ta, lda);
  layout(b, k, n, tb, ldb);
  blas(CblasRowMajor, ta, tb, static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), T(1), a.data,
       lda, b.data, ldb, T(0), c, static_cast<blasint>(std::max<std::int64_t>(n, 1)));
}

void gemm(MatrixView<float> a, MatrixView<float> b, float* c, std::int64_t m, std::int64_t n, std::int64_t k) {
  gemm_with<float>(cblas_sgemm, a, b, c, m, n, k);
}

void gemm(MatrixView<double> a, MatrixView<double> b, double* c, std::int64_t m, std::int64_t n, std::int64_t k) {
  gemm_with<double>(cblas_dgemm, a, b, c, m, n, k);
}

}  // namespace nabla::detail
