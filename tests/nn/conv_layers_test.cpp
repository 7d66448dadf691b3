// Convolutional layers (include/nabla/nn/conv.h): shapes and PyTorch-like initialisation, use in
// Sequential with a backward pass, BatchNorm's running statistics in train and eval mode, and
// checkpoints (state_dict through safetensors) that carry the running statistics.
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include <nabla/autograd/engine.h>
#include <nabla/core/generator.h>
#include <nabla/io/safetensors.h>
#include <nabla/nn/nn.h>
#include <nabla/ops/arithmetic.h>
#include <nabla/ops/reduction.h>
#include <nabla/ops/unary.h>

#include "nn/nn_test_util.h"

namespace {

using nabla::Shape;
using nabla::Tensor;
using nabla::nntest::throws_error;
namespace nn = nabla::nn;

std::vector<std::string> names(const nn::NamedTensors& t) {
  std::vector<std::string> out;
  for (const auto& [n, v] : t) out.push_back(n);
  return out;
}

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_vector<double>()) m = std::max(m, std::abs(v));
  return m;
}

TEST(Conv2dLayer, ShapesAndInitialisation) {
  nabla::manual_seed(0);
  nn::Conv2d conv(4, 6, 3, 2, 1, 1, 2);
  EXPECT_EQ(conv.weight().shape(), (Shape{6, 2, 3, 3}));
  EXPECT_EQ(conv.bias().shape(), (Shape{6}));
  const double bound = 1.0 / std::sqrt(2.0 * 9.0);  // fan_in = in / groups · kH · kW
  EXPECT_LE(max_abs(conv.weight()), bound);
  EXPECT_GT(max_abs(conv.weight()), 0.5 * bound);
  EXPECT_LE(max_abs(conv.bias()), bound);
  EXPECT_EQ(names(conv.named_parameters()), (std::vector<std::string>{"weight", "bias"}));
  EXPECT_EQ(conv.forward(nabla::randn({2, 4, 9, 8})).shape(), (Shape{2, 6, 5, 4}));
  nn::Conv2d no_bias(1, 2, {3, 2}, 1, 0, 1, 1, false, nabla::kFloat64);
  EXPECT_FALSE(no_bias.bias().defined());
  EXPECT_EQ(no_bias.weight().dtype(), nabla::kFloat64);
  EXPECT_EQ(no_bias.parameters().size(), 1u);
  EXPECT_NE(conv.name().find("Conv2d(4, 6"), std::string::npos);
}

TEST(Conv2dLayer, BadArguments) {
  using V = std::vector<std::string>;
  EXPECT_TRUE(throws_error([] { nn::Conv2d(3, 4, 3, 1, 0, 1, 2); }, V{"Conv2d", "groups=2", "in_channels=3"}));
  EXPECT_TRUE(throws_error([] { nn::Conv2d(3, 4, 3, 0); }, V{"Conv2d", "stride must be positive"}));
  EXPECT_TRUE(throws_error([] { nn::Conv2d(0, 4, 3); }, V{"Conv2d", "positive"}));
  nn::Conv2d conv(3, 4, 3);
  EXPECT_TRUE(throws_error([&] { conv.forward(nabla::zeros({1, 2, 5, 5})); }, V{"Conv2d", "[1, 2, 5, 5]", "in_channels=3"}));
  EXPECT_TRUE(throws_error([&] { conv.forward(nabla::zeros({1, 3, 2, 2})); }, V{"conv2d", "larger than the padded input"}));
  nn::BatchNorm2d bn(3);
  EXPECT_TRUE(throws_error([&] { bn.forward(nabla::zeros({2, 3})); }, V{"BatchNorm2d", "4-D", "[2, 3]"}));
  EXPECT_TRUE(throws_error([&] { bn.forward(nabla::zeros({2, 4, 2, 2})); }, V{"BatchNorm2d", "num_features=3"}));
  nn::BatchNorm1d bn1(3);
  EXPECT_TRUE(throws_error([&] { bn1.forward(nabla::zeros({2, 3, 2, 2})); }, V{"BatchNorm1d", "[2, 3, 2, 2]"}));
}

