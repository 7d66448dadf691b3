// Losses (include/nabla/ops/nn.h): gradcheck of every loss and reduction in float64, values and
// gradients against PyTorch (tests/nn/torch_loss_reference.py), stability at huge logits, the
// kink values, and the messages for bad labels.
//
// Tolerance against torch: |nabla - torch| <= 1e-10 * max(1, |torch|), as the op oracle: both
// sides compute in float64 from identical inputs, so differences are rounding order (~1e-15).
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <nabla/autograd/engine.h>
#include <nabla/autograd/gradcheck.h>
#include <nabla/core/error.h>
#include <nabla/core/generator.h>
#include <nabla/ops/arithmetic.h>
#include <nabla/ops/nn.h>
#include <nabla/ops/reduction.h>
#include <nabla/ops/unary.h>

#include "nn/torch_reference.h"
#include "nn/nn_test_util.h"

namespace {

using nabla::Reduction;
using nabla::Tensor;
using nabla::nntest::grad_ok;
using nabla::nntest::throws_error;
using nlohmann::json;

constexpr double kTorchTol = 1e-10;

const json* loss_reference_or_fail() {
  try {
    static const json j = nabla::test::run_torch_reference("tests/nn/torch_loss_reference.py", "losses");
    return &j;
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
    return nullptr;
  }
}

Reduction reduction_of(const std::string& r) {
  if (r == "mean") return Reduction::Mean;
  if (r == "sum") return Reduction::Sum;
  return Reduction::None;
}

// The loss `name` applied to the requires-grad inputs `x` and the fixed inputs `o`.
Tensor call_loss(const std::string& name, const std::vector<Tensor>& x, const std::vector<Tensor>& o, Reduction r) {
  if (name == "mse_loss") return nabla::mse_loss(x[0], x[1], r);
  if (name == "binary_cross_entropy_with_logits") return nabla::binary_cross_entropy_with_logits(x[0], x[1], r);
  if (name == "cross_entropy") return nabla::cross_entropy(x[0], o[0], r);
  if (name == "nll_loss") return nabla::nll_loss(x[0], o[0], r);
  if (name == "hinge_loss") return nabla::hinge_loss(x[0], o[0], r);
  if (name == "l1_loss") return nabla::l1_loss(x[0], x[1], r);
  if (name == "smooth_l1_loss") return nabla::smooth_l1_loss(x[0], x[1], r, 0.5);
  if (name == "huber_loss") return nabla::huber_loss(x[0], x[1], r, 1.5);
  if (name == "binary_cross_entropy") return nabla::binary_cross_entropy(x[0], x[1], r);
  if (name == "kl_div") return nabla::kl_div(x[0], x[1], r);
  if (name == "kl_div_log_target") return nabla::kl_div(x[0], x[1], r, true);
  throw std::runtime_error("unknown loss " + name);
}

// ---- against PyTorch ----------------------------------------------------------------------------

TEST(LossTorch, ValuesAndGradientsMatch) {
  const json* ref = loss_reference_or_fail();
  if (ref == nullptr) return;
  ASSERT_EQ(ref->at("cases").size(), 33u);  // 11 losses x 3 reductions
  for (const auto& c : ref->at("cases")) {
    const std::string name = c.at("loss"), red = c.at("reduction");
    SCOPED_TRACE(name + ", reduction " + red);
    std::vector<Tensor> x, o;
    for (const auto& t : c.at("inputs")) x.push_back(nabla::test::tensor_from_json(t).requires_grad_());
    for (const auto& t : c.at("others"))
      o.push_back(nabla::test::tensor_from_json(t, t.at("dtype") == "int64" ? nabla::kInt64 : nabla::kFloat64));
    const Tensor out = call_loss(name, x, o, reduction_of(red));
    EXPECT_TRUE(nabla::test::all_close(out, c.at("value"), kTorchTol, kTorchTol));
    out.backward(nabla::test::tensor_from_json(c.at("upstream")));
    for (std::size_t i = 0; i < x.size(); ++i) {
      ASSERT_TRUE(x[i].grad().defined()) << "input " << i;
      EXPECT_TRUE(nabla::test::all_close(x[i].grad(), c.at("grads")[i], kTorchTol, kTorchTol)) << "gradient of input " << i;
    }
  }
}

// ---- gradcheck ----------------------------------------------------------------------------------

class LossGradcheck : public ::testing::TestWithParam<Reduction> {
 protected:
  void SetUp() override { nabla::manual_seed(11); }
};

TEST_P(LossGradcheck, MseLoss) {
  const Reduction r = GetParam();
  EXPECT_TRUE(grad_ok([r](const auto& v) { return nabla::mse_loss(v[0], v[1], r); },
                      {nabla::nntest::leaf({4, 3}), nabla::nntest::leaf({4, 3})}));
  // Non-contiguous operands.
  EXPECT_TRUE(grad_ok([r](const auto& v) { return nabla::mse_loss(v[0], v[1], r); },
                      {nabla::nntest::noncontig_leaf({3, 4}), nabla::nntest::leaf({3, 4})}));
}

TEST_P(LossGradcheck, BinaryCrossEntropyWithLogits) {
  const Reduction r = GetParam();
  EXPECT_TRUE(grad_ok([r](const auto& v) { return nabla::binary_cross_entropy_with_logits(v[0], v[1], r); },
                      {nabla::nntest::leaf({5, 2}, -4.0, 4.0), nabla::nntest::leaf({5, 2}, 0.0, 1.0)}));
}

TEST_P(LossGradcheck, CrossEntropy) {
  const Reduction r = GetParam();
  const Tensor labels = nabla::tensor(std::vector<std::int64_t>{0, 3, 1, 3, 2}, {5});
  EXPECT_TRUE(grad_ok([&](const auto& v) { return nabla::cross_entropy(v[0], labels, r); },
                      {nabla::nntest::leaf({5, 4}, -3.0, 3.0)}));
  EXPECT_TRUE(grad_ok([&](const auto& v) { return nabla::cross_entropy(v[0], labels, r); },
                      {nabla::nntest::noncontig_leaf({5, 4}, -3.0, 3.0)}));
}

TEST_P(LossGradcheck, NllLoss) {
  const Reduction r = GetParam();
  const Tensor labels = nabla::tensor(std::vector<std::int64_t>{2, 0, 2, 1}, {4});
  EXPECT_TRUE(grad_ok([&](const auto& v) { return nabla::nll_loss(v[0], labels, r); }, {nabla::nntest::leaf({4, 3})}));
  // Composed with log_softmax, as cross_entropy's unfused twin.
  EXPECT_TRUE(grad_ok([&](const auto& v) { return nabla::nll_loss(nabla::log_softmax(v[0], 1), labels, r); },
                      {nabla::nntest::leaf({4, 3}, -2.0, 2.0)}));
}

TEST_P(LossGradcheck, HingeLoss) {
  const Reduction r = GetParam();
  const Tensor y = nabla::tensor({1.0, -1.0, -1.0, 1.0, 1.0, -1.0}, nabla::kFloat64);
  // Scores with margins 1 - y x away from the kink at 0.
  const Tensor x = nabla::tensor({0.3, 0.4, -2.0, 1.7, -0.5, 0.2}, nabla::kFloat64).requires_grad_();
  EXPECT_TRUE(grad_ok([&](const auto& v) { return nabla::hinge_loss(v[0], y, r); }, {x}));
}

TEST_P(LossGradcheck, RegressionLosses) {
  const Reduction r = GetParam();
  using nabla::nntest::leaf;
  // Differences away from the kinks (0 for l1, ±beta or ±delta for the others) in most elements.
  for (double beta : {0.5, 2.0})
    EXPECT_TRUE(grad_ok([r, beta](const auto& v) { return nabla::smooth_l1_loss(v[0], v[1], r, beta); },
                        {leaf({4, 3}, -2.0, 2.0), leaf({4, 3}, -0.3, 0.3)})) << beta;
  EXPECT_TRUE(grad_ok([r](const auto& v) { return nabla::huber_loss(v[0], v[1], r, 0.7); },
                      {nabla::nntest::noncontig_leaf({3, 4}), leaf({3, 4})}));
  EXPECT_TRUE(grad_ok([r](const auto& v) { return nabla::l1_loss(v[0], v[1], r); }, {leaf({4, 3}), leaf({4, 3})}));
}

TEST_P(LossGradcheck, ProbabilityLosses) {
  const Reduction r = GetParam();
  using nabla::nntest::leaf;
  EXPECT_TRUE(grad_ok([r](const auto& v) { return nabla::binary_cross_entropy(v[0], v[1], r); },
                      {leaf({5, 2}, 0.05, 0.95), leaf({5, 2}, 0.0, 1.0)}));
  EXPECT_TRUE(grad_ok([r](const auto& v) { return nabla::kl_div(nabla::log_softmax(v[0], 1), nabla::softmax(v[1], 1), r); },
                      {leaf({3, 4}), leaf({3, 4})}));
  EXPECT_TRUE(grad_ok([r](const auto& v) { return nabla::kl_div(v[0], v[1], r, true); }, {leaf({3, 4}), leaf({3, 4})}));
}

INSTANTIATE_TEST_SUITE_P(Reductions, LossGradcheck, ::testing::Values(Reduction::Mean, Reduction::Sum, Reduction::None),
                         [](const auto& info) {
                           return info.param == Reduction::Mean ? "Mean" : info.param == Reduction::Sum ? "Sum" : "None";
                         });

TEST(LossGradcheck, NewLossesSecondDerivatives) {
  nabla::manual_seed(13);
  using nabla::nntest::leaf;
  EXPECT_TRUE(nabla::nntest::gradgrad_ok([](const auto& v) { return nabla::huber_loss(v[0] * v[1], v[1]); },
                                       {leaf({2, 3}), leaf({2, 3})}));
  EXPECT_TRUE(nabla::nntest::gradgrad_ok([](const auto& v) { return nabla::smooth_l1_loss(v[0] * v[1], v[1], Reduction::Sum, 0.4); },
                                       {leaf({2, 3}), leaf({2, 3})}));
  EXPECT_TRUE(nabla::nntest::gradgrad_ok([](const auto& v) { return nabla::binary_cross_entropy(v[0], v[1]); },
                                       {leaf({2, 3}, 0.1, 0.9), leaf({2, 3}, 0.0, 1.0)}));
  EXPECT_TRUE(nabla::nntest::gradgrad_ok([](const auto& v) { return nabla::kl_div(v[0], nabla::softmax(v[1], 1)); },
                                       {leaf({2, 3}), leaf({2, 3})}));
}

TEST(LossGradcheck, CrossEntropySecondDerivative) {
  nabla::manual_seed(12);
  const Tensor labels = nabla::tensor(std::vector<std::int64_t>{1, 0, 2}, {3});
  EXPECT_TRUE(nabla::nntest::gradgrad_ok([&](const auto& v) { return nabla::cross_entropy(v[0], labels); },
                                       {nabla::nntest::leaf({3, 3})}));
}

// ---- stability and kinks ------------------------------------------------------------------------

TEST(CrossEntropy, HugeLogitsGiveFiniteLossAndSoftmaxMinusOnehotGradient) {
  for (auto dtype : nabla::nntest::float_dtypes()) {
    SCOPED_TRACE(nabla::dtype_name(dtype));
    // Rows: confident and right, a tie between two classes, confident and wrong by 2e4.
    const std::vector<double> v{1e4, 0.0, -1e4, 0.0, 1e4, 1e4, -1e4, 1e4, 0.0};
    const Tensor logits = nabla::tensor(v, {3, 3}, dtype).requires_grad_();
    const Tensor labels = nabla::tensor(std::vector<std::int64_t>{0, 1, 0}, {3});
    const Tensor loss = nabla::cross_entropy(logits, labels);
    const double n = 3;
    // Per-row losses 0, log 2, 2e4.
    EXPECT_TRUE(std::isfinite(loss.item<double>()));
    EXPECT_NEAR(loss.item<double>(), (0.0 + std::log(2.0) + 2e4) / n, 1e-6 * 2e4 / n);
    loss.backward();
    const std::vector<double> want{0, 0, 0, 0, -0.5 / n, 0.5 / n, -1 / n, 1 / n, 0};
    const auto got = logits.grad().to_vector<double>();
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_TRUE(std::isfinite(got[i])) << i;
      EXPECT_NEAR(got[i], want[i], 1e-7) << "element " << i;
    }
    // Reduction::None: per-row losses, gradient of their sum is (softmax - onehot) without 1/N.
    const Tensor l2 = nabla::tensor(v, {3, 3}, dtype).requires_grad_();
    const Tensor per = nabla::cross_entropy(l2, labels, Reduction::None);
    EXPECT_TRUE(nabla::nntest::values_near(per, {0.0, std::log(2.0), 2e4}, 1e-6, 1e-6));
    nabla::sum(per).backward();
    EXPECT_TRUE(nabla::nntest::values_near(l2.grad(), {0, 0, 0, 0, -0.5, 0.5, -1, 1, 0}, 0, 1e-7));
  }
}

