// data::Standardize: fit (mean and population std over every element), the copying and the
// in-place application, the statistics of Fashion-MNIST, and every error; data::RandomHorizontalFlip.
#include <cmath>
#include <filesystem>
#include <random>

#include <gtest/gtest.h>

#include <nabla/data/idx.h>
#include <nabla/data/transforms.h>

#include "data/test_files.h"

using nabla::Tensor;
using nabla::test::error_of;
namespace data = nabla::data;

namespace {
// Mean and population std of t's elements, computed independently of Standardize (two-pass, double).
std::pair<double, double> moments(const Tensor& t) {
  const std::vector<double> v = t.to_vector<double>();
  double s = 0;
  for (double x : v) s += x;
  const double m = s / static_cast<double>(v.size());
  double q = 0;
  for (double x : v) q += (x - m) * (x - m);
  return {m, std::sqrt(q / static_cast<double>(v.size()))};
}
}  // namespace

TEST(Standardize, FitIsTheMeanAndPopulationStd) {
  const Tensor x = nabla::tensor(std::vector<double>{1.0, 2.0, 3.0, 4.0}, {2, 2});
  const data::Standardize s = data::Standardize::fit(x);
  EXPECT_DOUBLE_EQ(s.mean, 2.5);
  EXPECT_DOUBLE_EQ(s.std, std::sqrt(1.25));  // population (divided by n), as torchvision's statistics
  EXPECT_FALSE(s.is_identity());
  EXPECT_TRUE(data::Standardize{}.is_identity());
}

TEST(Standardize, ApplyGivesZeroMeanUnitStdInBothDtypes) {
  for (nabla::DType dtype : {nabla::kFloat32, nabla::kFloat64}) {
    const Tensor x = nabla::tensor(std::vector<double>{0.0, 0.1, 0.9, 0.5, 0.25, 1.0}, {2, 3}, dtype);
    const data::Standardize s = data::Standardize::fit(x);
    const Tensor y = s(x);
    EXPECT_EQ(y.shape(), x.shape());
    EXPECT_EQ(y.dtype(), dtype);
    const auto [m, sd] = moments(y);
    EXPECT_NEAR(m, 0.0, 1e-6);
    EXPECT_NEAR(sd, 1.0, 1e-6);
    // Element by element, (x - mean) / std in the tensor's dtype.
    const auto xs = x.to_vector<double>(), ys = y.to_vector<double>();
    for (std::size_t i = 0; i < xs.size(); ++i) {
      if (dtype == nabla::kFloat32)
        EXPECT_EQ(static_cast<float>(ys[i]), (static_cast<float>(xs[i]) - static_cast<float>(s.mean)) / static_cast<float>(s.std));
      else
        EXPECT_EQ(ys[i], (xs[i] - s.mean) / s.std);
    }
    EXPECT_EQ(x.to_vector<double>(), xs) << "the copying form leaves its input alone";
  }
}

TEST(Standardize, InPlaceMatchesTheCopyAndBumpsTheVersion) {
  Tensor x = nabla::tensor(std::vector<float>{3, 1, 4, 1, 5, 9, 2, 6}, {8});
  const data::Standardize s = data::Standardize::fit(x);
  const Tensor copy = s(x);
  const std::uint64_t before = x.version();
  s.apply_(x);
  EXPECT_EQ(x.to_vector<float>(), copy.to_vector<float>());
  EXPECT_GT(x.version(), before);
}

TEST(Standardize, NonContiguousInputIsReadInItsLogicalOrder) {
  const Tensor x = nabla::tensor(std::vector<double>{1.0, 2.0, 3.0, 4.0, 5.0, 7.0}, {2, 3});
  const Tensor xt = x.transpose(0, 1);
  const data::Standardize s = data::Standardize::fit(xt);
  EXPECT_DOUBLE_EQ(s.mean, data::Standardize::fit(x).mean);
  EXPECT_EQ(s(xt).to_vector<double>(), s(xt.contiguous()).to_vector<double>());
}

TEST(Standardize, FashionMnistTrainingSetStatistics) {
  const std::string dir = data::default_mnist_dir();
  ASSERT_TRUE(std::filesystem::exists(dir + "/train-images-idx3-ubyte.gz") ||
              std::filesystem::exists(dir + "/train-images-idx3-ubyte"))
      << "dataset-fashion-mnist is not installed (scripts/install-deps.sh installs it)";
  const auto train = data::load_mnist(dir, data::Split::Train);
  const data::Standardize s = data::Standardize::fit(train.images);
  // numpy on the .gz file: x = frombuffer(..., uint8, offset=16).astype(float32) / float32(255),
  // then x.astype(float64).mean() and .std(). numpy sums pairwise, Standardize in order: over 47M
  // elements the two orders differ by a few 1e-11.
  EXPECT_NEAR(s.mean, 0.2860406021939525, 1e-9);
  EXPECT_NEAR(s.std, 0.3530242495426238, 1e-9);
}