// Sequential runs ReLU then MaxPool2d as the pooling first (a quarter of the ReLU's work): the values
// and gradients must be exactly those of the two in the written order, including windows that are all
// negative, ties, padding, overlapping windows and a NaN.
TEST(ConvLayers, SequentialReluThenMaxPoolEqualsTheWrittenOrder) {
  nabla::manual_seed(4);
  for (const nabla::DType dt : {nabla::kFloat32, nabla::kFloat64}) {
    for (const auto& pool : {std::make_shared<nn::MaxPool2d>(2), std::make_shared<nn::MaxPool2d>(3, nabla::Size2(2), 1),
                             std::make_shared<nn::MaxPool2d>(2, nabla::Size2(1))}) {
      nn::Sequential net{std::make_shared<nn::ReLU>(), pool};
      // Small integers around zero: many ties and many all-negative windows.
      std::vector<double> v(2 * 3 * 7 * 9);
      for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(static_cast<int>((i * 37) % 7) - 4);
      v[20] = std::nan("");
      const Tensor x = nabla::tensor(v, {2, 3, 7, 9}, dt).requires_grad_();
      const Tensor fused = net.forward(x), plain = pool->forward(nabla::relu(x));
      ASSERT_EQ(fused.shape(), plain.shape());
      const auto fv = fused.to_vector<double>(), pv = plain.to_vector<double>();
      for (std::size_t i = 0; i < fv.size(); ++i) {
        if (std::isnan(pv[i])) EXPECT_TRUE(std::isnan(fv[i])) << i;
        else EXPECT_EQ(fv[i], pv[i]) << i;
      }
      const Tensor up = nabla::randn(plain.shape(), dt);
      const auto g_fused = nabla::autograd::grad({nabla::sum(fused * up)}, {x});
      const auto g_plain = nabla::autograd::grad({nabla::sum(plain * up)}, {x});
      EXPECT_EQ(g_fused[0].to_vector<double>(), g_plain[0].to_vector<double>()) << pool->name();
    }
  }
}

// A window made of padding alone (padding with dilation lets one miss the input) has the maximum
// -inf, and relu(-inf) would be 0: Sequential must then keep the written order.
TEST(ConvLayers, SequentialKeepsReluBeforeAPoolWhoseWindowsCanMissTheInput) {
  auto pool = std::make_shared<nn::MaxPool2d>(2, nabla::Size2(2), 1, 2);
  nn::Sequential net{std::make_shared<nn::ReLU>(), pool};
  const Tensor x = nabla::tensor(std::vector<double>{-3.0}, {1, 1, 1, 1}, nabla::kFloat64);
  const auto written = pool->forward(nabla::relu(x)).to_vector<double>();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0], -std::numeric_limits<double>::infinity());
  EXPECT_EQ(net.forward(x).to_vector<double>(), written);
}

TEST(ConvLayers, SmallCnnInSequentialTrainsOneStep) {
  nabla::manual_seed(1);
  nn::Sequential net{std::make_shared<nn::Conv2d>(1, 4, 3, 1, 1),
                     std::make_shared<nn::BatchNorm2d>(4),
                     std::make_shared<nn::ReLU>(),
                     std::make_shared<nn::MaxPool2d>(2),
                     std::make_shared<nn::Conv2d>(4, 8, 3),
                     std::make_shared<nn::AvgPool2d>(2, std::nullopt, 1),
                     std::make_shared<nn::AdaptiveAvgPool2d>(2),
                     std::make_shared<nn::Flatten>(),
                     std::make_shared<nn::LayerNorm>(Shape{32}),
                     std::make_shared<nn::Dropout>(0.2),
                     std::make_shared<nn::Linear>(32, 3)};
  const Tensor x = nabla::randn({5, 1, 12, 12});
  const Tensor y = net.forward(x);
  EXPECT_EQ(y.shape(), (Shape{5, 3}));
  nabla::sum(y * y).backward();
  for (const auto& [n, p] : net.named_parameters()) {
    ASSERT_TRUE(p.grad().defined()) << n;
    EXPECT_EQ(p.grad().shape(), p.shape()) << n;
  }
  EXPECT_EQ(names(net.named_buffers()),
            (std::vector<std::string>{"1.running_mean", "1.running_var", "1.num_batches_tracked"}));
  net.eval();
  EXPECT_EQ(net.forward(x).shape(), (Shape{5, 3}));
}

