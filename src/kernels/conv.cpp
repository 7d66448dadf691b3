#include "kernels/conv.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>

#include <nabla/core/threads.h>

#include "core/parallel.h"
#include "kernels/gemm.h"

namespace nabla::detail {
namespace {

// Uninitialised scratch, allocated once per call (never per sample).
template <class T>
std::unique_ptr<T[]> scratch(std::int64_t n) {
  return std::unique_ptr<T[]>(new T[static_cast<std::size_t>(std::max<std::int64_t>(n, 1))]);
}

// The unfolded input of one chunk of the batch is capped at this many elements (16 MiB of float).
constexpr std::int64_t kMaxColumnElements = std::int64_t{1} << 22;

// Output positions o in [lo, hi) have o * stride + offset inside [0, size).
void valid_range(std::int64_t out, std::int64_t stride, std::int64_t offset, std::int64_t size, std::int64_t& lo,
                 std::int64_t& hi) {
  lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  hi = size - offset <= 0 ? 0 : (size - offset + stride - 1) / stride;
  lo = std::min(lo, out);
  hi = std::clamp(hi, lo, out);
}

// im2col moves rows of tens of elements (an output row each). GCC turns such copy and fill loops
// into calls to memcpy/memset, whose call and size dispatch cost more than the work at these
// lengths (~400M calls per CNN epoch); this keeps them as inline loops.
#if defined(__GNUC__) && !defined(__clang__)
#define NABLA_INLINE_COPIES __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define NABLA_INLINE_COPIES
#endif

// Small helpers of the hot loops, inlined even into the per-instruction-set copies below.
#define NABLA_ALWAYS_INLINE inline __attribute__((always_inline))

// Copies a short run of n elements (an output row: 11 in the CNN's second layer) with 16-byte moves,
// the last one overlapping the one before instead of finishing element by element.
template <class T>
NABLA_ALWAYS_INLINE void copy_run(T* __restrict d, const T* __restrict s, std::int64_t n) {
  constexpr std::int64_t kLanes = 16 / sizeof(T);
  if (n < kLanes) {
    for (std::int64_t i = 0; i < n; ++i) d[i] = s[i];
    return;
  }
  for (std::int64_t i = 0; i < n - kLanes; i += kLanes) std::memcpy(d + i, s + i, 16);
  std::memcpy(d + n - kLanes, s + n - kLanes, 16);
}

// Unfolds one sample xs [c, h, w] into col: row (ci, ki, kj), column oy * ow + ox, leading dim ld.
template <class T>
NABLA_INLINE_COPIES void im2col(const Conv2dGeometry& g, const T* xs, T* col, std::int64_t ld) {
  const std::int64_t plane = g.oh * g.ow;
  for (std::int64_t ci = 0; ci < g.c; ++ci)
    for (std::int64_t ki = 0; ki < g.kh; ++ki)
      for (std::int64_t kj = 0; kj < g.kw; ++kj) {
        T* dst = col + ((ci * g.kh + ki) * g.kw + kj) * ld;
        const std::int64_t yoff = ki * g.dh - g.ph, xoff = kj * g.dw - g.pw;
        std::int64_t ylo, yhi, xlo, xhi;
        valid_range(g.oh, g.sh, yoff, g.h, ylo, yhi);
        valid_range(g.ow, g.sw, xoff, g.w, xlo, xhi);
        const T* src = xs + ci * g.h * g.w;
        for (std::int64_t i = 0; i < ylo * g.ow; ++i) dst[i] = T(0);
        for (std::int64_t oy = ylo; oy < yhi; ++oy) {
          T* __restrict d = dst + oy * g.ow;
          const T* __restrict s = src + (oy * g.sh + yoff) * g.w + xoff;
          for (std::int64_t ox = 0; ox < xlo; ++ox) d[ox] = T(0);
          if (g.sw == 1) copy_run(d + xlo, s + xlo, xhi - xlo);
          else
            for (std::int64_t ox = xlo; ox < xhi; ++ox) d[ox] = s[ox * g.sw];
          for (std::int64_t ox = xhi; ox < g.ow; ++ox) d[ox] = T(0);
        }
        for (std::int64_t i = yhi * g.ow; i < plane; ++i) dst[i] = T(0);
      }
}

// The adjoint of im2col: adds the columns back into one sample gxs [c, h, w] (zeroed by the caller).
template <class T>
void col2im(const Conv2dGeometry& g, const T* col, std::int64_t ld, T* gxs) {
  for (std::int64_t ci = 0; ci < g.c; ++ci)
    for (std::int64_t ki = 0; ki < g.kh; ++ki)
      for (std::int64_t kj = 0; kj < g.kw; ++kj) {
        const T* src = col + ((ci * g.kh + ki) * g.kw + kj) * ld;
        const std::int64_t yoff = ki * g.dh - g.ph, xoff = kj * g.dw - g.pw;
        std::int64_t ylo, yhi, xlo, xhi;
        valid_range(g.oh, g.sh, yoff, g.h, ylo, yhi);
        valid_range(g.ow, g.sw, xoff, g.w, xlo, xhi);
        T* dst = gxs + ci * g.h * g.w;
        for (std::int64_t oy = ylo; oy < yhi; ++oy) {
          const T* s = src + oy * g.ow;
          T* d = dst + (oy * g.sh + yoff) * g.w + xoff;
          if (g.sw == 1)
            for (std::int64_t ox = xlo; ox < xhi; ++ox) d[ox] += s[ox];
          else
            for (std::int64_t ox = xlo; ox < xhi; ++ox) d[ox * g.sw] += s[ox];
        }
      }
}

// gw [oc, rows_g] (=, or += when !overwrite) the per-group transposed gradient gwt [rows_g, ocg]
// that backward_step accumulates.
template <class T>
void add_weight_grad(const Conv2dGeometry& g, const T* gwt, T* gw, bool overwrite) {
  const std::int64_t rows_g = (g.c / g.groups) * g.kh * g.kw, ocg = g.oc / g.groups;
  for (std::int64_t gi = 0; gi < g.groups; ++gi) {
    const T* src = gwt + gi * ocg * rows_g;
    T* dst = gw + gi * ocg * rows_g;
    for (std::int64_t o = 0; o < ocg; ++o)
      for (std::int64_t r = 0; r < rows_g; ++r)
        dst[o * rows_g + r] = overwrite ? src[r * ocg + o] : dst[o * rows_g + r] + src[r * ocg + o];
  }
}

// Samples per chunk of the whole-batch path, so that its scratch stays under kMaxColumnElements.
std::int64_t chunk_size(const Conv2dGeometry& g) {
  const std::int64_t per_sample = std::max<std::int64_t>({g.c * g.kh * g.kw * g.oh * g.ow, g.oc * g.oh * g.ow, 1});
  return std::clamp<std::int64_t>(kMaxColumnElements / per_sample, 1, std::max<std::int64_t>(g.n, 1));
}

// Samples per step of the per-thread path: a step's unfolded input (1 MiB of float) stays in a core's
// L2 cache while its GEMMs are wide enough to run at speed (the CNN's second layer, 288 x 121 per
// sample: 7 samples a step; from 3, conv forward 1.06 -> 1.02 s per epoch, with backward 3.29 -> 3.22).
constexpr std::int64_t kCacheElements = std::int64_t{1} << 18;
std::int64_t step_size(const Conv2dGeometry& g) {
  const std::int64_t per_sample = std::max<std::int64_t>({g.c * g.kh * g.kw, g.oc, 1}) * std::max<std::int64_t>(g.oh * g.ow, 1);
  return std::clamp<std::int64_t>(kCacheElements / per_sample, 1, std::max<std::int64_t>(g.n, 1));
}

// True when each pool thread should take its own share of the batch, running its GEMMs on steps
// that stay in its cache (also with one thread: the CNN's epoch on one thread took 11.1 s through
// whole-batch GEMMs, whose unfolded input spills to L3, and 8.6 s in steps); otherwise (fewer samples
// than threads) the whole batch goes through large GEMMs that blas_gemm splits over the pool.
bool per_thread(const Conv2dGeometry& g) {
  const int threads = get_num_threads();
  return g.n >= threads;
}

// Forward of samples [n0, n0 + cnt) with scratch col [rows, cnt·plane] and out [oc, cnt·plane].
// The inner parallel_for calls run inline when already on a pool thread.
template <class T>
void forward_step(const Conv2dGeometry& g, const T* x, const T* w, const T* b, T* y, std::int64_t n0, std::int64_t cnt,
                  T* col, T* out) {
  const std::int64_t plane = g.oh * g.ow, in_sample = g.c * g.h * g.w, ld = cnt * plane;
  const std::int64_t rows_g = (g.c / g.groups) * g.kh * g.kw, ocg = g.oc / g.groups;
  parallel_for(cnt, 2, [&](std::int64_t s0, std::int64_t s1) {
    for (std::int64_t s = s0; s < s1; ++s) im2col(g, x + (n0 + s) * in_sample, col + s * plane, ld);
  });
  for (std::int64_t gi = 0; gi < g.groups; ++gi) {
    if (rows_g == 0) std::fill(out + gi * ocg * ld, out + (gi + 1) * ocg * ld, T(0));
    else
      blas_gemm(false, false, ocg, ld, rows_g, w + gi * ocg * rows_g, rows_g, col + gi * rows_g * ld, ld, T(0),
                out + gi * ocg * ld, ld);
  }
  // [oc, cnt, plane] → [cnt, oc, plane], adding the bias on the way.
  parallel_for(cnt, 2, [&](std::int64_t s0, std::int64_t s1) {
    for (std::int64_t s = s0; s < s1; ++s)
      for (std::int64_t o = 0; o < g.oc; ++o) {
        T* dst = y + ((n0 + s) * g.oc + o) * plane;
        const T* src = out + o * ld + s * plane;
        const T bias = b != nullptr ? b[o] : T(0);
        for (std::int64_t p = 0; p < plane; ++p) dst[p] = src[p] + bias;
      }
  });
}

// Backward of samples [n0, n0 + cnt): gwt_acc and gb_acc (+)= this step's weight and bias gradients
// (overwritten when first), gx of these samples written. gwt_acc holds each group's weight gradient
// transposed, [rows_g, ocg] (see add_weight_grad). Scratch col [rows, cnt·plane], gyt [oc, cnt·plane].
template <class T>
void backward_step(const Conv2dGeometry& g, const T* x, const T* w, const T* gy, T* gx, T* gwt_acc, T* gb_acc,
                   bool first, std::int64_t n0, std::int64_t cnt, T* col, T* gyt) {
  const std::int64_t plane = g.oh * g.ow, in_sample = g.c * g.h * g.w, ld = cnt * plane;
  const std::int64_t rows_g = (g.c / g.groups) * g.kh * g.kw, ocg = g.oc / g.groups;
  // gy [cnt, oc, plane] → [oc, cnt, plane], the layout both GEMMs read.
  parallel_for(cnt, 2, [&](std::int64_t s0, std::int64_t s1) {
    for (std::int64_t s = s0; s < s1; ++s)
      for (std::int64_t o = 0; o < g.oc; ++o) {
        const T* src = gy + ((n0 + s) * g.oc + o) * plane;
        std::copy(src, src + plane, gyt + o * ld + s * plane);
      }
  });
  if (gb_acc != nullptr)  // rows of gyt are contiguous and still in cache
    parallel_for(g.oc, 8, [&](std::int64_t o0, std::int64_t o1) {
      for (std::int64_t o = o0; o < o1; ++o) {
        T total = 0;
        const T* row = gyt + o * ld;
        for (std::int64_t i = 0; i < ld; ++i) total += row[i];
        gb_acc[o] = first ? total : gb_acc[o] + total;
      }
    });
  if (gwt_acc != nullptr) {
    parallel_for(cnt, 2, [&](std::int64_t s0, std::int64_t s1) {
      for (std::int64_t s = s0; s < s1; ++s) im2col(g, x + (n0 + s) * in_sample, col + s * plane, ld);
    });
    // gW_gᵀ [rows_g, ocg] (+)= col_g [rows_g, ld] · gy_gᵀ: OpenBLAS runs this orientation faster than
    // gy_g · col_gᵀ (the CNN's second layer, 288 x 64 x 847: 146 against 171 µs).
    for (std::int64_t gi = 0; gi < g.groups; ++gi)
      blas_gemm(false, true, rows_g, ocg, ld, col + gi * rows_g * ld, ld, gyt + gi * ocg * ld, ld, first ? T(0) : T(1),
                gwt_acc + gi * ocg * rows_g, ocg);
  }
  if (gx != nullptr) {
    // dcol_g [rows_g, ld] = W_gᵀ · gy_g, then folded back into the samples.
    for (std::int64_t gi = 0; gi < g.groups; ++gi)
      blas_gemm(true, false, rows_g, ld, ocg, w + gi * ocg * rows_g, rows_g, gyt + gi * ocg * ld, ld, T(0),
                col + gi * rows_g * ld, ld);
    parallel_for(cnt, 2, [&](std::int64_t s0, std::int64_t s1) {
      for (std::int64_t s = s0; s < s1; ++s) {
        T* dst = gx + (n0 + s) * in_sample;
        std::fill(dst, dst + in_sample, T(0));
        col2im(g, col + s * plane, ld, dst);
      }
    });
  }
}

// ---- Direct convolution ------------------------------------------------------------------------
// For a small per-group reduction K = (c / groups)·kh·kw (the default CNN's first layer has K = 9)
// a GEMM is too shallow to run at speed, and im2col first writes K copies of the input. These
// loops read the input in place and write each output once: a block of V output columns (one SIMD
// register) of OB output channels accumulates in registers while the K taps stream past.

constexpr int kDirectBlock = 8;  // OB: output channels per register block

// V lanes of T in one register, as a GCC/Clang vector: written as plain loops over the lanes, the
// block below was vectorised across channels with shuffles and its accumulators kept on the stack.
// Products and sums contract to FMA where the instruction set has it.
template <class T, int V>
struct VecOf {
  typedef T type __attribute__((vector_size(V * sizeof(T))));
};

// An unaligned load (by reference: a vector returned by value from a function compiled for the
// baseline would change the ABI).
template <class Vec, class T>
NABLA_ALWAYS_INLINE void load(Vec& v, const T* p) {
  std::memcpy(&v, p, sizeof v);
}

// Output row oy of channels [o0, o0 + OB) of one sample and group, columns [x0, x1): every tap is
// checked against the input's edges (the border, and rows narrower than a block).
template <class T, int OB>
NABLA_ALWAYS_INLINE void direct_forward_columns(const Conv2dGeometry& g, const T* xs, const T* wo, const T* bias,
                                                T* yr, std::int64_t oy, std::int64_t a0, std::int64_t a1,
                                                std::int64_t x0, std::int64_t x1) {
  const std::int64_t cg = g.c / g.groups, taps = g.kh * g.kw, k = cg * taps, plane = g.oh * g.ow;
  const std::int64_t iy0 = oy * g.sh - g.ph;
  for (std::int64_t ox = x0; ox < x1; ++ox) {
    const std::int64_t ix0 = ox * g.sw - g.pw;
    std::int64_t b0, b1;
    valid_range(g.kw, g.dw, ix0, g.w, b0, b1);
    for (int j = 0; j < OB; ++j) {
      T acc = bias[j];
      for (std::int64_t ci = 0; ci < cg; ++ci)
        for (std::int64_t ki = a0; ki < a1; ++ki) {
          const T* xr = xs + (ci * g.h + iy0 + ki * g.dh) * g.w + ix0;
          const T* wr = wo + j * k + ci * taps + ki * g.kw;
          for (std::int64_t kj = b0; kj < b1; ++kj) acc += wr[kj] * xr[kj * g.dw];
        }
      yr[j * plane + ox] = acc;
    }
  }
}

// y of channels [o0, o0 + OB) of one sample and group: xs its input channels, wo the weights of
// channel o0 (K apart), yo the output plane of o0. Unit: stride 1 along rows (contiguous loads).
template <class T, int V, int OB, bool Unit>
NABLA_ALWAYS_INLINE void direct_forward_block(const Conv2dGeometry& g, const T* xs, const T* wo, const T* b, T* yo) {
  using Vec = typename VecOf<T, V>::type;
  const std::int64_t cg = g.c / g.groups, taps = g.kh * g.kw, k = cg * taps, plane = g.oh * g.ow;
  const std::int64_t sw = Unit ? 1 : g.sw;
  T bias[OB];
  for (int j = 0; j < OB; ++j) bias[j] = b != nullptr ? b[j] : T(0);
  // Columns [lo, hi) have all their taps inside the input; they go in blocks of V, the last block
  // overlapping the one before (recomputing the same values) so that no block needs a mask.
  std::int64_t lo, hi;
  valid_range(g.ow, sw, -g.pw, g.w - (g.kw - 1) * g.dw, lo, hi);
  if (hi - lo < V) lo = hi = g.ow;
  for (std::int64_t oy = 0; oy < g.oh; ++oy) {
    const std::int64_t iy0 = oy * g.sh - g.ph;
    std::int64_t a0, a1;  // kernel rows inside the input
    valid_range(g.kh, g.dh, iy0, g.h, a0, a1);
    T* yr = yo + oy * g.ow;
    for (std::int64_t ox = lo; ox < hi; ox += V) {
      const std::int64_t ox0 = std::min(ox, hi - V);
      Vec acc[OB];
      for (int j = 0; j < OB; ++j) acc[j] = Vec{} + bias[j];
      for (std::int64_t ci = 0; ci < cg; ++ci)
        for (std::int64_t ki = a0; ki < a1; ++ki) {
          const T* xr = xs + (ci * g.h + iy0 + ki * g.dh) * g.w + ox0 * sw - g.pw;
          const T* wr = wo + ci * taps + ki * g.kw;
          for (std::int64_t kj = 0; kj < g.kw; ++kj) {
            Vec xv;
            if constexpr (Unit) load(xv, xr + kj * g.dw);
            else
              for (int i = 0; i < V; ++i) xv[i] = xr[kj * g.dw + i * sw];
            for (int j = 0; j < OB; ++j) acc[j] += wr[j * k + kj] * xv;
          }
        }
      for (int j = 0; j < OB; ++j) std::memcpy(yr + j * plane + ox0, &acc[j], sizeof(Vec));
    }
    direct_forward_columns<T, OB>(g, xs, wo, bias, yr, oy, a0, a1, 0, lo);
    direct_forward_columns<T, OB>(g, xs, wo, bias, yr, oy, a0, a1, hi, g.ow);
  }
}

// Forward of items [i0, i1), an item being (sample, group, block of kDirectBlock output channels).
template <class T, int V>
NABLA_ALWAYS_INLINE void direct_forward_items(const Conv2dGeometry& g, const T* x, const T* w, const T* b, T* y,
                                              std::int64_t i0, std::int64_t i1) {
  const std::int64_t cg = g.c / g.groups, ocg = g.oc / g.groups, k = cg * g.kh * g.kw, plane = g.oh * g.ow;
  const std::int64_t blocks = (ocg + kDirectBlock - 1) / kDirectBlock;
  for (std::int64_t item = i0; item < i1; ++item) {
    const std::int64_t s = item / (g.groups * blocks), gi = item / blocks % g.groups;
    const std::int64_t o0 = gi * ocg + item % blocks * kDirectBlock, o1 = std::min(o0 + kDirectBlock, (gi + 1) * ocg);
    const T* xs = x + (s * g.c + gi * cg) * g.h * g.w;
    const T* bo = b != nullptr ? b + o0 : nullptr;
    T* yo = y + (s * g.oc + o0) * plane;
    if (o1 - o0 == kDirectBlock) {
      if (g.sw == 1) direct_forward_block<T, V, kDirectBlock, true>(g, xs, w + o0 * k, bo, yo);
      else direct_forward_block<T, V, kDirectBlock, false>(g, xs, w + o0 * k, bo, yo);
    } else
      for (std::int64_t o = o0; o < o1; ++o) {
        const T* bs = b != nullptr ? b + o : nullptr;
        if (g.sw == 1) direct_forward_block<T, V, 1, true>(g, xs, w + o * k, bs, y + (s * g.oc + o) * plane);
        else direct_forward_block<T, V, 1, false>(g, xs, w + o * k, bs, y + (s * g.oc + o) * plane);
      }
  }
}

// acc[j] += gy of channel j times the input under the tap, over columns [ox0, ox0 + V) of one
// row (xr and gr at the row's first column); Masked: only the lanes in keep.
template <class T, int V, int OB, bool Unit, bool Masked, class Vec, class Mask>
NABLA_ALWAYS_INLINE void weight_grad_columns(const T* xr, const T* gr, std::int64_t plane, std::int64_t ox0,
                                             std::int64_t sw, const Mask& keep, Vec* acc) {
  Vec xv;
  if constexpr (Unit) load(xv, xr + ox0);
  else
    for (int i = 0; i < V; ++i) xv[i] = xr[(ox0 + i) * sw];
  for (int j = 0; j < OB; ++j) {
    Vec gv;
    load(gv, gr + j * plane + ox0);
    // The product is masked, not a factor: 0 · Inf in a lane already counted would add a NaN.
    if constexpr (Masked) acc[j] += keep ? gv * xv : Vec{};
    else acc[j] += gv * xv;
  }
}

// Adds the weight gradient of channels [o0, o0 + OB) from one sample and group into gwo, which
// holds V lanes per weight (K·V apart), summed at the very end rather than once per sample:
// for each tap, a dot product of the gy planes with the input shifted under that tap, over the
// output positions whose tap lands inside the input.
template <class T, int V, int OB, bool Unit>
NABLA_ALWAYS_INLINE void direct_weight_grad_block(const Conv2dGeometry& g, const T* xs, const T* gyo, T* gwo) {
  using Vec = typename VecOf<T, V>::type;
  using Lane = std::conditional_t<sizeof(T) == 4, std::int32_t, std::int64_t>;
  using Mask = typename VecOf<Lane, V>::type;
  Mask lane;
  for (int i = 0; i < V; ++i) lane[i] = i;
  const std::int64_t cg = g.c / g.groups, taps = g.kh * g.kw, k = cg * taps, plane = g.oh * g.ow;
  const std::int64_t sw = Unit ? 1 : g.sw;
  for (std::int64_t ci = 0; ci < cg; ++ci)
    for (std::int64_t ki = 0; ki < g.kh; ++ki)
      for (std::int64_t kj = 0; kj < g.kw; ++kj) {
        const std::int64_t yoff = ki * g.dh - g.ph, xoff = kj * g.dw - g.pw;
        std::int64_t ylo, yhi, xlo, xhi;
        valid_range(g.oh, g.sh, yoff, g.h, ylo, yhi);
        valid_range(g.ow, sw, xoff, g.w, xlo, xhi);
        // Columns [xlo, vhi) go in whole blocks of V, and [vhi, xhi) in one block overlapping the
        // one before, its first `skip` lanes (already counted) masked off; narrow rows go one by one.
        const bool blocks = xhi - xlo >= V;
        const std::int64_t vhi = blocks ? xlo + (xhi - xlo) / V * V : xlo, skip = blocks ? V - (xhi - vhi) : 0;
        const Mask keep = lane >= static_cast<Lane>(skip);
        Vec acc[OB] = {}, tail[OB] = {};  // two sets of sums: twice the FMAs in flight
        T rest[OB] = {};
        for (std::int64_t oy = ylo; oy < yhi; ++oy) {
          const T* xr = xs + (ci * g.h + oy * g.sh + yoff) * g.w + xoff;
          const T* gr = gyo + oy * g.ow;
          for (std::int64_t ox = xlo; ox < vhi; ox += V)
            weight_grad_columns<T, V, OB, Unit, false>(xr, gr, plane, ox, sw, keep, acc);
          if (blocks && vhi < xhi) weight_grad_columns<T, V, OB, Unit, true>(xr, gr, plane, xhi - V, sw, keep, tail);
          if (!blocks)
            for (std::int64_t ox = xlo; ox < xhi; ++ox)
              for (int j = 0; j < OB; ++j) rest[j] += gr[j * plane + ox] * xr[ox * sw];
        }
        for (int j = 0; j < OB; ++j) {
          T* lanes = gwo + (j * k + ci * taps + ki * g.kw + kj) * V;
          Vec sum;
          load(sum, lanes);
          sum += acc[j] + tail[j];
          std::memcpy(lanes, &sum, sizeof sum);
          lanes[0] += rest[j];
        }
      }
}

// Adds the weight and bias gradients of items [i0, i1), an item being (sample, group), into gw
// [oc, K, V] and gb [oc, V] (either may be null): the lanes of each weight and bias, to be summed.
template <class T, int V>
NABLA_ALWAYS_INLINE void direct_weight_grad_items(const Conv2dGeometry& g, const T* x, const T* gy, T* gw, T* gb,
                                                  std::int64_t i0, std::int64_t i1) {
  using Vec = typename VecOf<T, V>::type;
  const std::int64_t cg = g.c / g.groups, ocg = g.oc / g.groups, k = cg * g.kh * g.kw, plane = g.oh * g.ow;
  for (std::int64_t item = i0; item < i1; ++item) {
    const std::int64_t s = item / g.groups, gi = item % g.groups;
    const T* xs = x + (s * g.c + gi * cg) * g.h * g.w;
    for (std::int64_t o = gi * ocg; o < (gi + 1) * ocg; o += kDirectBlock) {
      const T* gyo = gy + (s * g.oc + o) * plane;
      if (gb != nullptr)
        for (std::int64_t j = o; j < std::min(o + kDirectBlock, (gi + 1) * ocg); ++j) {
          const T* gr = gy + (s * g.oc + j) * plane;
          Vec acc{};
          std::int64_t p = 0;
          for (; p + V <= plane; p += V) {
            Vec v;
            load(v, gr + p);
            acc += v;
          }
          for (; p < plane; ++p) acc[0] += gr[p];
          Vec sum;
          load(sum, gb + j * V);
          sum += acc;
          std::memcpy(gb + j * V, &sum, sizeof sum);
        }
      if (gw == nullptr) continue;
      if (o + kDirectBlock <= (gi + 1) * ocg) {
        if (g.sw == 1) direct_weight_grad_block<T, V, kDirectBlock, true>(g, xs, gyo, gw + o * k * V);
        else direct_weight_grad_block<T, V, kDirectBlock, false>(g, xs, gyo, gw + o * k * V);
      } else
        for (std::int64_t j = o; j < (gi + 1) * ocg; ++j) {
          const T* gyj = gy + (s * g.oc + j) * plane;
          if (g.sw == 1) direct_weight_grad_block<T, V, 1, true>(g, xs, gyj, gw + j * k * V);
          else direct_weight_grad_block<T, V, 1, false>(g, xs, gyj, gw + j * k * V);
        }
    }
  }
}

// The direct loops compiled for one instruction set; V is one register of T.
#define NABLA_DIRECT_ISA(name, attributes, vector_bytes)                                                  \
  template <class T>                                                                                           \
  attributes void direct_forward_##name(const Conv2dGeometry& g, const T* x, const T* w, const T* b, T* y,     \
                                        std::int64_t i0, std::int64_t i1) {                                   \
    direct_forward_items<T, (vector_bytes) / sizeof(T)>(g, x, w, b, y, i0, i1);                           \
  }                                                                                                            \
  template <class T>                                                                                           \
  attributes void direct_weight_grad_##name(const Conv2dGeometry& g, const T* x, const T* gy, T* gw, T* gb,    \
                                            std::int64_t i0, std::int64_t i1) {                               \
    direct_weight_grad_items<T, (vector_bytes) / sizeof(T)>(g, x, gy, gw, gb, i0, i1);                    \
  }

