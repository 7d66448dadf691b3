#pragma once
/// nabla::Tensor: a handle to a dense, strided N-d array with optional autograd metadata.
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include <nabla/core/dtype.h>
#include <nabla/core/error.h>
#include <nabla/core/shape.h>

namespace nabla {

namespace autograd {
class Node;
}
namespace detail {
struct TensorImpl;
}

/// A tensor is a cheap, shared handle: copies alias the same data and graph node.
/// Views (reshape of a contiguous tensor, transpose, permute, slice, expand) share storage.
class Tensor {
 public:
  /// An undefined tensor (defined() is false), used for "no gradient".
  Tensor() = default;
  explicit Tensor(std::shared_ptr<detail::TensorImpl> impl);

  /// False for a default-constructed tensor.
  bool defined() const { return impl_ != nullptr; }

  // ---- metadata ----
  /// Sizes of the dimensions.
  const Shape& shape() const;
  /// Size of dimension d (negative d counts from the end).
  std::int64_t size(std::int64_t d) const;
  /// Element strides of the dimensions.
  const Shape& strides() const;
  /// Number of dimensions.
  std::int64_t dim() const;
  /// Number of elements.
  std::int64_t numel() const;
  /// Element type.
  DType dtype() const;
  /// Offset of the first element in the storage, in elements.
  std::int64_t storage_offset() const;
  /// True when the elements lie row-major without gaps.
  bool is_contiguous() const;
  /// True when both tensors share the same storage.
  bool is_alias_of(const Tensor& other) const;

  // ---- element access ----
  /// Pointer to the first element; T must match dtype().
  template <class T> T* data_ptr() const { return static_cast<T*>(typed_data(dtype_of<T>())); }
  /// Untyped pointer to the first element, whatever the dtype (for byte-level copies and I/O).
  void* raw_data() const;
  /// The value of a one-element tensor, converted to T.
  template <class T> T item() const;
  /// All elements in row-major order, converted to T.
  template <class T> std::vector<T> to_vector() const;

  // ---- autograd ----
  /// Marks a floating-point leaf as requiring gradients; returns the tensor.
  Tensor requires_grad_(bool requires_grad = true);
  /// True when gradients flow to or through this tensor.
  bool requires_grad() const;
  /// The accumulated gradient (undefined until a backward reaches this leaf).
  Tensor grad() const;
  /// Replaces the accumulated gradient.
  void set_grad(const Tensor& grad);
  /// Fills the accumulated gradient with zeros, if there is one.
  void zero_grad();
  /// Drops the accumulated gradient (grad() becomes undefined).
  void reset_grad();
  /// Keeps the gradient of a non-leaf tensor in grad() after backward.
  void retain_grad();
  /// True for tensors not produced by a recorded op.
  bool is_leaf() const;
  /// The node that produced this tensor (null for leaves).
  std::shared_ptr<autograd::Node> grad_fn() const;
  /// Which output of grad_fn() this tensor is.
  std::uint32_t output_nr() const;
  /// Same data, cut from the graph.
  Tensor detach() const;
  /// Backward from this tensor. Without `gradient` the tensor must hold one element.
  void backward(const Tensor& gradient = {}, bool retain_graph = false, bool create_graph = false) const;

  // ---- shape and views ----
  /// Same data in a new shape (a view when possible, else a copy); one size may be -1.
  Tensor reshape(const Shape& shape) const;
  /// Same data in a new shape; throws when a view is impossible.
  Tensor view(const Shape& shape) const;
  /// Swaps two dimensions (a view).
  Tensor transpose(std::int64_t dim0, std::int64_t dim1) const;
  /// Transpose of a 2-D tensor.
  Tensor t() const;
  /// Reorders the dimensions (a view).
  Tensor permute(const Shape& dims) const;
  /// Elements start, start+step, ... < end along dim (a view; negative bounds count from the end).
  Tensor slice(std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1) const;
  /// `length` elements from `start` along dim (a view).
  Tensor narrow(std::int64_t dim, std::int64_t start, std::int64_t length) const;
  /// The index-th entry along dim, which is removed (a view).
  Tensor select(std::int64_t dim, std::int64_t index) const;
  /// select(0, index).
  Tensor operator[](std::int64_t index) const;
  /// Repeats size-1 dimensions to `shape` without copying (-1 keeps a size).
  Tensor expand(const Shape& shape) const;
  /// Inserts a size-1 dimension at dim.
  Tensor unsqueeze(std::int64_t dim) const;
  /// Removes dimension dim, which must have size 1.
  Tensor squeeze(std::int64_t dim) const;
  /// Merges dimensions start_dim..end_dim into one.
  Tensor flatten(std::int64_t start_dim = 0, std::int64_t end_dim = -1) const;
  /// This tensor if contiguous, else a contiguous copy.
  Tensor contiguous() const;
  /// A copy with its own storage.
  Tensor clone() const;
  /// Converted to dtype (this tensor when it already has it).
  Tensor to(DType dtype) const;

