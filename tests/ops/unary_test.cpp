// Elementwise unary ops: values against the C++ standard library per element (float32 and float64),
// domain edges, gradcheck on 0-d / empty / non-contiguous inputs, exact gradients at kinks,
// second derivatives and error messages.
#include <gtest/gtest.h>

#include <cmath>

#include <nabla/autograd/engine.h>
#include <nabla/ops/nn.h>

#include "op_test_util.h"

namespace nabla::test {
namespace {

struct NamedUnary {
  const char* name;
  std::function<Tensor(const Tensor&)> op;
  std::function<double(double)> ref;
  double lo, hi;  // a domain where the op is smooth
};

double ref_sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

const std::vector<NamedUnary>& unary_ops() {
  static const std::vector<NamedUnary> ops{
      {"exp", [](const Tensor& x) { return exp(x); }, [](double v) { return std::exp(v); }, -2, 2},
      {"log", [](const Tensor& x) { return log(x); }, [](double v) { return std::log(v); }, 0.2, 3},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, [](double v) { return std::sqrt(v); }, 0.2, 3},
      {"abs", [](const Tensor& x) { return abs(x); }, [](double v) { return std::abs(v); }, -2, 2},
      {"sin", [](const Tensor& x) { return sin(x); }, [](double v) { return std::sin(v); }, -3, 3},
      {"cos", [](const Tensor& x) { return cos(x); }, [](double v) { return std::cos(v); }, -3, 3},
      {"tanh", [](const Tensor& x) { return tanh(x); }, [](double v) { return std::tanh(v); }, -2, 2},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, ref_sigmoid, -4, 4},
      {"relu", [](const Tensor& x) { return relu(x); }, [](double v) { return v > 0 ? v : 0.0; }, -2, 2},
      {"clamp", [](const Tensor& x) { return clamp(x, -0.5, 0.7); },
       [](double v) { return std::min(std::max(v, -0.5), 0.7); }, -2, 2},
      {"neg", [](const Tensor& x) { return neg(x); }, [](double v) { return -v; }, -2, 2},
      {"tan", [](const Tensor& x) { return tan(x); }, [](double v) { return std::tan(v); }, -1.2, 1.2},
      {"asin", [](const Tensor& x) { return asin(x); }, [](double v) { return std::asin(v); }, -0.9, 0.9},
      {"acos", [](const Tensor& x) { return acos(x); }, [](double v) { return std::acos(v); }, -0.9, 0.9},
      {"atan", [](const Tensor& x) { return atan(x); }, [](double v) { return std::atan(v); }, -3, 3},
      {"sinh", [](const Tensor& x) { return sinh(x); }, [](double v) { return std::sinh(v); }, -2, 2},
      {"cosh", [](const Tensor& x) { return cosh(x); }, [](double v) { return std::cosh(v); }, -2, 2},
      {"asinh", [](const Tensor& x) { return asinh(x); }, [](double v) { return std::asinh(v); }, -3, 3},
      {"acosh", [](const Tensor& x) { return acosh(x); }, [](double v) { return std::acosh(v); }, 1.2, 3},
      {"atanh", [](const Tensor& x) { return atanh(x); }, [](double v) { return std::atanh(v); }, -0.9, 0.9},
      {"log1p", [](const Tensor& x) { return log1p(x); }, [](double v) { return std::log1p(v); }, -0.5, 3},
      {"expm1", [](const Tensor& x) { return expm1(x); }, [](double v) { return std::expm1(v); }, -2, 2},
      {"log2", [](const Tensor& x) { return log2(x); }, [](double v) { return std::log2(v); }, 0.2, 3},
      {"log10", [](const Tensor& x) { return log10(x); }, [](double v) { return std::log10(v); }, 0.2, 3},
      {"reciprocal", [](const Tensor& x) { return reciprocal(x); }, [](double v) { return 1.0 / v; }, 0.5, 3},
      {"rsqrt", [](const Tensor& x) { return rsqrt(x); }, [](double v) { return 1.0 / std::sqrt(v); }, 0.3, 3},
      {"square", [](const Tensor& x) { return square(x); }, [](double v) { return v * v; }, -2, 2},
      {"silu", [](const Tensor& x) { return silu(x); }, [](double v) { return v * ref_sigmoid(v); }, -4, 4},
      {"exp2", [](const Tensor& x) { return exp2(x); }, [](double v) { return std::exp2(v); }, -2, 2},
      {"cbrt", [](const Tensor& x) { return cbrt(x); }, [](double v) { return std::cbrt(v); }, 0.2, 3},
      {"erfc", [](const Tensor& x) { return erfc(x); }, [](double v) { return std::erfc(v); }, -2, 2},
      {"elu", [](const Tensor& x) { return elu(x, 1.5); }, [](double v) { return v > 0 ? v : 1.5 * std::expm1(v); },
       -3, 3},
      {"softplus", [](const Tensor& x) { return softplus(x, 2.0, 20.0); },
       [](double v) { return std::log1p(std::exp(2.0 * v)) / 2.0; }, -4, 4},
  };
  return ops;
}