// The build targets x86-64-v2 (4-wide SSE, no FMA), where even these loops would not beat
// OpenBLAS's AVX-512 GEMM; so they are also compiled for AVX2 + FMA and AVX-512 and picked at run time.
NABLA_DIRECT_ISA(base, , 16)
#if defined(__GNUC__) && defined(__x86_64__)
#define NABLA_DIRECT_X86 1
NABLA_DIRECT_ISA(avx2, __attribute__((target("avx2,fma"))), 32)
NABLA_DIRECT_ISA(avx512, __attribute__((target("avx512f,avx2,fma"))), 64)
#endif
#undef NABLA_DIRECT_ISA

template <class T>
struct DirectKernels {
  void (*forward)(const Conv2dGeometry&, const T*, const T*, const T*, T*, std::int64_t, std::int64_t);
  void (*weight_grad)(const Conv2dGeometry&, const T*, const T*, T*, T*, std::int64_t, std::int64_t);
  std::int64_t lanes;  // V of weight_grad's partial sums
};

template <class T>
DirectKernels<T> direct_kernels() {
#ifdef NABLA_DIRECT_X86
  static const int level = __builtin_cpu_supports("avx512f")                                       ? 2
                           : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1
                                                                                                   : 0;
  if (level == 2) return {&direct_forward_avx512<T>, &direct_weight_grad_avx512<T>, 64 / sizeof(T)};
  if (level == 1) return {&direct_forward_avx2<T>, &direct_weight_grad_avx2<T>, 32 / sizeof(T)};
#endif
  return {&direct_forward_base<T>, &direct_weight_grad_base<T>, 16 / sizeof(T)};
}

