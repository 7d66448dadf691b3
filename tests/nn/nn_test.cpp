// nabla::nn: Linear (shapes, PyTorch's default initialisation, gradcheck), Sequential naming,
// named_parameters/state_dict/load_state_dict, train/eval with Dropout, the initialisers'
// statistics, activations at their kinks, and two small trainings that must actually learn.
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <nabla/nn/nn.h>
#include <nabla/optim/optim.h>

#include "nn/nn_test_util.h"

namespace {

using nabla::Tensor;
using nabla::nntest::grad_ok;
using nabla::nntest::throws_error;
namespace nn = nabla::nn;

std::vector<std::string> names_of(const nn::NamedTensors& named) {
  std::vector<std::string> out;
  for (const auto& [n, t] : named) out.push_back(n);
  return out;
}

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_vector<double>()) m = std::max(m, std::abs(v));
  return m;
}

// Sample mean and (population) variance of t's values.
std::pair<double, double> mean_var(const Tensor& t) {
  const auto v = t.to_vector<double>();
  double s = 0;
  for (double x : v) s += x;
  const double mean = s / static_cast<double>(v.size());
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return {mean, ss / static_cast<double>(v.size())};
}

// ---- Linear -------------------------------------------------------------------------------------

TEST(Linear, ShapesForBatchesAndLeadingDims) {
  nabla::manual_seed(1);
  nn::Linear fc(4, 3);
  EXPECT_EQ(fc.weight().shape(), (nabla::Shape{3, 4}));
  EXPECT_EQ(fc.bias().shape(), (nabla::Shape{3}));
  EXPECT_EQ(fc.weight().dtype(), nabla::kFloat32);
  EXPECT_EQ(fc(nabla::zeros({2, 4})).shape(), (nabla::Shape{2, 3}));
  EXPECT_EQ(fc(nabla::zeros({2, 5, 4})).shape(), (nabla::Shape{2, 5, 3}));
  EXPECT_EQ(fc(nabla::zeros({4})).shape(), (nabla::Shape{3}));
  EXPECT_EQ(fc.name(), "Linear(in_features=4, out_features=3, bias=true)");
  EXPECT_EQ(names_of(fc.named_parameters()), (std::vector<std::string>{"weight", "bias"}));

  nn::Linear no_bias(4, 3, false, nabla::kFloat64);
  EXPECT_FALSE(no_bias.bias().defined());
  EXPECT_EQ(names_of(no_bias.named_parameters()), (std::vector<std::string>{"weight"}));
  EXPECT_EQ(no_bias.weight().dtype(), nabla::kFloat64);

  EXPECT_TRUE(throws_error([&] { fc(nabla::zeros({2, 5})); }, {"linear", "[2, 5]", "[3, 4]", "must be 4"}));
  EXPECT_TRUE(throws_error([] { nn::Linear(0, 3); }, {"Linear", "positive", "0"}));
}

TEST(Linear, ComputesXWtPlusB) {
  nn::Linear fc(2, 2, true, nabla::kFloat64);
  fc.load_state_dict({{"weight", nabla::tensor(std::vector<double>{1.0, 2.0, 3.0, 4.0}, {2, 2})}, {"bias", nabla::tensor(std::vector<double>{0.5, -0.5}, {2})}});
  const Tensor y = fc(nabla::tensor(std::vector<double>{1.0, 1.0, 2.0, -1.0}, {2, 2}));
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{3.5, 6.5, 0.5, 1.5}));
}

TEST(Linear, PyTorchDefaultInitBounds) {
  nabla::manual_seed(2);
  for (std::int64_t in : {1, 3, 100, 784}) {
    nn::Linear fc(in, 64);
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    EXPECT_LE(max_abs(fc.weight()), bound) << "in " << in;
    EXPECT_LE(max_abs(fc.bias()), bound) << "in " << in;
  }
  // The whole interval is used (U(-b, b), not something narrower): with 64 * 784 draws the largest
  // |w| is within 0.1% of the bound, and the variance is b^2 / 3 within sampling error.
  nn::Linear big(784, 64);
  const double b = 1.0 / std::sqrt(784.0);
  EXPECT_GT(max_abs(big.weight()), 0.999 * b);
  const auto [mean, var] = mean_var(big.weight());
  const double n = 784.0 * 64.0;
  // For U(-b, b): sd of the sample mean is b/sqrt(3n); relative sd of the sample variance is sqrt(0.8/n).
  EXPECT_LT(std::abs(mean), 5 * b / std::sqrt(3 * n));
  EXPECT_LT(std::abs(var / (b * b / 3) - 1), 5 * std::sqrt(0.8 / n));
}

TEST(Linear, SeedFixesTheInitialWeights) {
  nabla::manual_seed(42);
  nn::Linear a(5, 3);
  nabla::manual_seed(42);
  nn::Linear b(5, 3);
  EXPECT_EQ(a.weight().to_vector<float>(), b.weight().to_vector<float>());
  EXPECT_EQ(a.bias().to_vector<float>(), b.bias().to_vector<float>());
}

TEST(LinearGradcheck, WithBias) {
  nabla::manual_seed(3);
  EXPECT_TRUE(grad_ok([](const auto& v) { return nabla::linear(v[0], v[1], v[2]); },
                      {nabla::nntest::leaf({4, 3}), nabla::nntest::leaf({2, 3}), nabla::nntest::leaf({2})}));
}

TEST(LinearGradcheck, WithoutBias) {
  nabla::manual_seed(4);
  EXPECT_TRUE(grad_ok([](const auto& v) { return nabla::linear(v[0], v[1]); },
                      {nabla::nntest::leaf({4, 3}), nabla::nntest::leaf({2, 3})}));
}