// The first-order backward is one fused pass; with create_graph the same gradient is composed of ops
// (its softmax recomputed, so the last bits may differ). They must agree for every reduction and an
// upstream gradient that is not 1 (scalar for mean and sum, one per row for none).
TEST(CrossEntropy, FusedFirstOrderBackwardMatchesTheComposedOne) {
  nabla::manual_seed(12);
  for (auto dtype : nabla::nntest::float_dtypes())
    for (const Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
      SCOPED_TRACE(::testing::Message() << nabla::dtype_name(dtype) << " reduction " << static_cast<int>(r));
      const Tensor logits = nabla::randn({3, 5}, dtype).requires_grad_();
      const Tensor labels = nabla::tensor(std::vector<std::int64_t>{4, 0, 2}, {3});
      const Tensor up = nabla::rand(r == Reduction::None ? nabla::Shape{3} : nabla::Shape{}, dtype) + 0.5;
      const Tensor loss = nabla::cross_entropy(logits, labels, r);
      const auto fused = nabla::autograd::grad({loss}, {logits}, {up}, true);
      const auto composed = nabla::autograd::grad({loss}, {logits}, {up}, true, true);
      EXPECT_TRUE(nabla::nntest::values_near(fused[0], composed[0].to_vector<double>(), dtype == nabla::kFloat32 ? 1e-6 : 1e-15,
                                             dtype == nabla::kFloat32 ? 1e-7 : 1e-16));
    }
}

