// Gradients of gradients (create_graph), the functional grad(), and user-defined Functions.
#include <gtest/gtest.h>

#include <cmath>

#include <nabla/nabla.h>

using nabla::Tensor;
namespace ag = nabla::autograd;

TEST(HigherOrder, SecondAndThirdDerivativeOfACube) {
  Tensor x = nabla::tensor({1.5}, nabla::kFloat64).requires_grad_();
  Tensor y = nabla::pow(x, 3.0);
  Tensor dy = ag::grad({y}, {x}, {}, false, /*create_graph=*/true)[0];  // 3x^2
  EXPECT_NEAR(dy.item<double>(), 3 * 1.5 * 1.5, 1e-12);
  EXPECT_TRUE(dy.requires_grad());
  Tensor d2y = ag::grad({dy}, {x}, {}, false, true)[0];  // 6x
  EXPECT_NEAR(d2y.item<double>(), 9.0, 1e-12);
  Tensor d3y = ag::grad({d2y}, {x})[0];  // 6
  EXPECT_NEAR(d3y.item<double>(), 6.0, 1e-12);
}

TEST(HigherOrder, HessianVectorProductMatchesTheAnalyticHessian) {
  // f(x) = 0.5 xᵀAx + sum(sin(x)): H = (A + Aᵀ)/2 - diag(sin x).
  nabla::manual_seed(7);
  const int n = 5;
  Tensor A = nabla::randn({n, n}, nabla::kFloat64);
  Tensor x = nabla::randn({n}, nabla::kFloat64).requires_grad_();
  Tensor v = nabla::randn({n}, nabla::kFloat64);
  Tensor f = 0.5 * nabla::sum(x * nabla::matmul(A, x)) + nabla::sum(nabla::sin(x));
  Tensor g = ag::grad({f}, {x}, {}, false, /*create_graph=*/true)[0];
  Tensor hv = ag::grad({nabla::sum(g * v)}, {x})[0];

  const auto a = A.to_vector<double>(), xs = x.to_vector<double>(), vs = v.to_vector<double>();
  const auto got = hv.to_vector<double>();
  for (int i = 0; i < n; ++i) {
    double expected = 0;
    for (int j = 0; j < n; ++j) expected += 0.5 * (a[i * n + j] + a[j * n + i]) * vs[j];
    expected -= std::sin(xs[i]) * vs[i];
    EXPECT_NEAR(got[i], expected, 1e-12) << "row " << i;
  }
}

TEST(HigherOrder, GradReturnsInsteadOfAccumulating) {
  Tensor x = nabla::tensor({2.0}, nabla::kFloat64).requires_grad_();
  Tensor w = nabla::tensor({3.0}, nabla::kFloat64).requires_grad_();
  Tensor y = x * w;
  auto gs = ag::grad({y}, {x, w});
  EXPECT_DOUBLE_EQ(gs[0].item<double>(), 3.0);
  EXPECT_DOUBLE_EQ(gs[1].item<double>(), 2.0);
  EXPECT_FALSE(x.grad().defined());
  EXPECT_FALSE(gs[0].requires_grad());
}

TEST(HigherOrder, GradWithGradOutputsAndANonLeafInput) {
  Tensor x = nabla::tensor(std::vector<double>{1, 2, 3}, {3}).requires_grad_();
  Tensor h = x * 2.0;
  Tensor y = h * h;
  Tensor go = nabla::tensor(std::vector<double>{1, 10, 100}, {3});
  auto gs = ag::grad({y}, {h}, {go});
  EXPECT_EQ(gs[0].to_vector<double>(), (std::vector<double>{4, 80, 1200}));  // 2h * go
}

TEST(HigherOrder, UnusedInputIsAnErrorUnlessAllowed) {
  Tensor x = nabla::tensor({1.0}, nabla::kFloat64).requires_grad_();
  Tensor u = nabla::tensor({1.0}, nabla::kFloat64).requires_grad_();
  Tensor y = x * 2.0;
  EXPECT_THROW(ag::grad({y}, {u}, {}, true), nabla::Error);
  auto gs = ag::grad({y}, {x, u}, {}, false, false, /*allow_unused=*/true);
  EXPECT_DOUBLE_EQ(gs[0].item<double>(), 2.0);
  EXPECT_FALSE(gs[1].defined());
}

