// Standardize: one pass for the mean, one for the variance, one to apply. RandomHorizontalFlip:
// one draw per image, then each chosen image's rows reversed in place.
#include <nabla/data/transforms.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include <fmt/format.h>

#include <nabla/core/error.h>

namespace nabla::data {
namespace {

void check_floating(const Tensor& images, const char* op) {
  if (!images.defined()) throw Error(fmt::format("{}: the tensor is undefined", op));
  if (images.dtype() != kFloat32 && images.dtype() != kFloat64)
    throw Error(fmt::format("{}: images are {}; valid: float32 or float64", op, dtype_name(images.dtype())));
}

template <class T>
Standardize fit_typed(const Tensor& images) {
  const T* x = images.data_ptr<T>();
  const std::int64_t n = images.numel();
  double sum = 0.0;
  for (std::int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]);
  if (!std::isfinite(sum))
    throw Error(fmt::format("Standardize::fit: images {} hold a NaN or infinite value, or values so large that their "
                            "sum overflows a double (valid: finite values)",
                            images.shape_string()));
  const double mean = sum / static_cast<double>(n);
  double squares = 0.0;  // around the mean, not E[x²] − mean²: no cancellation
  for (std::int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - mean;
    squares += d * d;
  }
  const double std = std::sqrt(squares / static_cast<double>(n));
  if (!std::isfinite(std))
    throw Error(fmt::format("Standardize::fit: the squared deviations of images {} overflow a double (mean {}); "
                            "valid: values whose spread a double can hold",
                            images.shape_string(), mean));
  if (!(std > 0.0))
    throw Error(fmt::format("Standardize::fit: every element of images {} equals {}; a standard deviation of 0 "
                            "cannot scale them (valid: images that are not all equal)",
                            images.shape_string(), mean));
  return {mean, std};
}

template <class T>
void apply_typed(const Tensor& in, Tensor& out, double mean, double std) {
  const T* x = in.data_ptr<T>();
  T* y = out.data_ptr<T>();
  const T m = static_cast<T>(mean), s = static_cast<T>(std);
  const std::int64_t n = in.numel();
  for (std::int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) / s;
}

// out = (in − mean) / std element by element (out may be in), both contiguous, of in's dtype.
void standardize_into(const Standardize& s, const Tensor& in, Tensor& out) {
  if (in.dtype() == kFloat32) apply_typed<float>(in, out, s.mean, s.std);
  else apply_typed<double>(in, out, s.mean, s.std);
}

// The values must also hold in T: applied to float32 a std under ~1e-45 would round to 0 and a mean
// over ~3.4e38 to infinity.
template <class T>
void check_values(const Standardize& s, const char* op) {
  const T mean = static_cast<T>(s.mean), std = static_cast<T>(s.std);
  if (!std::isfinite(s.mean) || !std::isfinite(s.std) || !std::isfinite(mean) || !std::isnormal(std) || !(std > T(0)))
    throw Error(fmt::format("{}: mean {} and std {}; valid: a finite mean and a positive, finite std, both "
                            "representable as {} (std at least {})",
                            op, s.mean, s.std, sizeof(T) == 4 ? "float32" : "float64", std::numeric_limits<T>::min()));
}

}  // namespace

Standardize Standardize::fit(const Tensor& images) {
  check_floating(images, "Standardize::fit");
  if (images.numel() == 0) throw Error(fmt::format("Standardize::fit: images {} are empty", images.shape_string()));
  const Tensor x = images.contiguous();
  return x.dtype() == kFloat32 ? fit_typed<float>(x) : fit_typed<double>(x);
}

void Standardize::check(DType dtype, const char* op) const {
  if (dtype == kFloat32) check_values<float>(*this, op);
  else check_values<double>(*this, op);
}

Tensor Standardize::operator()(const Tensor& images) const {
  check_floating(images, "Standardize");
  check(images.dtype(), "Standardize");
  const Tensor x = images.contiguous();
  Tensor y = empty(x.shape(), x.dtype());
  standardize_into(*this, x, y);
  return y;
}

void Standardize::apply_(Tensor& images) const {
  check_floating(images, "Standardize::apply_");
  check(images.dtype(), "Standardize::apply_");
  if (!images.is_contiguous())
    throw Error(fmt::format("Standardize::apply_: images {} are not contiguous (valid: contiguous; or use the "
                            "copying Standardize::operator())",
                            images.shape_string()));
  if (images.requires_grad())
    throw Error(fmt::format("Standardize::apply_: images {} require gradients; standardise data before making it a leaf",
                            images.shape_string()));
  standardize_into(*this, images, images);
  images.bump_version();
}

namespace {
template <class T>
std::int64_t flip_typed(Tensor& batch, double p, std::mt19937_64& rng) {
  const std::int64_t images = batch.shape()[0], width = batch.shape().back();
  const std::int64_t per_image = images == 0 ? 0 : batch.numel() / images;
  const std::int64_t rows = width == 0 ? 0 : per_image / width;
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  T* data = batch.data_ptr<T>();
  std::int64_t flipped = 0;
  for (std::int64_t i = 0; i < images; ++i) {
    if (!(uniform(rng) < p)) continue;  // one draw per image, flipped or not, so the stream never shifts
    ++flipped;
    for (std::int64_t r = 0; r < rows; ++r) {
      T* row = data + i * per_image + r * width;
      std::reverse(row, row + width);
    }
  }
  return flipped;
}
}  // namespace

std::int64_t RandomHorizontalFlip::apply_(Tensor& batch, std::mt19937_64& rng) const {
  constexpr const char* op = "RandomHorizontalFlip::apply_";
  if (!(p >= 0.0 && p <= 1.0))
    throw Error(fmt::format("{}: probability p = {}; valid: a probability in [0, 1]", op, p));
  check_floating(batch, op);
  if (batch.dim() < 2)
    throw Error(fmt::format("{}: batch of shape {} has no image width; valid: [N, ..., W], images along the first dim "
                            "and their width along the last",
                            op, batch.shape_string()));
  if (!batch.is_contiguous())
    throw Error(fmt::format("{}: batch {} is not contiguous (valid: contiguous; call .contiguous() first)", op,
                            batch.shape_string()));
  if (batch.requires_grad())
    throw Error(fmt::format("{}: batch {} requires gradients; augment data before making it a leaf", op,
                            batch.shape_string()));
  const std::int64_t flipped =
      batch.dtype() == kFloat32 ? flip_typed<float>(batch, p, rng) : flip_typed<double>(batch, p, rng);
  if (flipped > 0) batch.bump_version();
  return flipped;
}

}  // namespace nabla::data