  // ---- in-place (bump the version counter; refused where autograd would need the old value) ----
  /// this += alpha * other (other broadcast to this shape).
  Tensor add_(const Tensor& other, double alpha = 1.0);
  /// this += value.
  Tensor add_(double value);
  /// this -= other.
  Tensor sub_(const Tensor& other);
  /// this *= other (broadcast).
  Tensor mul_(const Tensor& other);
  /// this *= value.
  Tensor mul_(double value);
  /// this /= other (broadcast).
  Tensor div_(const Tensor& other);
  /// Sets every element to value.
  Tensor fill_(double value);
  /// Sets every element to 0.
  Tensor zero_();
  /// Copies other's values (broadcast, converted) into this tensor.
  Tensor copy_(const Tensor& other);
  /// Counts in-place modifications of the storage; autograd uses it to detect stale saved values.
  std::uint64_t version() const;
  /// Counts a change made through data_ptr() (as in-place ops do), so stale saved tensors are caught.
  void bump_version() const;

  /// Shape as text, e.g. "[2, 3]".
  std::string shape_string() const;

  /// The implementation (for nabla's own layers).
  const std::shared_ptr<detail::TensorImpl>& impl() const { return impl_; }

 private:
  void* typed_data(DType expected) const;
  std::shared_ptr<detail::TensorImpl> impl_;
};

/// Prints values, shape and dtype, like "tensor([[1, 2], [3, 4]], dtype=float32)".
std::ostream& operator<<(std::ostream& os, const Tensor& t);
/// Formats a shape as "[2, 3]".
std::string shape_to_string(const Shape& shape);

// ---- creation ----
/// A tensor holding a copy of values (row-major) with the given shape; empty shape: one element per value in 1-D.
Tensor tensor(const std::vector<double>& values, const Shape& shape, DType dtype = kFloat64);
/// float values; dtype defaults to float32.
Tensor tensor(const std::vector<float>& values, const Shape& shape, DType dtype = kFloat32);
/// int64 values; dtype defaults to int64.
Tensor tensor(const std::vector<std::int64_t>& values, const Shape& shape, DType dtype = kInt64);
/// A 1-D tensor from a braced list: tensor({1.0, 2.0}).
Tensor tensor(std::initializer_list<double> values, DType dtype = kFloat32);
/// Uninitialised values.
Tensor empty(const Shape& shape, DType dtype = kFloat32);
/// All zeros.
Tensor zeros(const Shape& shape, DType dtype = kFloat32);
/// All ones.
Tensor ones(const Shape& shape, DType dtype = kFloat32);
/// All `value`.
Tensor full(const Shape& shape, double value, DType dtype = kFloat32);
/// Zeros with another tensor's shape and dtype.
Tensor zeros_like(const Tensor& t);
/// Ones with another tensor's shape and dtype.
Tensor ones_like(const Tensor& t);
/// `value` with another tensor's shape and dtype.
Tensor full_like(const Tensor& t, double value);
/// 0, 1, ..., end-1.
Tensor arange(double end, DType dtype = kFloat32);
/// start, start+step, ... < end.
Tensor arange(double start, double end, double step = 1.0, DType dtype = kFloat32);
/// Uniform on [0, 1) from the seeded generator.
Tensor rand(const Shape& shape, DType dtype = kFloat32);
/// Standard normal from the seeded generator.
Tensor randn(const Shape& shape, DType dtype = kFloat32);
/// Uniform on [low, high) from the seeded generator.
Tensor uniform(const Shape& shape, double low, double high, DType dtype = kFloat32);
/// Integers uniform on [low, high) as int64.
Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape);
/// A random permutation of 0..n-1 as int64.
Tensor randperm(std::int64_t n);
/// The n x n identity.
Tensor eye(std::int64_t n, DType dtype = kFloat32);

}  // namespace nabla