TEST(LinearGradcheck, ThreeDimensionalInput) {
  nabla::manual_seed(5);
  EXPECT_TRUE(grad_ok([](const auto& v) { return nabla::linear(v[0], v[1], v[2]); },
                      {nabla::nntest::leaf({2, 3, 4}), nabla::nntest::leaf({5, 4}), nabla::nntest::leaf({5})}));
  EXPECT_TRUE(grad_ok([](const auto& v) { return nabla::linear(v[0], v[1]); },
                      {nabla::nntest::leaf({2, 1, 3, 4}), nabla::nntest::leaf({2, 4})}));
}

TEST(LinearGradcheck, NonContiguousInputAndWeight) {
  nabla::manual_seed(6);
  EXPECT_TRUE(grad_ok([](const auto& v) { return nabla::linear(v[0], v[1], v[2]); },
                      {nabla::nntest::noncontig_leaf({3, 4}), nabla::nntest::noncontig_leaf({2, 4}),
                       nabla::nntest::noncontig_leaf({2})}));
}

TEST(LinearGradcheck, SecondDerivatives) {
  nabla::manual_seed(7);
  EXPECT_TRUE(nabla::nntest::gradgrad_ok([](const auto& v) { return nabla::tanh(nabla::linear(v[0], v[1], v[2])); },
                                       {nabla::nntest::leaf({3, 2}), nabla::nntest::leaf({2, 2}), nabla::nntest::leaf({2})}));
}

TEST(LinearReluGradcheck, WithAndWithoutBiasAndSecondDerivatives) {
  nabla::manual_seed(8);
  EXPECT_TRUE(grad_ok([](const auto& v) { return nabla::linear_relu(v[0], v[1], v[2]); },
                      {nabla::nntest::leaf({4, 3}), nabla::nntest::leaf({5, 3}), nabla::nntest::leaf({5})}));
  EXPECT_TRUE(grad_ok([](const auto& v) { return nabla::linear_relu(v[0], v[1]); },
                      {nabla::nntest::noncontig_leaf({2, 3, 4}), nabla::nntest::leaf({5, 4})}));
  EXPECT_TRUE(nabla::nntest::gradgrad_ok([](const auto& v) { return nabla::tanh(nabla::linear_relu(v[0], v[1], v[2])); },
                                       {nabla::nntest::leaf({3, 2}), nabla::nntest::leaf({4, 2}), nabla::nntest::leaf({4})}));
}

TEST(LinearRelu, SameValuesAndGradientsAsLinearThenRelu) {
  nabla::manual_seed(9);
  for (const nabla::DType dt : {nabla::kFloat32, nabla::kFloat64}) {
    const Tensor x = nabla::randn({64, 30}, dt).requires_grad_(), w = nabla::randn({20, 30}, dt).requires_grad_();
    const Tensor b = nabla::randn({20}, dt).requires_grad_(), up = nabla::randn({64, 20}, dt);
    const Tensor fused = nabla::linear_relu(x, w, b), plain = nabla::relu(nabla::linear(x, w, b));
    EXPECT_EQ(fused.to_vector<double>(), plain.to_vector<double>());
    const auto g_fused = nabla::autograd::grad({nabla::sum(fused * up)}, {x, w, b});
    const auto g_plain = nabla::autograd::grad({nabla::sum(plain * up)}, {x, w, b});
    for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(g_fused[i].to_vector<double>(), g_plain[i].to_vector<double>()) << i;
  }
  EXPECT_TRUE(throws_error([] { nabla::linear_relu(nabla::zeros({2, 5}), nabla::zeros({3, 4})); },
                           {"linear_relu", "[2, 5]", "[3, 4]", "must be 4"}));
}

TEST(Linear, GradientsOfTheModuleAreXtDy) {
  // dW = dYᵀ X and db = Σ dY, with dY = 1 from sum().
  nn::Linear fc(2, 1, true, nabla::kFloat64);
  const Tensor x = nabla::tensor(std::vector<double>{1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, {3, 2});
  nabla::sum(fc(x)).backward();
  EXPECT_EQ(fc.weight().grad().to_vector<double>(), (std::vector<double>{9.0, 12.0}));
  EXPECT_EQ(fc.bias().grad().to_vector<double>(), (std::vector<double>{3.0}));
  fc.zero_grad();
  EXPECT_FALSE(fc.weight().grad().defined());
}

// ---- activations --------------------------------------------------------------------------------

TEST(Activations, LeakyReluAtZeroAndAround) {
  for (double slope : {0.01, 0.2}) {
    const Tensor x = nabla::tensor({-2.0, 0.0, 3.0}, nabla::kFloat64).requires_grad_();
    const Tensor y = nabla::leaky_relu(x, slope);
    EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{-2.0 * slope, 0.0, 3.0}));
    nabla::sum(y).backward();
    // At 0, PyTorch's leaky_relu backward takes the negative side (x > 0 is false): the slope.
    EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{slope, slope, 1.0}));
  }
  nabla::manual_seed(8);
  EXPECT_TRUE(grad_ok([](const auto& v) { return nabla::leaky_relu(v[0], 0.1); },
                      {nabla::tensor({-1.5, -0.3, 0.2, 0.9, 2.0}, nabla::kFloat64).requires_grad_()}));
  nn::LeakyReLU m(0.2);
  EXPECT_EQ(m(nabla::tensor({-1.0}, nabla::kFloat64)).item<double>(), -0.2);
}