// K up to which the direct path is used (ConvPath::kAuto). Measured with 3x3 kernels on the
// default CNN's first-layer shapes (64 samples, 28x28 -> 26x26, 32 output channels, AVX-512, 2
// threads), GEMM vs direct in µs, forward | weight and bias gradients: K=9 191 vs 141 | 649 vs 298;
// K=27 423 vs 357 | 992 vs 825; K=36 509 vs 465 | 968 vs 1082. The direct loops do K passes over
// the output with no reuse across taps, so past ~30 the GEMM's depth wins.
constexpr std::int64_t kDirectMaxK = 27;

// With only the baseline's 4-wide SSE the direct forward took twice the GEMM's time (K = 9), so
// kAuto then keeps the GEMM.
template <class T>
bool use_direct(const Conv2dGeometry& g, ConvPath path) {
  if (path != ConvPath::kAuto) return path == ConvPath::kDirect;
  return (g.c / g.groups) * g.kh * g.kw <= kDirectMaxK && direct_kernels<T>().lanes * sizeof(T) >= 32;
}

template <class T>
void direct_forward(const Conv2dGeometry& g, const T* x, const T* w, const T* b, T* y) {
  const auto kernels = direct_kernels<T>();
  const std::int64_t ocg = g.oc / g.groups, blocks = (ocg + kDirectBlock - 1) / kDirectBlock;
  const std::int64_t items = g.n * g.groups * blocks;
  const std::int64_t work = std::max<std::int64_t>(kDirectBlock * g.oh * g.ow * (g.c / g.groups) * g.kh * g.kw, 1);
  parallel_for(items, std::max<std::int64_t>(1, kParallelGrain / work),
               [&](std::int64_t i0, std::int64_t i1) { kernels.forward(g, x, w, b, y, i0, i1); });
}