namespace {
struct Cube : ag::Function<Cube> {
  static Tensor forward(ag::AutogradContext* ctx, const Tensor& x) {
    ctx->save_for_backward({x});
    return x * x * x;
  }
  static std::vector<Tensor> backward(ag::AutogradContext* ctx, std::vector<Tensor> grads) {
    const Tensor x = ctx->get_saved_variables()[0];
    return {grads[0] * 3.0 * x * x};
  }
};

// A scaled exp with a non-tensor argument, saving its own output.
struct ScaledExp : ag::Function<ScaledExp> {
  static Tensor forward(ag::AutogradContext* ctx, const Tensor& x, double scale) {
    Tensor y = nabla::exp(x) * scale;
    ctx->save_for_backward({y});
    return y;
  }
  static std::vector<Tensor> backward(ag::AutogradContext* ctx, std::vector<Tensor> grads) {
    return {grads[0] * ctx->get_saved_variables()[0], Tensor()};
  }
};

struct WrongSquare : ag::Function<WrongSquare> {
  static Tensor forward(ag::AutogradContext* ctx, const Tensor& x) {
    ctx->save_for_backward({x});
    return x * x;
  }
  static std::vector<Tensor> backward(ag::AutogradContext* ctx, std::vector<Tensor> grads) {
    return {grads[0] * ctx->get_saved_variables()[0]};  // should be 2x
  }
};
}  // namespace

TEST(CustomFunction, ForwardAndBackwardAreUsed) {
  Tensor x = nabla::tensor(std::vector<double>{1, -2}, {2}).requires_grad_();
  Tensor y = Cube::apply(x);
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{1, -8}));
  EXPECT_EQ(y.grad_fn()->name(), "Function");
  nabla::sum(y).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{3, 12}));
}

TEST(CustomFunction, PassesGradcheckAndGradgradcheck) {
  nabla::manual_seed(1);
  Tensor x = nabla::randn({3, 2}, nabla::kFloat64).requires_grad_();
  auto fn = [](const std::vector<Tensor>& in) { return Cube::apply(in[0]); };
  EXPECT_TRUE(nabla::gradcheck(fn, {x}));
  EXPECT_TRUE(nabla::gradgradcheck(fn, {x}));
  auto scaled = [](const std::vector<Tensor>& in) { return ScaledExp::apply(in[0], 2.5); };
  EXPECT_TRUE(nabla::gradcheck(scaled, {x}));
}

TEST(CustomFunction, GradcheckCatchesAWrongBackward) {
  Tensor x = nabla::tensor(std::vector<double>{0.5, 1.5}, {2}).requires_grad_();
  auto fn = [](const std::vector<Tensor>& in) { return WrongSquare::apply(in[0]); };
  EXPECT_FALSE(nabla::gradcheck(fn, {x}, 1e-6, 1e-5, 1e-3, /*raise_on_failure=*/false));
  try {
    nabla::gradcheck(fn, {x});
    FAIL() << "expected gradcheck to throw";
  } catch (const nabla::Error& e) {
    EXPECT_NE(std::string(e.what()).find("Jacobian mismatch"), std::string::npos) << e.what();
  }
}

TEST(CustomFunction, SecondBackwardWithoutRetainGraphIsAnError) {
  Tensor x = nabla::tensor({2.0}, nabla::kFloat64).requires_grad_();
  Tensor y = Cube::apply(x);
  y.backward();
  EXPECT_THROW(y.backward(), nabla::Error);
}

TEST(CustomFunction, NoGraphWhenNoInputRequiresGrad) {
  Tensor x = nabla::tensor({2.0}, nabla::kFloat64);
  Tensor y = Cube::apply(x);
  EXPECT_FALSE(y.requires_grad());
  EXPECT_DOUBLE_EQ(y.item<double>(), 8.0);
}