TEST(Activations, SiluEluSoftplusModulesApplyTheirOps) {
  const Tensor x = nabla::tensor({-2.0, -0.5, 0.0, 0.7, 3.0}, nabla::kFloat64);
  nn::SiLU silu;
  nn::ELU elu(0.5);
  nn::Softplus softplus(2.0, 4.0);
  EXPECT_EQ(silu(x).to_vector<double>(), nabla::silu(x).to_vector<double>());
  EXPECT_EQ(elu(x).to_vector<double>(), nabla::elu(x, 0.5).to_vector<double>());
  EXPECT_EQ(softplus(x).to_vector<double>(), nabla::softplus(x, 2.0, 4.0).to_vector<double>());
  EXPECT_DOUBLE_EQ(silu(x).to_vector<double>()[4], 3.0 / (1.0 + std::exp(-3.0)));
  EXPECT_DOUBLE_EQ(elu(x).to_vector<double>()[0], 0.5 * std::expm1(-2.0));
  EXPECT_EQ(softplus(x).to_vector<double>()[4], 3.0);  // 2 * 3 > 4: linear
  EXPECT_EQ(silu.name(), "SiLU()");
  EXPECT_EQ(elu.name(), "ELU(alpha=0.5)");
  EXPECT_EQ(softplus.name(), "Softplus(beta=2, threshold=4)");
  EXPECT_TRUE(silu.parameters().empty());
  EXPECT_THROW(nn::ELU(std::nan("")), nabla::Error);
  EXPECT_THROW(nn::Softplus(0.0), nabla::Error);
}