// gw [oc, K] and gb [oc] (either may be null). The items (sample, group) are cut into one share per
// pool thread, each summed into its own buffer; the shares are then added in order, so the result
// does not depend on which thread ran which share, nor when.
template <class T>
void direct_weight_grad(const Conv2dGeometry& g, const T* x, const T* gy, T* gw, T* gb) {
  const auto kernels = direct_kernels<T>();
  const std::int64_t k = (g.c / g.groups) * g.kh * g.kw, items = g.n * g.groups;
  const std::int64_t per_item = std::max<std::int64_t>(g.oc / g.groups * g.oh * g.ow * (k + 1), 1);
  const std::int64_t shares =
      std::clamp<std::int64_t>(std::min<std::int64_t>(pool_threads_available(), items * per_item / kParallelGrain), 1,
                               std::max<std::int64_t>(items, 1));
  const std::int64_t lanes = kernels.lanes;
  const std::int64_t gw_size = gw != nullptr ? g.oc * k : 0, gb_size = gb != nullptr ? g.oc : 0;
  const std::int64_t size = (gw_size + gb_size) * lanes;
  auto parts = scratch<T>(shares * size);
  std::fill(parts.get(), parts.get() + shares * size, T(0));
  parallel_for(shares, 1, [&](std::int64_t p0, std::int64_t p1) {
    for (std::int64_t p = p0; p < p1; ++p) {
      T* part = parts.get() + p * size;
      kernels.weight_grad(g, x, gy, gw != nullptr ? part : nullptr, gb != nullptr ? part + gw_size * lanes : nullptr,
                          items * p / shares, items * (p + 1) / shares);
    }
  });
  for (std::int64_t i = 0; i < gw_size + gb_size; ++i) {
    T total = 0;
    for (std::int64_t p = 0; p < shares; ++p)
      for (std::int64_t l = 0; l < lanes; ++l) total += parts[p * size + i * lanes + l];
    (i < gw_size ? gw[i] : gb[i - gw_size]) = total;
  }
}

}  // namespace