TEST(BinaryCrossEntropyWithLogits, GradientAtZeroLogitIsSigmoidZeroMinusTarget) {
  const Tensor x = nabla::zeros({4}, nabla::kFloat64).requires_grad_();
  const Tensor t = nabla::tensor({0.0, 1.0, 0.25, 0.5}, nabla::kFloat64);
  const Tensor loss = nabla::binary_cross_entropy_with_logits(x, t, Reduction::Sum);
  EXPECT_NEAR(loss.item<double>(), 4 * std::log(2.0), 1e-15);  // log(1 + e^0) per element, whatever t
  loss.backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0.5, -0.5, 0.25, 0.0}));
}

TEST(BinaryCrossEntropyWithLogits, HugeLogitsStayFinite) {
  for (auto dtype : nabla::nntest::float_dtypes()) {
    SCOPED_TRACE(nabla::dtype_name(dtype));
    const Tensor x = nabla::tensor(std::vector<double>{1e4, -1e4, 1e4, -1e4}, {4}, dtype).requires_grad_();
    const Tensor t = nabla::tensor(std::vector<double>{1.0, 0.0, 0.0, 1.0}, {4}, dtype);
    const Tensor per = nabla::binary_cross_entropy_with_logits(x, t, Reduction::None);
    // Right and confident: 0; wrong by 1e4: 1e4 (not inf).
    EXPECT_TRUE(nabla::nntest::values_near(per, {0.0, 0.0, 1e4, 1e4}, 1e-7));
    nabla::sum(per).backward();
    EXPECT_TRUE(nabla::nntest::values_near(x.grad(), {0.0, 0.0, 1.0, -1.0}, 0, 1e-12));
  }
}