TEST(Activations, MoreActivationsValuesKinksAndGradcheck) {
  const Tensor x = nabla::tensor({-7.0, -3.0, -1.0, 0.0, 0.5, 3.0, 6.0, 8.0}, nabla::kFloat64);
  const auto v = x.to_vector<double>();
  auto each = [&](const Tensor& t, auto f) {
    const auto got = t.to_vector<double>();
    for (std::size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(got[i], f(v[i]), 1e-15 * (1 + std::fabs(f(v[i])))) << v[i];
  };
  each(nabla::log_sigmoid(x), [](double a) { return std::log(1.0 / (1.0 + std::exp(-a))); });
  each(nabla::hardtanh(x, -1.0, 2.0), [](double a) { return std::clamp(a, -1.0, 2.0); });
  each(nabla::relu6(x), [](double a) { return std::clamp(a, 0.0, 6.0); });
  each(nabla::hardsigmoid(x), [](double a) { return std::clamp(a + 3.0, 0.0, 6.0) / 6.0; });
  each(nabla::hardswish(x), [](double a) { return a * std::clamp(a + 3.0, 0.0, 6.0) / 6.0; });
  each(nabla::selu(x), [](double a) { return 1.0507009873554805 * (a > 0 ? a : 1.6732632423543772 * std::expm1(a)); });
  each(nabla::mish(x), [](double a) { return a * std::tanh(std::log1p(std::exp(a))); });
  each(nabla::softsign(x), [](double a) { return a / (1.0 + std::fabs(a)); });
  // log_sigmoid far out: no overflow, and log(sigmoid(-800)) is -800, not -inf.
  EXPECT_EQ(nabla::log_sigmoid(nabla::tensor({-800.0, 800.0}, nabla::kFloat64)).to_vector<double>(), (std::vector<double>{-800.0, 0.0}));
  // Gradients at the kinks, as PyTorch: hardtanh 0 at its ends (clamp passes 1), hardswish -1/2 at -3, 1 at 3.
  auto grad_of = [](auto f, std::vector<double> at) {
    Tensor t = nabla::tensor(at, {static_cast<std::int64_t>(at.size())}, nabla::kFloat64).requires_grad_();
    nabla::sum(f(t)).backward();
    return t.grad().to_vector<double>();
  };
  EXPECT_EQ(grad_of([](const Tensor& t) { return nabla::hardtanh(t, -1.0, 2.0); }, {-1.0, 0.0, 2.0, 3.0}), (std::vector<double>{0, 1, 0, 0}));
  EXPECT_EQ(grad_of([](const Tensor& t) { return nabla::relu6(t); }, {0.0, 6.0}), (std::vector<double>{0, 0}));
  EXPECT_EQ(grad_of([](const Tensor& t) { return nabla::hardsigmoid(t); }, {-3.0, 0.0, 3.0}), (std::vector<double>{0, 1.0 / 6.0, 0}));
  EXPECT_EQ(grad_of([](const Tensor& t) { return nabla::hardswish(t); }, {-4.0, -3.0, 0.0, 3.0}), (std::vector<double>{0, -0.5, 0.5, 1}));
  EXPECT_EQ(grad_of([](const Tensor& t) { return nabla::log_sigmoid(t); }, {0.0}), (std::vector<double>{0.5}));
  // Away from kinks: gradcheck, and second order for the smooth ones.
  nabla::manual_seed(14);
  const Tensor in = nabla::tensor({-2.3, -0.7, 0.4, 1.9, 4.2, -5.1}, nabla::kFloat64).reshape({2, 3}).requires_grad_();
  for (auto f : std::vector<Tensor (*)(const Tensor&)>{nabla::log_sigmoid, nabla::relu6, nabla::hardsigmoid, nabla::hardswish,
                                                       nabla::selu, nabla::mish, nabla::softsign})
    EXPECT_TRUE(grad_ok([f](const auto& t) { return f(t[0]); }, {in}));
  EXPECT_TRUE(grad_ok([](const auto& t) { return nabla::hardtanh(t[0], -1.0, 2.0); }, {in}));
  for (auto f : std::vector<Tensor (*)(const Tensor&)>{nabla::log_sigmoid, nabla::selu, nabla::mish, nabla::softsign, nabla::hardswish})
    EXPECT_TRUE(nabla::nntest::gradgrad_ok([f](const auto& t) { return f(t[0]); }, {in}));
  // The modules apply them.
  EXPECT_EQ(nn::Hardtanh(-1.0, 2.0)(x).to_vector<double>(), nabla::hardtanh(x, -1.0, 2.0).to_vector<double>());
  EXPECT_EQ(nn::ReLU6()(x).to_vector<double>(), nabla::relu6(x).to_vector<double>());
  EXPECT_EQ(nn::Mish()(x).to_vector<double>(), nabla::mish(x).to_vector<double>());
  EXPECT_EQ(nn::SELU()(x).to_vector<double>(), nabla::selu(x).to_vector<double>());
  EXPECT_EQ(nn::LogSigmoid()(x).to_vector<double>(), nabla::log_sigmoid(x).to_vector<double>());
  EXPECT_EQ(nn::Hardswish()(x).to_vector<double>(), nabla::hardswish(x).to_vector<double>());
  EXPECT_EQ(nn::Hardsigmoid()(x).to_vector<double>(), nabla::hardsigmoid(x).to_vector<double>());
  EXPECT_EQ(nn::Softsign()(x).to_vector<double>(), nabla::softsign(x).to_vector<double>());
  EXPECT_EQ(nn::Hardtanh(-1.0, 2.0).name(), "Hardtanh(min_val=-1, max_val=2)");
  EXPECT_EQ(nn::Mish().name(), "Mish()");
  EXPECT_TRUE(throws_error([&] { nabla::hardtanh(x, 2.0, 1.0); }, {"hardtanh", "min_val", "2", "1"}));
  EXPECT_TRUE(throws_error([] { nn::Hardtanh(1.0, -1.0); }, {"Hardtanh", "min_val"}));
  EXPECT_TRUE(throws_error([] { nabla::mish(nabla::tensor(std::vector<std::int64_t>{1}, {1})); }, {"mish"}));
  EXPECT_TRUE(throws_error([] { nabla::relu6(nabla::tensor(std::vector<std::int64_t>{1}, {1})); }, {"relu6"}));
  EXPECT_TRUE(throws_error([] { nabla::selu(nabla::tensor(std::vector<std::int64_t>{1}, {1})); }, {"selu"}));
  // NaN: hardswish's gradient is NaN (as PyTorch), not a branch's constant.
  EXPECT_TRUE(std::isnan(grad_of([](const Tensor& t) { return nabla::hardswish(t); }, {std::nan("")})[0]));
  // hardsigmoid compares x itself: just below 3, x + 3 rounds to 6 but the gradient is still 1/6.
  const double below = std::nextafter(3.0, 0.0);
  EXPECT_EQ(grad_of([](const Tensor& t) { return nabla::hardsigmoid(t); }, {below, -below}), (std::vector<double>{1.0 / 6, 1.0 / 6}));
  // Second derivatives at hardswish's kinks: 1/3 strictly inside (-3, 3), 0 at -3 and 3 (as PyTorch).
  Tensor k = nabla::tensor({-3.0, 0.0, 3.0}, nabla::kFloat64).requires_grad_();
  const auto g1 = nabla::autograd::grad({nabla::sum(nabla::hardswish(k))}, {k}, {}, true, true);
  EXPECT_EQ(nabla::autograd::grad({nabla::sum(g1[0])}, {k})[0].to_vector<double>(), (std::vector<double>{0, 1.0 / 3, 0}));
}

TEST(Activations, GeluValuesGradientAndGradcheck) {
  const std::vector<double> xs{-3.0, -1.0, -1e-3, 0.0, 0.5, 2.0};
  const Tensor x = nabla::tensor(std::vector<double>(xs), {6}, nabla::kFloat64).requires_grad_();
  const Tensor y = nabla::gelu(x);
  nabla::sum(y).backward();
  const auto vy = y.to_vector<double>(), vg = x.grad().to_vector<double>();
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double v = xs[i];
    const double cdf = 0.5 * (1 + std::erf(v / std::sqrt(2.0)));
    const double pdf = std::exp(-0.5 * v * v) / std::sqrt(2 * M_PI);
    EXPECT_NEAR(vy[i], v * cdf, 1e-15) << "gelu(" << v << ")";
    EXPECT_NEAR(vg[i], cdf + v * pdf, 1e-15) << "gelu'(" << v << ")";
  }
  EXPECT_EQ(vg[3], 0.5);  // gelu'(0) = Φ(0)
  nabla::manual_seed(9);
  EXPECT_TRUE(grad_ok([](const auto& v) { return nabla::gelu(v[0]); }, {nabla::nntest::leaf({3, 4}, -3.0, 3.0)}));
  EXPECT_TRUE(nabla::nntest::gradgrad_ok([](const auto& v) { return nabla::gelu(v[0]); }, {nabla::nntest::leaf({5}, -2.0, 2.0)}));
  EXPECT_TRUE(grad_ok([](const auto& v) { return nabla::erf(v[0]); }, {nabla::nntest::leaf({5}, -2.0, 2.0)}));
}

// ---- Sequential and the module tree -------------------------------------------------------------

std::shared_ptr<nn::Sequential> mlp(nabla::DType dtype = nabla::kFloat32) {
  return std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Linear>(3, 4, true, dtype), std::make_shared<nn::ReLU>(),
      std::make_shared<nn::Linear>(4, 2, true, dtype)});
}

// ---- Embedding, Identity ------------------------------------------------------------------------

