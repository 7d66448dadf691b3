#pragma once
/// Convolution, pooling, normalisation and padding for NCHW tensors, with PyTorch's semantics.
/// Every op takes a 4-D batch [N, C, H, W] or one 3-D sample [C, H, W] (batch_norm and layer_norm
/// take any rank, see below); bad sizes throw nabla::Error naming the op and the shapes.
#include <cstdint>
#include <optional>
#include <vector>

#include <nabla/core/tensor.h>

namespace nabla {

/// A (height, width) pair of sizes; one number means both: `2` or `{2, 1}`.
struct Size2 {
  std::int64_t h = 0, w = 0;
  Size2(std::int64_t both) : h(both), w(both) {}  // NOLINT(google-explicit-constructor): `2` reads as {2, 2}
  Size2(std::int64_t height, std::int64_t width) : h(height), w(width) {}
  bool operator==(const Size2&) const = default;
};

/// 2-D cross-correlation (PyTorch's conv2d): input [N, C, H, W], weight [OC, C / groups, KH, KW],
/// bias [OC] or undefined → [N, OC, OH, OW] with OH = (H + 2·pad - dil·(KH - 1) - 1) / stride + 1.
/// Forward and both backward passes are GEMMs over the unfolded input; second derivatives work
/// (the backward passes are themselves differentiable ops, conv2d_input_grad and conv2d_weight_grad).
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = {}, Size2 stride = 1, Size2 padding = 0,
              Size2 dilation = 1, std::int64_t groups = 1);
/// The gradient of conv2d with respect to its input, for an input of `input_shape` (the transposed
/// convolution of grad_output with weight), as torch.nn.grad.conv2d_input.
Tensor conv2d_input_grad(const Tensor& grad_output, const Tensor& weight, const Shape& input_shape, Size2 stride = 1,
                         Size2 padding = 0, Size2 dilation = 1, std::int64_t groups = 1);
/// The gradient of conv2d with respect to a weight of `weight_shape`, as torch.nn.grad.conv2d_weight.
Tensor conv2d_weight_grad(const Tensor& input, const Tensor& grad_output, const Shape& weight_shape, Size2 stride = 1,
                          Size2 padding = 0, Size2 dilation = 1, std::int64_t groups = 1);

/// Max over windows (the max gate: the gradient goes only to each window's arg-max); stride defaults
/// to the kernel size; padding (at most half the kernel) counts as -inf.
Tensor max_pool2d(const Tensor& input, Size2 kernel_size, std::optional<Size2> stride = std::nullopt, Size2 padding = 0,
                  Size2 dilation = 1);
/// Mean over windows; stride defaults to the kernel size. count_include_pad (PyTorch's default) divides
/// by the whole window, padding included; otherwise by the number of real elements.
Tensor avg_pool2d(const Tensor& input, Size2 kernel_size, std::optional<Size2> stride = std::nullopt,
                  Size2 padding = 0, bool count_include_pad = true);
/// Mean over windows chosen so that the output is output_size: rows floor(i·H/OH) .. ceil((i+1)·H/OH).
Tensor adaptive_avg_pool2d(const Tensor& input, Size2 output_size);

/// Batch normalisation of input [N, C, ...] per channel C. training: normalises with the batch mean
/// and biased variance and, when the running tensors are defined, updates them in place
/// (r = (1 - momentum)·r + momentum·batch, with the unbiased variance, as PyTorch); otherwise
/// normalises with running_mean and running_var. weight and bias [C] (the affine part) may be undefined.
Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight = {},
                  const Tensor& bias = {}, bool training = false, double momentum = 0.1, double eps = 1e-5);
/// Normalises over the trailing dims given by normalized_shape (biased variance), then
/// · weight + bias (both of normalized_shape, or undefined).
Tensor layer_norm(const Tensor& input, const Shape& normalized_shape, const Tensor& weight = {}, const Tensor& bias = {},
                  double eps = 1e-5);

/// Constant padding as torch.nn.functional.pad: pads = {left, right} for the last dim, then
/// {top, bottom} for the one before, ...; negative amounts crop. Backward: pad with the negated amounts.
Tensor pad(const Tensor& input, const std::vector<std::int64_t>& pads, double value = 0.0);

}  // namespace nabla
