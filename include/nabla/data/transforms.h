#pragma once
/// Input transforms: standardisation, applied to a whole data set before training, and random
/// flips, applied to each training batch.
#include <random>

#include <nabla/core/tensor.h>

namespace nabla::data {

/// Standardisation of inputs to zero mean and unit variance: x ↦ (x − mean) / std, with one mean
/// and one standard deviation over every element (torchvision's Normalize for one channel). Fit it
/// on the training split and apply the same values to every split and to inference inputs: the
/// model learns on standardised pixels, so a checkpoint keeps them (`nabla train` saves them).
struct Standardize {
  double mean = 0.0;  ///< subtracted from every element
  double std = 1.0;   ///< then divided into every element

  /// The mean and the population standard deviation of every element of a float32 or float64
  /// tensor, accumulated in double. Throws nabla::Error for an empty or integer tensor, a NaN or
  /// infinite element, or a constant tensor (std 0 would divide by zero).
  static Standardize fit(const Tensor& images);
  /// (images − mean) / std as a new contiguous tensor of the same shape and dtype, computed in that
  /// dtype (as PyTorch's `(x - mean) / std` on a float tensor). Throws nabla::Error for an integer
  /// tensor or a std that is not positive and finite.
  Tensor operator()(const Tensor& images) const;
  /// The same in place, for a data set too large to hold twice; images must be contiguous (and
  /// not need gradients: this is data, not a differentiable op).
  void apply_(Tensor& images) const;
  /// Throws nabla::Error (starting with `op`) unless these values can standardise a tensor of
  /// `dtype`: a finite mean and a positive, finite std, both still so in that dtype (a float32 std
  /// below ~1.2e-38 or a mean above ~3.4e38 is not). operator() and apply_ check this first.
  void check(DType dtype, const char* op = "Standardize") const;
  /// True for the identity (mean 0, std 1).
  bool is_identity() const { return mean == 0.0 && std == 1.0; }
};

/// Random horizontal flips, the usual augmentation for pictures whose mirror image shows the same
/// class (Fashion-MNIST's garments and shoes; not digits or text): each image of a batch is mirrored
/// left to right with probability p, a fresh choice every time the image is drawn. Training sees
/// more varied images and overfits less; evaluation uses the images as they are.
struct RandomHorizontalFlip {
  double p = 0.5;  ///< probability that an image is mirrored

  /// Mirrors in place each image of `batch`, a contiguous float32 or float64 tensor [N, ..., W]
  /// whose first dim indexes the images and whose last dim is their width (rows of W values; view a
  /// flat [N, rows*cols] batch as [N, rows, cols] first, or each image is reversed whole, i.e. turned
  /// upside down as well),
  /// with probability p, one draw from `rng` per image (whether it is mirrored or not): the same
  /// generator state flips the same images, so a seeded run can be repeated or resumed. Returns how
  /// many images were mirrored. Throws nabla::Error for p outside [0, 1], an integer, non-contiguous
  /// or gradient-requiring tensor, or one of fewer than 2 dims.
  std::int64_t apply_(Tensor& batch, std::mt19937_64& rng) const;
};

}  // namespace nabla::data
