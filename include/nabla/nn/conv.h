#pragma once
/// Convolutional layers: Conv2d, pooling, batch and layer normalisation (ops in <nabla/ops/conv.h>).
#include <cstdint>
#include <optional>
#include <string>

#include <nabla/nn/module.h>
#include <nabla/ops/conv.h>

namespace nabla::nn {

/// 2-D convolution with weight [out, in / groups, kH, kW] and bias [out], initialised as PyTorch's
/// Conv2d: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for both, fan_in = in / groups · kH · kW
/// (kaiming_uniform with a = sqrt(5)).
class Conv2d : public Module {
 public:
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size, Size2 stride = 1, Size2 padding = 0,
         Size2 dilation = 1, std::int64_t groups = 1, bool bias = true, DType dtype = kFloat32);
  Tensor forward(const Tensor& x) override;
  std::string name() const override;
  /// The weight [out, in / groups, kH, kW].
  const Tensor& weight() const { return param(0); }
  /// The bias [out] (undefined without bias).
  Tensor bias() const { return has_bias_ ? param(1) : Tensor(); }

 private:
  std::int64_t in_, out_;
  Size2 kernel_, stride_, padding_, dilation_;
  std::int64_t groups_;
  bool has_bias_;
};

/// Max pooling (stride defaults to the kernel size).
class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(Size2 kernel_size, std::optional<Size2> stride = std::nullopt, Size2 padding = 0,
                     Size2 dilation = 1);
  Tensor forward(const Tensor& x) override;
  std::string name() const override;
  /// True when every window has at least one tap inside the input (no padding, or no dilation):
  /// then no output is the -inf of a window made of padding alone.
  bool windows_touch_input() const { return (padding_.h == 0 && padding_.w == 0) || (dilation_.h == 1 && dilation_.w == 1); }

 private:
  Size2 kernel_, stride_, padding_, dilation_;
};

/// Average pooling (stride defaults to the kernel size; count_include_pad as PyTorch's default).
class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(Size2 kernel_size, std::optional<Size2> stride = std::nullopt, Size2 padding = 0,
                     bool count_include_pad = true);
  Tensor forward(const Tensor& x) override;
  std::string name() const override;

 private:
  Size2 kernel_, stride_, padding_;
  bool count_include_pad_;
};

/// Average pooling to a fixed output size.
class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(Size2 output_size) : output_(output_size) {}
  Tensor forward(const Tensor& x) override;
  std::string name() const override;

 private:
  Size2 output_;
};

/// Batch normalisation over channel dim 1. Parameters weight (ones) and bias (zeros) when affine;
/// buffers running_mean (zeros), running_var (ones) and num_batches_tracked (int64 scalar) when
/// track_running_stats. Training mode normalises with batch statistics and updates the running ones
/// (momentum, unbiased variance, as PyTorch); eval mode uses the running ones.
class BatchNorm : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string name() const override;
  /// Scale [C] (undefined without affine).
  Tensor weight() const { return affine_ ? param(0) : Tensor(); }
  /// Shift [C] (undefined without affine).
  Tensor bias() const { return affine_ ? param(1) : Tensor(); }
  /// Running mean [C] (undefined without track_running_stats).
  Tensor running_mean() const { return track_ ? buffer(0) : Tensor(); }
  /// Running (unbiased) variance [C].
  Tensor running_var() const { return track_ ? buffer(1) : Tensor(); }
  /// Training batches seen (int64, shape []).
  Tensor num_batches_tracked() const { return track_ ? buffer(2) : Tensor(); }

 protected:
  BatchNorm(const char* kind, std::int64_t min_dim, std::int64_t max_dim, std::int64_t num_features, double eps,
            double momentum, bool affine, bool track_running_stats, DType dtype);

 private:
  const char* kind_;
  std::int64_t min_dim_, max_dim_, features_;
  double eps_, momentum_;
  bool affine_, track_;
};

/// BatchNorm over [N, C] or [N, C, L].
class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(std::int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true,
                       bool track_running_stats = true, DType dtype = kFloat32)
      : BatchNorm("BatchNorm1d", 2, 3, num_features, eps, momentum, affine, track_running_stats, dtype) {}
};

/// BatchNorm over [N, C, H, W].
class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(std::int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true,
                       bool track_running_stats = true, DType dtype = kFloat32)
      : BatchNorm("BatchNorm2d", 4, 4, num_features, eps, momentum, affine, track_running_stats, dtype) {}
};

/// Layer normalisation over the trailing normalized_shape, with weight (ones) and bias (zeros)
/// of that shape when elementwise_affine.
class LayerNorm : public Module {
 public:
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true, DType dtype = kFloat32);
  Tensor forward(const Tensor& x) override;
  std::string name() const override;
  /// Scale (undefined without elementwise_affine).
  Tensor weight() const { return affine_ ? param(0) : Tensor(); }
  /// Shift (undefined without elementwise_affine).
  Tensor bias() const { return affine_ ? param(1) : Tensor(); }

 private:
  Shape shape_;
  double eps_;
  bool affine_;
};

}  // namespace nabla::nn
