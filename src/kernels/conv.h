#pragma once
// Convolution, pooling and normalisation kernels over contiguous NCHW memory. Pointers and sizes
// only: no graph, no Tensor. Convolution is a GEMM over an unfolded input (im2col), done on chunks
// of the batch so that the scratch stays bounded; unfolding and folding are split over the pool by
// sample, and so are the GEMMs (by blocks, kernels/gemm.h). A convolution with a small per-group
// reduction runs direct loops instead (no unfolding), split over the pool by sample.
#include <cstdint>
#include <vector>

namespace nabla::detail {

/// Sizes of a 2-D convolution: input [n, c, h, w], weight [oc, c / groups, kh, kw], output [n, oc, oh, ow].
struct Conv2dGeometry {
  std::int64_t n = 0, c = 0, h = 0, w = 0;
  std::int64_t oc = 0, kh = 0, kw = 0;
  std::int64_t oh = 0, ow = 0;
  std::int64_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1, groups = 1;
};

/// How a convolution is computed: kAuto picks the direct loops when the per-group reduction
/// (c / groups)·kh·kw is small, im2col + GEMM otherwise; the others force one (for tests and benches).
enum class ConvPath { kAuto, kGemm, kDirect };

/// y = conv(x, w) + b (b may be null).
template <class T>
void conv2d_forward(const Conv2dGeometry& g, const T* x, const T* w, const T* b, T* y, ConvPath path = ConvPath::kAuto);

/// Any of: gx = ∂/∂x (needs w), gw = ∂/∂w (needs x), gb = ∂/∂b, given gy. Null outputs are skipped
/// (and their inputs may then be null). On the GEMM path the unfolded gy is shared between the two
/// GEMMs; on the direct path gw and gb are direct and gx still goes through the GEMM.
template <class T>
void conv2d_backward(const Conv2dGeometry& g, const T* x, const T* w, const T* gy, T* gx, T* gw, T* gb,
                     ConvPath path = ConvPath::kAuto);

/// Max pooling over planes [planes, h, w] → [planes, oh, ow], with the flat in-plane index of each
/// maximum (NaN wins, as PyTorch). Padding counts as -inf.
template <class T>
void max_pool2d_forward(std::int64_t planes, std::int64_t h, std::int64_t w, std::int64_t oh, std::int64_t ow,
                        std::int64_t kh, std::int64_t kw, std::int64_t sh, std::int64_t sw, std::int64_t ph,
                        std::int64_t pw, std::int64_t dh, std::int64_t dw, const T* x, T* y, std::int64_t* idx);

/// gx (zeroed here) [planes, h, w] += gy at the saved indices.
template <class T>
void max_pool2d_backward(std::int64_t planes, std::int64_t hw, std::int64_t ohw, const T* gy, const std::int64_t* idx,
                         T* gx);

/// The windows of a linear (averaging) pool: output row i reads input rows [h0[i], h1[i]) and divides
/// by hdiv[i] * wdiv[j] (so count_include_pad and adaptive pooling are the same kernel).
struct PoolWindows {
  std::int64_t h = 0, w = 0, oh = 0, ow = 0;
  std::vector<std::int64_t> h0, h1, w0, w1;
  std::vector<double> hdiv, wdiv;
};

/// y[p, i, j] = Σ x over the window / divisor, for every plane p.
template <class T>
void avg_pool2d_forward(const PoolWindows& pw, std::int64_t planes, const T* x, T* y);

/// gx (zeroed here) = the adjoint of avg_pool2d_forward applied to gy.
template <class T>
void avg_pool2d_backward(const PoolWindows& pw, std::int64_t planes, const T* gy, T* gx);

/// Batch statistics of x [n, c, s] per channel: mean and biased variance (one pass, merged per row).
template <class T>
void batch_norm_stats(std::int64_t n, std::int64_t c, std::int64_t s, const T* x, T* mean, T* var);

/// y = (x - mean) * invstd * w + b per channel (w, b may be null).
template <class T>
void batch_norm_apply(std::int64_t n, std::int64_t c, std::int64_t s, const T* x, const T* mean, const T* invstd,
                      const T* w, const T* b, T* y);

/// Backward of training-mode batch norm: gx (may be null), gw, gb (may be null).
template <class T>
void batch_norm_backward(std::int64_t n, std::int64_t c, std::int64_t s, const T* x, const T* mean, const T* invstd,
                         const T* w, const T* gy, T* gx, T* gw, T* gb);

/// Layer norm over rows of length d: y = (x - mean) * invstd * w + b (w, b may be null); keeps mean and invstd per row.
template <class T>
void layer_norm_forward(std::int64_t rows, std::int64_t d, const T* x, const T* w, const T* b, double eps, T* y, T* mean,
                        T* invstd);

/// Backward of layer norm: gx (may be null), gw, gb (may be null).
template <class T>
void layer_norm_backward(std::int64_t rows, std::int64_t d, const T* x, const T* mean, const T* invstd, const T* w,
                         const T* gy, T* gx, T* gw, T* gb);

}  // namespace nabla::detail
