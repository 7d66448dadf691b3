// Anomaly mode finds the first op whose forward or backward makes NaN or Inf.
#include <gtest/gtest.h>

#include <cmath>

#include <nabla/nabla.h>

using nabla::Tensor;

namespace {
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const nabla::Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Anomaly, ForwardNaNIsReportedWithOpNameAndShapes) {
  Tensor x = nabla::tensor(std::vector<double>{1.0, -1.0, 2.0}, {3}).requires_grad_();
  nabla::autograd::DetectAnomalyGuard guard;
  const std::string msg = error_of([&] { nabla::log(x * 2.0); });
  EXPECT_NE(msg.find("anomaly: forward output 0 of log has 1 NaN and 0 Inf values"), std::string::npos) << msg;
  EXPECT_NE(msg.find("input shapes [3]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("log was created at:"), std::string::npos) << msg;
}

TEST(Anomaly, BackwardInfIsReportedAtTheOpThatMadeIt) {
  // sqrt(0) is fine forward, but its gradient 1 / (2 sqrt 0) is Inf.
  Tensor x = nabla::tensor(std::vector<double>{0.0, 4.0}, {2}).requires_grad_();
  nabla::autograd::DetectAnomalyGuard guard;
  Tensor y = nabla::sum(nabla::sqrt(x) * 3.0);
  const std::string msg = error_of([&] { y.backward(); });
  EXPECT_NE(msg.find("anomaly: backward gradient 0 of sqrt has 0 NaN and 1 Inf values"), std::string::npos) << msg;
  EXPECT_NE(msg.find("input shapes [2]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("nabla::sqrt"), std::string::npos) << "the creation stack names the op's function: " << msg;
}

TEST(Anomaly, WithoutTheGuardNothingIsChecked) {
  EXPECT_FALSE(nabla::autograd::is_anomaly_enabled());
  Tensor x = nabla::tensor(std::vector<double>{0.0, 4.0}, {2}).requires_grad_();
  nabla::sum(nabla::sqrt(x)).backward();
  EXPECT_TRUE(std::isinf(x.grad().to_vector<double>()[0]));
  {
    nabla::autograd::DetectAnomalyGuard guard;
    EXPECT_TRUE(nabla::autograd::is_anomaly_enabled());
  }
  EXPECT_FALSE(nabla::autograd::is_anomaly_enabled());
}

TEST(Anomaly, FiniteComputationsPassUnderTheGuard) {
  nabla::autograd::DetectAnomalyGuard guard;
  Tensor x = nabla::randn({4, 3}, nabla::kFloat64).requires_grad_();
  Tensor loss = nabla::mean(nabla::log_softmax(nabla::tanh(x), 1));
  loss.backward();
  EXPECT_EQ(x.grad().numel(), 12);
}
