// Convolutional layers: thin wrappers over the ops in <nabla/ops/conv.h>, holding parameters and
// running statistics.
#include <nabla/nn/conv.h>

#include <cmath>

#include <fmt/format.h>

namespace nabla::nn {
namespace {
std::string pair(Size2 s) { return fmt::format("({}, {})", s.h, s.w); }
}  // namespace

Conv2d::Conv2d(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size, Size2 stride, Size2 padding,
               Size2 dilation, std::int64_t groups, bool bias, DType dtype)
    : in_(in_channels), out_(out_channels), kernel_(kernel_size), stride_(stride), padding_(padding),
      dilation_(dilation), groups_(groups), has_bias_(bias) {
  if (in_channels <= 0 || out_channels <= 0)
    throw Error(fmt::format("Conv2d: in_channels and out_channels must be positive, got {} and {}", in_channels,
                            out_channels));
  if (groups <= 0 || in_channels % groups != 0 || out_channels % groups != 0)
    throw Error(fmt::format("Conv2d: groups={} must be positive and divide in_channels={} and out_channels={}", groups,
                            in_channels, out_channels));
  if (kernel_size.h <= 0 || kernel_size.w <= 0)
    throw Error(fmt::format("Conv2d: kernel_size must be positive, got {}", pair(kernel_size)));
  if (stride.h <= 0 || stride.w <= 0) throw Error(fmt::format("Conv2d: stride must be positive, got {}", pair(stride)));
  if (dilation.h <= 0 || dilation.w <= 0)
    throw Error(fmt::format("Conv2d: dilation must be positive, got {}", pair(dilation)));
  if (padding.h < 0 || padding.w < 0)
    throw Error(fmt::format("Conv2d: padding must be non-negative, got {}", pair(padding)));
  // PyTorch's default: kaiming_uniform(a = sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)); the bias likewise.
  const std::int64_t fan_in = in_channels / groups * kernel_size.h * kernel_size.w;
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  register_parameter("weight",
                     uniform({out_channels, in_channels / groups, kernel_size.h, kernel_size.w}, -bound, bound, dtype));
  if (bias) register_parameter("bias", uniform({out_channels}, -bound, bound, dtype));
}

Tensor Conv2d::forward(const Tensor& x) {
  if ((x.dim() == 4 || x.dim() == 3) && x.shape()[x.dim() - 3] != in_)
    throw Error(fmt::format("Conv2d: input of shape {} has {} channels, expected in_channels={}", x.shape_string(),
                            x.shape()[x.dim() - 3], in_));
  return conv2d(x, weight(), bias(), stride_, padding_, dilation_, groups_);
}

std::string Conv2d::name() const {
  return fmt::format("Conv2d({}, {}, kernel_size={}, stride={}, padding={}, dilation={}, groups={}, bias={})", in_, out_,
                     pair(kernel_), pair(stride_), pair(padding_), pair(dilation_), groups_, has_bias_);
}

MaxPool2d::MaxPool2d(Size2 kernel_size, std::optional<Size2> stride, Size2 padding, Size2 dilation)
    : kernel_(kernel_size), stride_(stride.value_or(kernel_size)), padding_(padding), dilation_(dilation) {}
Tensor MaxPool2d::forward(const Tensor& x) { return max_pool2d(x, kernel_, stride_, padding_, dilation_); }
std::string MaxPool2d::name() const {
  return fmt::format("MaxPool2d(kernel_size={}, stride={}, padding={}, dilation={})", pair(kernel_), pair(stride_),
                     pair(padding_), pair(dilation_));
}

AvgPool2d::AvgPool2d(Size2 kernel_size, std::optional<Size2> stride, Size2 padding, bool count_include_pad)
    : kernel_(kernel_size), stride_(stride.value_or(kernel_size)), padding_(padding),
      count_include_pad_(count_include_pad) {}
Tensor AvgPool2d::forward(const Tensor& x) { return avg_pool2d(x, kernel_, stride_, padding_, count_include_pad_); }
std::string AvgPool2d::name() const {
  return fmt::format("AvgPool2d(kernel_size={}, stride={}, padding={}, count_include_pad={})", pair(kernel_),
                     pair(stride_), pair(padding_), count_include_pad_);
}

Tensor AdaptiveAvgPool2d::forward(const Tensor& x) { return adaptive_avg_pool2d(x, output_); }
std::string AdaptiveAvgPool2d::name() const { return fmt::format("AdaptiveAvgPool2d(output_size={})", pair(output_)); }

BatchNorm::BatchNorm(const char* kind, std::int64_t min_dim, std::int64_t max_dim, std::int64_t num_features, double eps,
                     double momentum, bool affine, bool track_running_stats, DType dtype)
    : kind_(kind), min_dim_(min_dim), max_dim_(max_dim), features_(num_features), eps_(eps), momentum_(momentum),
      affine_(affine), track_(track_running_stats) {
  if (num_features <= 0) throw Error(fmt::format("{}: num_features must be positive, got {}", kind, num_features));
  if (!(eps >= 0.0)) throw Error(fmt::format("{}: eps must be non-negative, got {}", kind, eps));
  if (!(momentum >= 0.0 && momentum <= 1.0))
    throw Error(fmt::format("{}: momentum must be in [0, 1], got {}", kind, momentum));
  if (affine) {
    register_parameter("weight", ones({num_features}, dtype));
    register_parameter("bias", zeros({num_features}, dtype));
  }
  if (track_running_stats) {
    register_buffer("running_mean", zeros({num_features}, dtype));
    register_buffer("running_var", ones({num_features}, dtype));
    register_buffer("num_batches_tracked", zeros({}, kInt64));
  }
}

Tensor BatchNorm::forward(const Tensor& x) {
  if (x.dim() < min_dim_ || x.dim() > max_dim_)
    throw Error(fmt::format("{}: expected {} input, got shape {}", kind_,
                            max_dim_ == 4 ? "4-D [N, C, H, W]" : "2-D [N, C] or 3-D [N, C, L]", x.shape_string()));
  if (x.shape()[1] != features_)
    throw Error(fmt::format("{}: input of shape {} has {} channels, expected num_features={}", kind_, x.shape_string(),
                            x.shape()[1], features_));
  const bool use_batch = is_training() || !track_;
  Tensor y = batch_norm(x, track_ ? buffer(0) : Tensor(), track_ ? buffer(1) : Tensor(), weight(), bias(), use_batch,
                        momentum_, eps_);
  if (is_training() && track_) {  // in place, so handles from state_dict() stay live
    Tensor count = buffer(2);
    count.fill_(static_cast<double>(count.item<std::int64_t>() + 1));
  }
  return y;
}

std::string BatchNorm::name() const {
  return fmt::format("{}({}, eps={}, momentum={}, affine={}, track_running_stats={})", kind_, features_, eps_, momentum_,
                     affine_, track_);
}

LayerNorm::LayerNorm(Shape normalized_shape, double eps, bool elementwise_affine, DType dtype)
    : shape_(std::move(normalized_shape)), eps_(eps), affine_(elementwise_affine) {
  if (shape_.empty()) throw Error("LayerNorm: normalized_shape must not be empty");
  for (auto v : shape_)
    if (v <= 0) throw Error(fmt::format("LayerNorm: normalized_shape {} must be positive", shape_to_string(shape_)));
  if (affine_) {
    register_parameter("weight", ones(shape_, dtype));
    register_parameter("bias", zeros(shape_, dtype));
  }
}

Tensor LayerNorm::forward(const Tensor& x) { return layer_norm(x, shape_, weight(), bias(), eps_); }
std::string LayerNorm::name() const {
  return fmt::format("LayerNorm({}, eps={}, elementwise_affine={})", shape_to_string(shape_), eps_, affine_);
}

}  // namespace nabla::nn
