#pragma once
// The data behind a Tensor handle: storage, shape, strides, offset, dtype and autograd metadata.
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>

#include <nabla/core/tensor.h>

namespace nabla::detail {

/// A 64-byte aligned buffer shared by a tensor and its views. The version counter lives here so
/// that an in-place change through any view is seen by every saved alias.
struct Storage {
  explicit Storage(std::size_t nbytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data = nullptr;
  std::size_t nbytes = 0;
  std::atomic<std::uint64_t> version{0};
};

/// Gradient bookkeeping, present only on tensors that take part in autograd.
struct AutogradMeta {
  bool requires_grad = false;
  bool retains_grad = false;
  Tensor grad;
  std::shared_ptr<autograd::Node> grad_fn;
  std::weak_ptr<autograd::Node> grad_accumulator;  // weak: the accumulator owns the leaf, not vice versa
  std::uint32_t output_nr = 0;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;
  std::int64_t offset = 0;
  std::int64_t numel = 1;
  DType dtype = kFloat32;
  std::optional<AutogradMeta> autograd;  // inline: one allocation less for every recorded output

  void* data() const {
    return static_cast<char*>(storage->data) + offset * static_cast<std::int64_t>(element_size(dtype));
  }
  AutogradMeta& meta() {
    if (!autograd) autograd.emplace();
    return *autograd;
  }
};

/// Row-major strides of a shape.
Shape contiguous_strides(const Shape& shape);
/// Product of sizes, checked against overflow; `op` names the caller in the error.
std::int64_t checked_numel(const Shape& shape, const char* op);
/// A new, empty TensorImpl, allocated from the caching allocator.
std::shared_ptr<TensorImpl> make_impl();
/// A new contiguous tensor of the shape and dtype, values uninitialised.
Tensor make_empty(const Shape& shape, DType dtype);
/// A view of `base`'s storage with other shape/strides/offset (no autograd metadata).
Tensor make_view(const Tensor& base, Shape shape, Shape strides, std::int64_t offset);
/// Normalises a possibly negative dim against ndim; throws naming `op` when out of range.
std::int64_t wrap_dim(std::int64_t dim, std::int64_t ndim, const char* op);

}  // namespace nabla::detail
