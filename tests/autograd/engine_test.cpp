// The backward pass itself: gates, fan-out, retain_graph, grad mode, deep chains, cycles.
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include <nabla/nabla.h>

using nabla::Tensor;

namespace {
Tensor scalar(double v) { return nabla::tensor({v}, nabla::kFloat64).reshape({}).detach().requires_grad_(); }
}  // namespace

TEST(Engine, AddAndMulGatesOfTheTextbookExample) {
  // (x + y) * z at x=-2, y=5, z=-4: q = 3, f = -12; df/dx = df/dy = z = -4, df/dz = q = 3.
  Tensor x = scalar(-2), y = scalar(5), z = scalar(-4);
  Tensor f = (x + y) * z;
  EXPECT_DOUBLE_EQ(f.item<double>(), -12.0);
  f.backward();
  EXPECT_DOUBLE_EQ(x.grad().item<double>(), -4.0);
  EXPECT_DOUBLE_EQ(y.grad().item<double>(), -4.0);
  EXPECT_DOUBLE_EQ(z.grad().item<double>(), 3.0);
}

TEST(Engine, AValueUsedTwiceSumsItsGradients) {
  Tensor x = scalar(3);
  Tensor f = x * x + x;  // df/dx = 2x + 1
  f.backward();
  EXPECT_DOUBLE_EQ(x.grad().item<double>(), 7.0);
}