TEST(BinaryCrossEntropy, CertainProbabilitiesGiveFiniteLossAndGradient) {
  // p = 0 and 1: each log is clamped at -100 (PyTorch's), the gradient (p - t) / max(p (1 - p), 1e-12).
  const Tensor p = nabla::tensor({0.0, 1.0, 0.0, 1.0, 0.5}, nabla::kFloat64).requires_grad_();
  const Tensor t = nabla::tensor({0.0, 1.0, 1.0, 0.0, 0.25}, nabla::kFloat64);
  const Tensor per = nabla::binary_cross_entropy(p, t, Reduction::None);
  EXPECT_TRUE(nabla::nntest::values_near(per, {0.0, 0.0, 100.0, 100.0, std::log(2.0)}, 1e-15));
  nabla::sum(per).backward();
  EXPECT_TRUE(nabla::nntest::values_near(p.grad(), {0.0, 0.0, -1e12, 1e12, 0.25 / 0.25}, 1e-12));
  // Outside [0, 1] (or NaN) is refused, naming the value and the logits alternative.
  const Tensor bad = nabla::tensor({0.5, 1.5}, nabla::kFloat64);
  EXPECT_TRUE(throws_error([&] { nabla::binary_cross_entropy(bad, nabla::zeros({2}, nabla::kFloat64)); },
                           {"binary_cross_entropy", "[0, 1]", "1.5", "index 1", "with_logits"}));
  const Tensor nan = nabla::tensor({std::nan("")}, nabla::kFloat64);
  EXPECT_TRUE(throws_error([&] { nabla::binary_cross_entropy(nan, nabla::zeros({1}, nabla::kFloat64)); },
                           {"binary_cross_entropy", "nan"}));
}