TEST(Unary, ForwardValuesMatchStdPerElement) {
  manual_seed(11);
  for (DType dt : float_dtypes())
    for (const auto& op : unary_ops())
      for (const Shape& shape : {Shape{2, 3}, Shape{}, Shape{5}, Shape{2, 1, 3}}) {
        const Tensor x = uniform(shape, op.lo, op.hi, dt);
        const Tensor y = op.op(x);
        EXPECT_EQ(y.shape(), shape);
        EXPECT_EQ(y.dtype(), dt);
        // float32: the op in float differs from the double reference by float rounding only.
        EXPECT_TRUE(values_near(y, ref_unary(x, op.ref), rtol_for(dt), dt == kFloat32 ? 1e-7 : 1e-15))
            << op.name << " " << dtype_name(dt) << " " << shape_to_string(shape);
      }
}

TEST(Unary, ForwardOnNonContiguousAndLargeInputs) {
  manual_seed(12);
  for (DType dt : float_dtypes())
    for (const auto& op : unary_ops()) {
      const Tensor x = noncontig_leaf({7, 5}, op.lo, op.hi, dt).detach();
      EXPECT_TRUE(values_near(op.op(x), ref_unary(x, op.ref), rtol_for(dt), dt == kFloat32 ? 1e-7 : 1e-15)) << op.name;
      // Large enough to be split over threads.
      const Tensor big = uniform({300, 257}, op.lo, op.hi, dt);
      EXPECT_TRUE(values_near(op.op(big), ref_unary(big, op.ref), rtol_for(dt), dt == kFloat32 ? 1e-7 : 1e-15))
          << op.name;
      const Tensor big_t = big.transpose(0, 1);
      EXPECT_TRUE(values_near(op.op(big_t), ref_unary(big_t, op.ref), rtol_for(dt), dt == kFloat32 ? 1e-7 : 1e-15))
          << op.name;
    }
}

TEST(Unary, DomainEdgesFollowIeee) {
  for (DType dt : float_dtypes()) {
    const auto lg = log(tensor(std::vector<double>{0.0, -1.0, 1.0}, {3}, dt)).to_vector<double>();
    EXPECT_EQ(lg[0], -kInf);
    EXPECT_TRUE(std::isnan(lg[1]));
    EXPECT_EQ(lg[2], 0.0);
    const auto sq = sqrt(tensor(std::vector<double>{0.0, -1.0, 4.0}, {3}, dt)).to_vector<double>();
    EXPECT_EQ(sq[0], 0.0);
    EXPECT_TRUE(std::isnan(sq[1]));
    EXPECT_EQ(sq[2], 2.0);
    // sigmoid stays finite and exact at the extremes (no exp overflow into nan).
    const auto sg = sigmoid(tensor(std::vector<double>{-1000, 1000, 0}, {3}, dt)).to_vector<double>();
    EXPECT_EQ(sg[0], 0.0);
    EXPECT_EQ(sg[1], 1.0);
    EXPECT_EQ(sg[2], 0.5);
    const auto th = tanh(tensor(std::vector<double>{-1000, 1000}, {2}, dt)).to_vector<double>();
    EXPECT_EQ(th[0], -1.0);
    EXPECT_EQ(th[1], 1.0);
    EXPECT_EQ(exp(tensor(std::vector<double>{-kInf}, {1}, dt)).item<double>(), 0.0);
    EXPECT_EQ(relu(tensor(std::vector<double>{-kInf, kInf}, {2}, dt)).to_vector<double>(), (std::vector<double>{0, kInf}));
  }
  EXPECT_TRUE(values_near(sign(tensor({-3.0, 0.0, 2.0}, kFloat64)), {-1, 0, 1}, 0));
}