TEST(Embedding, PicksRowsAndSumsTheGradientOfRepeatedOnes) {
  nabla::manual_seed(5);
  nn::Embedding emb(5, 3, std::nullopt, nabla::kFloat64);
  EXPECT_EQ(emb.weight().shape(), (nabla::Shape{5, 3}));
  const auto [m, v] = mean_var(nn::Embedding(200, 50).weight());  // N(0, 1), as PyTorch
  EXPECT_NEAR(m, 0.0, 0.02);
  EXPECT_NEAR(v, 1.0, 0.03);
  const Tensor idx = nabla::tensor(std::vector<std::int64_t>{4, 0, 4, 2, 4, 1}, {2, 3});
  const Tensor out = emb(idx);
  EXPECT_EQ(out.shape(), (nabla::Shape{2, 3, 3}));
  const auto w = emb.weight().to_vector<double>(), o = out.to_vector<double>();
  const std::vector<std::int64_t> picked{4, 0, 4, 2, 4, 1};
  for (std::size_t k = 0; k < picked.size(); ++k)
    for (std::size_t j = 0; j < 3; ++j) EXPECT_EQ(o[k * 3 + j], w[static_cast<std::size_t>(picked[k]) * 3 + j]);
  // Row 4 is used three times: its gradient is the sum of the three upstream rows; row 3 gets none.
  const Tensor up = nabla::arange(18, nabla::kFloat64).reshape({2, 3, 3});
  out.backward(up);
  const auto g = emb.weight().grad().to_vector<double>();
  const std::vector<double> want{3, 4, 5, 15, 16, 17, 9, 10, 11, 0, 0, 0, 0 + 6 + 12, 1 + 7 + 13, 2 + 8 + 14};
  EXPECT_EQ(g, want);
  EXPECT_TRUE(grad_ok([&](const auto& in) { return nabla::index_select(in[0], 0, idx.reshape({6})); },
                      {nabla::nntest::leaf({5, 3})}));
  EXPECT_EQ(emb.name(), "Embedding(5, 3)");
  EXPECT_EQ(emb(nabla::tensor(std::vector<std::int64_t>{2}, {})).shape(), (nabla::Shape{3}));  // 0-d index: one row
}

TEST(Embedding, PaddingRowStartsAtZeroAndGetsNoGradient) {
  nn::Embedding emb(4, 2, -1, nabla::kFloat64);  // padding row 3
  ASSERT_TRUE(emb.padding_idx().has_value());
  EXPECT_EQ(*emb.padding_idx(), 3);
  EXPECT_EQ(emb.name(), "Embedding(4, 2, padding_idx=3)");
  const auto w = emb.weight().to_vector<double>();
  EXPECT_EQ(w[6], 0.0);
  EXPECT_EQ(w[7], 0.0);
  // Its value is whatever the row holds (as PyTorch), but no gradient reaches it.
  {
    nabla::NoGradGuard no_grad;
    emb.weight().narrow(0, 3, 1).fill_(2.5);
  }
  const Tensor out = emb(nabla::tensor(std::vector<std::int64_t>{3, 1, 3}, {3}));
  EXPECT_EQ(out.to_vector<double>()[0], 2.5);
  nabla::sum(out).backward();
  EXPECT_EQ(emb.weight().grad().to_vector<double>(), (std::vector<double>{0, 0, 1, 1, 0, 0, 0, 0}));
}

TEST(Embedding, BadIndicesAndSizesAreNamed) {
  nn::Embedding emb(3, 2);
  EXPECT_TRUE(throws_error([&] { emb(nabla::tensor(std::vector<std::int64_t>{0, 3}, {2})); },
                           {"Embedding", "index 3", "3 rows", "0 to 2"}));
  EXPECT_TRUE(throws_error([&] { emb(nabla::tensor(std::vector<std::int64_t>{-1}, {1})); }, {"Embedding", "index -1"}));
  EXPECT_TRUE(throws_error([&] { emb(nabla::zeros({2})); }, {"Embedding", "int64", "float32"}));
  EXPECT_TRUE(throws_error([] { nn::Embedding(0, 2); }, {"Embedding", "positive", "0"}));
  EXPECT_TRUE(throws_error([] { nn::Embedding(3, 2, 3); }, {"Embedding", "padding_idx 3", "[-3, 3)"}));
}

TEST(Identity, ReturnsItsInput) {
  nn::Identity id;
  const Tensor x = nabla::randn({2, 3});
  EXPECT_TRUE(id(x).is_alias_of(x));
  nn::Sequential seq{std::make_shared<nn::Linear>(3, 2), std::make_shared<nn::Identity>()};
  EXPECT_EQ(seq(x).shape(), (nabla::Shape{2, 2}));
}

