#pragma once
/// IDX files (the MNIST format), raw or gzip-compressed, and the MNIST directory layout.
#include <cstdint>
#include <string>

#include <nabla/core/tensor.h>

namespace nabla::data {

/// Reads any IDX file (element type ubyte, sbyte, short, int, float or double; raw or gzip) into a
/// tensor of `dtype` with the file's dimensions. Throws nabla::Error naming the file on bad input,
/// including a float or double element that int64 cannot hold (NaN, Inf, |x| >= 2^63) when dtype is int64.
Tensor read_idx(const std::string& path, DType dtype = kFloat32);

/// Reads a 3-D ubyte IDX images file into float32 [N, rows, cols]; values are divided by 255 into
/// [0, 1] when `scale` is true, else kept as 0..255.
Tensor read_idx_images(const std::string& path, bool scale = true);

/// Reads a 1-D ubyte IDX labels file into int64 [N].
Tensor read_idx_labels(const std::string& path);

/// Which half of an MNIST-layout data set.
enum class Split { Train, Test };

/// How load_mnist shapes the images tensor.
enum class ImageLayout {
  Flat,      ///< [N, rows*cols], e.g. [N, 784] for an MLP
  Grid,      ///< [N, rows, cols]
  Channels,  ///< [N, 1, rows, cols], e.g. for a CNN
};

/// Options of load_mnist.
struct MnistOptions {
  ImageLayout layout = ImageLayout::Flat;  ///< shape of the images tensor
  bool scale = true;                       ///< divide pixels by 255 into [0, 1]
  std::int64_t num_classes = 10;           ///< every label must lie in [0, num_classes)
};

/// Images (float32) and labels (int64 [N]) of one split.
struct MnistData {
  Tensor images;
  Tensor labels;
};

/// The default data set directory: Debian's dataset-fashion-mnist, "/usr/share/datasets/fashion-mnist".
std::string default_mnist_dir();

/// Path of one of the four standard files in dir: `name` when present, else `name.gz`; throws when
/// the directory or both files are missing.
std::string find_mnist_file(const std::string& dir, const std::string& name);

/// Loads train-* or t10k-* images and labels from an MNIST-layout directory (files raw or .gz),
/// checking that counts agree and labels lie in [0, num_classes).
MnistData load_mnist(const std::string& dir, Split split, const MnistOptions& options = {});

}  // namespace nabla::data