TEST(Unary, NaNPropagates) {
  // Every op maps NaN to NaN (relu and clamp included, as PyTorch), so bad values are not hidden.
  for (DType dt : float_dtypes())
    for (const auto& op : unary_ops()) {
      const Tensor x = tensor(std::vector<double>{std::nan(""), (op.lo + op.hi) / 2}, {2}, dt);
      const auto y = op.op(x).to_vector<double>();
      EXPECT_TRUE(std::isnan(y[0])) << op.name << " " << dtype_name(dt);
      EXPECT_FALSE(std::isnan(y[1])) << op.name;
    }
}

TEST(Unary, ClampValuesAndDegenerateRange) {
  const Tensor x = tensor({-2.0, -0.5, 0.0, 0.7, 3.0}, kFloat64);
  EXPECT_TRUE(values_near(clamp(x, -0.5, 0.7), {-0.5, -0.5, 0, 0.7, 0.7}, 0));
  EXPECT_TRUE(values_near(clamp(x, 1.0, 1.0), {1, 1, 1, 1, 1}, 0));
  EXPECT_TRUE(values_near(clamp(x, -kInf, 0.0), {-2, -0.5, 0, 0, 0}, 0));
}

// ---- gradients ----

TEST(Unary, GradcheckRandomShapes) {
  manual_seed(13);
  for (const auto& op : unary_ops())
    for (const Shape& shape : {Shape{2, 3}, Shape{}, Shape{4}, Shape{2, 1, 3}}) {
      auto f = [&op](const std::vector<Tensor>& in) { return op.op(in[0]); };
      EXPECT_TRUE(grad_ok(f, {leaf(shape, op.lo, op.hi)})) << op.name << " " << shape_to_string(shape);
    }
}

TEST(Unary, GradcheckNonContiguousInputs) {
  manual_seed(14);
  for (const auto& op : unary_ops()) {
    auto f = [&op](const std::vector<Tensor>& in) { return op.op(in[0]); };
    EXPECT_TRUE(grad_ok(f, {noncontig_leaf({3, 4}, op.lo, op.hi)})) << op.name;
    EXPECT_TRUE(grad_ok(f, {noncontig_leaf({5}, op.lo, op.hi)})) << op.name;
    EXPECT_TRUE(grad_ok(f, {noncontig_leaf({}, op.lo, op.hi)})) << op.name;
    // Through a view inside the function: a transpose and a strided slice of the input.
    auto g = [&op](const std::vector<Tensor>& in) { return op.op(in[0].transpose(0, 1).slice(0, 0, 3, 2)); };
    EXPECT_TRUE(grad_ok(g, {leaf({2, 3}, op.lo, op.hi)})) << op.name;
  }
}

TEST(Unary, EmptyInputs) {
  for (const auto& op : unary_ops()) {
    const Tensor x = zeros({0, 3}, kFloat64).requires_grad_();
    const Tensor y = op.op(x);
    EXPECT_EQ(y.shape(), (Shape{0, 3})) << op.name;
    sum(y).backward();
    EXPECT_EQ(x.grad().shape(), (Shape{0, 3})) << op.name;
  }
}

