// The layers: thin wrappers over ops, holding their parameters.
#include <nabla/nn/layers.h>

#include <cmath>
#include <typeinfo>

#include <fmt/format.h>

#include <nabla/nn/conv.h>
#include <nabla/nn/init.h>
#include <nabla/ops/arithmetic.h>
#include <nabla/ops/nn.h>
#include <nabla/ops/reduction.h>
#include <nabla/ops/shape.h>
#include <nabla/ops/unary.h>

namespace nabla::nn {

Linear::Linear(std::int64_t in_features, std::int64_t out_features, bool bias, DType dtype)
    : in_(in_features), out_(out_features), has_bias_(bias) {
  if (in_features <= 0 || out_features <= 0)
    throw Error(fmt::format("Linear: in_features and out_features must be positive, got {} and {}", in_features, out_features));
  // PyTorch's default: kaiming_uniform(a = sqrt(5)) gives U(-1/sqrt(in), 1/sqrt(in)); the bias likewise.
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
  register_parameter("weight", uniform({out_features, in_features}, -bound, bound, dtype));
  if (bias) register_parameter("bias", uniform({out_features}, -bound, bound, dtype));
}

Tensor Linear::forward(const Tensor& x) { return linear(x, weight(), bias()); }
std::string Linear::name() const {
  return fmt::format("Linear(in_features={}, out_features={}, bias={})", in_, out_, has_bias_);
}

Tensor ReLU::forward(const Tensor& x) { return relu(x); }
Tensor LeakyReLU::forward(const Tensor& x) { return leaky_relu(x, slope_); }
std::string LeakyReLU::name() const { return fmt::format("LeakyReLU(negative_slope={})", slope_); }
Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }
Tensor Tanh::forward(const Tensor& x) { return tanh(x); }
Tensor GELU::forward(const Tensor& x) { return gelu(x); }
Tensor SiLU::forward(const Tensor& x) { return silu(x); }
Tensor LogSigmoid::forward(const Tensor& x) { return log_sigmoid(x); }
Tensor ReLU6::forward(const Tensor& x) { return relu6(x); }
Tensor Hardsigmoid::forward(const Tensor& x) { return hardsigmoid(x); }
Tensor Hardswish::forward(const Tensor& x) { return hardswish(x); }
Tensor SELU::forward(const Tensor& x) { return selu(x); }
Tensor Mish::forward(const Tensor& x) { return mish(x); }
Tensor Softsign::forward(const Tensor& x) { return softsign(x); }
Hardtanh::Hardtanh(double min_val, double max_val) : min_(min_val), max_(max_val) {
  if (!(min_val <= max_val))
    throw Error(fmt::format("Hardtanh: min_val must be <= max_val, got {} and {}", min_val, max_val));
}
Tensor Hardtanh::forward(const Tensor& x) { return hardtanh(x, min_, max_); }
std::string Hardtanh::name() const { return fmt::format("Hardtanh(min_val={}, max_val={})", min_, max_); }
ELU::ELU(double alpha) : alpha_(alpha) {
  if (!std::isfinite(alpha)) throw Error(fmt::format("ELU: alpha must be finite, got {}", alpha));
}
Tensor ELU::forward(const Tensor& x) { return elu(x, alpha_); }
std::string ELU::name() const { return fmt::format("ELU(alpha={})", alpha_); }
Softplus::Softplus(double beta, double threshold) : beta_(beta), threshold_(threshold) {
  if (!(beta != 0.0) || !std::isfinite(beta))
    throw Error(fmt::format("Softplus: beta must be finite and non-zero, got {}", beta));
  if (std::isnan(threshold)) throw Error("Softplus: threshold is NaN");
}
Tensor Softplus::forward(const Tensor& x) { return softplus(x, beta_, threshold_); }
std::string Softplus::name() const { return fmt::format("Softplus(beta={}, threshold={})", beta_, threshold_); }
Tensor Softmax::forward(const Tensor& x) { return softmax(x, dim_); }
std::string Softmax::name() const { return fmt::format("Softmax(dim={})", dim_); }
Tensor Flatten::forward(const Tensor& x) { return x.flatten(start_, end_); }
std::string Flatten::name() const { return fmt::format("Flatten(start_dim={}, end_dim={})", start_, end_); }

Dropout::Dropout(double p) : p_(p) {
  if (!(p >= 0.0 && p <= 1.0)) throw Error(fmt::format("Dropout: probability must be in [0, 1], got {}", p));
}
Tensor Dropout::forward(const Tensor& x) { return dropout(x, p_, is_training()); }
std::string Dropout::name() const { return fmt::format("Dropout(p={})", p_); }

