#pragma once
// Raw loops over strided memory: dtype dispatch, broadcasting iteration and reductions.
// Kernels know shapes, strides and pointers only; nothing here knows about the graph.
#include <array>
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "core/parallel.h"
#include "core/tensor_impl.h"

namespace nabla::detail {

/// Throws unless t is defined, naming the op (a method of an undefined tensor would fail in a
/// metadata getter that cannot name it).
inline void check_defined(const Tensor& t, const char* op) {
  if (!t.defined()) throw Error(fmt::format("{}: got an undefined tensor", op));
}

/// Throws unless t is float32 or float64, naming the op.
inline void check_floating(const Tensor& t, const char* op) {
  check_defined(t, op);
  if (!is_floating(t.dtype()))
    throw Error(fmt::format("{}: expected a float32 or float64 tensor, got {} (shape {})", op, dtype_name(t.dtype()),
                            t.shape_string()));
}

/// Throws unless a and b have the same dtype.
inline void check_same_dtype(const Tensor& a, const Tensor& b, const char* op) {
  if (a.dtype() != b.dtype())
    throw Error(fmt::format("{}: dtypes {} and {} do not match (shapes {} and {}); convert one with .to()", op,
                            dtype_name(a.dtype()), dtype_name(b.dtype()), a.shape_string(), b.shape_string()));
}

/// Calls f.template operator()<T>() with T = float or double for t's dtype.
template <class F>
decltype(auto) dispatch_floating(DType dtype, const char* op, F&& f) {
  switch (dtype) {
    case DType::Float32: return f.template operator()<float>();
    case DType::Float64: return f.template operator()<double>();
    default: throw Error(fmt::format("{}: expected float32 or float64, got {}", op, dtype_name(dtype)));
  }
}

/// Same, with T = std::int64_t allowed too.
template <class F>
decltype(auto) dispatch_all(DType dtype, F&& f) {
  switch (dtype) {
    case DType::Float32: return f.template operator()<float>();
    case DType::Float64: return f.template operator()<double>();
    default: return f.template operator()<std::int64_t>();
  }
}

/// parallel_for without building a std::function when the range stays on this thread anyway, as it
/// does for every small tensor (where that allocation would be a good part of the op's cost).
template <class F>
void parallel_loop(std::int64_t n, std::int64_t grain, F&& fn) {
  if (n >= grain) parallel_for(n, grain, fn);
  else if (n > 0) fn(std::int64_t{0}, n);
}

/// t's strides as seen from a tensor of out_shape it broadcasts to (0 along broadcast dims).
inline Shape broadcast_strides(const Tensor& t, const Shape& out_shape) {
  Shape s(out_shape.size(), 0);
  const auto& shape = t.shape();
  const auto& strides = t.strides();
  const std::size_t lead = out_shape.size() - shape.size();
  for (std::size_t i = 0; i < shape.size(); ++i) s[lead + i] = shape[i] == 1 ? 0 : strides[i];
  return s;
}

/// Visits a shape row by row (the innermost dim): row(offsets, inner_strides, length), where
/// offsets[k] is operand k's element offset at the row's start. Rows are split over the pool.
template <std::size_t N, class Row>
void for_each_row(const Shape& shape, const std::array<Shape, N>& strides, Row&& row) {
  std::array<std::int64_t, N> inner{};
  if (shape.empty()) {
    std::array<std::int64_t, N> zero{};
    row(zero, inner, std::int64_t{1});
    return;
  }
  const std::size_t nd = shape.size();
  const std::int64_t len = shape[nd - 1];
  std::int64_t rows = 1;
  for (std::size_t d = 0; d + 1 < nd; ++d) rows *= shape[d];
  if (len == 0 || rows == 0) return;
  for (std::size_t k = 0; k < N; ++k) inner[k] = strides[k][nd - 1];
  const std::int64_t grain = std::max<std::int64_t>(1, kParallelGrain / len);
  parallel_loop(rows, grain, [&](std::int64_t begin, std::int64_t end) {
    // Multi-index of the first row of this chunk over the outer dims.
    Shape idx(nd, 0);
    std::array<std::int64_t, N> off{};
    std::int64_t r = begin;
    for (std::size_t d = nd - 1; d-- > 0;) {
      idx[d] = r % shape[d];
      r /= shape[d];
      for (std::size_t k = 0; k < N; ++k) off[k] += idx[d] * strides[k][d];
    }
    for (std::int64_t i = begin; i < end; ++i) {
      row(off, inner, len);
      for (std::size_t d = nd - 1; d-- > 0;) {
        if (++idx[d] < shape[d]) {
          for (std::size_t k = 0; k < N; ++k) off[k] += strides[k][d];
          break;
        }
        for (std::size_t k = 0; k < N; ++k) off[k] -= strides[k][d] * (shape[d] - 1);
        idx[d] = 0;
      }
    }
  });
}

/// out = f(x) elementwise into a new contiguous tensor of x's shape and dtype.
template <class T, class F>
Tensor map_unary(const Tensor& x, F f) {
  Tensor out = make_empty(x.shape(), x.dtype());
  T* o = out.data_ptr<T>();
  const T* in = x.data_ptr<T>();
  if (x.is_contiguous()) {
    parallel_loop(x.numel(), kParallelGrain, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t i = b; i < e; ++i) o[i] = f(in[i]);
    });
    return out;
  }
  for_each_row<2>(x.shape(), {out.strides(), x.strides()}, [&](auto off, auto st, std::int64_t n) {
    T* po = o + off[0];
    const T* pi = in + off[1];
    for (std::int64_t i = 0; i < n; ++i) po[i] = f(pi[i * st[1]]);
  });
  return out;
}

