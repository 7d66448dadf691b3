#pragma once
// Reductions along one dim of a contiguous tensor viewed as [outer, n, inner].
#include <cmath>
#include <limits>

#include "kernels/loops.h"

namespace nabla::detail {

/// out[o, i] = sum_k x[o, k, i].
template <class T>
void sum_dim(const T* x, T* out, DimSplit s) {
  if (s.inner == 1) {
    parallel_for(s.outer, std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(s.n, 1)),
                 [&](std::int64_t b, std::int64_t e) {
                   for (std::int64_t o = b; o < e; ++o) {
                     const T* row = x + o * s.n;
                     double acc = 0;
                     for (std::int64_t k = 0; k < s.n; ++k) acc += row[k];
                     out[o] = static_cast<T>(acc);
                   }
                 });
    return;
  }
  constexpr std::int64_t kBlock = 256;
  const std::int64_t blocks = (s.inner + kBlock - 1) / kBlock;
  parallel_for(s.outer * blocks, std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(s.n * kBlock, 1)),
               [&](std::int64_t b, std::int64_t e) {
                 for (std::int64_t t = b; t < e; ++t) {
                   const std::int64_t o = t / blocks, i0 = (t % blocks) * kBlock;
                   const std::int64_t i1 = std::min(s.inner, i0 + kBlock);
                   T* dst = out + o * s.inner;
                   for (std::int64_t i = i0; i < i1; ++i) dst[i] = 0;
                   for (std::int64_t k = 0; k < s.n; ++k) {
                     const T* src = x + (o * s.n + k) * s.inner;
                     for (std::int64_t i = i0; i < i1; ++i) dst[i] += src[i];
                   }
                 }
               });
}

/// Sum of all n elements, in parallel partial sums accumulated in double.
template <class T>
double sum_all(const T* x, std::int64_t n) {
  const int parts = 64;
  double partial[parts] = {};
  const std::int64_t chunk = (n + parts - 1) / parts;
  parallel_for(parts, n >= kParallelGrain ? 1 : parts + 1, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t p = b; p < e; ++p) {
      double acc = 0;
      for (std::int64_t i = p * chunk; i < std::min(n, (p + 1) * chunk); ++i) acc += x[i];
      partial[p] = acc;
    }
  });
  double total = 0;
  for (double v : partial) total += v;
  return total;
}

/// Values and first indices of the largest (or, with Less, smallest) x[o, :, i]; NaN wins.
template <class T, bool Largest>
void extreme_dim(const T* x, T* values, std::int64_t* indices, DimSplit s) {
  parallel_for(s.outer * s.inner, std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(s.n, 1)),
               [&](std::int64_t b, std::int64_t e) {
                 for (std::int64_t t = b; t < e; ++t) {
                   const std::int64_t o = t / s.inner, i = t % s.inner;
                   const T* p = x + o * s.n * s.inner + i;
                   T best = p[0];
                   std::int64_t arg = 0;
                   for (std::int64_t k = 1; k < s.n && !std::isnan(best); ++k) {
                     const T v = p[k * s.inner];
                     if (std::isnan(v) || (Largest ? v > best : v < best)) {
                       best = v;
                       arg = k;
                     }
                   }
                   values[t] = best;
                   indices[t] = arg;
                 }
               });
}

/// Softmax (or log-softmax) of every x[o, :, i], stable: the row's max is subtracted first.
template <class T, bool Log>
void softmax_dim(const T* x, T* y, DimSplit s) {
  parallel_for(s.outer * s.inner, std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(s.n, 1)),
               [&](std::int64_t b, std::int64_t e) {
                 for (std::int64_t t = b; t < e; ++t) {
                   const std::int64_t o = t / s.inner, i = t % s.inner, st = s.inner;
                   const T* p = x + o * s.n * st + i;
                   T* q = y + o * s.n * st + i;
                   T m = -std::numeric_limits<T>::infinity();
                   for (std::int64_t k = 0; k < s.n; ++k) m = std::max(m, p[k * st]);
                   if (std::isinf(m) && m < 0) m = 0;  // all -inf: avoid inf - inf
                   double total = 0;
                   for (std::int64_t k = 0; k < s.n; ++k) total += std::exp(static_cast<double>(p[k * st] - m));
                   if constexpr (Log) {
                     const T lse = m + static_cast<T>(std::log(total));
                     for (std::int64_t k = 0; k < s.n; ++k) q[k * st] = p[k * st] - lse;
                   } else {
                     const double inv = 1.0 / total;
                     for (std::int64_t k = 0; k < s.n; ++k) q[k * st] = static_cast<T>(std::exp(static_cast<double>(p[k * st] - m)) * inv);
                   }
                 }
               });
}

}  // namespace nabla::detail

namespace nabla::detail {
/// Sum of all elements of a tensor (any strides) in double.
template <class T>
double sum_all_values(const Tensor& t) {
  const Tensor d = dense(t);
  return sum_all<T>(d.data_ptr<T>(), d.numel());
}
}  // namespace nabla::detail