template <class T>
void conv2d_forward(const Conv2dGeometry& g, const T* x, const T* w, const T* b, T* y, ConvPath path) {
  if (use_direct<T>(g, path)) {
    direct_forward(g, x, w, b, y);
    return;
  }
  const std::int64_t plane = g.oh * g.ow, rows = g.c * g.kh * g.kw;
  if (per_thread(g)) {
    const std::int64_t step = step_size(g);
    parallel_for(g.n, 1, [&](std::int64_t s0, std::int64_t s1) {
      auto col = scratch<T>(rows * std::min(step, s1 - s0) * plane);  // once per thread and call
      auto out = scratch<T>(g.oc * std::min(step, s1 - s0) * plane);
      for (std::int64_t n0 = s0; n0 < s1; n0 += step)
        forward_step(g, x, w, b, y, n0, std::min(step, s1 - n0), col.get(), out.get());
    });
    return;
  }
  const std::int64_t nb = chunk_size(g);
  auto col = scratch<T>(rows * nb * plane);
  auto out = scratch<T>(g.oc * nb * plane);
  for (std::int64_t n0 = 0; n0 < g.n; n0 += nb) forward_step(g, x, w, b, y, n0, std::min(nb, g.n - n0), col.get(), out.get());
}

template <class T>
void conv2d_backward(const Conv2dGeometry& g, const T* x, const T* w, const T* gy, T* gx, T* gw, T* gb, ConvPath path) {
  if (use_direct<T>(g, path) && (gw != nullptr || gb != nullptr)) {
    direct_weight_grad(g, x, gy, gw, gb);
    if (gx == nullptr) return;
    gw = gb = nullptr;  // gx stays with the GEMM below: it is a convolution of gy by the flipped kernel,
                        // whose reduction (oc / groups)·kh·kw need not be small
  }
  const std::int64_t plane = g.oh * g.ow, in_sample = g.c * g.h * g.w, rows = g.c * g.kh * g.kw;
  const std::int64_t rows_g = (g.c / g.groups) * g.kh * g.kw, ocg = g.oc / g.groups;
  if (gw != nullptr && (g.n == 0 || rows_g == 0)) std::fill(gw, gw + g.oc * rows_g, T(0));
  if (gx != nullptr && ocg == 0) std::fill(gx, gx + g.n * in_sample, T(0));
  if (gb != nullptr && g.n == 0) std::fill(gb, gb + g.oc, T(0));
  if (rows_g == 0 || ocg == 0 || g.n == 0) {
    if (gb != nullptr && g.n > 0)  // no GEMM to piggyback on
      for (std::int64_t o = 0; o < g.oc; ++o) {
        T total = 0;
        for (std::int64_t s = 0; s < g.n; ++s)
          for (std::int64_t p = 0; p < plane; ++p) total += gy[(s * g.oc + o) * plane + p];
        gb[o] = total;
      }
    return;
  }
  if (per_thread(g)) {
    const std::int64_t step = step_size(g);
    std::mutex merge;
    bool merged = false;
    parallel_for(g.n, 1, [&](std::int64_t s0, std::int64_t s1) {
      if (s0 >= s1) return;
      auto col = scratch<T>(rows * std::min(step, s1 - s0) * plane);  // once per thread and call
      auto gyt = scratch<T>(g.oc * std::min(step, s1 - s0) * plane);
      auto part = gw != nullptr ? scratch<T>(g.oc * rows_g) : nullptr;  // this thread's share of gWᵀ
      auto part_b = gb != nullptr ? scratch<T>(g.oc) : nullptr;          // and of gb
      for (std::int64_t n0 = s0; n0 < s1; n0 += step)
        backward_step(g, x, w, gy, gx, part.get(), part_b.get(), n0 == s0, n0, std::min(step, s1 - n0), col.get(),
                      gyt.get());
      std::lock_guard<std::mutex> lock(merge);
      if (gw != nullptr) add_weight_grad(g, part.get(), gw, !merged);
      if (gb != nullptr) {
        if (!merged) std::copy(part_b.get(), part_b.get() + g.oc, gb);
        else
          for (std::int64_t i = 0; i < g.oc; ++i) gb[i] += part_b[i];
      }
      merged = true;
    });
    return;
  }
  const std::int64_t nb = chunk_size(g);
  auto col = scratch<T>(rows * nb * plane);
  auto gyt = scratch<T>(g.oc * nb * plane);
  auto gwt = gw != nullptr ? scratch<T>(g.oc * rows_g) : nullptr;
  for (std::int64_t n0 = 0; n0 < g.n; n0 += nb)
    backward_step(g, x, w, gy, gx, gwt.get(), gb, n0 == 0, n0, std::min(nb, g.n - n0), col.get(), gyt.get());
  if (gw != nullptr) add_weight_grad(g, gwt.get(), gw, true);
}

