#pragma once
/// Reductions, softmax and log-softmax.
#include <concepts>
#include <initializer_list>

#include <nabla/core/tensor.h>

namespace nabla {

/// Sum of all elements (shape []).
Tensor sum(const Tensor& x);
/// Sum over dim; keepdim keeps it with size 1.
Tensor sum(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// Sum over several dims (an empty list sums nothing and returns a copy of x, as NumPy).
Tensor sum(const Tensor& x, const Shape& dims, bool keepdim = false);
/// A braced list of dims is a dim list, also `{}` and `{d}` (which would otherwise convert to the
/// single dim 0 and d): sum(x, {0, 2}).
inline Tensor sum(const Tensor& x, std::initializer_list<std::int64_t> dims, bool keepdim = false) {
  return sum(x, Shape(dims), keepdim);
}
/// Mean of all elements.
Tensor mean(const Tensor& x);
/// Mean over dim.
Tensor mean(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// Mean over several dims (a non-empty list, each dim once), as torch.mean(x, dims).
Tensor mean(const Tensor& x, const Shape& dims, bool keepdim = false);
/// A braced list of dims is a dim list (`mean(x, {})` is refused, not dim 0).
inline Tensor mean(const Tensor& x, std::initializer_list<std::int64_t> dims, bool keepdim = false) {
  return mean(x, Shape(dims), keepdim);
}
/// Largest element (gradient split evenly between ties, as PyTorch).
Tensor max(const Tensor& x);
/// Largest values over dim (the max gate: the gradient goes to the arg-max).
Tensor max(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// Smallest element.
Tensor min(const Tensor& x);
/// Smallest values over dim.
Tensor min(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// Largest values over several dims (each dim once), as torch.amax: unlike max(x, dim), the
/// gradient is split evenly between ties.
Tensor amax(const Tensor& x, const Shape& dims, bool keepdim = false);
/// Smallest values over several dims, as torch.amin.
Tensor amin(const Tensor& x, const Shape& dims, bool keepdim = false);
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
/// Variance over dim: Σ (x - mean)² / (N - correction), in two passes (correction 1: the unbiased
/// estimate, 0: the population variance). N - correction <= 0 divides by 0 (inf or NaN), as PyTorch.
/// float32 values are centred and summed in double (forward and backward), so their sums and squares
/// do not overflow; the result is float32 again (inf if the variance itself is beyond float32).
Tensor var(const Tensor& x, std::int64_t dim, double correction = 1.0, bool keepdim = false);
/// Variance over several dims (a non-empty list, each dim once): N is the product of their sizes.
Tensor var(const Tensor& x, const Shape& dims, double correction = 1.0, bool keepdim = false);
/// A braced list of dims is a dim list.
inline Tensor var(const Tensor& x, std::initializer_list<std::int64_t> dims, double correction = 1.0, bool keepdim = false) {
  return var(x, Shape(dims), correction, keepdim);
}
/// Unbiased variance of all elements (for another correction: var(x.flatten(), 0, correction)).
Tensor var(const Tensor& x);
/// var(x, false) or var(x, 0.0) would silently mean dim 0: the dim comes first (var(x, dim, correction)).
template <class B>
  requires std::same_as<B, bool> || std::floating_point<B>
Tensor var(const Tensor& x, B) = delete;
/// Standard deviation sqrt(var) over dim (its gradient is 0 where it is 0, as PyTorch's). With
/// `using namespace nabla;` call it nabla::std (a plain std(x) is ambiguous with namespace std).
/// The square root is taken in double for float32, so a std whose variance overflows float32 is finite.
Tensor std(const Tensor& x, std::int64_t dim, double correction = 1.0, bool keepdim = false);
/// Standard deviation over several dims.
Tensor std(const Tensor& x, const Shape& dims, double correction = 1.0, bool keepdim = false);
/// A braced list of dims is a dim list.
inline Tensor std(const Tensor& x, std::initializer_list<std::int64_t> dims, double correction = 1.0, bool keepdim = false) {
  return std(x, Shape(dims), correction, keepdim);
}
/// Unbiased standard deviation of all elements.
Tensor std(const Tensor& x);
/// As for var: the dim comes first.
template <class B>
  requires std::same_as<B, bool> || std::floating_point<B>
Tensor std(const Tensor& x, B) = delete;
/// The p-norm of all elements, (Σ |x|^p)^(1/p), as torch.linalg.vector_norm, for any real p
/// (p < 0 too; a zero element makes it 0), p = inf (max |x|), -inf (min |x|) and 0 (the count of
/// nonzero elements, gradient 0). The gradient at a zero norm is 0 (as PyTorch), and at ±inf it is
/// shared evenly among the elements of largest (smallest) |x|.
Tensor norm(const Tensor& x, double p = 2.0);
/// The p-norm over dim.
Tensor norm(const Tensor& x, double p, std::int64_t dim, bool keepdim = false);
/// The p-norm over several dims (a non-empty list, each dim once), as torch.linalg.vector_norm.
Tensor norm(const Tensor& x, double p, const Shape& dims, bool keepdim = false);
/// A braced list of dims is a dim list.
inline Tensor norm(const Tensor& x, double p, std::initializer_list<std::int64_t> dims, bool keepdim = false) {
  return norm(x, p, Shape(dims), keepdim);
}
/// Running sum along dim: out[i] = x[0] + ... + x[i] (float32 accumulated in double, as PyTorch on
/// the CPU). Backward: the running sum of the gradient from the other end.
Tensor cumsum(const Tensor& x, std::int64_t dim);
/// Running product along dim: out[i] = x[0] · ... · x[i] (float32 multiplied in double). Its
/// gradient divides by nothing, so it is exact where x has zeros, and every order is differentiable.
Tensor cumprod(const Tensor& x, std::int64_t dim);
/// Product of all elements (1 for an empty tensor).
Tensor prod(const Tensor& x);
/// Product over dim (1 over an empty dim). The gradient of each element is the product of the
/// others, computed without dividing by x: exact where x has zeros (with one zero only that element
/// gets a gradient, with two none), as PyTorch's.
Tensor prod(const Tensor& x, std::int64_t dim, bool keepdim = false);
/// Sums x down to `shape` (the reverse of broadcasting): how broadcast gradients come home.
Tensor sum_to(const Tensor& x, const Shape& shape);

}  // namespace nabla
