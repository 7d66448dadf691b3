#pragma once
/// Layers: the affine layer, activations, Flatten, Dropout and Sequential.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <vector>

#include <nabla/nn/module.h>

namespace nabla::nn {

/// y = x · Wᵀ + b with W [out, in] and b [out], initialised as PyTorch's Linear:
/// U(-1/sqrt(in), 1/sqrt(in)) for both (kaiming_uniform with a = sqrt(5)).
class Linear : public Module {
 public:
  Linear(std::int64_t in_features, std::int64_t out_features, bool bias = true, DType dtype = kFloat32);
  Tensor forward(const Tensor& x) override;
  std::string name() const override;
  /// The weight [out, in].
  const Tensor& weight() const { return param(0); }
  /// The bias [out] (undefined without bias).
  Tensor bias() const { return has_bias_ ? param(1) : Tensor(); }

 private:
  std::int64_t in_, out_;
  bool has_bias_;
};

/// max(x, 0).
class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "ReLU()"; }
};

/// x for x > 0, else negative_slope · x.
class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(double negative_slope = 0.01) : slope_(negative_slope) {}
  Tensor forward(const Tensor& x) override;
  std::string name() const override;

 private:
  double slope_;
};

/// 1 / (1 + e^-x).
class Sigmoid : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Sigmoid()"; }
};

/// tanh(x).
class Tanh : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Tanh()"; }
};

/// x · Φ(x) (exact GELU).
class GELU : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "GELU()"; }
};

/// x · sigmoid(x).
class SiLU : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "SiLU()"; }
};

/// x for x > 0, else alpha · (e^x - 1).
class ELU : public Module {
 public:
  explicit ELU(double alpha = 1.0);
  Tensor forward(const Tensor& x) override;
  std::string name() const override;

 private:
  double alpha_;
};

/// log(1 + e^(beta·x)) / beta, linear above threshold.
class Softplus : public Module {
 public:
  explicit Softplus(double beta = 1.0, double threshold = 20.0);
  Tensor forward(const Tensor& x) override;
  std::string name() const override;

 private:
  double beta_, threshold_;
};

/// Softmax over dim.
class Softmax : public Module {
 public:
  explicit Softmax(std::int64_t dim = -1) : dim_(dim) {}
  Tensor forward(const Tensor& x) override;
  std::string name() const override;

 private:
  std::int64_t dim_;
};

/// Merges dims start_dim..end_dim (default: all but the batch dim).
class Flatten : public Module {
 public:
  explicit Flatten(std::int64_t start_dim = 1, std::int64_t end_dim = -1) : start_(start_dim), end_(end_dim) {}
  Tensor forward(const Tensor& x) override;
  std::string name() const override;

 private:
  std::int64_t start_, end_;
};

/// Inverted dropout with probability p in training mode; identity in eval mode.
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5);
  Tensor forward(const Tensor& x) override;
  std::string name() const override;

 private:
  double p_;
};

/// A lookup table: int64 indices of any shape pick rows of weight [num_embeddings, embedding_dim],
/// giving shape indices.shape + [embedding_dim]. Initialised N(0, 1) as PyTorch's Embedding; the
/// gradient of a row used several times is the sum of its uses. With a padding_idx (negative counts
/// from the end) that row starts as zeros and never gets a gradient.
class Embedding : public Module {
 public:
  Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim, std::optional<std::int64_t> padding_idx = std::nullopt,
            DType dtype = kFloat32);
  Tensor forward(const Tensor& indices) override;
  std::string name() const override;
  /// The table [num_embeddings, embedding_dim].
  const Tensor& weight() const { return param(0); }
  /// The padding row (wrapped to >= 0), if any.
  std::optional<std::int64_t> padding_idx() const { return padding_; }

 private:
  std::int64_t num_, dim_;
  std::optional<std::int64_t> padding_;
};

/// Returns its input (a placeholder, e.g. for an optional layer in a Sequential).
class Identity : public Module {
 public:
  Tensor forward(const Tensor& x) override { return x; }
  std::string name() const override { return "Identity()"; }
};

/// log(sigmoid(x)), stably.
class LogSigmoid : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "LogSigmoid()"; }
};

/// min(max(x, 0), 6).
class ReLU6 : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "ReLU6()"; }
};

/// relu6(x + 3) / 6.
class Hardsigmoid : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Hardsigmoid()"; }
};

/// x · relu6(x + 3) / 6.
class Hardswish : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Hardswish()"; }
};

/// scale · elu(x, alpha) with the self-normalising constants.
class SELU : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "SELU()"; }
};

/// x · tanh(softplus(x)).
class Mish : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Mish()"; }
};

/// x / (1 + |x|).
class Softsign : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Softsign()"; }
};

/// x clamped to [min_val, max_val] (gradient 1 strictly inside, else 0).
class Hardtanh : public Module {
 public:
  explicit Hardtanh(double min_val = -1.0, double max_val = 1.0);
  Tensor forward(const Tensor& x) override;
  std::string name() const override;

 private:
  double min_, max_;
};

/// Modules applied one after another; children are named "0", "1", ...
class Sequential : public Module {
 public:
  Sequential() = default;
  Sequential(std::initializer_list<std::shared_ptr<Module>> modules);
  /// Appends a module.
  void push_back(std::shared_ptr<Module> module);
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Sequential"; }
  /// Number of modules.
  std::size_t size() const { return named_children().size(); }
  /// Module i.
  const std::shared_ptr<Module>& operator[](std::size_t i) const;
};

}  // namespace nabla::nn