namespace {
// One plane of max pooling; sizes by value so that they live in registers (the int64 index stores
// could otherwise alias them in memory). Each window starts at its first tap inside the input; a
// strictly larger value takes over (selects, not branches: random data would mispredict them).
// With NaNs in the plane (WithNaN), a window holding one takes PyTorch's rule instead: the last NaN
// of the window wins. Tracking NaNs inside the hot loop cost ~4x, so planes without any skip it.
template <bool WithNaN, class T>
void max_pool_plane(const T* xp, T* yp, std::int64_t* ip, std::int64_t w, std::int64_t oh, std::int64_t ow,
                    std::int64_t sh, std::int64_t sw, std::int64_t ph, std::int64_t pw, std::int64_t dh, std::int64_t dw,
                    const std::int64_t* ki0, const std::int64_t* ki1, const std::int64_t* kj0, const std::int64_t* kj1) {
  for (std::int64_t oy = 0; oy < oh; ++oy) {
    const std::int64_t y0 = oy * sh - ph, a0 = ki0[oy], a1 = ki1[oy];
    for (std::int64_t ox = 0; ox < ow; ++ox) {
      const std::int64_t x0 = ox * sw - pw, b0 = kj0[ox], b1 = kj1[ox];
      if (!WithNaN && a1 - a0 == 2 && b1 - b0 == 2 && dh == 1 && dw == 1) {  // 2x2 inside the input
        const std::int64_t p0 = (y0 + a0) * w + x0 + b0, p2 = p0 + w;
        T best = xp[p0];
        std::int64_t at = p0;
        for (const std::int64_t pos : {p0 + 1, p2, p2 + 1}) {
          const bool gt = xp[pos] > best;
          best = gt ? xp[pos] : best;
          at = gt ? pos : at;
        }
        yp[oy * ow + ox] = best;
        ip[oy * ow + ox] = at;
        continue;
      }
      T best = -std::numeric_limits<T>::infinity();
      std::int64_t at = a0 < a1 && b0 < b1 ? (y0 + a0 * dh) * w + x0 + b0 * dw : -1;
      for (std::int64_t ki = a0; ki < a1; ++ki) {
        const std::int64_t row = (y0 + ki * dh) * w + x0;
        for (std::int64_t kj = b0; kj < b1; ++kj) {
          const T v = xp[row + kj * dw];
          const bool gt = v > best;
          best = gt ? v : best;
          at = gt ? row + kj * dw : at;
        }
      }
      if constexpr (WithNaN)
        for (std::int64_t ki = a0; ki < a1; ++ki)
          for (std::int64_t kj = b0; kj < b1; ++kj) {
            const std::int64_t pos = (y0 + ki * dh) * w + x0 + kj * dw;
            if (xp[pos] != xp[pos]) {
              best = xp[pos];
              at = pos;
            }
          }
      yp[oy * ow + ox] = best;
      ip[oy * ow + ox] = at;
    }
  }
}

// One plane of the most common pooling, 2x2 windows with stride 2 and no padding, in one pass that
// vectorises: no window bounds in the inner loop, NaN noticed on the way rather than by a pre-scan,
// and each window's arg-max kept as a lane-wide offset (32-bit for float: the same width as the
// compare masks) written with arithmetic, not selects, which GCC would not vectorise. Returns false,
// leaving the plane to max_pool_plane<true>, when a window held a NaN.
template <class T>
bool max_pool_2x2_plane(const T* xp, T* yp, std::int64_t* ip, std::int64_t w, std::int64_t oh, std::int64_t ow) {
  using Offset = std::conditional_t<sizeof(T) == 4, std::int32_t, std::int64_t>;
  constexpr std::int64_t kChunk = 64;
  Offset offset[kChunk];
  const Offset wo = static_cast<Offset>(w);
  int nan = 0;  // an int, not a bool, and no early exit: then the loop vectorises
  for (std::int64_t oy = 0; oy < oh; ++oy) {
    const std::int64_t row = 2 * oy * w;
    for (std::int64_t c0 = 0; c0 < ow; c0 += kChunk) {
      const std::int64_t n = std::min(kChunk, ow - c0);
      const T* __restrict r0 = xp + row + 2 * c0;
      const T* __restrict r1 = r0 + w;
      T* __restrict y = yp + oy * ow + c0;
      for (std::int64_t i = 0; i < n; ++i) {
        const T a = r0[2 * i], b = r0[2 * i + 1], c = r1[2 * i], d = r1[2 * i + 1];
        nan |= (a != a) | (b != b) | (c != c) | (d != d);
        // Strictly larger takes over, in the order a, b, c, d: the first maximum wins, as in max_pool_plane.
        const bool gb = b > a;
        const T m1 = gb ? b : a;
        const Offset o1 = static_cast<Offset>(gb);
        const bool gc = c > m1;
        const T m2 = gc ? c : m1;
        const Offset o2 = o1 + static_cast<Offset>(gc) * (wo - o1);
        const bool gd = d > m2;
        y[i] = gd ? d : m2;
        offset[i] = o2 + static_cast<Offset>(gd) * (wo + 1 - o2);
      }
      std::int64_t* __restrict at = ip + oy * ow + c0;
      for (std::int64_t i = 0; i < n; ++i) at[i] = row + 2 * (c0 + i) + offset[i];
    }
  }
  return nan == 0;
}

template <class T>
bool has_nan(const T* x, std::int64_t n) {
  int nan = 0;  // an int, not a bool, and no early exit: then the loop vectorises
  for (std::int64_t i = 0; i < n; ++i) nan |= x[i] != x[i];
  return nan != 0;
}
}  // namespace