TEST(Standardize, Errors) {
  const std::string ints = error_of([] { data::Standardize::fit(nabla::tensor(std::vector<std::int64_t>{1, 2}, {2})); });
  EXPECT_NE(ints.find("Standardize::fit"), std::string::npos) << ints;
  EXPECT_NE(ints.find("int64"), std::string::npos) << ints;
  EXPECT_NE(ints.find("float32 or float64"), std::string::npos) << ints;

  const std::string none = error_of([] { data::Standardize::fit(nabla::empty({0, 4})); });
  EXPECT_NE(none.find("[0, 4]"), std::string::npos) << none;
  EXPECT_NE(none.find("empty"), std::string::npos) << none;

  const std::string constant = error_of([] { data::Standardize::fit(nabla::tensor({0.5, 0.5, 0.5})); });
  EXPECT_NE(constant.find("0.5"), std::string::npos) << constant;
  EXPECT_NE(constant.find("standard deviation of 0"), std::string::npos) << constant;

  const std::string nan = error_of([] { data::Standardize::fit(nabla::tensor({0.5, std::nan(""), 0.1})); });
  EXPECT_NE(nan.find("NaN or infinite"), std::string::npos) << nan;

  const Tensor x = nabla::tensor({1.0, 2.0});
  const std::string zero = error_of([&] { data::Standardize{0.0, 0.0}(x); });
  EXPECT_NE(zero.find("std 0"), std::string::npos) << zero;
  EXPECT_NE(zero.find("positive, finite std"), std::string::npos) << zero;
  const std::string inf_mean = error_of([&] { data::Standardize{INFINITY, 1.0}(x); });
  EXPECT_NE(inf_mean.find("mean inf"), std::string::npos) << inf_mean;

  // Finite as doubles, but not as float32: a std that rounds to 0, a mean that rounds to infinity.
  const Tensor f32 = nabla::tensor({1.0, 2.0}, nabla::kFloat32);
  const std::string tiny = error_of([&] { data::Standardize{0.0, 1e-300}(f32); });
  EXPECT_NE(tiny.find("representable as float32"), std::string::npos) << tiny;
  const std::string huge = error_of([&] { data::Standardize{1e300, 1.0}(f32); });
  EXPECT_NE(huge.find("mean 1e+300"), std::string::npos) << huge;
  const std::string checked = error_of([] { data::Standardize{0.0, 1e-300}.check(nabla::kFloat32, "loading"); });
  EXPECT_EQ(checked.rfind("loading: mean 0 and std 1e-300", 0), 0u) << checked;
  const data::Standardize fine{0.0, 1e-300};  // the same values are fine for float64
  EXPECT_NO_THROW(fine.check(nabla::kFloat64));
  EXPECT_EQ(fine(nabla::tensor(std::vector<double>{1e-300}, {1})).to_vector<double>()[0], 1.0);

  // Finite values whose sum or squared deviations overflow a double.
  const std::string sum = error_of([] { data::Standardize::fit(nabla::tensor(std::vector<double>{1e308, 1e308}, {2})); });
  EXPECT_NE(sum.find("sum overflows a double"), std::string::npos) << sum;
  const std::string spread =
      error_of([] { data::Standardize::fit(nabla::tensor(std::vector<double>{1e200, -1e200}, {2})); });
  EXPECT_NE(spread.find("squared deviations"), std::string::npos) << spread;

  Tensor strided = nabla::tensor(std::vector<double>{1.0, 2.0, 3.0, 4.0}, {2, 2}).transpose(0, 1);
  const std::string view = error_of([&] { data::Standardize{0.5, 2.0}.apply_(strided); });
  EXPECT_NE(view.find("not contiguous"), std::string::npos) << view;

  Tensor leaf = nabla::tensor({1.0, 2.0}).requires_grad_();
  const std::string grad = error_of([&] { data::Standardize{0.5, 2.0}.apply_(leaf); });
  EXPECT_NE(grad.find("require gradients"), std::string::npos) << grad;
  EXPECT_NE(grad.find("[2]"), std::string::npos) << grad;
}