TEST(SmoothL1AndHuber, BranchesMeetAtTheThreshold) {
  // d = 0.25, 1, 3 with beta = delta = 1: quadratic, at the joint (both branches agree), linear.
  const Tensor x = nabla::tensor({0.25, -1.0, 3.0}, nabla::kFloat64).requires_grad_();
  const Tensor zero = nabla::zeros({3}, nabla::kFloat64);
  const Tensor s = nabla::smooth_l1_loss(x, zero, Reduction::None);
  EXPECT_TRUE(nabla::nntest::values_near(s, {0.03125, 0.5, 2.5}, 1e-15));
  nabla::sum(s).backward();
  EXPECT_TRUE(nabla::nntest::values_near(x.grad(), {0.25, -1.0, 1.0}, 1e-15));
  // huber = delta · smooth_l1(beta = delta).
  for (double delta : {0.5, 2.0}) {
    const Tensor y = nabla::tensor({0.1, -0.7, 4.0, 2.0}, nabla::kFloat64);
    const Tensor z = nabla::zeros({4}, nabla::kFloat64);
    EXPECT_TRUE(nabla::nntest::values_near(nabla::huber_loss(y, z, Reduction::None, delta),
                                           (nabla::smooth_l1_loss(y, z, Reduction::None, delta) * delta).to_vector<double>(), 1e-15));
  }
  // beta = 0 is the L1 loss, and its gradient has no NaN from the unused quadratic branch.
  const Tensor w = nabla::tensor({0.5, -2.0, 0.0}, nabla::kFloat64).requires_grad_();
  const Tensor l = nabla::smooth_l1_loss(w, nabla::zeros({3}, nabla::kFloat64), Reduction::Sum, 0.0);
  EXPECT_DOUBLE_EQ(l.item<double>(), 2.5);
  l.backward();
  EXPECT_EQ(w.grad().to_vector<double>(), (std::vector<double>{1.0, -1.0, 0.0}));
  EXPECT_TRUE(throws_error([&] { nabla::smooth_l1_loss(w, w, Reduction::Mean, -1.0); }, {"smooth_l1_loss", "beta", "-1"}));
  EXPECT_TRUE(throws_error([&] { nabla::huber_loss(w, w, Reduction::Mean, 0.0); }, {"huber_loss", "delta", "> 0"}));
  EXPECT_TRUE(throws_error([&] { nabla::l1_loss(w, nabla::zeros({2}, nabla::kFloat64)); }, {"l1_loss", "[3]", "[2]"}));
  EXPECT_TRUE(throws_error([&] { nabla::l1_loss(w, nabla::zeros({3}, nabla::kFloat32)); }, {"l1_loss"}));
}

