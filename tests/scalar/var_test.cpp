// nabla::Var, nabla::Dual, jvp, hessian_vector, numeric_gradient: every function's value and
// derivative against the analytic formula and against central differences; modes agree.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <nabla/scalar/dual.h>
#include <nabla/scalar/hessian.h>
#include <nabla/scalar/numeric.h>
#include <nabla/scalar/var.h>

namespace {

using nabla::Dual;
using nabla::Var;

// Generic code as a user would write it: `using std::f; f(x)` works for double, Var and Dual.
template <class T>
T apply_unary(const std::string& name, const T& x) {
  using std::cos;
  using std::exp;
  using std::log;
  using std::sin;
  using std::sqrt;
  using std::tan;
  using std::tanh;
  if (name == "exp") return exp(x);
  if (name == "log") return log(x);
  if (name == "sqrt") return sqrt(x);
  if (name == "sin") return sin(x);
  if (name == "cos") return cos(x);
  if (name == "tan") return tan(x);
  if (name == "tanh") return tanh(x);
  if (name == "neg") return -x;
  using std::acos, std::acosh, std::asin, std::asinh, std::atan, std::atanh, std::cbrt, std::ceil, std::cosh;
  using std::erf, std::erfc, std::exp2, std::expm1, std::fabs, std::floor, std::log10, std::log1p, std::log2;
  using std::round, std::sinh, std::trunc;
  if (name == "asin") return asin(x);
  if (name == "acos") return acos(x);
  if (name == "atan") return atan(x);
  if (name == "sinh") return sinh(x);
  if (name == "cosh") return cosh(x);
  if (name == "asinh") return asinh(x);
  if (name == "acosh") return acosh(x);
  if (name == "atanh") return atanh(x);
  if (name == "log1p") return log1p(x);
  if (name == "expm1") return expm1(x);
  if (name == "log2") return log2(x);
  if (name == "log10") return log10(x);
  if (name == "exp2") return exp2(x);
  if (name == "cbrt") return cbrt(x);
  if (name == "erf") return erf(x);
  if (name == "erfc") return erfc(x);
  if (name == "fabs") return fabs(x);
  // Rounding is piecewise constant: times x, so that the derivative (x's factor) is not just 0.
  if (name == "floor*x") return floor(x) * x;
  if (name == "ceil*x") return ceil(x) * x;
  if (name == "round*x") return round(x) * x;
  if (name == "trunc*x") return trunc(x) * x;
  if constexpr (std::is_same_v<T, double>) {
    if (name == "sigmoid") return 1.0 / (1.0 + std::exp(-x));
    if (name == "relu") return x > 0.0 ? x : 0.0;
    if (name == "abs") return std::fabs(x);
  } else {
    if (name == "sigmoid") return sigmoid(x);
    if (name == "relu") return relu(x);
    if (name == "abs") return abs(x);
  }
  ADD_FAILURE() << "unknown function " << name;
  return x;
}

struct UnaryCase {
  std::string name;
  double x;
  double value;       // analytic f(x)
  double derivative;  // analytic f'(x)
};

std::vector<UnaryCase> unary_cases() {
  const double s = 1.0 / (1.0 + std::exp(-0.7));
  return {
      {"exp", 0.5, std::exp(0.5), std::exp(0.5)},
      {"exp", -2.0, std::exp(-2.0), std::exp(-2.0)},
      {"log", 2.5, std::log(2.5), 1.0 / 2.5},
      {"log", 0.1, std::log(0.1), 10.0},
      {"sqrt", 4.0, 2.0, 0.25},
      {"sqrt", 0.3, std::sqrt(0.3), 0.5 / std::sqrt(0.3)},
      {"sin", 1.2, std::sin(1.2), std::cos(1.2)},
      {"cos", 1.2, std::cos(1.2), -std::sin(1.2)},
      {"tan", 0.4, std::tan(0.4), 1.0 / (std::cos(0.4) * std::cos(0.4))},
      {"tanh", 0.8, std::tanh(0.8), 1.0 - std::tanh(0.8) * std::tanh(0.8)},
      {"sigmoid", 0.7, s, s * (1.0 - s)},
      {"sigmoid", -40.0, 1.0 / (1.0 + std::exp(40.0)), std::exp(-40.0) / ((1 + std::exp(-40.0)) * (1 + std::exp(-40.0)))},
      {"relu", 1.5, 1.5, 1.0},
      {"relu", -1.5, 0.0, 0.0},
      {"abs", -2.0, 2.0, -1.0},
      {"abs", 3.0, 3.0, 1.0},
      {"neg", 3.0, -3.0, -1.0},
      // Derivatives written out, not taken from the implementation's formulas.
      {"asin", 0.3, std::asin(0.3), 1.0 / std::sqrt(0.91)},
      {"asin", -0.9, std::asin(-0.9), 1.0 / std::sqrt(0.19)},
      {"acos", 0.3, std::acos(0.3), -1.0 / std::sqrt(0.91)},
      {"atan", 2.0, std::atan(2.0), 0.2},
      {"atan", -0.5, std::atan(-0.5), 0.8},
      {"sinh", 0.9, std::sinh(0.9), (std::exp(0.9) + std::exp(-0.9)) / 2.0},
      {"cosh", -1.1, std::cosh(-1.1), (std::exp(-1.1) - std::exp(1.1)) / 2.0},
      {"asinh", 1.5, std::log(1.5 + std::sqrt(3.25)), 1.0 / std::sqrt(3.25)},
      {"asinh", -1e200, std::asinh(-1e200), 1e-200},
      {"acosh", 2.0, std::log(2.0 + std::sqrt(3.0)), 1.0 / std::sqrt(3.0)},
      {"atanh", 0.5, 0.5 * std::log(3.0), 1.0 / 0.75},
      {"log1p", 1e-10, 1e-10 - 5e-21, 1.0 / (1.0 + 1e-10)},
      {"log1p", 3.0, std::log(4.0), 0.25},
      {"expm1", 1e-10, 1e-10 + 5e-21, std::exp(1e-10)},
      {"expm1", 2.0, std::exp(2.0) - 1.0, std::exp(2.0)},
      {"log2", 8.0, 3.0, 1.0 / (8.0 * std::log(2.0))},
      {"log10", 1000.0, 3.0, 1.0 / (1000.0 * std::log(10.0))},
      {"exp2", 3.0, 8.0, 8.0 * std::log(2.0)},
      {"cbrt", 8.0, 2.0, 1.0 / 12.0},
      {"cbrt", -27.0, -3.0, 1.0 / 27.0},
      {"erf", 0.6, std::erf(0.6), 2.0 / std::sqrt(M_PI) * std::exp(-0.36)},
      {"erfc", 0.6, std::erfc(0.6), -2.0 / std::sqrt(M_PI) * std::exp(-0.36)},
      {"fabs", -2.5, 2.5, -1.0},
      {"floor*x", 2.7, 2.0 * 2.7, 2.0},
      {"floor*x", -2.7, -3.0 * -2.7, -3.0},
      {"ceil*x", 2.3, 3.0 * 2.3, 3.0},
      {"round*x", 2.6, 3.0 * 2.6, 3.0},
      {"round*x", -2.4, -2.0 * -2.4, -2.0},
      {"trunc*x", -2.7, -2.0 * -2.7, -2.0},
  };
}

TEST(ScalarFunctions, UnaryValueAndDerivativeMatchAnalyticNumericAndForward) {
  for (const auto& c : unary_cases()) {
    SCOPED_TRACE(c.name + " at " + std::to_string(c.x));
    auto [value, grad] =
        nabla::value_and_gradient([&](const std::vector<Var>& x) { return apply_unary(c.name, x[0]); }, {c.x});
    EXPECT_NEAR(value, c.value, 1e-14 * (1.0 + std::fabs(c.value)));
    EXPECT_NEAR(grad[0], c.derivative, 1e-13 * (1.0 + std::fabs(c.derivative)));
    const auto numeric =
        nabla::numeric_gradient([&](const std::vector<double>& x) { return apply_unary(c.name, x[0]); }, {c.x});
    EXPECT_NEAR(numeric[0], c.derivative, 1e-7 * (1.0 + std::fabs(c.derivative)));
    const auto [fv, ft] =
        nabla::jvp([&](const std::vector<Dual>& x) { return apply_unary(c.name, x[0]); }, {c.x}, {1.0});
    EXPECT_DOUBLE_EQ(fv, value);
    EXPECT_NEAR(ft, grad[0], 1e-14 * (1.0 + std::fabs(grad[0])));
  }
}

TEST(ScalarFunctions, KinksFollowPyTorchConventions) {
  for (const std::string name : {"relu", "abs"}) {
    auto r = nabla::value_and_gradient([&](const std::vector<Var>& x) { return apply_unary(name, x[0]); }, {0.0});
    EXPECT_EQ(r.value, 0.0) << name;
    EXPECT_EQ(r.grad[0], 0.0) << name;
  }
  // max/min at a tie: half the gradient to each side.
  auto m = nabla::value_and_gradient([](const std::vector<Var>& x) { return max(x[0], x[1]); }, {2.0, 2.0});
  EXPECT_EQ(m.value, 2.0);
  EXPECT_EQ(m.grad, (std::vector<double>{0.5, 0.5}));
  auto n = nabla::value_and_gradient([](const std::vector<Var>& x) { return min(x[0], x[1]); }, {2.0, 2.0});
  EXPECT_EQ(n.grad, (std::vector<double>{0.5, 0.5}));
  // pow: 0^0 has derivative 0 in both arguments; sqrt at 0 gives an infinite slope (IEEE).
  auto p = nabla::value_and_gradient([](const std::vector<Var>& x) { return pow(x[0], x[1]); }, {0.0, 0.0});
  EXPECT_EQ(p.value, 1.0);
  EXPECT_EQ(p.grad, (std::vector<double>{0.0, 0.0}));
  auto s = nabla::value_and_gradient([](const std::vector<Var>& x) { return sqrt(x[0]); }, {0.0});
  EXPECT_TRUE(std::isinf(s.grad[0]));
  auto l = nabla::value_and_gradient([](const std::vector<Var>& x) { return log(x[0]); }, {-1.0});
  EXPECT_TRUE(std::isnan(l.value));
}

TEST(ScalarFunctions, EdgesOfTheCmathFunctions) {
  const double inf = std::numeric_limits<double>::infinity();
  // acosh below -1: NaN value, finite derivative 1 / sqrt(x² - 1) (as PyTorch), in both modes.
  auto a = nabla::value_and_gradient([](const std::vector<Var>& x) { return acosh(x[0]); }, {-2.0});
  EXPECT_TRUE(std::isnan(a.value));
  EXPECT_NEAR(a.grad[0], 1.0 / std::sqrt(3.0), 1e-15);
  EXPECT_NEAR(acosh(Dual(-2.0, 1.0)).tangent(), 1.0 / std::sqrt(3.0), 1e-15);
  // asin at 1: infinite slope.
  EXPECT_EQ(nabla::value_and_gradient([](const std::vector<Var>& x) { return asin(x[0]); }, {1.0}).grad[0], inf);
  // atan2 with a constant at an infinite argument: derivative 0 in both modes (no 0 · inf).
  EXPECT_EQ(nabla::value_and_gradient([](const std::vector<Var>& x) { return atan2(x[0], 2.0); }, {inf}).grad[0], 0.0);
  EXPECT_EQ(atan2(Dual(inf, 1.0), 2.0).tangent(), 0.0);
  EXPECT_EQ(atan2(2.0, Dual(inf, 1.0)).tangent(), -0.0);
  // atan2 and hypot at the origin: NaN partials (as PyTorch); the value is 0.
  auto o = nabla::value_and_gradient([](const std::vector<Var>& x) { return hypot(x[0], x[1]); }, {0.0, 0.0});
  EXPECT_EQ(o.value, 0.0);
  EXPECT_TRUE(std::isnan(o.grad[0]));
  // |NaN| is NaN in both modes (tangent 0, as Var's partial).
  const Dual n = fabs(Dual(std::nan(""), 1.0));
  EXPECT_TRUE(std::isnan(n.value()));
  EXPECT_EQ(n.tangent(), 0.0);
  // expm1' = e^x, also far below 0 (where expm1(x) + 1 would be 0).
  EXPECT_EQ(nabla::value_and_gradient([](const std::vector<Var>& x) { return expm1(x[0]); }, {-40.0}).grad[0],
            std::exp(-40.0));
  EXPECT_EQ(expm1(Dual(-40.0, 1.0)).tangent(), std::exp(-40.0));
  // round follows std::round (halfway away from zero), as generic code over double expects.
  EXPECT_EQ(nabla::value_and_gradient([](const std::vector<Var>& x) { return round(x[0]); }, {0.5}).value, 1.0);
  EXPECT_EQ(nabla::value_and_gradient([](const std::vector<Var>& x) { return round(x[0]); }, {-2.5}).value, -3.0);
}

// Binary functions and operators, each as a generic lambda over (a, b).
struct BinaryCase {
  std::string name;
  std::function<Var(const Var&, const Var&)> var;
  std::function<Dual(const Dual&, const Dual&)> dual;
  std::function<double(double, double)> plain;
  double a, b, da, db;  // analytic partials at (a, b)
};

std::vector<BinaryCase> binary_cases() {
  const double a = 1.7, b = 0.6;
  return {
      {"add", [](auto& x, auto& y) { return x + y; }, [](auto& x, auto& y) { return x + y; },
       [](double x, double y) { return x + y; }, a, b, 1.0, 1.0},
      {"sub", [](auto& x, auto& y) { return x - y; }, [](auto& x, auto& y) { return x - y; },
       [](double x, double y) { return x - y; }, a, b, 1.0, -1.0},
      {"mul", [](auto& x, auto& y) { return x * y; }, [](auto& x, auto& y) { return x * y; },
       [](double x, double y) { return x * y; }, a, b, b, a},
      {"div", [](auto& x, auto& y) { return x / y; }, [](auto& x, auto& y) { return x / y; },
       [](double x, double y) { return x / y; }, a, b, 1.0 / b, -a / (b * b)},
      {"pow", [](auto& x, auto& y) { return pow(x, y); }, [](auto& x, auto& y) { return pow(x, y); },
       [](double x, double y) { return std::pow(x, y); }, a, b, b * std::pow(a, b - 1.0), std::pow(a, b) * std::log(a)},
      {"max", [](auto& x, auto& y) { return max(x, y); }, [](auto& x, auto& y) { return max(x, y); },
       [](double x, double y) { return std::max(x, y); }, a, b, 1.0, 0.0},
      {"min", [](auto& x, auto& y) { return min(x, y); }, [](auto& x, auto& y) { return min(x, y); },
       [](double x, double y) { return std::min(x, y); }, a, b, 0.0, 1.0},
      // compound assignments with Var and with double on the right
      {"+=", [](auto& x, auto& y) { auto r = x; r += y; r += 2.0; return r; },
       [](auto& x, auto& y) { auto r = x; r += y; r += 2.0; return r; },
       [](double x, double y) { return x + y + 2.0; }, a, b, 1.0, 1.0},
      {"-=", [](auto& x, auto& y) { auto r = x; r -= y; r -= 2.0; return r; },
       [](auto& x, auto& y) { auto r = x; r -= y; r -= 2.0; return r; },
       [](double x, double y) { return x - y - 2.0; }, a, b, 1.0, -1.0},
      {"*=", [](auto& x, auto& y) { auto r = x; r *= y; r *= 3.0; return r; },
       [](auto& x, auto& y) { auto r = x; r *= y; r *= 3.0; return r; },
       [](double x, double y) { return x * y * 3.0; }, a, b, 3.0 * b, 3.0 * a},
      {"/=", [](auto& x, auto& y) { auto r = x; r /= y; r /= 4.0; return r; },
       [](auto& x, auto& y) { auto r = x; r /= y; r /= 4.0; return r; },
       [](double x, double y) { return x / y / 4.0; }, a, b, 0.25 / b, -0.25 * a / (b * b)},
      // double on either side
      {"double ops", [](auto& x, auto& y) { return (2.0 + x) * (y - 1.0) + 3.0 / x - 2.0 * y + x / 5.0 - (1.0 - y); },
       [](auto& x, auto& y) { return (2.0 + x) * (y - 1.0) + 3.0 / x - 2.0 * y + x / 5.0 - (1.0 - y); },
       [](double x, double y) { return (2.0 + x) * (y - 1.0) + 3.0 / x - 2.0 * y + x / 5.0 - (1.0 - y); }, a, b,
       (b - 1.0) - 3.0 / (a * a) + 0.2, (2.0 + a) - 2.0 + 1.0},
      {"pow consts", [](auto& x, auto& y) { return pow(x, 3.0) + pow(2.0, y); },
       [](auto& x, auto& y) { return pow(x, 3.0) + pow(2.0, y); },
       [](double x, double y) { return std::pow(x, 3.0) + std::pow(2.0, y); }, a, b, 3.0 * a * a,
       std::pow(2.0, b) * std::log(2.0)},
      // atan2(y, x): d/dy = x / (x² + y²), d/dx = -y / (x² + y²); hypot: x / r, y / r.
      {"atan2", [](auto& x, auto& y) { return atan2(x, y); }, [](auto& x, auto& y) { return atan2(x, y); },
       [](double x, double y) { return std::atan2(x, y); }, a, b, b / (a * a + b * b), -a / (a * a + b * b)},
      {"atan2 third quadrant", [](auto& x, auto& y) { return atan2(-x, -y); },
       [](auto& x, auto& y) { return atan2(-x, -y); }, [](double x, double y) { return std::atan2(-x, -y); }, a, b,
       b / (a * a + b * b), -a / (a * a + b * b)},
      {"atan2 consts", [](auto& x, auto& y) { return atan2(x, 2.0) + atan2(3.0, y); },
       [](auto& x, auto& y) { return atan2(x, 2.0) + atan2(3.0, y); },
       [](double x, double y) { return std::atan2(x, 2.0) + std::atan2(3.0, y); }, a, b, 2.0 / (a * a + 4.0),
       -3.0 / (9.0 + b * b)},
      {"hypot", [](auto& x, auto& y) { return hypot(x, y); }, [](auto& x, auto& y) { return hypot(x, y); },
       [](double x, double y) { return std::hypot(x, y); }, a, b, a / std::sqrt(a * a + b * b),
       b / std::sqrt(a * a + b * b)},
      {"hypot consts", [](auto& x, auto& y) { return hypot(x, 2.0) + hypot(3.0, y); },
       [](auto& x, auto& y) { return hypot(x, 2.0) + hypot(3.0, y); },
       [](double x, double y) { return std::hypot(x, 2.0) + std::hypot(3.0, y); }, a, b, a / std::sqrt(a * a + 4.0),
       b / std::sqrt(9.0 + b * b)},
  };
}

TEST(ScalarFunctions, BinaryPartialsMatchAnalyticNumericAndForward) {
  for (const auto& c : binary_cases()) {
    SCOPED_TRACE(c.name);
    auto [value, grad] = nabla::value_and_gradient([&](const std::vector<Var>& x) { return c.var(x[0], x[1]); },
                                                   {c.a, c.b});
    EXPECT_DOUBLE_EQ(value, c.plain(c.a, c.b));
    EXPECT_NEAR(grad[0], c.da, 1e-13 * (1.0 + std::fabs(c.da)));
    EXPECT_NEAR(grad[1], c.db, 1e-13 * (1.0 + std::fabs(c.db)));
    const auto numeric =
        nabla::numeric_gradient([&](const std::vector<double>& x) { return c.plain(x[0], x[1]); }, {c.a, c.b});
    EXPECT_NEAR(numeric[0], c.da, 1e-7 * (1.0 + std::fabs(c.da)));
    EXPECT_NEAR(numeric[1], c.db, 1e-7 * (1.0 + std::fabs(c.db)));
    for (int i = 0; i < 2; ++i) {
      const auto [fv, ft] = nabla::jvp([&](const std::vector<Dual>& x) { return c.dual(x[0], x[1]); }, {c.a, c.b},
                                       {i == 0 ? 1.0 : 0.0, i == 1 ? 1.0 : 0.0});
      EXPECT_DOUBLE_EQ(fv, value);
      EXPECT_NEAR(ft, grad[static_cast<std::size_t>(i)], 1e-13 * (1.0 + std::fabs(ft)));
    }
  }
}

TEST(ScalarVar, ContractExample) {
  auto [value, grad] = nabla::value_and_gradient(
      [](const std::vector<nabla::Var>& x) { return sqrt(log(x[0]) * x[1]) + log(x[0]) * x[1]; },
      std::vector<double>{3.0, 2.0});
  static_assert(std::is_same_v<decltype(value), double>);
  static_assert(std::is_same_v<decltype(grad), std::vector<double>>);
  const double u = std::log(3.0) * 2.0;
  EXPECT_DOUBLE_EQ(value, std::sqrt(u) + u);
  const double du = 0.5 / std::sqrt(u) + 1.0;  // d/du of sqrt(u) + u
  EXPECT_NEAR(grad[0], du * 2.0 / 3.0, 1e-15);
  EXPECT_NEAR(grad[1], du * std::log(3.0), 1e-15);
  // The figures of a real run.
  EXPECT_NEAR(value, 3.6795283847037306, 1e-14);
  EXPECT_NEAR(grad[0], 0.8915418452073699, 1e-14);
  EXPECT_NEAR(grad[1], 1.4691882405099874, 1e-14);
}

TEST(ScalarVar, ComparisonsAndConstants) {
  Var c = 2.0;
  EXPECT_TRUE(c.is_constant());
  EXPECT_EQ(c.value(), 2.0);
  nabla::Tape tape;
  nabla::TapeScope scope(tape);
  Var x = tape.variable(3.0);
  EXPECT_FALSE(x.is_constant());
  EXPECT_TRUE(x > c);
  EXPECT_TRUE(x >= 3.0);
  EXPECT_TRUE(2.5 < x);
  EXPECT_TRUE(x == 3.0);
  EXPECT_TRUE(x != c);
  EXPECT_FALSE(x <= c);
  // Comparisons record nothing.
  const auto before = tape.size();
  (void)(x < c);
  EXPECT_EQ(tape.size(), before);
  // A function of a constant only still works and has no gradient w.r.t. x.
  Var y = exp(c) * 2.0;
  tape.backward(y);
  EXPECT_EQ(tape.adjoint(x), 0.0);
  EXPECT_DOUBLE_EQ(y.value(), 2.0 * std::exp(2.0));
}

TEST(ScalarVar, FanOutAccumulatesAndLongChainsWork) {
  // y = x*x*x + x: dy/dx = 3x^2 + 1 (x used 4 times).
  auto r = nabla::value_and_gradient([](const std::vector<Var>& x) { return x[0] * x[0] * x[0] + x[0]; }, {2.0});
  EXPECT_EQ(r.value, 10.0);
  EXPECT_EQ(r.grad[0], 13.0);
  // A chain of a million operations: y = x * 1.000001^1e6 (no recursion anywhere).
  auto chain = nabla::value_and_gradient(
      [](const std::vector<Var>& x) {
        Var y = x[0];
        for (int i = 0; i < 1000000; ++i) y = y * 1.000001;
        return y;
      },
      {1.0});
  EXPECT_NEAR(chain.grad[0], std::pow(1.000001, 1e6), 1e-9);
  EXPECT_DOUBLE_EQ(chain.value, chain.grad[0]);
}

TEST(ScalarModes, ForwardReverseAndNumericAgreeOnAMixedFunction) {
  auto f = [](const auto& x) {
    using std::cos;
    using std::exp;
    using std::log;
    using std::sin;
    using std::sqrt;
    using std::tanh;
    return sin(x[0]) * exp(x[1] / 3.0) + log(x[2] * x[2] + 1.0) - sqrt(x[0] * x[1] + 2.0) / (1.0 + tanh(x[2])) +
           pow(x[1], 1.5) * cos(x[0] - x[2]);
  };
  const std::vector<double> x{0.7, 1.3, -0.4};
  const auto reverse = nabla::value_and_gradient([&](const std::vector<Var>& v) { return f(v); }, x);
  const auto numeric = nabla::numeric_gradient([&](const std::vector<double>& v) { return f(v); }, x);
  EXPECT_DOUBLE_EQ(reverse.value, f(x));
  for (std::size_t i = 0; i < x.size(); ++i) {
    std::vector<double> e(x.size(), 0.0);
    e[i] = 1.0;
    const auto forward = nabla::jvp([&](const std::vector<Dual>& v) { return f(v); }, x, e);
    EXPECT_NEAR(forward.tangent, reverse.grad[i], 1e-14) << i;
    EXPECT_NEAR(numeric[i], reverse.grad[i], 1e-8) << i;
  }
  // A jvp along an arbitrary direction is the gradient's dot product with it.
  const std::vector<double> v{0.3, -1.1, 2.0};
  const auto j = nabla::jvp([&](const std::vector<Dual>& d) { return f(d); }, x, v);
  double dot = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) dot += reverse.grad[i] * v[i];
  EXPECT_NEAR(j.tangent, dot, 1e-13);
}

