// Rearranging elements: flip, roll, repeat, tril/triu, split/chunk. flip and roll move whole rows
// along a dim (index_select's copy), and each backward is the inverse move of the gradient; repeat
// is a broadcast view copied out, so its backward sums the tiles; tril/triu zero the other
// triangle, and their backward takes the same triangle of the gradient (a zeroed element gets
// none, and an inf there does not become NaN); split and chunk are narrow views.
#include <algorithm>
#include <cstring>

#include <nabla/autograd/grad_mode.h>
#include <nabla/ops/arithmetic.h>
#include <nabla/ops/shape.h>

#include "autograd/record.h"
#include "kernels/loops.h"

namespace nabla {
using detail::BackwardContext;
using detail::check_defined;
using detail::record;
using Grads = std::vector<Tensor>;

namespace {
// dims wrapped against t's rank; with `once`, a dim named twice is refused.
Shape wrap_dims(const Tensor& t, const Shape& dims, const char* op, bool once) {
  Shape out;
  for (auto d : dims) {
    if (t.dim() == 0) throw Error(fmt::format("{}: cannot rearrange a 0-dimensional tensor (dims {})", op, shape_to_string(dims)));
    out.push_back(detail::wrap_dim(d, t.dim(), op));
  }
  if (once) {
    Shape sorted = out;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
      throw Error(fmt::format("{}: dim list {} names a dim twice", op, shape_to_string(dims)));
  }
  return out;
}

// Rows of t along each dims[k] taken in the order index_of(k, size) gives (no graph).
template <class Order>
Tensor move_rows(const Tensor& t, const Shape& dims, Order index_of) {
  NoGradGuard no_grad;
  Tensor out = t;
  for (std::size_t k = 0; k < dims.size(); ++k) {
    const std::int64_t n = t.shape()[dims[k]];
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = index_of(k, i, n);
    out = index_select(out, dims[k], tensor(order, {n}));
  }
  return dims.empty() ? t.clone().detach() : out;  // always a copy, as PyTorch
}
}  // namespace

Tensor flip(const Tensor& t, const Shape& dims_in) {
  check_defined(t, "flip");
  if (t.dim() == 0) {  // one element: dims 0 and -1 name it (as torch.flip), and flipping it is a copy
    for (auto d : dims_in) detail::wrap_dim(d, 0, "flip");
    return t.clone();
  }
  const Shape dims = wrap_dims(t, dims_in, "flip", true);
  Tensor out = move_rows(t, dims, [](std::size_t, std::int64_t i, std::int64_t n) { return n - 1 - i; });
  return record("flip", out, {t}, {}, [dims](const BackwardContext&, const Tensor& g) -> Grads { return {flip(g, dims)}; });
}

Tensor roll(const Tensor& t, const Shape& shifts, const Shape& dims_in) {
  check_defined(t, "roll");
  if (shifts.size() != dims_in.size() || shifts.empty())
    throw Error(fmt::format("roll: shifts {} and dims {} must be non-empty lists of the same length",
                            shape_to_string(shifts), shape_to_string(dims_in)));
  const Shape dims = wrap_dims(t, dims_in, "roll", false);
  // out[i] = t[(i - shift) mod n]: element j moves to j + shift.
  Tensor out = move_rows(t, dims, [&](std::size_t k, std::int64_t i, std::int64_t n) {
    const std::int64_t r = (i - shifts[k] % n) % n;
    return r < 0 ? r + n : r;
  });
  Shape back(shifts.size());
  for (std::size_t k = 0; k < shifts.size(); ++k) back[k] = -shifts[k];
  return record("roll", out, {t}, {}, [back, dims](const BackwardContext&, const Tensor& g) -> Grads {
    return {roll(g, back, dims)};
  });
}

Tensor repeat(const Tensor& t, const Shape& repeats) {
  check_defined(t, "repeat");
  const auto extra = static_cast<std::int64_t>(repeats.size()) - t.dim();
  if (extra < 0)
    throw Error(fmt::format("repeat: {} repeats for a tensor of {} dims (shape {}); give at least one per dim",
                            repeats.size(), t.dim(), t.shape_string()));
  for (auto r : repeats)
    if (r < 0) throw Error(fmt::format("repeat: repeats must be >= 0, got {}", shape_to_string(repeats)));
  // t as (1, s0, 1, s1, ...) broadcast to (r0, s0, r1, s1, ...), then merged pairwise: tile k of
  // dim d is the whole of t along d. expand and reshape are recorded, so the gradient sums tiles.
  Shape pairs, expanded, result;
  for (std::size_t k = 0; k < repeats.size(); ++k) {
    const auto d = static_cast<std::int64_t>(k) - extra;
    const std::int64_t size = d < 0 ? 1 : t.shape()[d];
    pairs.insert(pairs.end(), {1, size});
    expanded.insert(expanded.end(), {repeats[k], size});
    result.push_back(repeats[k] * size);
  }
  const Tensor tiled = t.reshape(pairs).expand(expanded);
  // Always a copy (as torch.Tensor.repeat): with every repeat 1 the expanded view is t itself.
  return (tiled.is_contiguous() ? tiled.clone() : tiled.contiguous()).reshape(result);
}

namespace {
// Zeroes the elements of the last two dims outside one triangle: below diagonal `diagonal` for
// triu (upper), above it for tril. Any dtype. Backward: the same triangle of the gradient.
Tensor triangle(const Tensor& t, std::int64_t diagonal, bool upper) {
  const char* op = upper ? "triu" : "tril";
  check_defined(t, op);
  if (t.dim() < 2)
    throw Error(fmt::format("{}: needs at least 2 dims (a matrix or a batch of them), got shape {}", op, t.shape_string()));
  const std::int64_t rows = t.shape()[t.dim() - 2], cols = t.shape()[t.dim() - 1];
  const std::int64_t matrices = rows * cols == 0 ? 0 : t.numel() / (rows * cols);
  Tensor out = detail::make_empty(t.shape(), t.dtype());
  detail::copy_into(out, t);
  const std::size_t es = element_size(t.dtype());
  char* base = static_cast<char*>(out.impl()->data());
  for (std::int64_t m = 0; m < matrices; ++m)
    for (std::int64_t r = 0; r < rows; ++r) {
      // Columns kept: c - r <= diagonal (tril) or c - r >= diagonal (triu); zero the rest of the row.
      const std::int64_t edge = std::clamp(r + diagonal + (upper ? 0 : 1), std::int64_t{0}, cols);
      const std::int64_t from = upper ? 0 : edge, to = upper ? edge : cols;
      std::memset(base + ((m * rows + r) * cols + from) * static_cast<std::int64_t>(es), 0,
                  static_cast<std::size_t>(to - from) * es);
    }
  return record(op, out, {t}, {}, [diagonal, upper](const BackwardContext&, const Tensor& g) -> Grads {
    return {triangle(g, diagonal, upper)};
  });
}
}  // namespace

Tensor tril(const Tensor& t, std::int64_t diagonal) { return triangle(t, diagonal, false); }

Tensor triu(const Tensor& t, std::int64_t diagonal) { return triangle(t, diagonal, true); }

std::vector<Tensor> split(const Tensor& t, const Shape& sizes, std::int64_t dim) {
  check_defined(t, "split");
  if (t.dim() == 0) throw Error("split: cannot split a 0-dimensional tensor");
  const auto d = detail::wrap_dim(dim, t.dim(), "split");
  std::int64_t total = 0;
  for (auto s : sizes) {
    if (s < 0) throw Error(fmt::format("split: sizes must be >= 0, got {}", shape_to_string(sizes)));
    total += s;
  }
  if (total != t.shape()[d])
    throw Error(fmt::format("split: sizes {} add up to {}, but dim {} of shape {} has {}", shape_to_string(sizes), total,
                            dim, t.shape_string(), t.shape()[d]));
  std::vector<Tensor> pieces;
  std::int64_t start = 0;
  for (auto s : sizes) {
    pieces.push_back(t.narrow(d, start, s));
    start += s;
  }
  return pieces;
}

std::vector<Tensor> split(const Tensor& t, std::int64_t split_size, std::int64_t dim) {
  check_defined(t, "split");
  if (t.dim() == 0) throw Error("split: cannot split a 0-dimensional tensor");
  const auto d = detail::wrap_dim(dim, t.dim(), "split");
  const std::int64_t n = t.shape()[d];
  if (split_size <= 0 && !(split_size == 0 && n == 0))
    throw Error(fmt::format("split: split_size must be > 0, got {}", split_size));
  Shape sizes;
  for (std::int64_t start = 0; start < n; start += split_size) sizes.push_back(std::min(split_size, n - start));
  if (sizes.empty()) sizes.push_back(0);  // an empty dim gives one empty piece, as PyTorch
  return split(t, sizes, d);
}

std::vector<Tensor> chunk(const Tensor& t, std::int64_t chunks, std::int64_t dim) {
  check_defined(t, "chunk");
  if (chunks <= 0) throw Error(fmt::format("chunk: chunks must be > 0, got {}", chunks));
  if (t.dim() == 0) throw Error("chunk: cannot chunk a 0-dimensional tensor");
  const auto d = detail::wrap_dim(dim, t.dim(), "chunk");
  const std::int64_t n = t.shape()[d];
  if (n == 0) return split(t, Shape(static_cast<std::size_t>(chunks), 0), d);  // `chunks` empty pieces, as torch.chunk
  return split(t, (n + chunks - 1) / chunks, d);
}

}  // namespace nabla