Embedding::Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim, std::optional<std::int64_t> padding_idx,
                     DType dtype)
    : num_(num_embeddings), dim_(embedding_dim) {
  if (num_embeddings <= 0 || embedding_dim <= 0)
    throw Error(fmt::format("Embedding: num_embeddings and embedding_dim must be positive, got {} and {}", num_embeddings,
                            embedding_dim));
  if (!is_floating(dtype)) throw Error(fmt::format("Embedding: the table must be float32 or float64, got {}", dtype_name(dtype)));
  if (padding_idx) {
    if (*padding_idx < -num_embeddings || *padding_idx >= num_embeddings)
      throw Error(fmt::format("Embedding: padding_idx {} is outside [-{}, {})", *padding_idx, num_embeddings, num_embeddings));
    padding_ = *padding_idx < 0 ? *padding_idx + num_embeddings : *padding_idx;
  }
  Tensor w = randn({num_embeddings, embedding_dim}, dtype);  // PyTorch's default: N(0, 1)
  if (padding_) w.narrow(0, *padding_, 1).zero_();
  register_parameter("weight", w);
}

Tensor Embedding::forward(const Tensor& indices) {
  if (!indices.defined()) throw Error("Embedding: got an undefined tensor of indices");
  if (indices.dtype() != kInt64)
    throw Error(fmt::format("Embedding: indices must be int64, got {} (shape {})", dtype_name(indices.dtype()),
                            indices.shape_string()));
  const Tensor flat = indices.reshape({indices.numel()});
  const std::vector<std::int64_t> picked = flat.to_vector<std::int64_t>();
  for (std::int64_t i : picked)
    if (i < 0 || i >= num_)
      throw Error(fmt::format("Embedding: index {} is out of range for a table of {} rows (valid: 0 to {})", i, num_, num_ - 1));
  Tensor rows = index_select(weight(), 0, flat);
  if (padding_) {
    // The padding row's value, with no gradient: the same rows picked from the detached table.
    std::vector<double> keep(picked.size());
    for (std::size_t k = 0; k < picked.size(); ++k) keep[k] = picked[k] == *padding_ ? 0.0 : 1.0;
    const Tensor mask = tensor(keep, {flat.numel(), 1}, weight().dtype());
    rows = where(mask, rows, index_select(weight().detach(), 0, flat));
  }
  Shape shape = indices.shape();
  shape.push_back(dim_);
  return rows.reshape(shape);
}

std::string Embedding::name() const {
  return padding_ ? fmt::format("Embedding({}, {}, padding_idx={})", num_, dim_, *padding_)
                  : fmt::format("Embedding({}, {})", num_, dim_);
}

Sequential::Sequential(std::initializer_list<std::shared_ptr<Module>> modules) {
  for (const auto& m : modules) push_back(m);
}

void Sequential::push_back(std::shared_ptr<Module> module) { add_child(std::to_string(size()), std::move(module)); }

Tensor Sequential::forward(const Tensor& x) {
  Tensor out = x;
  const auto& children = named_children();
  for (std::size_t i = 0; i < children.size(); ++i) {
    const Module& m = *children[i].second;
    // A Linear followed by a ReLU (exactly those classes, not subclasses that may override forward)
    // runs as the fused linear_relu: same values and gradients, one pass and one graph node fewer.
    const Module* next = i + 1 < children.size() ? children[i + 1].second.get() : nullptr;
    if (next != nullptr && typeid(m) == typeid(Linear) && typeid(*next) == typeid(ReLU)) {
      const auto& linear_layer = static_cast<const Linear&>(m);
      out = linear_relu(out, linear_layer.weight(), linear_layer.bias());
      ++i;
      continue;
    }
    // A ReLU followed by a MaxPool2d runs as the pooling first: ReLU is monotonic, so max(relu(v)) =
    // relu(max(v)) with the same arg-max, and a window whose maximum is not positive gets no gradient
    // either way; the ReLU then touches the pooled output, a quarter of the elements for 2x2 windows.
    // Not when a window can lie wholly in the padding: its -inf would become relu(-inf) = 0.
    if (next != nullptr && typeid(m) == typeid(ReLU) && typeid(*next) == typeid(MaxPool2d) &&
        static_cast<const MaxPool2d&>(*next).windows_touch_input()) {
      out = relu(children[i + 1].second->forward(out));
      ++i;
      continue;
    }
    out = children[i].second->forward(out);
  }
  return out;
}

const std::shared_ptr<Module>& Sequential::operator[](std::size_t i) const {
  if (i >= size()) throw Error(fmt::format("Sequential: index {} is out of range for {} modules", i, size()));
  return named_children()[i].second;
}

}  // namespace nabla::nn
