#pragma once
/// Reductions, softmax and log-softmax.
#include <nabla/core/tensor.h>

namespace nabla {

/// Sum of all elements (shape []).
Tensor sum(const Tensor& x);
/// Sum over dim; keepdim keeps it with size 1.
Tensor sum(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// Sum over several dims (an empty list sums nothing and returns a copy of x, as NumPy).
Tensor sum(const Tensor& x, const Shape& dims, bool keepdim = false);
/// Mean of all elements.
Tensor mean(const Tensor& x);
/// Mean over dim.
Tensor mean(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// Largest element (gradient split evenly between ties, as PyTorch).
Tensor max(const Tensor& x);
/// Largest values over dim (the max gate: the gradient goes to the arg-max).
Tensor max(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// Smallest element.
Tensor min(const Tensor& x);
/// Smallest values over dim.
Tensor min(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// Index of the largest value over dim, as int64 (first one on ties).
Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// Index of the smallest value over dim, as int64.
Tensor argmin(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// log(sum(exp(x))) over dim, computed stably.
Tensor logsumexp(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// exp(x) / sum(exp(x)) over dim, computed stably.
Tensor softmax(const Tensor& x, std::int64_t dim);
/// x - logsumexp(x) over dim.
Tensor log_softmax(const Tensor& x, std::int64_t dim);
/// Sums x down to `shape` (the reverse of broadcasting): how broadcast gradients come home.
Tensor sum_to(const Tensor& x, const Shape& shape);

}  // namespace nabla