TEST(Engine, GradientsAccumulateAcrossBackwardsUntilZeroed) {
  Tensor x = scalar(2);
  (x * 3.0).backward();
  (x * 3.0).backward();
  EXPECT_DOUBLE_EQ(x.grad().item<double>(), 6.0);
  x.zero_grad();
  EXPECT_DOUBLE_EQ(x.grad().item<double>(), 0.0);
  x.reset_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST(Engine, SecondBackwardWithoutRetainGraphIsAnError) {
  Tensor x = scalar(0.5);
  Tensor y = nabla::exp(x) * x;
  y.backward();
  try {
    y.backward();
    FAIL() << "expected an error";
  } catch (const nabla::Error& e) {
    EXPECT_NE(std::string(e.what()).find("second time"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("retain_graph"), std::string::npos) << e.what();
  }
}

TEST(Engine, RetainGraphAllowsASecondBackward) {
  Tensor x = scalar(0.5);
  Tensor y = nabla::exp(x) * x;  // dy/dx = e^x (1 + x)
  y.backward({}, /*retain_graph=*/true);
  y.backward();
  EXPECT_NEAR(x.grad().item<double>(), 2 * std::exp(0.5) * 1.5, 1e-12);
}

TEST(Engine, NonScalarBackwardNeedsAGradient) {
  Tensor x = nabla::randn({2, 3}, nabla::kFloat64).requires_grad_();
  Tensor y = x * 2.0;
  try {
    y.backward();
    FAIL() << "expected an error";
  } catch (const nabla::Error& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 3]"), std::string::npos) << e.what();
  }
  y.backward(nabla::ones({2, 3}, nabla::kFloat64));
  for (double g : x.grad().to_vector<double>()) EXPECT_DOUBLE_EQ(g, 2.0);
  EXPECT_THROW(y.backward(nabla::ones({3, 2}, nabla::kFloat64)), nabla::Error);
}

TEST(Engine, BackwardOnATensorThatNeedsNoGradIsAnError) {
  Tensor x = nabla::ones({2}, nabla::kFloat64);
  EXPECT_THROW(nabla::sum(x).backward(), nabla::Error);
}

TEST(Engine, NoGradGuardRecordsNothing) {
  Tensor x = scalar(1);
  {
    nabla::NoGradGuard guard;
    Tensor y = x * 2.0;
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(y.grad_fn(), nullptr);
    EXPECT_FALSE(nabla::is_grad_enabled());
  }
  EXPECT_TRUE(nabla::is_grad_enabled());
  EXPECT_TRUE((x * 2.0).requires_grad());
}

TEST(Engine, DetachCutsTheGraphButSharesData) {
  Tensor x = scalar(3);
  Tensor y = x * x;
  Tensor d = y.detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_TRUE(d.is_alias_of(y));
  Tensor f = y * d;  // d is a constant: df/dx = d * 2x = 9 * 6
  f.backward();
  EXPECT_DOUBLE_EQ(x.grad().item<double>(), 54.0);
}

TEST(Engine, RetainGradKeepsANonLeafGradient) {
  Tensor x = scalar(2);
  Tensor y = x * 3.0;
  y.retain_grad();
  Tensor f = y * y;
  f.backward();
  EXPECT_DOUBLE_EQ(y.grad().item<double>(), 12.0);
  EXPECT_DOUBLE_EQ(x.grad().item<double>(), 36.0);
}

TEST(Engine, OnlyLeavesChangeRequiresGrad) {
  Tensor x = scalar(2);
  Tensor y = x * 3.0;
  EXPECT_THROW(y.requires_grad_(false), nabla::Error);
  EXPECT_THROW(nabla::zeros({2}, nabla::kInt64).requires_grad_(), nabla::Error);
}

TEST(Engine, BackwardThroughASavedTensorChangedInPlaceIsAnError) {
  Tensor x = nabla::randn({3}, nabla::kFloat64).requires_grad_();
  Tensor y = nabla::exp(x);  // exp saves its output
  Tensor z = nabla::sum(y * 2.0);
  {
    nabla::NoGradGuard guard;
    y.mul_(2.0);
  }
  try {
    z.backward();
    FAIL() << "expected an error";
  } catch (const nabla::Error& e) {
    EXPECT_NE(std::string(e.what()).find("in-place"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("exp"), std::string::npos) << e.what();
  }
}

TEST(Engine, InPlaceOnATensorThatRequiresGradWhileRecordingIsRefused) {
  Tensor x = nabla::ones({2}, nabla::kFloat64).requires_grad_();
  EXPECT_THROW(x.add_(1.0), nabla::Error);
  nabla::NoGradGuard guard;
  x.add_(1.0);
  EXPECT_EQ(x.to_vector<double>(), (std::vector<double>{2.0, 2.0}));
  EXPECT_EQ(x.version(), 1u);
}

TEST(Engine, AMillionOpChainBackpropagatesAndFreesWithoutStackOverflow) {
  // y = ((x * a) + b) * a + b ... 500,000 times each: dy/dx = a^500000.
  const double a = 1.000001;
  Tensor x = scalar(1.0);
  Tensor y = x;
  for (int i = 0; i < 500000; ++i) y = y * a + 0.5;
  y.backward();
  EXPECT_NEAR(x.grad().item<double>(), std::pow(a, 500000), 1e-9);
  // A second chain freed without any backward: teardown must be iterative too.
  Tensor z = x;
  for (int i = 0; i < 1000000; ++i) z = z * a;
  z = Tensor();
  SUCCEED();
}

TEST(Engine, OutputsSavedByTheirOwnNodeMakeNoReferenceCycle) {
  Tensor x = nabla::randn({4}, nabla::kFloat64).requires_grad_();
  std::weak_ptr<nabla::autograd::Node> node;
  {
    Tensor y = nabla::tanh(nabla::exp(x));  // both save their own outputs
    node = y.grad_fn();
    EXPECT_FALSE(node.expired());
  }
  EXPECT_TRUE(node.expired());
}

TEST(Engine, IndependentGraphsOnTwoThreads) {
  auto work = [](double start, double* out) {
    Tensor x = nabla::tensor({start}, nabla::kFloat64).requires_grad_();
    Tensor y = x;
    for (int i = 0; i < 2000; ++i) y = nabla::sin(y) + y * 0.5;
    nabla::sum(y).backward();
    *out = x.grad().item<double>();
  };
  double serial_a, serial_b, par_a, par_b;
  work(0.3, &serial_a);
  work(0.7, &serial_b);
  std::thread ta(work, 0.3, &par_a), tb(work, 0.7, &par_b);
  ta.join();
  tb.join();
  EXPECT_EQ(serial_a, par_a);
  EXPECT_EQ(serial_b, par_b);
}
