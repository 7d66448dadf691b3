#pragma once
/// Shape ops, joining and indexing. The tensor's methods (reshape, transpose, ...) are views.
#include <initializer_list>
#include <vector>

#include <nabla/core/tensor.h>

namespace nabla {

/// Same as t.reshape(shape).
Tensor reshape(const Tensor& t, const Shape& shape);
/// Same as t.transpose(dim0, dim1).
Tensor transpose(const Tensor& t, std::int64_t dim0, std::int64_t dim1);
/// Same as t.permute(dims).
Tensor permute(const Tensor& t, const Shape& dims);
/// Joins tensors of equal shape except along dim.
Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim = 0);
/// Joins tensors of equal shape along a new dim.
Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim = 0);
/// The entries of t at `index` (1-D int64) along dim.
Tensor index_select(const Tensor& t, std::int64_t dim, const Tensor& index);
/// out[i][j] = t[index[i][j]][j] for dim 0 (and likewise for other dims); index is int64.
Tensor gather(const Tensor& t, std::int64_t dim, const Tensor& index);
/// A copy of t with src added at `index` along dim (the adjoint of gather).
Tensor scatter_add(const Tensor& t, std::int64_t dim, const Tensor& index, const Tensor& src);
/// Rows of a num_classes-wide identity for int64 labels, in dtype.
Tensor one_hot(const Tensor& labels, std::int64_t num_classes, DType dtype = kFloat32);

// ---- rearranging: flip, roll, repeat, tril/triu copy (each backward rearranges the gradient
// back); split and chunk are views ----

/// The elements in reverse order along each of dims (each dim once), as torch.flip.
Tensor flip(const Tensor& t, const Shape& dims);
/// Elements shifted along dims[k] by shifts[k] positions, wrapping around, as torch.roll (negative
/// shifts roll the other way; shifts and dims have the same length).
Tensor roll(const Tensor& t, const Shape& shifts, const Shape& dims);
/// t tiled repeats[k] times along dim k, as torch.Tensor.repeat: repeats may name more dims than t
/// has (t is then treated as having leading dims of size 1), never fewer. Backward sums the tiles.
Tensor repeat(const Tensor& t, const Shape& repeats);
/// The lower triangle of the last two dims (elements with column - row <= diagonal), the rest 0,
/// as torch.tril; diagonal > 0 keeps diagonals above the main one, < 0 drops some below it.
Tensor tril(const Tensor& t, std::int64_t diagonal = 0);
/// The upper triangle of the last two dims (column - row >= diagonal), the rest 0, as torch.triu.
Tensor triu(const Tensor& t, std::int64_t diagonal = 0);
/// Views of consecutive pieces along dim of split_size elements each (the last may be smaller),
/// as torch.split.
std::vector<Tensor> split(const Tensor& t, std::int64_t split_size, std::int64_t dim = 0);
/// Views of consecutive pieces along dim with the given sizes, which must add up to its size.
std::vector<Tensor> split(const Tensor& t, const Shape& sizes, std::int64_t dim = 0);
/// A braced list is a list of sizes (`split(x, {3})` is one piece of 3, not pieces of 3 each).
inline std::vector<Tensor> split(const Tensor& t, std::initializer_list<std::int64_t> sizes, std::int64_t dim = 0) {
  return split(t, Shape(sizes), dim);
}
/// At most `chunks` views of equal size (the last may be smaller) along dim, as torch.chunk.
std::vector<Tensor> chunk(const Tensor& t, std::int64_t chunks, std::int64_t dim = 0);

}  // namespace nabla
