// The checker the op tests rely on must be able to fail: user Functions with deliberately wrong
// backward rules make gradcheck / gradgradcheck return false (or throw, naming the mismatch), while
// the correct rule passes. Also gradcheck's own input checks.
#include <gtest/gtest.h>

#include "op_test_util.h"

namespace nabla::test {
namespace {

using autograd::AutogradContext;

// x^3 with a selectable backward: exact, off by a factor, wrong only for negative x, or exact but
// built from detached values (so its own derivative, the second derivative, is lost).
enum class Rule { kExact, kScaled, kWrongForNegatives, kDetached };
Rule g_rule = Rule::kExact;

struct Cube : autograd::Function<Cube> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x) {
    ctx->save_for_backward({x});
    return x * x * x;
  }
  static std::vector<Tensor> backward(AutogradContext* ctx, std::vector<Tensor> g) {
    const Tensor x = ctx->get_saved_variables()[0];
    switch (g_rule) {
      case Rule::kExact: return {g[0] * 3.0 * x * x};
      case Rule::kScaled: return {g[0] * 3.001 * x * x};
      case Rule::kWrongForNegatives: return {g[0] * 3.0 * x * abs(x)};
      case Rule::kDetached: {
        const Tensor xd = x.detach();
        return {g[0] * 3.0 * xd * xd};
      }
    }
    return {};
  }
};

// a * b with broadcasting whose backward forgets to sum the gradient back over broadcast dims
// (it returns b's gradient in the broadcast shape): the engine must not hide that silently.
struct ScaleRows : autograd::Function<ScaleRows> {
  static Tensor forward(AutogradContext* ctx, const Tensor& a, const Tensor& b) {
    ctx->save_for_backward({a, b});
    return a * b;
  }
  static std::vector<Tensor> backward(AutogradContext* ctx, std::vector<Tensor> g) {
    const auto s = ctx->get_saved_variables();
    // Correct for a; for b the mean over rows instead of the sum.
    return {g[0] * s[1], mean(g[0] * s[0], 0)};
  }
};

struct RuleGuard {
  explicit RuleGuard(Rule r) { g_rule = r; }
  ~RuleGuard() { g_rule = Rule::kExact; }
};

GradcheckFn cube_fn() {
  return [](const std::vector<Tensor>& in) { return Cube::apply(in[0]); };
}

TEST(Gradcheck, ExactCustomRulePassesBothChecks) {
  manual_seed(51);
  RuleGuard rule(Rule::kExact);
  EXPECT_TRUE(grad_ok(cube_fn(), {leaf({2, 3})}));
  EXPECT_TRUE(gradgrad_ok(cube_fn(), {leaf({2, 3})}));
}

TEST(Gradcheck, ScaledGradientFailsAndNamesTheMismatch) {
  manual_seed(52);
  RuleGuard rule(Rule::kScaled);
  const Tensor x = leaf({2, 3}, 0.5, 2.0);  // |x| large enough that 0.1 % exceeds atol
  EXPECT_FALSE(gradcheck(cube_fn(), {x}, 1e-6, 1e-5, 1e-4, /*raise_on_failure=*/false));
  EXPECT_TRUE(throws_error([&] { gradcheck(cube_fn(), {x}, 1e-6, 1e-5, 1e-4); },
                           {"gradcheck: Jacobian mismatch for input 0 element 0", "analytic", "numerical"}));
  // With the default rtol of 1e-3 this 0.03 % error is inside the tolerance, as documented.
  EXPECT_TRUE(grad_ok(cube_fn(), {leaf({2, 3}, 0.5, 0.6)}));
}

TEST(Gradcheck, GradientWrongOnlyForSomeElementsFails) {
  RuleGuard rule(Rule::kWrongForNegatives);
  const Tensor pos = tensor({0.5, 1.0, 2.0}, kFloat64).requires_grad_();
  EXPECT_TRUE(gradcheck(cube_fn(), {pos}, 1e-6, 1e-5, 1e-3, false));  // right where x > 0
  const Tensor mixed = tensor({0.5, -1.0, 2.0}, kFloat64).requires_grad_();
  EXPECT_FALSE(gradcheck(cube_fn(), {mixed}, 1e-6, 1e-5, 1e-3, false));
  EXPECT_TRUE(throws_error([&] { gradcheck(cube_fn(), {mixed}); }, {"input 0 element 1"}));
}

TEST(Gradcheck, MissingSecondDerivativeFailsOnlyGradgradcheck) {
  manual_seed(53);
  RuleGuard rule(Rule::kDetached);
  const Tensor x = leaf({4}, 0.5, 2.0);
  EXPECT_TRUE(grad_ok(cube_fn(), {x}));  // first derivatives are right
  EXPECT_FALSE(gradgradcheck(cube_fn(), {x}, 1e-6, 1e-5, 1e-3, false));
  EXPECT_TRUE(throws_error([&] { gradgradcheck(cube_fn(), {x}); }, {"gradcheck: Jacobian mismatch"}));
}

TEST(Gradcheck, WrongBroadcastReductionFails) {
  manual_seed(54);
  auto f = [](const std::vector<Tensor>& in) { return ScaleRows::apply(in[0], in[1]); };
  const Tensor a = leaf({3, 2}), b = leaf({2});
  bool failed = false;
  try {
    failed = !gradcheck(f, {a, b}, 1e-6, 1e-5, 1e-3, false);
  } catch (const Error&) {
    failed = true;  // a shape complaint is as good as a mismatch
  }
  EXPECT_TRUE(failed);
  // With b not broadcast (one row) the mean equals the sum and the rule is right.
  EXPECT_TRUE(grad_ok(f, {leaf({1, 2}), leaf({2})}));
}

TEST(Gradcheck, ABuiltInOpWithAWrongSignWouldBeCaught) {
  // The same checker applied to a deliberately wrong composite: d/dx of x * detach(x) is x, not 2x.
  const Tensor x = tensor({1.0, -2.0}, kFloat64).requires_grad_();
  EXPECT_FALSE(gradcheck([](const auto& in) { return in[0] * in[0].detach(); }, {x}, 1e-6, 1e-5, 1e-3, false));
  EXPECT_TRUE(grad_ok([](const auto& in) { return in[0] * in[0]; }, {x}));
}

TEST(Gradcheck, RejectsInputsItCannotCheck) {
  EXPECT_TRUE(throws_error([] { gradcheck(cube_fn(), {leaf({2}, -1, 1, kFloat32)}); },
                           {"gradcheck: input 0 is float32; gradcheck needs float64 inputs"}));
  EXPECT_TRUE(throws_error([] { gradcheck(cube_fn(), {Tensor()}); }, {"gradcheck: input 0 is undefined"}));
  const Tensor expanded = uniform({1, 3}, -1, 1, kFloat64).expand({2, 3}).requires_grad_();
  EXPECT_TRUE(throws_error([&] { gradcheck(cube_fn(), {expanded}); }, {"gradcheck", "[2, 3]", "overlapping"}));
  const Tensor x = leaf({2});
  EXPECT_TRUE(throws_error([&] { gradcheck([](const auto& in) { return in[0].to(kFloat32); }, {x}); },
                           {"gradcheck", "float64", "float32"}));
}

}  // namespace
}  // namespace nabla::test