TEST(Sequential, NamesParametersByPosition) {
  auto net = mlp();
  EXPECT_EQ(net->size(), 3u);
  EXPECT_EQ(names_of(net->named_parameters()), (std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"}));
  EXPECT_EQ(net->parameters().size(), 4u);
  EXPECT_TRUE(net->named_parameters(false).empty());
  // Nested: a Sequential inside a Sequential gets a dotted path.
  nn::Sequential outer{std::make_shared<nn::Flatten>(), mlp()};
  EXPECT_EQ(names_of(outer.named_parameters()),
            (std::vector<std::string>{"1.0.weight", "1.0.bias", "1.2.weight", "1.2.bias"}));
  // The handles are the layers' own parameters.
  EXPECT_TRUE(net->parameters()[0].is_alias_of(std::static_pointer_cast<nn::Linear>((*net)[0])->weight()));
  EXPECT_TRUE(throws_error([&] { (*net)[3]; }, {"Sequential: index 3 is out of range for 3 modules"}));
  EXPECT_NE(net->to_string().find("(2): Linear(in_features=4, out_features=2, bias=true)"), std::string::npos);
}

TEST(Sequential, ForwardChainsTheModules) {
  nabla::manual_seed(10);
  auto net = mlp(nabla::kFloat64);
  const Tensor x = nabla::nntest::leaf({5, 3});
  auto fc0 = std::static_pointer_cast<nn::Linear>((*net)[0]);
  auto fc2 = std::static_pointer_cast<nn::Linear>((*net)[2]);
  // Linear followed by ReLU runs fused (linear_relu): bit-identical values and gradients.
  const Tensor want = nabla::linear(nabla::relu(nabla::linear(x, fc0->weight(), fc0->bias())), fc2->weight(), fc2->bias());
  const Tensor got = (*net)(x);
  EXPECT_EQ(got.to_vector<double>(), want.to_vector<double>());
  const auto g_got = nabla::autograd::grad({nabla::sum(got * got)}, {x, fc0->weight(), fc0->bias()});
  const auto g_want = nabla::autograd::grad({nabla::sum(want * want)}, {x, fc0->weight(), fc0->bias()});
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(g_got[i].to_vector<double>(), g_want[i].to_vector<double>()) << i;
}

TEST(StateDict, RoundTripCopiesValuesInPlace) {
  nabla::manual_seed(11);
  auto a = mlp();
  auto b = mlp();
  ASSERT_NE(a->parameters()[0].to_vector<float>(), b->parameters()[0].to_vector<float>());
  const auto before = b->parameters();
  b->load_state_dict(a->state_dict());
  const auto after = b->parameters();
  for (std::size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].to_vector<float>(), a->parameters()[i].to_vector<float>()) << i;
    EXPECT_TRUE(after[i].is_alias_of(before[i])) << "load_state_dict replaced parameter " << i;
    EXPECT_TRUE(after[i].requires_grad() && after[i].is_leaf()) << i;
    EXPECT_FALSE(after[i].is_alias_of(a->parameters()[i])) << "values must be copied, not shared";
  }
  EXPECT_EQ(names_of(a->state_dict()), names_of(a->named_parameters()));  // no buffers in these layers
}

TEST(StateDict, MismatchListsEveryProblemAndChangesNothing) {
  nabla::manual_seed(12);
  auto net = mlp();
  const auto values_before = net->parameters()[0].to_vector<float>();
  nn::NamedTensors state = mlp()->state_dict();
  state.erase(state.begin() + 1);                                  // drop "0.bias"
  state[1].second = nabla::zeros({3, 4});                          // "2.weight": wrong shape
  state[2].second = nabla::zeros({2}, nabla::kFloat64);            // "2.bias": wrong dtype
  state.emplace_back("3.weight", nabla::zeros({1}));               // unknown
  EXPECT_TRUE(throws_error([&] { net->load_state_dict(state); },
                           {"load_state_dict", "missing '0.bias'",
                            "'2.weight' is float32 [3, 4] but the model expects float32 [2, 4]",
                            "'2.bias' is float64 [2] but the model expects float32 [2]", "unexpected '3.weight'"}));
  EXPECT_EQ(net->parameters()[0].to_vector<float>(), values_before) << "a refused load must not write anything";
}

TEST(Module, TrainEvalReachesEveryChildAndTogglesDropout) {
  nabla::manual_seed(13);
  auto drop = std::make_shared<nn::Dropout>(0.5);
  nn::Sequential net{std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{drop})};
  EXPECT_TRUE(net.is_training() && drop->is_training());
  const std::int64_t n = 20000;
  const Tensor x = nabla::ones({n}, nabla::kFloat64);

  // Training: each element is 0 or 1/(1-p) = 2; the kept fraction is 1-p within 5 sd (sd = sqrt(p(1-p)/n)).
  const auto y = net(x).to_vector<double>();
  std::int64_t kept = 0;
  for (double v : y) {
    ASSERT_TRUE(v == 0.0 || v == 2.0) << v;
    kept += v == 2.0;
  }
  EXPECT_NEAR(static_cast<double>(kept) / n, 0.5, 5 * std::sqrt(0.25 / n));

  net.eval();
  EXPECT_FALSE(net.is_training());
  EXPECT_FALSE(drop->is_training());
  EXPECT_EQ(net(x).to_vector<double>(), x.to_vector<double>());
  net.train();
  EXPECT_TRUE(drop->is_training());
  EXPECT_NE(net(x).to_vector<double>(), x.to_vector<double>());

  // Gradient flows only through the kept elements, scaled the same way.
  const Tensor xg = nabla::ones({1000}, nabla::kFloat64).requires_grad_();
  const Tensor yg = nabla::dropout(xg, 0.25);
  nabla::sum(yg).backward();
  EXPECT_EQ(xg.grad().to_vector<double>(), yg.detach().to_vector<double>());

  EXPECT_TRUE(throws_error([] { nn::Dropout(1.5); }, {"Dropout", "[0, 1]", "1.5"}));
  EXPECT_EQ(nabla::dropout(x, 1.0).to_vector<double>(), std::vector<double>(n, 0.0));
}

TEST(Module, ToConvertsParameters) {
  auto net = mlp();
  net->to(nabla::kFloat64);
  for (const auto& [n, p] : net->named_parameters()) {
    EXPECT_EQ(p.dtype(), nabla::kFloat64) << n;
    EXPECT_TRUE(p.requires_grad() && p.is_leaf()) << n;
  }
  EXPECT_EQ((*net)(nabla::zeros({2, 3}, nabla::kFloat64)).dtype(), nabla::kFloat64);
}

// ---- initialisers -------------------------------------------------------------------------------

// Checks a uniform U(-bound, bound) fill: every value inside, the interval used, variance bound^2/3.
void expect_uniform(const Tensor& t, double bound, const std::string& what) {
  const double n = static_cast<double>(t.numel());
  EXPECT_LE(max_abs(t), bound) << what;
  EXPECT_GT(max_abs(t), 0.99 * bound) << what;
  const auto [mean, var] = mean_var(t);
  EXPECT_LT(std::abs(mean), 5 * bound / std::sqrt(3 * n)) << what;
  EXPECT_LT(std::abs(var / (bound * bound / 3) - 1), 5 * std::sqrt(0.8 / n)) << what;
}