TEST(Unary, ExactGradientsAtKinks) {
  Tensor x = tensor({-1.0, 0.0, 1.0}, kFloat64).requires_grad_();
  sum(relu(x)).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0, 0, 1}));  // 0 at 0, as PyTorch
  x.reset_grad();
  sum(abs(x)).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{-1, 0, 1}));  // sign(x), 0 at 0
  // clamp: 1 inside with the bounds included, 0 outside.
  Tensor c = tensor({-2.0, -0.5, 0.0, 0.7, 3.0}, kFloat64).requires_grad_();
  sum(clamp(c, -0.5, 0.7)).backward();
  EXPECT_EQ(c.grad().to_vector<double>(), (std::vector<double>{0, 1, 1, 1, 0}));
  // sqrt at 0: infinite slope, as PyTorch.
  Tensor s = tensor({0.0, 4.0}, kFloat64).requires_grad_();
  sum(sqrt(s)).backward();
  EXPECT_EQ(s.grad().to_vector<double>(), (std::vector<double>{kInf, 0.25}));
  // log at 0: 1/0.
  Tensor l = tensor({0.0, 2.0}, kFloat64).requires_grad_();
  sum(log(l)).backward();
  EXPECT_EQ(l.grad().to_vector<double>(), (std::vector<double>{kInf, 0.5}));
}

TEST(Unary, ClosedFormGradients) {
  manual_seed(15);
  const Tensor x = leaf({6}, -2, 2);
  const auto xv = x.to_vector<double>();
  auto grad_of = [&](const std::function<Tensor(const Tensor&)>& f) {
    Tensor xx = x.detach().requires_grad_();
    sum(f(xx)).backward();
    return xx.grad();
  };
  std::vector<double> e_exp, e_tanh, e_sig, e_sin, e_cos;
  for (double v : xv) {
    e_exp.push_back(std::exp(v));
    e_tanh.push_back(1 - std::tanh(v) * std::tanh(v));
    e_sig.push_back(ref_sigmoid(v) * (1 - ref_sigmoid(v)));
    e_sin.push_back(std::cos(v));
    e_cos.push_back(-std::sin(v));
  }
  EXPECT_TRUE(values_near(grad_of([](const Tensor& t) { return exp(t); }), e_exp, 1e-14));
  EXPECT_TRUE(values_near(grad_of([](const Tensor& t) { return tanh(t); }), e_tanh, 1e-12));
  EXPECT_TRUE(values_near(grad_of([](const Tensor& t) { return sigmoid(t); }), e_sig, 1e-12));
  EXPECT_TRUE(values_near(grad_of([](const Tensor& t) { return sin(t); }), e_sin, 1e-14));
  EXPECT_TRUE(values_near(grad_of([](const Tensor& t) { return cos(t); }), e_cos, 1e-14));
}

TEST(Unary, GradgradcheckRepresentative) {
  manual_seed(16);
  for (const char* name : {"exp", "log", "tanh", "sigmoid", "sqrt", "sin", "cos", "tan", "asin", "acosh", "atanh",
                           "log1p", "expm1", "reciprocal", "rsqrt", "silu", "elu", "softplus"})
    for (const auto& op : unary_ops())
      if (std::string(op.name) == name) {
        auto f = [&op](const std::vector<Tensor>& in) { return op.op(in[0]); };
        EXPECT_TRUE(gradgrad_ok(f, {leaf({2, 3}, op.lo, op.hi)})) << op.name;
        EXPECT_TRUE(gradgrad_ok(f, {noncontig_leaf({3, 2}, op.lo, op.hi)})) << op.name;
      }
  // A composition: the second derivative of tanh(sigmoid(x) * exp(x)).
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return tanh(sigmoid(in[0]) * exp(in[0])); }, {leaf({4})}));
}

// ---- errors ----

