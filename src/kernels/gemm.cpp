#include "kernels/gemm.h"

#include <algorithm>

#include <cblas.h>

#include "core/parallel.h"

namespace nabla::detail {
namespace {
// Maps a strided matrix onto (transposed?, leading dimension) for row-major storage.
template <class T>
void layout(const MatrixView<T>& v, std::int64_t rows, std::int64_t cols, bool& trans, std::int64_t& ld) {
  if ((v.col_stride == 1 || cols == 1) && (rows == 1 || v.row_stride >= cols)) {
    trans = false;  // row-major: element (i, j) at i*ld + j
    ld = std::max<std::int64_t>({rows == 1 ? cols : v.row_stride, cols, 1});
  } else {
    trans = true;  // column-major, i.e. the transpose of a row-major matrix: (i, j) at j*ld + i
    ld = std::max<std::int64_t>({cols == 1 ? rows : v.col_stride, rows, 1});
  }
}

void call_blas(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda,
               const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<blasint>(m),
              static_cast<blasint>(n), static_cast<blasint>(k), 1.0f, a, static_cast<blasint>(lda), b,
              static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}
void call_blas(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const double* a, std::int64_t lda,
               const double* b, std::int64_t ldb, double beta, double* c, std::int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<blasint>(m),
              static_cast<blasint>(n), static_cast<blasint>(k), 1.0, a, static_cast<blasint>(lda), b,
              static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

void call_gemv(bool trans, std::int64_t rows, std::int64_t cols, const float* a, std::int64_t lda, const float* x,
               std::int64_t incx, float beta, float* y, std::int64_t incy) {
  cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, static_cast<blasint>(rows), static_cast<blasint>(cols),
              1.0f, a, static_cast<blasint>(lda), x, static_cast<blasint>(incx), beta, y, static_cast<blasint>(incy));
}
void call_gemv(bool trans, std::int64_t rows, std::int64_t cols, const double* a, std::int64_t lda, const double* x,
               std::int64_t incx, double beta, double* y, std::int64_t incy) {
  cblas_dgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, static_cast<blasint>(rows), static_cast<blasint>(cols),
              1.0, a, static_cast<blasint>(lda), x, static_cast<blasint>(incx), beta, y, static_cast<blasint>(incy));
}

// GEMV's y ← M·v + beta·y. With beta 0, y is zeroed here and accumulated into: y is fresh (possibly
// reused) memory, and BLAS implementations differ on whether 0·NaN left there stays NaN.
template <class T>
void gemv(bool trans, std::int64_t rows, std::int64_t cols, const T* m, std::int64_t ld, const T* v, std::int64_t incv,
          T beta, T* y, std::int64_t incy) {
  if (beta == T(0))
    for (std::int64_t i = 0, out = trans ? cols : rows; i < out; ++i) y[i * incy] = T(0);
  call_gemv(trans, rows, cols, m, ld, v, incv, beta == T(0) ? T(1) : beta, y, incy);
}

// Blocks are multiples of the GEMM micro-kernel's 16-wide register tile.
constexpr std::int64_t kBlock = 16;

// Calls fn(lo, hi) on one run of whole blocks of [0, extent) per pool thread.
template <class F>
void for_block_ranges(std::int64_t extent, const F& fn) {
  parallel_for((extent + kBlock - 1) / kBlock, 2, [&](std::int64_t b0, std::int64_t b1) {
    const std::int64_t lo = b0 * kBlock, hi = std::min(b1 * kBlock, extent);
    if (lo < hi) fn(lo, hi);
  });
}

// A matrix-vector product is memory-bound: from this many multiply-adds on, each thread streaming its
// share of the matrix from its own cache beats one thread streaming all of it (the MLP's 128x256
// layer, 32K multiply-adds, one sample: 1.44 -> 1.09 µs on 2 threads).
constexpr std::int64_t kSplitGemv = std::int64_t{1} << 14;

// y [out] = M · v with M given as (matrix, trans, rows, cols, lda) in GEMV's terms; split over the
// pool by output element.
template <class T>
void split_gemv(bool trans, std::int64_t rows, std::int64_t cols, const T* m, std::int64_t ld, const T* v,
                std::int64_t incv, T beta, T* y, std::int64_t incy) {
  const std::int64_t out = trans ? cols : rows;
  if (pool_threads_available() == 1 || rows * cols < kSplitGemv || out <= kBlock) {
    gemv(trans, rows, cols, m, ld, v, incv, beta, y, incy);
    return;
  }
  for_block_ranges(out, [&](std::int64_t lo, std::int64_t hi) {
    if (trans) gemv(true, rows, hi - lo, m + lo, ld, v, incv, beta, y + lo * incy, incy);
    else gemv(false, hi - lo, cols, m + lo * ld, ld, v, incv, beta, y + lo * incy, incy);
  });
}

// Below this many multiply-adds (~10 µs on one core) handing half to another thread does not pay.
constexpr std::int64_t kSplitWork = std::int64_t{1} << 20;

template <class T>
void split_gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const T* a, std::int64_t lda,
                const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  // One row or one column: GEMV, which reads the matrix in place (GEMM would first pack all of it).
  if (m == 1 && n > 1 && k > 0) {  // c [1 x n] = a-row · op(B): op(B)ᵀ · a
    split_gemv(!tb, tb ? n : k, tb ? k : n, b, ldb, a, ta ? lda : 1, beta, c, 1);
    return;
  }
  if (n == 1 && m > 1 && k > 0) {  // c [m x 1] = op(A) · b-column
    split_gemv(ta, ta ? k : m, ta ? m : k, a, lda, b, tb ? 1 : ldb, beta, c, ldc);
    return;
  }
  const bool by_columns = n >= m;
  const std::int64_t extent = by_columns ? n : m;
  if (pool_threads_available() == 1 || m * n * k < kSplitWork || extent <= kBlock) {
    call_blas(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  for_block_ranges(extent, [&](std::int64_t lo, std::int64_t hi) {
    if (by_columns)  // columns [lo, hi) of op(B) and C
      call_blas(ta, tb, m, hi - lo, k, a, lda, tb ? b + lo * ldb : b + lo, ldb, beta, c + lo, ldc);
    else  // rows [lo, hi) of op(A) and C
      call_blas(ta, tb, hi - lo, n, k, ta ? a + lo : a + lo * lda, lda, b, ldb, beta, c + lo * ldc, ldc);
  });
}

template <class T>
void gemm_views(MatrixView<T> a, MatrixView<T> b, T* c, std::int64_t m, std::int64_t n, std::int64_t k) {
  bool ta, tb;
  std::int64_t lda, ldb;
  layout(a, m, k, ta, lda);
  layout(b, k, n, tb, ldb);
  split_gemm(ta, tb, m, n, k, a.data, lda, b.data, ldb, T(0), c, std::max<std::int64_t>(n, 1));
}
}  // namespace

void gemm(MatrixView<float> a, MatrixView<float> b, float* c, std::int64_t m, std::int64_t n, std::int64_t k) {
  gemm_views(a, b, c, m, n, k);
}
void gemm(MatrixView<double> a, MatrixView<double> b, double* c, std::int64_t m, std::int64_t n, std::int64_t k) {
  gemm_views(a, b, c, m, n, k);
}

void blas_gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda,
               const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
  split_gemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
}
void blas_gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const double* a, std::int64_t lda,
               const double* b, std::int64_t ldb, double beta, double* c, std::int64_t ldc) {
  split_gemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace nabla::detail