TEST(KlDiv, ZeroTargetsContributeNothing) {
  // A target of 0 adds 0 (the limit of t log t), with a finite gradient for both inputs; a
  // target equal to the input distribution gives 0.
  const Tensor logp = nabla::log(nabla::tensor({0.5, 0.25, 0.25}, nabla::kFloat64)).requires_grad_();
  const Tensor t = nabla::tensor({0.0, 0.5, 0.5}, nabla::kFloat64).requires_grad_();
  const Tensor kl = nabla::kl_div(logp, t, Reduction::Sum);
  EXPECT_NEAR(kl.item<double>(), 2 * 0.5 * std::log(0.5 / 0.25), 1e-15);
  kl.backward();
  for (double g : t.grad().to_vector<double>()) EXPECT_TRUE(std::isfinite(g));
  EXPECT_TRUE(nabla::nntest::values_near(logp.grad(), {0.0, -0.5, -0.5}, 1e-15));
  const Tensor same = nabla::tensor({0.2, 0.8}, nabla::kFloat64);
  EXPECT_NEAR(nabla::kl_div(nabla::log(same), same, Reduction::Sum).item<double>(), 0.0, 1e-16);
  EXPECT_NEAR(nabla::kl_div(nabla::log(same), nabla::log(same), Reduction::Sum, true).item<double>(), 0.0, 1e-16);
}

TEST(BinaryCrossEntropy, GradientsAtCertainProbabilitiesHaveNoNaNToSecondOrder) {
  // The target's gradient is that of the clamped loss (±100 at p = 0, 1), and nothing of any
  // order passes through a clamped log (whose -inf would turn 0 · inf into NaN).
  const Tensor p = nabla::tensor({0.0, 1.0, 0.3}, nabla::kFloat64).requires_grad_();
  const Tensor t = nabla::tensor({0.5, 0.5, 0.5}, nabla::kFloat64).requires_grad_();
  const Tensor loss = nabla::binary_cross_entropy(p, t, Reduction::Sum);
  const auto g = nabla::autograd::grad({loss}, {p, t}, {}, true, true);
  EXPECT_TRUE(nabla::nntest::values_near(g[1], {100.0, -100.0, std::log(0.7) - std::log(0.3)}, 1e-14));
  const auto gg = nabla::autograd::grad({nabla::sum(g[1])}, {p});
  for (double v : gg[0].to_vector<double>()) EXPECT_FALSE(std::isnan(v)) << v;
  EXPECT_NEAR(gg[0].to_vector<double>()[2], -1.0 / 0.7 - 1.0 / 0.3, 1e-12);
}

TEST(SmoothL1AndHuber, TinyBetaAndTheJointsSecondDerivative) {
  // beta = 1e-39 in float32: 0.5 / beta would overflow; PyTorch divides last and stays finite.
  const Tensor y = nabla::tensor({0.0, 1.0}, nabla::kFloat32).requires_grad_();
  const Tensor l = nabla::smooth_l1_loss(y, nabla::zeros({2}), Reduction::None, 1e-39);
  EXPECT_TRUE(nabla::nntest::values_near(l, {0.0, 1.0}, 1e-6));
  nabla::sum(l).backward();
  EXPECT_TRUE(nabla::nntest::values_near(y.grad(), {0.0, 1.0}, 1e-6));
  // At |d| == delta the linear branch is taken (as PyTorch): second derivative 0 there, 1 inside.
  const Tensor x = nabla::tensor({1.5, 0.5}, nabla::kFloat64).requires_grad_();
  const Tensor h = nabla::huber_loss(x, nabla::zeros({2}, nabla::kFloat64), Reduction::Sum, 1.5);
  const auto g = nabla::autograd::grad({h}, {x}, {}, true, true);
  EXPECT_EQ(g[0].to_vector<double>(), (std::vector<double>{1.5, 0.5}));
  EXPECT_EQ(nabla::autograd::grad({nabla::sum(g[0])}, {x})[0].to_vector<double>(), (std::vector<double>{0.0, 1.0}));
}

TEST(HingeLoss, KinkAndFlatRegion) {
  // y x = 1 exactly: loss 0, and (as relu at 0, and torch.clamp) gradient 0. Beyond the margin: 0.
  const Tensor x = nabla::tensor({1.0, -1.0, 3.0, 0.0}, nabla::kFloat64).requires_grad_();
  const Tensor y = nabla::tensor({1.0, -1.0, 1.0, -1.0}, nabla::kFloat64);
  const Tensor loss = nabla::hinge_loss(x, y, Reduction::Sum);
  EXPECT_DOUBLE_EQ(loss.item<double>(), 1.0);
  loss.backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0.0, 0.0, 0.0, 1.0}));
}