template <class T>
void max_pool2d_forward(std::int64_t planes, std::int64_t h, std::int64_t w, std::int64_t oh, std::int64_t ow,
                        std::int64_t kh, std::int64_t kw, std::int64_t sh, std::int64_t sw, std::int64_t ph,
                        std::int64_t pw, std::int64_t dh, std::int64_t dw, const T* x, T* y, std::int64_t* idx) {
  // Per output row and column, the kernel taps that land inside the input (once per call, so the
  // inner loops have no bounds checks and no divisions).
  std::vector<std::int64_t> ki0(oh), ki1(oh), kj0(ow), kj1(ow);
  for (std::int64_t oy = 0; oy < oh; ++oy) valid_range(kh, dh, oy * sh - ph, h, ki0[oy], ki1[oy]);
  for (std::int64_t ox = 0; ox < ow; ++ox) valid_range(kw, dw, ox * sw - pw, w, kj0[ox], kj1[ox]);
  const std::int64_t grain = std::max<std::int64_t>(1, 4096 / std::max<std::int64_t>(oh * ow * kh * kw, 1));
  const bool two_by_two = kh == 2 && kw == 2 && sh == 2 && sw == 2 && ph == 0 && pw == 0 && dh == 1 && dw == 1 &&
                          2 * oh <= h && 2 * ow <= w;  // every window inside (not so with ceil_mode)
  parallel_for(planes, grain, [&](std::int64_t p0, std::int64_t p1) {
    for (std::int64_t p = p0; p < p1; ++p) {
      const T* xp = x + p * h * w;
      if (two_by_two && max_pool_2x2_plane(xp, y + p * oh * ow, idx + p * oh * ow, w, oh, ow)) continue;
      auto* plane = has_nan(xp, h * w) ? &max_pool_plane<true, T> : &max_pool_plane<false, T>;
      plane(xp, y + p * oh * ow, idx + p * oh * ow, w, oh, ow, sh, sw, ph, pw, dh, dw, ki0.data(), ki1.data(), kj0.data(),
            kj1.data());
    }
  });
}

template <class T>
void max_pool2d_backward(std::int64_t planes, std::int64_t hw, std::int64_t ohw, const T* gy, const std::int64_t* idx,
                         T* gx) {
  parallel_for(planes, std::max<std::int64_t>(1, 8192 / std::max<std::int64_t>(hw, 1)),
               [&](std::int64_t p0, std::int64_t p1) {
                 for (std::int64_t p = p0; p < p1; ++p) {
                   T* gp = gx + p * hw;
                   std::fill(gp, gp + hw, T(0));
                   const T* g = gy + p * ohw;
                   const std::int64_t* ip = idx + p * ohw;
                   for (std::int64_t i = 0; i < ohw; ++i)
                     if (ip[i] >= 0) gp[ip[i]] += g[i];
                 }
               });
}

template <class T>
void avg_pool2d_forward(const PoolWindows& pw, std::int64_t planes, const T* x, T* y) {
  const std::int64_t hw = pw.h * pw.w, ohw = pw.oh * pw.ow;
  parallel_for(planes, std::max<std::int64_t>(1, 8192 / std::max<std::int64_t>(hw, 1)),
               [&](std::int64_t p0, std::int64_t p1) {
                 for (std::int64_t p = p0; p < p1; ++p) {
                   const T* xp = x + p * hw;
                   T* yp = y + p * ohw;
                   for (std::int64_t i = 0; i < pw.oh; ++i)
                     for (std::int64_t j = 0; j < pw.ow; ++j) {
                       T total = 0;
                       for (std::int64_t r = pw.h0[i]; r < pw.h1[i]; ++r)
                         for (std::int64_t c = pw.w0[j]; c < pw.w1[j]; ++c) total += xp[r * pw.w + c];
                       yp[i * pw.ow + j] = total / static_cast<T>(pw.hdiv[i] * pw.wdiv[j]);
                     }
                 }
               });
}

template <class T>
void avg_pool2d_backward(const PoolWindows& pw, std::int64_t planes, const T* gy, T* gx) {
  const std::int64_t hw = pw.h * pw.w, ohw = pw.oh * pw.ow;
  parallel_for(planes, std::max<std::int64_t>(1, 8192 / std::max<std::int64_t>(hw, 1)),
               [&](std::int64_t p0, std::int64_t p1) {
                 for (std::int64_t p = p0; p < p1; ++p) {
                   T* gp = gx + p * hw;
                   std::fill(gp, gp + hw, T(0));
                   const T* g = gy + p * ohw;
                   for (std::int64_t i = 0; i < pw.oh; ++i)
                     for (std::int64_t j = 0; j < pw.ow; ++j) {
                       const T v = g[i * pw.ow + j] / static_cast<T>(pw.hdiv[i] * pw.wdiv[j]);
                       for (std::int64_t r = pw.h0[i]; r < pw.h1[i]; ++r)
                         for (std::int64_t c = pw.w0[j]; c < pw.w1[j]; ++c) gp[r * pw.w + c] += v;
                     }
                 }
               });
}

// Mean and sum of squared deviations of n values, in two passes in double (stable for large means).
template <class T>
std::pair<double, double> row_moments(const T* row, std::int64_t n) {
  double sum = 0;
  for (std::int64_t k = 0; k < n; ++k) sum += row[k];
  const double mean = sum / static_cast<double>(n);
  double m2 = 0;
  for (std::int64_t k = 0; k < n; ++k) {
    const double d = row[k] - mean;
    m2 += d * d;
  }
  return {mean, m2};
}

template <class T>
void batch_norm_stats(std::int64_t n, std::int64_t c, std::int64_t s, const T* x, T* mean, T* var) {
  parallel_for(c, std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(n * s, 1)),
               [&](std::int64_t c0, std::int64_t c1) {
                 for (std::int64_t ch = c0; ch < c1; ++ch) {
                   // Each row (one sample's plane) is summed twice while it is in cache, then merged
                   // into the channel's running count, mean and M2 (Chan et al.).
                   double count = 0, mu = 0, m2 = 0;
                   for (std::int64_t i = 0; i < n; ++i) {
                     const auto [rmu, rm2] = row_moments(x + (i * c + ch) * s, s);
                     const double total = count + static_cast<double>(s), delta = rmu - mu;
                     mu += delta * static_cast<double>(s) / total;
                     m2 += rm2 + delta * delta * count * static_cast<double>(s) / total;
                     count = total;
                   }
                   mean[ch] = static_cast<T>(mu);
                   var[ch] = static_cast<T>(count > 0 ? m2 / count : 0.0);
                 }
               });
}

