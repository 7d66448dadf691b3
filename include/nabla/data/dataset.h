#pragma once
/// Data sets: indexed collections of examples, each a list of tensors (e.g. {image, label}).
#include <cstdint>
#include <vector>

#include <nabla/core/tensor.h>

namespace nabla::data {

/// One example (or one batch): a list of tensors, e.g. {image, label}.
using Example = std::vector<Tensor>;

/// An indexed collection of examples. get() and get_batch() may be called from a DataLoader's
/// background thread, so they must not modify shared state.
class Dataset {
 public:
  virtual ~Dataset() = default;
  /// Number of examples.
  virtual std::int64_t size() const = 0;
  /// Example `index` (0 <= index < size()).
  virtual Example get(std::int64_t index) const = 0;
  /// The examples at `indices`, each tensor stacked along a new first dimension into a contiguous
  /// tensor. The default calls get() per index; override it for speed.
  virtual Example get_batch(const std::vector<std::int64_t>& indices) const;
};

/// Examples are the rows (first-dimension entries) of equally long tensors, e.g. {images, labels}.
class TensorDataset : public Dataset {
 public:
  /// Takes tensors with equal size(0) (at least one dimension each); stores detached contiguous copies
  /// where needed.
  explicit TensorDataset(std::vector<Tensor> tensors);
  /// Number of rows.
  std::int64_t size() const override;
  /// Row `index` of every tensor (views).
  Example get(std::int64_t index) const override;
  /// Rows `indices` of every tensor copied into fresh contiguous tensors.
  Example get_batch(const std::vector<std::int64_t>& indices) const override;
  /// The stored tensors.
  const std::vector<Tensor>& tensors() const { return tensors_; }

 private:
  std::vector<Tensor> tensors_;
  std::int64_t size_ = 0;
};

/// Stacks examples of equal shapes into one batch (each tensor gains a leading dimension).
Example collate(const std::vector<Example>& examples);

}  // namespace nabla::data
