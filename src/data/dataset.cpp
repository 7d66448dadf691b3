// Dataset, TensorDataset and collate: batches are fresh contiguous tensors filled by memcpy.
#include <nabla/data/dataset.h>

#include <cstring>

#include <fmt/format.h>

namespace nabla::data {
namespace {


}  // namespace

Example Dataset::get_batch(const std::vector<std::int64_t>& indices) const {
  std::vector<Example> examples;
  examples.reserve(indices.size());
  for (std::int64_t i : indices) examples.push_back(get(i));
  return collate(examples);
}

Example collate(const std::vector<Example>& examples) {
  if (examples.empty()) throw Error("collate: no examples to stack (valid: at least one)");
  const std::size_t k = examples[0].size();
  Example out;
  for (std::size_t j = 0; j < k; ++j) {
    const Tensor& first = examples[0][j];
    if (!first.defined()) throw Error(fmt::format("collate: tensor {} of example 0 is undefined", j));
    Shape shape{static_cast<std::int64_t>(examples.size())};
    shape.insert(shape.end(), first.shape().begin(), first.shape().end());
    Tensor batch = empty(shape, first.dtype());
    const std::size_t bytes = static_cast<std::size_t>(first.numel()) * element_size(first.dtype());
    auto* dst = static_cast<char*>(batch.raw_data());
    for (std::size_t i = 0; i < examples.size(); ++i) {
      if (examples[i].size() != k)
        throw Error(fmt::format("collate: example {} has {} tensors but example 0 has {}", i, examples[i].size(), k));
      const Tensor& t = examples[i][j];
      if (!t.defined() || t.shape() != first.shape() || t.dtype() != first.dtype())
        throw Error(fmt::format("collate: tensor {} of example {} is {} {}, but in example 0 it is {} {} (all must agree)",
                                j, i, t.defined() ? t.shape_string() : "undefined",
                                t.defined() ? dtype_name(t.dtype()) : "", first.shape_string(), dtype_name(first.dtype())));
      const Tensor c = t.contiguous();
      if (bytes) std::memcpy(dst + i * bytes, c.raw_data(), bytes);
    }
    out.push_back(batch);
  }
  return out;
}

TensorDataset::TensorDataset(std::vector<Tensor> tensors) {
  if (tensors.empty()) throw Error("TensorDataset: no tensors given (valid: at least one, e.g. {images, labels})");
  for (std::size_t j = 0; j < tensors.size(); ++j) {
    const Tensor& t = tensors[j];
    if (!t.defined()) throw Error(fmt::format("TensorDataset: tensor {} is undefined", j));
    if (t.dim() < 1) throw Error(fmt::format("TensorDataset: tensor {} is a scalar (valid: at least one dimension)", j));
    if (t.size(0) != tensors[0].size(0))
      throw Error(fmt::format("TensorDataset: tensor {} has {} rows (shape {}) but tensor 0 has {} (shape {}); all must agree",
                              j, t.size(0), t.shape_string(), tensors[0].size(0), tensors[0].shape_string()));
    tensors_.push_back(t.detach().contiguous());
  }
  size_ = tensors_[0].size(0);
}

std::int64_t TensorDataset::size() const { return size_; }

Example TensorDataset::get(std::int64_t index) const {
  if (index < 0 || index >= size_)
    throw Error(fmt::format("TensorDataset::get: index {} is out of range (valid: 0 to {})", index, size_ - 1));
  Example out;
  for (const Tensor& t : tensors_) out.push_back(t.select(0, index));
  return out;
}

Example TensorDataset::get_batch(const std::vector<std::int64_t>& indices) const {
  for (std::int64_t i : indices)
    if (i < 0 || i >= size_)
      throw Error(fmt::format("TensorDataset::get_batch: index {} is out of range (valid: 0 to {})", i, size_ - 1));
  Example out;
  for (const Tensor& t : tensors_) {
    Shape shape = t.shape();
    shape[0] = static_cast<std::int64_t>(indices.size());
    Tensor batch = empty(shape, t.dtype());
    const std::size_t row = static_cast<std::size_t>(size_ ? t.numel() / size_ : 0) * element_size(t.dtype());
    const auto* src = static_cast<const char*>(t.raw_data());
    auto* dst = static_cast<char*>(batch.raw_data());
    if (row)
      for (std::size_t i = 0; i < indices.size(); ++i)
        std::memcpy(dst + i * row, src + static_cast<std::size_t>(indices[i]) * row, row);
    out.push_back(batch);
  }
  return out;
}

}  // namespace nabla::data
