#pragma once
/// Shape ops, joining and indexing. The tensor's methods (reshape, transpose, ...) are views.
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

}  // namespace nabla