// Checks a normal N(0, std^2) fill: sample mean within 5 sd (std/sqrt(n)) and variance within
// 5 sd of its estimate (relative sd sqrt(2/n)).
void expect_normal(const Tensor& t, double mean_want, double std, const std::string& what) {
  const double n = static_cast<double>(t.numel());
  const auto [mean, var] = mean_var(t);
  EXPECT_LT(std::abs(mean - mean_want), 5 * std / std::sqrt(n)) << what;
  EXPECT_LT(std::abs(var / (std * std) - 1), 5 * std::sqrt(2.0 / n)) << what;
}

TEST(Init, FansAndGains) {
  EXPECT_EQ(nn::init::fans(nabla::empty({30, 20})), (std::pair<std::int64_t, std::int64_t>{20, 30}));
  EXPECT_EQ(nn::init::fans(nabla::empty({8, 3, 5, 5})), (std::pair<std::int64_t, std::int64_t>{75, 200}));
  EXPECT_DOUBLE_EQ(nn::init::calculate_gain("linear"), 1.0);
  EXPECT_DOUBLE_EQ(nn::init::calculate_gain("sigmoid"), 1.0);
  EXPECT_DOUBLE_EQ(nn::init::calculate_gain("tanh"), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(nn::init::calculate_gain("relu"), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(nn::init::calculate_gain("leaky_relu", 0.2), std::sqrt(2.0 / 1.04));
  EXPECT_TRUE(throws_error([] { nn::init::calculate_gain("swish"); }, {"calculate_gain", "swish"}));
  EXPECT_TRUE(throws_error([] { nn::init::fans(nabla::empty({5})); }, {"init", "[5]"}));
  EXPECT_TRUE(throws_error([] { nn::init::kaiming_uniform_(nabla::empty({5, 5}), 0, "fan_avg"); }, {"fan_avg"}));
}

TEST(Init, XavierUniformAndNormal) {
  nabla::manual_seed(14);
  const double fan_in = 300, fan_out = 200;
  expect_uniform(nn::init::xavier_uniform_(nabla::empty({200, 300}, nabla::kFloat64)),
                 std::sqrt(6.0 / (fan_in + fan_out)), "xavier_uniform_");
  expect_uniform(nn::init::xavier_uniform_(nabla::empty({200, 300}, nabla::kFloat64), 5.0 / 3.0),
                 5.0 / 3.0 * std::sqrt(6.0 / (fan_in + fan_out)), "xavier_uniform_ gain 5/3");
  expect_normal(nn::init::xavier_normal_(nabla::empty({200, 300}, nabla::kFloat64)), 0.0,
                std::sqrt(2.0 / (fan_in + fan_out)), "xavier_normal_");
  // Convolution-shaped weight: fans include the receptive field.
  expect_uniform(nn::init::xavier_uniform_(nabla::empty({32, 16, 3, 3}, nabla::kFloat32)),
                 std::sqrt(6.0 / (16 * 9 + 32 * 9)), "xavier_uniform_ conv");
}

TEST(Init, KaimingUniformAndNormal) {
  nabla::manual_seed(15);
  const double fan_in = 400, fan_out = 150;
  // Default: a = 0 with leaky_relu, gain sqrt(2): bound sqrt(6 / fan_in).
  expect_uniform(nn::init::kaiming_uniform_(nabla::empty({150, 400}, nabla::kFloat64)), std::sqrt(6.0 / fan_in),
                 "kaiming_uniform_");
  // a = sqrt(5) is PyTorch's Linear default: bound 1/sqrt(fan_in).
  expect_uniform(nn::init::kaiming_uniform_(nabla::empty({150, 400}, nabla::kFloat64), std::sqrt(5.0)),
                 1.0 / std::sqrt(fan_in), "kaiming_uniform_ a=sqrt(5)");
  expect_uniform(nn::init::kaiming_uniform_(nabla::empty({150, 400}, nabla::kFloat64), 0, "fan_out", "relu"),
                 std::sqrt(6.0 / fan_out), "kaiming_uniform_ fan_out");
  expect_normal(nn::init::kaiming_normal_(nabla::empty({150, 400}, nabla::kFloat64), 0, "fan_in", "relu"), 0.0,
                std::sqrt(2.0 / fan_in), "kaiming_normal_");
  expect_normal(nn::init::kaiming_normal_(nabla::empty({150, 400}, nabla::kFloat64), 0, "fan_out", "tanh"), 0.0,
                5.0 / 3.0 / std::sqrt(fan_out), "kaiming_normal_ fan_out tanh");
}

TEST(Init, PlainFillsAndInPlaceOnParameters) {
  nabla::manual_seed(16);
  expect_normal(nn::init::normal_(nabla::empty({100, 100}, nabla::kFloat64), 2.0, 0.5), 2.0, 0.5, "normal_");
  const Tensor u = nn::init::uniform_(nabla::empty({100, 100}, nabla::kFloat64), 1.0, 3.0);
  expect_uniform(u - 2.0, 1.0, "uniform_(1, 3)");
  EXPECT_EQ(nn::init::zeros_(nabla::empty({3}, nabla::kFloat64)).to_vector<double>(), std::vector<double>(3, 0.0));
  EXPECT_EQ(nn::init::ones_(nabla::empty({3}, nabla::kFloat64)).to_vector<double>(), std::vector<double>(3, 1.0));
  EXPECT_EQ(nn::init::constant_(nabla::empty({2}, nabla::kFloat64), 0.3).to_vector<double>(), std::vector<double>(2, 0.3));
  // On a layer's parameter (a leaf that requires grad): written in place, still the same leaf.
  nn::Linear fc(10, 5);
  const Tensor w = fc.weight();
  nn::init::zeros_(w);
  EXPECT_EQ(fc.weight().to_vector<float>(), std::vector<float>(50, 0.0f));
  EXPECT_TRUE(fc.weight().requires_grad() && fc.weight().is_leaf());
  EXPECT_TRUE(throws_error([] { nn::init::normal_(nabla::empty({2}), 0.0, -1.0); }, {"normal_", "-1"}));
}

// ---- training that must learn -------------------------------------------------------------------

double accuracy(const Tensor& logits, const std::vector<double>& labels) {
  const auto z = logits.to_vector<double>();
  int right = 0;
  for (std::size_t i = 0; i < z.size(); ++i) right += (z[i] > 0) == (labels[i] > 0.5);
  return static_cast<double>(right) / static_cast<double>(z.size());
}

TEST(Training, XorIsLearned) {
  nabla::manual_seed(17);
  nn::Sequential net{std::make_shared<nn::Linear>(2, 8, true, nabla::kFloat64), std::make_shared<nn::Tanh>(),
                     std::make_shared<nn::Linear>(8, 1, true, nabla::kFloat64)};
  const Tensor x = nabla::tensor(std::vector<double>{0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0}, {4, 2});
  const std::vector<double> labels{0, 1, 1, 0};
  const Tensor y = nabla::tensor(std::vector<double>(labels), {4, 1});
  nabla::optim::Adam opt(net.parameters(), nabla::optim::AdamOptions(0.05));
  double first = 0, last = 0;
  for (int step = 0; step < 500; ++step) {
    opt.zero_grad();
    const Tensor loss = nabla::binary_cross_entropy_with_logits(net(x), y);
    if (step == 0) first = loss.item<double>();
    last = loss.item<double>();
    loss.backward();
    opt.step();
  }
  EXPECT_GT(first, 0.5);  // a linear model cannot go below log 2 ~ 0.69 on XOR; the start is near it
  EXPECT_LT(last, 0.05);
  EXPECT_EQ(accuracy(net(x), labels), 1.0);
}

TEST(Training, LogisticRegressionSeparatesHeldOutData) {
  // Labels from the line x0 + 2 x1 = 0.3; train on 200 points, test on 200 others.
  nabla::manual_seed(18);
  auto make = [](std::int64_t n) {
    const Tensor x = nabla::uniform({n, 2}, -1.0, 1.0, nabla::kFloat64);
    std::vector<double> y;
    const auto v = x.to_vector<double>();
    for (std::int64_t i = 0; i < n; ++i) y.push_back(v[2 * i] + 2 * v[2 * i + 1] > 0.3 ? 1.0 : 0.0);
    return std::pair{x, y};
  };
  const auto [x, labels] = make(200);
  const auto [x_test, labels_test] = make(200);
  const Tensor y = nabla::tensor(std::vector<double>(labels), {200, 1});
  nn::Linear model(2, 1, true, nabla::kFloat64);
  nabla::optim::SGD opt(model.parameters(), nabla::optim::SGDOptions(1.0).momentum(0.9));
  for (int epoch = 0; epoch < 300; ++epoch) {
    opt.zero_grad();
    nabla::binary_cross_entropy_with_logits(model(x), y).backward();
    opt.step();
  }
  EXPECT_GE(accuracy(model(x), labels), 0.97);
  EXPECT_GE(accuracy(model(x_test), labels_test), 0.95);
  // The learned boundary is the true one: w1 / w0 ~ 2 and -b / w0 ~ 0.3.
  const auto w = model.weight().to_vector<double>();
  const double b = model.bias().item<double>();
  EXPECT_NEAR(w[1] / w[0], 2.0, 0.3);
  EXPECT_NEAR(-b / w[0], 0.3, 0.1);
}

TEST(Training, CrossEntropyClassifierWithSgdAndSchedule) {
  // Three Gaussian blobs, an MLP, cross_entropy, SGD with momentum and cosine decay, clipping.
  nabla::manual_seed(19);
  const std::int64_t per = 60, n = 3 * per;
  const std::vector<double> centres{0.0, 2.0, -2.0, -1.0, 2.0, -1.0};
  Tensor noise = nabla::randn({n, 2}, nabla::kFloat64) * 0.5;
  std::vector<double> xs;
  std::vector<std::int64_t> ys;
  const auto nv = noise.to_vector<double>();
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t c = i % 3;
    xs.push_back(centres[2 * c] + nv[2 * i]);
    xs.push_back(centres[2 * c + 1] + nv[2 * i + 1]);
    ys.push_back(c);
  }
  const Tensor x = nabla::tensor(xs, {n, 2}), y = nabla::tensor(ys, {n});
  nn::Sequential net{std::make_shared<nn::Linear>(2, 16, true, nabla::kFloat64), std::make_shared<nn::ReLU>(),
                     std::make_shared<nn::Linear>(16, 3, true, nabla::kFloat64)};
  nabla::optim::SGD opt(net.parameters(), nabla::optim::SGDOptions(0.1).momentum(0.9));
  nabla::optim::CosineAnnealingLR sched(opt, 100);
  for (int step = 0; step < 100; ++step) {
    opt.zero_grad();
    nabla::cross_entropy(net(x), y).backward();
    nabla::optim::clip_grad_norm_(net.parameters(), 5.0);
    opt.step();
    sched.step();
  }
  const auto pred = nabla::argmax(net(x), 1).to_vector<std::int64_t>();
  int right = 0;
  for (std::int64_t i = 0; i < n; ++i) right += pred[i] == ys[i];
  EXPECT_GE(static_cast<double>(right) / n, 0.95);
}

}  // namespace