TEST(BatchNormLayer, RunningStatisticsTrainAndEval) {
  nn::BatchNorm2d bn(2, 1e-5, 0.1, true, true, nabla::kFloat64);
  EXPECT_EQ(names(bn.state_dict()),
            (std::vector<std::string>{"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}));
  nabla::manual_seed(2);
  const Tensor x = nabla::randn({8, 2, 3, 3}, nabla::kFloat64) * 2.0 + 3.0;
  const Tensor y = bn.forward(x);
  // Training output: zero mean and (biased) unit variance per channel.
  const Tensor m = nabla::sum(y, Shape{0, 2, 3}) / 72.0;
  for (double v : m.to_vector<double>()) EXPECT_NEAR(v, 0.0, 1e-12);
  // running_mean = 0.9 · 0 + 0.1 · batch mean; running_var = 0.9 · 1 + 0.1 · unbiased var.
  const Tensor bm = nabla::sum(x, Shape{0, 2, 3}) / 72.0;
  const Tensor d = x - bm.reshape({1, 2, 1, 1});
  const Tensor uv = nabla::sum(d * d, Shape{0, 2, 3}) / 71.0;
  EXPECT_TRUE(nabla::nntest::values_near(bn.running_mean(), (bm * 0.1).to_vector<double>(), 1e-12));
  EXPECT_TRUE(nabla::nntest::values_near(bn.running_var(), (uv * 0.1 + 0.9).to_vector<double>(), 1e-12));
  EXPECT_EQ(bn.num_batches_tracked().item<std::int64_t>(), 1);
  bn.eval();
  const Tensor e = bn.forward(x);
  EXPECT_EQ(bn.num_batches_tracked().item<std::int64_t>(), 1);
  const Tensor want = (x - bn.running_mean().reshape({1, 2, 1, 1})) /
                      nabla::sqrt(bn.running_var().reshape({1, 2, 1, 1}) + 1e-5);
  EXPECT_TRUE(nabla::nntest::values_near(e, want.to_vector<double>(), 1e-12));
  // Without running statistics: batch statistics in both modes, no buffers.
  nn::BatchNorm1d plain(2, 1e-5, 0.1, false, false, nabla::kFloat64);
  EXPECT_TRUE(plain.state_dict().empty());
  plain.eval();
  const Tensor z = plain.forward(nabla::randn({6, 2}, nabla::kFloat64));
  for (double v : (nabla::sum(z, 0) / 6.0).to_vector<double>()) EXPECT_NEAR(v, 0.0, 1e-12);
}

TEST(ConvLayers, CheckpointCarriesRunningStatistics) {
  nabla::manual_seed(3);
  auto make = [] {
    return std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
        std::make_shared<nn::Conv2d>(2, 3, 3), std::make_shared<nn::BatchNorm2d>(3), std::make_shared<nn::ReLU>(),
        std::make_shared<nn::MaxPool2d>(2), std::make_shared<nn::Flatten>(), std::make_shared<nn::BatchNorm1d>(12),
        std::make_shared<nn::LayerNorm>(Shape{12})});
  };
  auto a = make();
  const Tensor x = nabla::randn({4, 2, 6, 6});
  for (int i = 0; i < 3; ++i) a->forward(x);  // moves the running statistics
  a->eval();
  const Tensor ya = a->forward(x);

  const auto path = (std::filesystem::temp_directory_path() / ("nabla_conv_ckpt_" + std::to_string(::getpid()) + ".safetensors")).string();
  nabla::io::save_safetensors(path, a->state_dict());
  nabla::manual_seed(99);
  auto b = make();
  b->eval();
  EXPECT_FALSE(nabla::nntest::values_near(b->forward(x), ya.to_vector<double>(), 1e-6));
  nabla::io::load_into(path, b->state_dict());
  std::filesystem::remove(path);
  EXPECT_TRUE(nabla::nntest::values_near(b->forward(x), ya.to_vector<double>(), 0.0));
  const auto sb = b->state_dict();
  EXPECT_EQ(names(sb), names(a->state_dict()));
  for (const auto& [n, t] : sb)
    if (n.find("num_batches_tracked") != std::string::npos) EXPECT_EQ(t.item<std::int64_t>(), 3) << n;
}

}  // namespace