// RandomHorizontalFlip: which images it mirrors follows the generator (one draw per image), a
// mirrored image has every row reversed, the others are untouched.
TEST(RandomHorizontalFlip, MirrorsTheImagesItDrawsAndLeavesTheRest) {
  for (nabla::DType dtype : {nabla::kFloat32, nabla::kFloat64}) {
    constexpr std::int64_t n = 200, rows = 3, width = 5;
    std::vector<double> values(n * rows * width);
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<double>(i);
    Tensor batch = nabla::tensor(values, {n, 1, rows, width}, dtype);
    const std::uint64_t before = batch.version();
    std::mt19937_64 rng(42);
    const std::int64_t flipped = data::RandomHorizontalFlip{}.apply_(batch, rng);
    // The draws, repeated independently: image i is mirrored when its uniform is below 1/2.
    std::mt19937_64 again(42);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    const std::vector<double> out = batch.to_vector<double>();
    std::int64_t expected = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      const bool mirrored = uniform(again) < 0.5;
      expected += mirrored;
      for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t c = 0; c < width; ++c) {
          const std::int64_t from = (i * rows + r) * width + (mirrored ? width - 1 - c : c);
          ASSERT_EQ(out[(i * rows + r) * width + c], values[from]) << "image " << i << " row " << r << " col " << c;
        }
    }
    EXPECT_EQ(flipped, expected);
    EXPECT_GT(flipped, 70);  // about half of 200
    EXPECT_LT(flipped, 130);
    EXPECT_GT(batch.version(), before);
  }
}

TEST(RandomHorizontalFlip, ProbabilityZeroAndOneAndTheSameSeedTwice) {
  const std::vector<float> values{1, 2, 3, 4, 5, 6};
  Tensor none = nabla::tensor(values, {3, 2});
  std::mt19937_64 rng(7);
  EXPECT_EQ(data::RandomHorizontalFlip{0.0}.apply_(none, rng), 0);
  EXPECT_EQ(none.to_vector<float>(), values);
  Tensor all = nabla::tensor(values, {3, 2});
  EXPECT_EQ(data::RandomHorizontalFlip{1.0}.apply_(all, rng), 3);
  EXPECT_EQ(all.to_vector<float>(), (std::vector<float>{2, 1, 4, 3, 6, 5}));

  // One draw per image whether mirrored or not: the same state gives the same flips, and the
  // generator ends in the same place however many were mirrored.
  Tensor a = nabla::randn({64, 28, 28}), b = a.clone();
  std::mt19937_64 ra(3), rb(3);
  data::RandomHorizontalFlip{}.apply_(a, ra);
  data::RandomHorizontalFlip{}.apply_(b, rb);
  EXPECT_EQ(a.to_vector<float>(), b.to_vector<float>());
  std::mt19937_64 rc(3);
  rc.discard(64);
  EXPECT_EQ(ra(), rc());
}

TEST(RandomHorizontalFlip, Errors) {
  std::mt19937_64 rng(0);
  Tensor x = nabla::tensor(std::vector<float>{1, 2, 3, 4}, {2, 2});
  const std::string p = error_of([&] { data::RandomHorizontalFlip{1.5}.apply_(x, rng); });
  EXPECT_NE(p.find("RandomHorizontalFlip::apply_"), std::string::npos) << p;
  EXPECT_NE(p.find("p = 1.5"), std::string::npos) << p;
  EXPECT_NE(p.find("[0, 1]"), std::string::npos) << p;
  const std::string nan = error_of([&] { data::RandomHorizontalFlip{std::nan("")}.apply_(x, rng); });
  EXPECT_NE(nan.find("p = nan"), std::string::npos) << nan;

  Tensor ints = nabla::tensor(std::vector<std::int64_t>{1, 2, 3, 4}, {2, 2});
  const std::string dtype = error_of([&] { data::RandomHorizontalFlip{}.apply_(ints, rng); });
  EXPECT_NE(dtype.find("int64"), std::string::npos) << dtype;

  Tensor flat = nabla::tensor(std::vector<float>{1, 2, 3}, {3});
  const std::string dims = error_of([&] { data::RandomHorizontalFlip{}.apply_(flat, rng); });
  EXPECT_NE(dims.find("[3]"), std::string::npos) << dims;
  EXPECT_NE(dims.find("[N, ..., W]"), std::string::npos) << dims;

  Tensor strided = nabla::tensor(std::vector<float>{1, 2, 3, 4}, {2, 2}).transpose(0, 1);
  const std::string view = error_of([&] { data::RandomHorizontalFlip{}.apply_(strided, rng); });
  EXPECT_NE(view.find("not contiguous"), std::string::npos) << view;

  Tensor leaf = nabla::tensor(std::vector<float>{1, 2, 3, 4}, {2, 2}).requires_grad_();
  const std::string grad = error_of([&] { data::RandomHorizontalFlip{}.apply_(leaf, rng); });
  EXPECT_NE(grad.find("require"), std::string::npos) << grad;
  EXPECT_EQ(leaf.to_vector<float>(), (std::vector<float>{1, 2, 3, 4})) << "nothing changed on error";
}