TEST(Unary, Int64AndUndefinedInputsAreRejected) {
  const Tensor i = tensor(std::vector<std::int64_t>{1, 2, 3}, {3});
  for (const auto& op : unary_ops()) {
    EXPECT_TRUE(throws_error([&] { op.op(i); }, {std::string(op.name) + ": expected a float32 or float64 tensor, got int64",
                                                 "[3]"}))
        << op.name;
    EXPECT_TRUE(throws_error([&] { op.op(Tensor()); }, {std::string(op.name), "undefined"})) << op.name;
  }
  EXPECT_TRUE(throws_error([&] { sign(i); }, {"sign", "int64"}));
}

TEST(Unary, ClampNeedsOrderedBounds) {
  const Tensor x = zeros({2});
  EXPECT_TRUE(throws_error([&] { clamp(x, 1.0, -1.0); }, {"clamp: need min <= max", "min=1", "max=-1"}));
  EXPECT_TRUE(throws_error([&] { clamp(x, std::nan(""), 1.0); }, {"clamp"}));
}

}  // namespace
}  // namespace nabla::test

namespace nabla::test {
namespace {

TEST(Unary, RoundingValuesAndZeroGradient) {
  for (DType dt : float_dtypes()) {
    const std::vector<double> v{-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -1.7, 1.2, 3.0};
    const Tensor x = tensor(v, {9}, dt);
    std::vector<double> fl, ce, ro, tr;
    for (double a : v) fl.push_back(std::floor(a)), ce.push_back(std::ceil(a)), tr.push_back(std::trunc(a));
    ro = {-2, -2, -0.0, 0, 2, 2, -2, 1, 3};  // halfway cases to even, as torch.round
    EXPECT_TRUE(values_near(floor(x), fl, 0)) << dtype_name(dt);
    EXPECT_TRUE(values_near(ceil(x), ce, 0));
    EXPECT_TRUE(values_near(round(x), ro, 0));
    EXPECT_TRUE(values_near(trunc(x), tr, 0));
    // Recorded, with gradient 0 (so backward through them works, as in PyTorch).
    for (auto f : {&floor, &ceil, &round, &trunc}) {
      Tensor leafx = x.detach().requires_grad_();
      sum(f(leafx) * leafx).backward();  // d/dx (r(x) x) = r(x)
      EXPECT_TRUE(values_near(leafx.grad(), f(x).to_vector<double>(), 0));
      leafx.reset_grad();
      sum(f(leafx)).backward();
      EXPECT_TRUE(values_near(leafx.grad(), std::vector<double>(9, 0.0), 0));
    }
  }
  EXPECT_TRUE(std::isnan(round(tensor({std::nan("")}, kFloat64)).item<double>()));
}

TEST(Unary, ActivationParametersEdgesAndErrors) {
  for (DType dt : float_dtypes()) {
    // softplus: linear above threshold (value and gradient 1), log(1 + e^(beta x)) / beta below.
    Tensor x = tensor(std::vector<double>{-1000.0, 0.0, 0.5, 12.0, 1000.0}, {5}, dt).requires_grad_();
    const Tensor y = softplus(x, 2.0, 20.0);
    const auto yv = y.to_vector<double>();
    EXPECT_EQ(yv[0], 0.0);
    EXPECT_NEAR(yv[1], std::log(2.0) / 2.0, 1e-7);
    EXPECT_NEAR(yv[2], std::log1p(std::exp(1.0)) / 2.0, 1e-7);
    EXPECT_EQ(yv[3], 12.0);  // 2 * 12 > 20: x itself
    EXPECT_EQ(yv[4], 1000.0);
    sum(y).backward();
    const auto gv = x.grad().to_vector<double>();
    EXPECT_EQ(gv[0], 0.0);
    EXPECT_NEAR(gv[1], 0.5, 1e-7);
    EXPECT_NEAR(gv[2], ref_sigmoid(1.0), 1e-7);
    EXPECT_EQ(gv[3], 1.0);
    EXPECT_EQ(gv[4], 1.0);
    // elu: alpha (e^x - 1) below 0, saturating at -alpha; gradient alpha e^x there, 1 above.
    Tensor e = tensor(std::vector<double>{-1000.0, -1.0, 0.0, 2.0}, {4}, dt).requires_grad_();
    const Tensor ey = elu(e, 0.5);
    EXPECT_TRUE(values_near(ey, {-0.5, 0.5 * std::expm1(-1.0), 0.0, 2.0}, 1e-6));
    sum(ey).backward();
    EXPECT_TRUE(values_near(e.grad(), {0.0, 0.5 * std::exp(-1.0), 0.5, 1.0}, 1e-6));  // at 0: alpha e^0, as PyTorch
    // silu at the extremes: no overflow into NaN.
    const auto sv = silu(tensor(std::vector<double>{-1000.0, 1000.0}, {2}, dt)).to_vector<double>();
    EXPECT_EQ(sv[0], 0.0);
    EXPECT_EQ(sv[1], 1000.0);
    // reciprocal and rsqrt at 0, asin and atanh at their edges: IEEE values and slopes.
    Tensor z = tensor(std::vector<double>{0.0}, {1}, dt).requires_grad_();
    EXPECT_EQ(reciprocal(z).item<double>(), kInf);
    EXPECT_EQ(rsqrt(z).item<double>(), kInf);
    Tensor one = tensor(std::vector<double>{1.0}, {1}, dt).requires_grad_();
    sum(asin(one)).backward();
    EXPECT_EQ(one.grad().item<double>(), kInf);
    EXPECT_EQ(atanh(one.detach()).item<double>(), kInf);
    EXPECT_TRUE(std::isnan(acosh(tensor(std::vector<double>{0.5}, {1}, dt)).item<double>()));
  }
  const Tensor x = tensor({1.0, 2.0}, kFloat64);
  // elu's second derivative above 0 is 0, also where e^x overflows (the branch not taken).
  for (DType dt : float_dtypes()) {
    Tensor big = tensor(std::vector<double>{100.0, 1000.0, -1.0}, {3}, dt).requires_grad_();
    const Tensor d1 = autograd::grad({sum(elu(big, 1.0))}, {big}, {}, false, /*create_graph=*/true)[0];
    const Tensor d2 = autograd::grad({sum(d1)}, {big})[0];
    EXPECT_TRUE(values_near(d2, {0.0, 0.0, std::exp(-1.0)}, 1e-6)) << dtype_name(dt);
  }
  // float32 softplus: forward and backward take the same branch at the threshold (beta·x in float).
  {
    Tensor t = tensor(std::vector<double>{1.0 / 3.0}, {1}, kFloat32).requires_grad_();
    const Tensor y = softplus(t, 3.0, 1.0);
    y.backward();
    const float bx = 3.0f * static_cast<float>(1.0 / 3.0);
    const bool linear = bx > 1.0f;
    EXPECT_EQ(y.item<double>() == static_cast<double>(static_cast<float>(1.0 / 3.0)), linear);
    EXPECT_EQ(t.grad().item<double>() == 1.0, linear);
  }
  // acosh below -1: NaN value, finite gradient 1 / sqrt(x² - 1), as PyTorch.
  Tensor neg = tensor({-2.0}, kFloat64).requires_grad_();
  sum(acosh(neg)).backward();
  EXPECT_NEAR(neg.grad().item<double>(), 1.0 / std::sqrt(3.0), 1e-15);
  EXPECT_TRUE(throws_error([&] { softplus(x, 0.0); }, {"softplus", "beta", "0"}));
  EXPECT_TRUE(throws_error([&] { softplus(x, 1.0, std::nan("")); }, {"softplus", "threshold"}));
  EXPECT_TRUE(throws_error([&] { elu(x, kInf); }, {"elu", "alpha", "inf"}));
  EXPECT_TRUE(throws_error([&] { silu(tensor(std::vector<std::int64_t>{1}, {1}, kInt64)); }, {"silu"}));
}

}  // namespace
}  // namespace nabla::test