template <class T>
void batch_norm_apply(std::int64_t n, std::int64_t c, std::int64_t s, const T* x, const T* mean, const T* invstd,
                      const T* w, const T* b, T* y) {
  parallel_for(n * c, std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(s, 1)),
               [&](std::int64_t r0, std::int64_t r1) {
                 for (std::int64_t r = r0; r < r1; ++r) {
                   const std::int64_t ch = r % c;
                   const T m = mean[ch], scale = invstd[ch] * (w != nullptr ? w[ch] : T(1));
                   const T shift = b != nullptr ? b[ch] : T(0);
                   const T* xr = x + r * s;
                   T* yr = y + r * s;
                   for (std::int64_t k = 0; k < s; ++k) yr[k] = (xr[k] - m) * scale + shift;
                 }
               });
}

template <class T>
void batch_norm_backward(std::int64_t n, std::int64_t c, std::int64_t s, const T* x, const T* mean, const T* invstd,
                         const T* w, const T* gy, T* gx, T* gw, T* gb) {
  const double count = static_cast<double>(n * s);
  parallel_for(c, std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(n * s, 1)),
               [&](std::int64_t c0, std::int64_t c1) {
                 for (std::int64_t ch = c0; ch < c1; ++ch) {
                   const T m = mean[ch], inv = invstd[ch];
                   double sum_g = 0, sum_gxc = 0;  // Σ g and Σ g (x - mean)
                   for (std::int64_t i = 0; i < n; ++i) {
                     const T* xr = x + (i * c + ch) * s;
                     const T* gr = gy + (i * c + ch) * s;
                     for (std::int64_t k = 0; k < s; ++k) {
                       sum_g += gr[k];
                       sum_gxc += gr[k] * (xr[k] - m);
                     }
                   }
                   if (gw != nullptr) gw[ch] = static_cast<T>(sum_gxc * inv);
                   if (gb != nullptr) gb[ch] = static_cast<T>(sum_g);
                   if (gx == nullptr) continue;
                   // gx = w·inv·(g - mean(g) - x̂·mean(g·x̂)), x̂ = (x - mean)·inv
                   const T wv = w != nullptr ? w[ch] : T(1);
                   const T scale = wv * inv, mean_g = static_cast<T>(sum_g / count);
                   const T proj = static_cast<T>(sum_gxc / count) * inv * inv;
                   for (std::int64_t i = 0; i < n; ++i) {
                     const T* xr = x + (i * c + ch) * s;
                     const T* gr = gy + (i * c + ch) * s;
                     T* out = gx + (i * c + ch) * s;
                     for (std::int64_t k = 0; k < s; ++k) out[k] = scale * (gr[k] - mean_g - (xr[k] - m) * proj);
                   }
                 }
               });
}

template <class T>
void layer_norm_forward(std::int64_t rows, std::int64_t d, const T* x, const T* w, const T* b, double eps, T* y, T* mean,
                        T* invstd) {
  parallel_for(rows, std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(d, 1)),
               [&](std::int64_t r0, std::int64_t r1) {
                 for (std::int64_t r = r0; r < r1; ++r) {
                   const T* xr = x + r * d;
                   T* yr = y + r * d;
                   const auto [mu, m2] = row_moments(xr, d);
                   const T m = static_cast<T>(mu), inv = static_cast<T>(1.0 / std::sqrt(m2 / static_cast<double>(d) + eps));
                   mean[r] = m;
                   invstd[r] = inv;
                   for (std::int64_t k = 0; k < d; ++k) {
                     const T v = (xr[k] - m) * inv;
                     yr[k] = v * (w != nullptr ? w[k] : T(1)) + (b != nullptr ? b[k] : T(0));
                   }
                 }
               });
}

template <class T>
void layer_norm_backward(std::int64_t rows, std::int64_t d, const T* x, const T* mean, const T* invstd, const T* w,
                         const T* gy, T* gx, T* gw, T* gb) {
  if (gx != nullptr)
    parallel_for(rows, std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(d, 1)),
                 [&](std::int64_t r0, std::int64_t r1) {
                   for (std::int64_t r = r0; r < r1; ++r) {
                     const T* xr = x + r * d;
                     const T* gr = gy + r * d;
                     const T m = mean[r], inv = invstd[r];
                     double sum_a = 0, sum_b = 0;  // Σ ĝ and Σ ĝ·x̂ with ĝ = g·w
                     for (std::int64_t k = 0; k < d; ++k) {
                       const T gh = gr[k] * (w != nullptr ? w[k] : T(1));
                       sum_a += gh;
                       sum_b += gh * (xr[k] - m) * inv;
                     }
                     const T ma = static_cast<T>(sum_a / static_cast<double>(d));
                     const T mb = static_cast<T>(sum_b / static_cast<double>(d));
                     T* out = gx + r * d;
                     for (std::int64_t k = 0; k < d; ++k) {
                       const T gh = gr[k] * (w != nullptr ? w[k] : T(1));
                       out[k] = inv * (gh - ma - (xr[k] - m) * inv * mb);
                     }
                   }
                 });
  if (gw == nullptr && gb == nullptr) return;
  parallel_for(d, 64, [&](std::int64_t k0, std::int64_t k1) {
    if (gw != nullptr) std::fill(gw + k0, gw + k1, T(0));
    if (gb != nullptr) std::fill(gb + k0, gb + k1, T(0));
    for (std::int64_t r = 0; r < rows; ++r) {
      const T* xr = x + r * d;
      const T* gr = gy + r * d;
      const T m = mean[r], inv = invstd[r];
      for (std::int64_t k = k0; k < k1; ++k) {
        if (gw != nullptr) gw[k] += gr[k] * (xr[k] - m) * inv;
        if (gb != nullptr) gb[k] += gr[k];
      }
    }
  });
}

#define NABLA_CONV_KERNELS(T)                                                                                          \
  template void conv2d_forward<T>(const Conv2dGeometry&, const T*, const T*, const T*, T*, ConvPath);                  \
  template void conv2d_backward<T>(const Conv2dGeometry&, const T*, const T*, const T*, T*, T*, T*, ConvPath);         \
  template void max_pool2d_forward<T>(std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t,            \
                                      std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t,            \
                                      std::int64_t, std::int64_t, std::int64_t, const T*, T*, std::int64_t*);          \
  template void max_pool2d_backward<T>(std::int64_t, std::int64_t, std::int64_t, const T*, const std::int64_t*, T*);  \
  template void avg_pool2d_forward<T>(const PoolWindows&, std::int64_t, const T*, T*);                                \
  template void avg_pool2d_backward<T>(const PoolWindows&, std::int64_t, const T*, T*);                               \
  template void batch_norm_stats<T>(std::int64_t, std::int64_t, std::int64_t, const T*, T*, T*);                      \
  template void batch_norm_apply<T>(std::int64_t, std::int64_t, std::int64_t, const T*, const T*, const T*,           \
                                    const T*, const T*, T*);                                                           \
  template void batch_norm_backward<T>(std::int64_t, std::int64_t, std::int64_t, const T*, const T*, const T*,        \
                                       const T*, const T*, T*, T*, T*);                                                \
  template void layer_norm_forward<T>(std::int64_t, std::int64_t, const T*, const T*, const T*, double, T*, T*, T*);  \
  template void layer_norm_backward<T>(std::int64_t, std::int64_t, const T*, const T*, const T*, const T*, const T*,  \
                                       T*, T*, T*);
NABLA_CONV_KERNELS(float)
NABLA_CONV_KERNELS(double)
#undef NABLA_CONV_KERNELS

}  // namespace nabla::detail