/// out = f(a, b) elementwise with broadcasting into a new contiguous tensor of `shape`.
template <class T, class F>
Tensor map_binary(const Tensor& a, const Tensor& b, const Shape& shape, F f) {
  Tensor out = make_empty(shape, a.dtype());
  T* o = out.data_ptr<T>();
  const T* pa = a.data_ptr<T>();
  const T* pb = b.data_ptr<T>();
  const auto n = out.numel();
  if (a.is_contiguous() && b.is_contiguous() && a.shape() == shape && b.shape() == shape) {
    parallel_loop(n, kParallelGrain, [&](std::int64_t s, std::int64_t e) {
      for (std::int64_t i = s; i < e; ++i) o[i] = f(pa[i], pb[i]);
    });
    return out;
  }
  for_each_row<3>(shape, {out.strides(), broadcast_strides(a, shape), broadcast_strides(b, shape)},
                  [&](auto off, auto st, std::int64_t len) {
                    T* po = o + off[0];
                    const T* xa = pa + off[1];
                    const T* xb = pb + off[2];
                    if (st[1] == 1 && st[2] == 1) {
                      for (std::int64_t i = 0; i < len; ++i) po[i] = f(xa[i], xb[i]);
                    } else if (st[1] == 1 && st[2] == 0) {
                      const T vb = *xb;
                      for (std::int64_t i = 0; i < len; ++i) po[i] = f(xa[i], vb);
                    } else if (st[1] == 0 && st[2] == 1) {
                      const T va = *xa;
                      for (std::int64_t i = 0; i < len; ++i) po[i] = f(va, xb[i]);
                    } else {
                      for (std::int64_t i = 0; i < len; ++i) po[i] = f(xa[i * st[1]], xb[i * st[2]]);
                    }
                  });
  return out;
}

/// Copies src (any strides, broadcast to dst's shape, converted) into dst (any strides).
void copy_into(const Tensor& dst, const Tensor& src);

/// Splits a contiguous shape around dim into [outer, n, inner].
struct DimSplit {
  std::int64_t outer = 1, n = 1, inner = 1;
};
inline DimSplit split_at(const Shape& shape, std::int64_t dim) {
  DimSplit s;
  for (std::int64_t d = 0; d < static_cast<std::int64_t>(shape.size()); ++d) {
    if (d < dim) s.outer *= shape[d];
    else if (d == dim) s.n = shape[d];
    else s.inner *= shape[d];
  }
  return s;
}

/// f applied to every element of a floating tensor (checked first; op names it in errors), as a
/// new contiguous tensor of x's dtype: the forward half of an elementwise op. f takes a T.
template <class F>
Tensor unary_forward(const Tensor& x, const char* op, F f) {
  check_floating(x, op);
  return dispatch_floating(x.dtype(), op, [&]<class T>() { return map_unary<T>(x, f); });
}

}  // namespace nabla::detail

namespace nabla::detail {
/// t itself when contiguous, else a contiguous copy made outside the graph (for kernels).
inline Tensor dense(const Tensor& t) {
  if (t.is_contiguous()) return t;
  Tensor out = make_empty(t.shape(), t.dtype());
  copy_into(out, t);
  return out;
}
}  // namespace nabla::detail