TEST(ScalarModes, HessianVectorMatchesAnalyticHessian) {
  // f = x0^2 x1 + sin(x0) e^x1 + x1^3 / 3
  auto f = [](const auto& x) {
    using std::exp;
    using std::sin;
    return x[0] * x[0] * x[1] + sin(x[0]) * exp(x[1]) + x[1] * x[1] * x[1] / 3.0;
  };
  const double a = 1.0, b = 2.0;
  const double h00 = 2 * b - std::sin(a) * std::exp(b);
  const double h01 = 2 * a + std::cos(a) * std::exp(b);
  const double h11 = std::sin(a) * std::exp(b) + 2 * b;
  const auto hv = nabla::hessian_vector(f, {a, b}, {0.5, -2.0});
  EXPECT_NEAR(hv[0], h00 * 0.5 + h01 * -2.0, 1e-12);
  EXPECT_NEAR(hv[1], h01 * 0.5 + h11 * -2.0, 1e-12);
  const auto h = nabla::hessian(f, {a, b});
  EXPECT_NEAR(h[0][0], h00, 1e-12);
  EXPECT_NEAR(h[0][1], h01, 1e-12);
  EXPECT_NEAR(h[1][0], h01, 1e-12);
  EXPECT_NEAR(h[1][1], h11, 1e-12);
  // Against central differences of the reverse-mode gradient.
  for (int i = 0; i < 2; ++i) {
    const auto col = nabla::numeric_gradient(
        [&](const std::vector<double>& x) {
          return nabla::value_and_gradient([&](const std::vector<Var>& v) { return f(v); }, x).grad[static_cast<std::size_t>(i)];
        },
        {a, b});
    EXPECT_NEAR(col[0], h[static_cast<std::size_t>(i)][0], 1e-6);
    EXPECT_NEAR(col[1], h[static_cast<std::size_t>(i)][1], 1e-6);
  }
}