TEST(MseLoss, ValueAndGradientByHand) {
  const Tensor a = nabla::tensor({1.0, 2.0, 4.0}, nabla::kFloat64).requires_grad_();
  const Tensor b = nabla::tensor({0.0, 2.0, 1.0}, nabla::kFloat64);
  const Tensor loss = nabla::mse_loss(a, b);
  EXPECT_DOUBLE_EQ(loss.item<double>(), 10.0 / 3.0);
  loss.backward();
  EXPECT_TRUE(nabla::nntest::values_near(a.grad(), {2.0 / 3.0, 0.0, 2.0}, 1e-15));
}

// ---- bad input ----------------------------------------------------------------------------------

TEST(LossErrors, CrossEntropyLabels) {
  const Tensor logits = nabla::zeros({3, 4}, nabla::kFloat64);
  EXPECT_TRUE(throws_error([&] { nabla::cross_entropy(logits, nabla::zeros({3}, nabla::kFloat32)); },
                           {"cross_entropy", "target must be int64 of shape [3]", "float32"}));
  EXPECT_TRUE(throws_error([&] { nabla::cross_entropy(logits, nabla::zeros({3, 1}, nabla::kInt64)); },
                           {"cross_entropy", "of shape [3]", "[3, 1]"}));
  EXPECT_TRUE(throws_error([&] { nabla::cross_entropy(logits, nabla::zeros({2}, nabla::kInt64)); },
                           {"cross_entropy", "[2]"}));
  EXPECT_TRUE(throws_error([&] { nabla::cross_entropy(logits, nabla::tensor(std::vector<std::int64_t>{0, 4, 1}, {3})); },
                           {"cross_entropy: target 4 at row 1 is outside the classes 0..3"}));
  EXPECT_TRUE(throws_error([&] { nabla::cross_entropy(logits, nabla::tensor(std::vector<std::int64_t>{0, 1, -1}, {3})); },
                           {"cross_entropy: target -1 at row 2 is outside the classes 0..3"}));
  EXPECT_TRUE(throws_error([&] { nabla::cross_entropy(nabla::zeros({3}, nabla::kFloat64), nabla::zeros({3}, nabla::kInt64)); },
                           {"cross_entropy: logits must be [N, C]", "[3]"}));
}

TEST(LossErrors, NllLossLabels) {
  const Tensor lp = nabla::zeros({3, 4}, nabla::kFloat64);
  EXPECT_TRUE(throws_error([&] { nabla::nll_loss(lp, nabla::zeros({3}, nabla::kFloat64)); },
                           {"nll_loss", "target must be int64 of shape [3]"}));
  EXPECT_TRUE(throws_error([&] { nabla::nll_loss(lp, nabla::zeros({4}, nabla::kInt64)); }, {"nll_loss", "[3]"}));
  // The op that was called is named, with the offending label and the valid range.
  EXPECT_TRUE(throws_error([&] { nabla::nll_loss(lp, nabla::tensor(std::vector<std::int64_t>{0, 1, 4}, {3})); },
                           {"nll_loss: target 4 at row 2 is outside the classes 0..3"}));
  EXPECT_TRUE(throws_error([&] { nabla::nll_loss(lp, nabla::tensor(std::vector<std::int64_t>{-2, 1, 0}, {3})); },
                           {"nll_loss: target -2 at row 0 is outside the classes 0..3"}));
}

TEST(LossErrors, ShapesAndBinaryLabels) {
  const Tensor a = nabla::zeros({2, 3}, nabla::kFloat64);
  EXPECT_TRUE(throws_error([&] { nabla::mse_loss(a, nabla::zeros({3, 2}, nabla::kFloat64)); },
                           {"mse_loss", "[2, 3]", "[3, 2]"}));
  EXPECT_TRUE(throws_error([&] { nabla::binary_cross_entropy_with_logits(a, nabla::zeros({2}, nabla::kFloat64)); },
                           {"binary_cross_entropy_with_logits", "[2, 3]", "[2]"}));
  EXPECT_TRUE(throws_error([&] { nabla::hinge_loss(a, nabla::zeros({2, 3}, nabla::kFloat64)); },
                           {"hinge_loss: labels must be -1 or +1, got 0"}));
  EXPECT_TRUE(throws_error([&] { nabla::hinge_loss(a, nabla::ones({3}, nabla::kFloat64)); }, {"hinge_loss", "[3]", "[2, 3]"}));
}

}  // namespace