TEST(ScalarModes, HessianOfEveryFunctionAgreesWithNumericSecondDerivative) {
  for (const auto& c : unary_cases()) {
    if (c.name == "relu" || c.name == "abs" || c.name == "fabs" || c.name == "neg") continue;  // f'' = 0
    SCOPED_TRACE(c.name);
    const auto hv = nabla::hessian_vector([&](const auto& x) { return apply_unary(c.name, x[0]); }, {c.x}, {1.0});
    const auto second = nabla::numeric_gradient(
        [&](const std::vector<double>& x) {
          return nabla::jvp([&](const std::vector<Dual>& d) { return apply_unary(c.name, d[0]); }, x, {1.0}).tangent;
        },
        {c.x});
    EXPECT_NEAR(hv[0], second[0], 1e-6 * (1.0 + std::fabs(second[0])));
  }
}

TEST(ScalarNumeric, RejectsBadStepAndSizes) {
  auto f = [](const std::vector<double>& x) { return x[0]; };
  EXPECT_THROW(nabla::numeric_gradient(f, {1.0}, 0.0), nabla::Error);
  EXPECT_THROW(nabla::jvp([](const std::vector<Dual>& x) { return x[0]; }, {1.0, 2.0}, {1.0}), nabla::Error);
}

}  // namespace
