// Elementwise binary ops: values against independent references, gradcheck over broadcasting,
// 0-d, empty and non-contiguous inputs, kink/tie gradients, second derivatives and error messages.
#include <gtest/gtest.h>

#include <cmath>

#include "op_test_util.h"

namespace nabla::test {
namespace {

using BinaryOp = Tensor (*)(const Tensor&, const Tensor&);

struct NamedBinary {
  const char* name;
  BinaryOp op;
  std::function<double(double, double)> ref;
};

const std::vector<NamedBinary>& binary_ops() {
  static const std::vector<NamedBinary> ops{
      {"add", &add, [](double x, double y) { return x + y; }},
      {"sub", &sub, [](double x, double y) { return x - y; }},
      {"mul", &mul, [](double x, double y) { return x * y; }},
      {"div", &div, [](double x, double y) { return x / y; }},
      {"maximum", &maximum, [](double x, double y) { return std::max(x, y); }},
      {"minimum", &minimum, [](double x, double y) { return std::min(x, y); }},
      {"pow", static_cast<BinaryOp>(&pow), [](double x, double y) { return std::pow(x, y); }},
      {"atan2", &atan2, [](double x, double y) { return std::atan2(x, y); }},
      {"hypot", &hypot, [](double x, double y) { return std::hypot(x, y); }},
  };
  return ops;
}

// Shape pairs that broadcast: equal, trailing, middle 1s, 0-d on either side, rank growth.
const std::vector<std::pair<Shape, Shape>>& broadcast_pairs() {
  static const std::vector<std::pair<Shape, Shape>> pairs{
      {{2, 3}, {2, 3}}, {{3, 1, 4}, {2, 4}}, {{}, {2, 3}}, {{2, 3}, {}}, {{4}, {3, 1}}, {{2, 1}, {1, 3}}, {{}, {}},
  };
  return pairs;
}

Shape joint(const Shape& a, const Shape& b) { return broadcast_shapes(a, b); }

TEST(Arithmetic, ForwardValuesMatchReferenceWithBroadcasting) {
  manual_seed(1);
  for (DType dt : float_dtypes())
    for (const auto& [sa, sb] : broadcast_pairs())
      for (const auto& op : binary_ops()) {
        // Positive operands keep pow real and div away from 0.
        const Tensor a = uniform(sa, 0.5, 2.0, dt), b = uniform(sb, 0.5, 2.0, dt);
        const Tensor out = op.op(a, b);
        EXPECT_EQ(out.shape(), joint(sa, sb)) << op.name;
        EXPECT_EQ(out.dtype(), dt);
        // For float32 the reference is the op in float of the float inputs, within float rounding.
        EXPECT_TRUE(values_near(out, ref_binary(a, b, out.shape(), op.ref), rtol_for(dt)))
            << op.name << " " << shape_to_string(sa) << " " << shape_to_string(sb) << " " << dtype_name(dt);
      }
}

TEST(Arithmetic, ForwardOnNonContiguousInputs) {
  manual_seed(2);
  for (DType dt : float_dtypes()) {
    const Tensor a = noncontig_leaf({3, 4}, 0.5, 2.0, dt).detach(), b = noncontig_leaf({4}, 0.5, 2.0, dt).detach();
    for (const auto& op : binary_ops())
      EXPECT_TRUE(values_near(op.op(a, b), ref_binary(a, b, {3, 4}, op.ref), rtol_for(dt))) << op.name;
  }
}

TEST(Arithmetic, LargeBroadcastNonContiguousUsesEveryRow) {
  // Big enough to be split over threads, with a transposed operand and a broadcast row.
  manual_seed(10);
  for (DType dt : float_dtypes()) {
    const Tensor a = uniform({257, 300}, 0.5, 2.0, dt).t(), b = uniform({257}, 0.5, 2.0, dt);
    const Tensor c = uniform({300, 1}, 0.5, 2.0, dt);
    for (const auto& op : binary_ops()) {
      EXPECT_TRUE(values_near(op.op(a, b), ref_binary(a, b, {300, 257}, op.ref), rtol_for(dt))) << op.name;
      EXPECT_TRUE(values_near(op.op(c, b), ref_binary(c, b, {300, 257}, op.ref), rtol_for(dt))) << op.name;
    }
  }
}

TEST(Arithmetic, Float32BackwardMatchesFloat64) {
  manual_seed(17);
  for (const auto& op : binary_ops()) {
    const Tensor a64 = uniform({3, 1, 4}, 0.5, 2.0, kFloat64), b64 = uniform({2, 4}, 0.5, 2.0, kFloat64);
    Tensor a32 = a64.to(kFloat32).requires_grad_(), b32 = b64.to(kFloat32).requires_grad_();
    Tensor a = a64.detach().requires_grad_(), b = b64.detach().requires_grad_();
    sum(op.op(a32, b32)).backward();
    sum(op.op(a, b)).backward();
    EXPECT_EQ(a32.grad().dtype(), kFloat32);
    EXPECT_EQ(b32.grad().dtype(), kFloat32);
    EXPECT_TRUE(values_near(a32.grad(), a.grad().to_vector<double>(), 1e-5, 1e-6)) << op.name;
    EXPECT_TRUE(values_near(b32.grad(), b.grad().to_vector<double>(), 1e-5, 1e-6)) << op.name;
  }
}

TEST(Arithmetic, ScalarOperatorsOnBothSides) {
  const Tensor t = tensor({1.0, -2.0, 4.0}, kFloat64);
  EXPECT_TRUE(values_near(t + 2.0, {3, 0, 6}, 0));
  EXPECT_TRUE(values_near(2.0 + t, {3, 0, 6}, 0));
  EXPECT_TRUE(values_near(t - 2.0, {-1, -4, 2}, 0));
  EXPECT_TRUE(values_near(2.0 - t, {1, 4, -2}, 0));
  EXPECT_TRUE(values_near(t * 3.0, {3, -6, 12}, 0));
  EXPECT_TRUE(values_near(3.0 * t, {3, -6, 12}, 0));
  EXPECT_TRUE(values_near(t / 2.0, {0.5, -1, 2}, 0));
  EXPECT_TRUE(values_near(2.0 / t, {2, -1, 0.5}, 0));
  EXPECT_TRUE(values_near(-t, {-1, 2, -4}, 0));
  EXPECT_TRUE(values_near(neg(t), {-1, 2, -4}, 0));
  // A double joins in the tensor's dtype: float32 stays float32.
  const Tensor f = tensor({1.0, 2.0});
  EXPECT_EQ((f * 2.0).dtype(), kFloat32);
  EXPECT_EQ((1.0 - f).dtype(), kFloat32);
  EXPECT_EQ((t + 1.0).dtype(), kFloat64);
}

TEST(Arithmetic, PowForms) {
  for (DType dt : float_dtypes()) {
    const Tensor x = tensor(std::vector<double>{0.5, 1.0, 2.0, 3.0}, {4}, dt);
    EXPECT_TRUE(values_near(pow(x, 2.0), {0.25, 1, 4, 9}, rtol_for(dt)));
    EXPECT_TRUE(values_near(pow(x, 0.5), {std::sqrt(0.5), 1, std::sqrt(2.0), std::sqrt(3.0)}, rtol_for(dt)));
    EXPECT_TRUE(values_near(pow(x, -1.0), {2, 1, 0.5, 1.0 / 3}, rtol_for(dt)));
    EXPECT_TRUE(values_near(pow(x, 0.0), {1, 1, 1, 1}, 0));
    EXPECT_TRUE(values_near(pow(2.0, x), {std::sqrt(2.0), 2, 4, 8}, rtol_for(dt)));
    const Tensor e = tensor(std::vector<double>{3, 2, 0.5, -1}, {4}, dt);
    EXPECT_TRUE(values_near(pow(x, e), {0.125, 1, std::sqrt(2.0), 1.0 / 3}, rtol_for(dt)));
  }
  // Odd integer powers of negative bases stay real.
  EXPECT_TRUE(values_near(pow(tensor({-2.0, -1.0}, kFloat64), 3.0), {-8, -1}, 0));
}

TEST(Arithmetic, MaximumMinimumPropagateNaN) {
  const double nan = std::nan("");
  const Tensor a = tensor({nan, 1.0, 2.0}, kFloat64), b = tensor({1.0, nan, 3.0}, kFloat64);
  const auto mx = maximum(a, b).to_vector<double>(), mn = minimum(a, b).to_vector<double>();
  EXPECT_TRUE(std::isnan(mx[0]) && std::isnan(mx[1]));
  EXPECT_TRUE(std::isnan(mn[0]) && std::isnan(mn[1]));
  EXPECT_EQ(mx[2], 3.0);
  EXPECT_EQ(mn[2], 2.0);
}

TEST(Arithmetic, WhereValuesWithBroadcastCondition) {
  for (DType dt : float_dtypes()) {
    const Tensor cond = tensor(std::vector<double>{1, 0}, {2, 1}, dt);
    const Tensor a = tensor(std::vector<double>{1, 2, 3}, {3}, dt);
    const Tensor b = full({}, -1.0, dt);
    const Tensor out = where(cond, a, b);
    EXPECT_EQ(out.shape(), (Shape{2, 3}));
    EXPECT_TRUE(values_near(out, {1, 2, 3, -1, -1, -1}, 0));
  }
  // An int64 mask works too.
  const Tensor mask = tensor(std::vector<std::int64_t>{0, 5, 0}, {3});
  EXPECT_TRUE(values_near(where(mask, tensor({1.0, 2.0, 3.0}), tensor({9.0, 8.0, 7.0})), {9, 2, 7}, 0));
}

TEST(Arithmetic, ComparisonsGiveMasksWithoutGradient) {
  const Tensor a = tensor({1.0, 2.0, 3.0}, kFloat64).requires_grad_();
  const Tensor b = tensor({2.0, 2.0, 2.0}, kFloat64);
  EXPECT_TRUE(values_near(gt(a, b), {0, 0, 1}, 0));
  EXPECT_TRUE(values_near(lt(a, b), {1, 0, 0}, 0));
  EXPECT_TRUE(values_near(ge(a, b), {0, 1, 1}, 0));
  EXPECT_TRUE(values_near(le(a, b), {1, 1, 0}, 0));
  EXPECT_TRUE(values_near(eq(a, b), {0, 1, 0}, 0));
  EXPECT_TRUE(values_near(ne(a, b), {1, 0, 1}, 0));
  EXPECT_FALSE(gt(a, b).requires_grad());
  EXPECT_EQ(gt(a, b).dtype(), kFloat64);
}

// ---- gradients ----

TEST(Arithmetic, GradcheckBroadcastingShapes) {
  manual_seed(3);
  for (const auto& [sa, sb] : broadcast_pairs())
    for (const auto& op : binary_ops()) {
      const bool positive = std::string(op.name) == "div" || std::string(op.name) == "pow";
      const Tensor a = positive ? leaf(sa, 0.5, 2.0) : leaf(sa), b = positive ? leaf(sb, 0.5, 2.0) : leaf(sb);
      auto f = [&op](const std::vector<Tensor>& in) { return op.op(in[0], in[1]); };
      EXPECT_TRUE(grad_ok(f, {a, b})) << op.name << " " << shape_to_string(sa) << " " << shape_to_string(sb);
      // After backward each input's gradient has the input's own shape (summed over broadcast dims).
      op.op(a, b).backward(ones(joint(sa, sb), kFloat64));
      EXPECT_EQ(a.grad().shape(), sa) << op.name;
      EXPECT_EQ(b.grad().shape(), sb) << op.name;
    }
}

TEST(Arithmetic, GradcheckNonContiguousInputs) {
  manual_seed(4);
  for (const auto& op : binary_ops()) {
    const Tensor a = noncontig_leaf({3, 4}, 0.5, 2.0), b = noncontig_leaf({4}, 0.5, 2.0);
    const Tensor c = leaf({4, 4}, 0.5, 2.0).slice(0, 1, 4, 2).detach().requires_grad_();  // a strided row slice
    auto f = [&op](const std::vector<Tensor>& in) { return op.op(in[0], in[1]); };
    EXPECT_TRUE(grad_ok(f, {a, b})) << op.name;
    EXPECT_TRUE(grad_ok(f, {c, a.slice(0, 0, 2)})) << op.name;
  }
}

TEST(Arithmetic, GradcheckOneInputWithoutGrad) {
  manual_seed(5);
  for (const auto& op : binary_ops()) {
    const Tensor a = leaf({2, 3}, 0.5, 2.0), b = uniform({3}, 0.5, 2.0, kFloat64);
    auto f = [&op](const std::vector<Tensor>& in) { return op.op(in[0], in[1]); };
    EXPECT_TRUE(grad_ok(f, {a, b})) << op.name;
    EXPECT_TRUE(grad_ok(f, {b, a})) << op.name;
  }
}

TEST(Arithmetic, GradcheckScalarOperatorsAndNeg) {
  manual_seed(6);
  const Tensor x = leaf({2, 3}, 0.5, 2.0);
  EXPECT_TRUE(grad_ok([](const auto& in) { return -in[0]; }, {x}));
  EXPECT_TRUE(grad_ok([](const auto& in) { return 3.0 - in[0] * 2.0 + 1.5; }, {x}));
  EXPECT_TRUE(grad_ok([](const auto& in) { return 2.0 / in[0] - in[0] / 4.0; }, {x}));
}

TEST(Arithmetic, GradcheckPowForms) {
  manual_seed(7);
  const Tensor x = leaf({2, 3}, 0.5, 2.0), signed_x = leaf({2, 3});
  for (double p : {2.0, 3.0, 0.5, -1.5, 1.0, 0.0})
    EXPECT_TRUE(grad_ok([p](const auto& in) { return pow(in[0], p); }, {x})) << "p=" << p;
  for (double p : {2.0, 3.0, -2.0})
    EXPECT_TRUE(grad_ok([p](const auto& in) { return pow(in[0], p); }, {signed_x})) << "p=" << p;
  for (double base : {2.5, 0.5, 1.0})
    EXPECT_TRUE(grad_ok([base](const auto& in) { return pow(base, in[0]); }, {signed_x})) << "base=" << base;
  const Tensor e = leaf({3}, -2.0, 2.0);
  EXPECT_TRUE(grad_ok([](const auto& in) { return pow(in[0], in[1]); }, {x, e}));
}

TEST(Arithmetic, PowGradientsAtZeroBase) {
  // d(a^b)/db at a = 0, b >= 0 is defined as 0 (not 0 * log 0 = nan), as in PyTorch.
  const Tensor a = tensor({0.0, 0.0, 2.0}, kFloat64).requires_grad_();
  const Tensor b = tensor({2.0, 0.0, 3.0}, kFloat64).requires_grad_();
  sum(pow(a, b)).backward();
  EXPECT_TRUE(values_near(a.grad(), {0, 0, 12}, 1e-14));
  EXPECT_TRUE(values_near(b.grad(), {0, 0, 8 * std::log(2.0)}, 1e-14));

  const Tensor y = tensor({2.0, 0.0, 1.5}, kFloat64).requires_grad_();
  sum(pow(0.0, y)).backward();
  EXPECT_TRUE(values_near(y.grad(), {0, 0, 0}, 0));

  Tensor x = tensor({0.0, 1.0}, kFloat64).requires_grad_();
  sum(pow(x, 0.0)).backward();
  EXPECT_TRUE(values_near(x.grad(), {0, 0}, 0));
  x.reset_grad();
  sum(pow(x, 1.0)).backward();
  EXPECT_TRUE(values_near(x.grad(), {1, 1}, 0));
}

TEST(Arithmetic, MaximumMinimumTiesSplitTheGradient) {
  Tensor a = tensor({1.0, 2.0, 3.0}, kFloat64).requires_grad_();
  Tensor b = tensor({2.0, 2.0, 1.0}, kFloat64).requires_grad_();
  sum(maximum(a, b)).backward();
  EXPECT_TRUE(values_near(a.grad(), {0, 0.5, 1}, 0));
  EXPECT_TRUE(values_near(b.grad(), {1, 0.5, 0}, 0));
  a.reset_grad();
  b.reset_grad();
  sum(minimum(a, b)).backward();
  EXPECT_TRUE(values_near(a.grad(), {1, 0.5, 0}, 0));
  EXPECT_TRUE(values_near(b.grad(), {0, 0.5, 1}, 0));
  // A broadcast tie: the scalar ties with two of the three entries.
  const Tensor s = full({}, 2.0, kFloat64).requires_grad_();
  const Tensor v = tensor({2.0, 2.0, 5.0}, kFloat64).requires_grad_();
  sum(maximum(s, v)).backward();
  EXPECT_DOUBLE_EQ(s.grad().item<double>(), 1.0);
  EXPECT_TRUE(values_near(v.grad(), {0.5, 0.5, 1}, 0));
}

TEST(Arithmetic, WhereGradcheckAndRouting) {
  manual_seed(8);
  const Tensor cond = tensor(std::vector<double>{1, 0, 1}, {3, 1}, kFloat64);
  const Tensor a = leaf({3, 4}), b = leaf({4});
  EXPECT_TRUE(grad_ok([&](const auto& in) { return where(cond, in[0], in[1]); }, {a, b}));
  EXPECT_TRUE(grad_ok([&](const auto& in) { return where(cond, in[0], in[1]); }, {noncontig_leaf({3, 4}), leaf({})}));
  const Tensor x = tensor({1.0, 2.0}, kFloat64).requires_grad_(), y = tensor({3.0, 4.0}, kFloat64).requires_grad_();
  sum(where(tensor({0.0, 1.0}, kFloat64), x, y)).backward();
  EXPECT_TRUE(values_near(x.grad(), {0, 1}, 0));
  EXPECT_TRUE(values_near(y.grad(), {1, 0}, 0));
}

TEST(Arithmetic, EmptyShapes) {
  for (const auto& op : binary_ops()) {
    const Tensor a = zeros({0, 3}, kFloat64).requires_grad_(), b = ones({3}, kFloat64).requires_grad_();
    const Tensor out = op.op(a, b);
    EXPECT_EQ(out.shape(), (Shape{0, 3})) << op.name;
    sum(out).backward();
    EXPECT_EQ(a.grad().shape(), (Shape{0, 3}));
    EXPECT_TRUE(values_near(b.grad(), {0, 0, 0}, 0)) << op.name;
  }
  EXPECT_EQ(add(zeros({2, 0}), zeros({1, 1})).shape(), (Shape{2, 0}));
}

TEST(Arithmetic, GradgradcheckRepresentative) {
  manual_seed(9);
  const Tensor a = leaf({2, 3}, 0.5, 2.0), b = leaf({3}, 0.5, 2.0);
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return mul(in[0], in[1]); }, {a, b}));
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return div(in[0], in[1]); }, {a, b}));
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return pow(in[0], in[1]); }, {a, b}));
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return pow(in[0], 3.0); }, {a}));
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return pow(in[0], -0.5); }, {a}));
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return pow(1.7, in[0]); }, {a}));
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return add(in[0], in[1]) * sub(in[0], in[1]); }, {a, b}));
}

// ---- errors ----

TEST(Arithmetic, BroadcastMismatchNamesOpAndBothShapes) {
  const Tensor a = zeros({2, 3}), b = zeros({4});
  for (const auto& op : binary_ops())
    EXPECT_TRUE(throws_error([&] { op.op(a, b); }, {std::string(op.name) + ": shapes [2, 3] and [4] cannot be broadcast"}))
        << op.name;
  EXPECT_TRUE(throws_error([&] { (void)(a + b); }, {"add: shapes [2, 3] and [4]"}));
  EXPECT_TRUE(throws_error([&] { where(ones({2, 3}), a, b); }, {"where", "[2, 3]", "[4]"}));
  EXPECT_TRUE(throws_error([&] { where(ones({5}), a, a); }, {"where", "[5]", "[2, 3]"}));
  EXPECT_TRUE(throws_error([&] { gt(a, b); }, {"gt", "[2, 3]", "[4]"}));
  EXPECT_TRUE(throws_error([&] { broadcast_shapes({3, 2}, {2, 3}, "myop"); }, {"myop: shapes [3, 2] and [2, 3]"}));
}

TEST(Arithmetic, MixedDtypesAreRejected) {
  const Tensor f = zeros({2}, kFloat32), d = zeros({3}, kFloat64);
  for (const auto& op : binary_ops())
    EXPECT_TRUE(throws_error([&] { op.op(f, d); },
                             {std::string(op.name) + ": dtypes float32 and float64 do not match", "[2]", "[3]"}))
        << op.name;
  EXPECT_TRUE(throws_error([&] { where(ones({2}), f, zeros({2}, kFloat64)); }, {"where", "float32", "float64"}));
}

TEST(Arithmetic, Int64AndUndefinedOperandsAreRejected) {
  const Tensor i = tensor(std::vector<std::int64_t>{1, 2}, {2}), f = zeros({2});
  for (const auto& op : binary_ops()) {
    EXPECT_TRUE(throws_error([&] { op.op(i, f); }, {std::string(op.name) + ": expected a float32 or float64 tensor, got int64"}));
    EXPECT_TRUE(throws_error([&] { op.op(f, i); }, {std::string(op.name), "int64"}));
    EXPECT_TRUE(throws_error([&] { op.op(Tensor(), f); }, {std::string(op.name), "undefined"}));
    EXPECT_TRUE(throws_error([&] { op.op(f, Tensor()); }, {std::string(op.name), "undefined"}));
  }
  EXPECT_TRUE(throws_error([&] { neg(i); }, {"neg", "int64"}));
  EXPECT_TRUE(throws_error([&] { pow(i, 2.0); }, {"pow", "int64"}));
  EXPECT_TRUE(throws_error([&] { pow(2.0, i); }, {"pow", "int64"}));
  EXPECT_TRUE(throws_error([&] { (void)(i * 2.0); }, {"mul", "int64"}));
  EXPECT_TRUE(throws_error([&] { where(Tensor(), f, f); }, {"where", "undefined"}));
}

// ---- in-place ops and the version counter ----

TEST(Arithmetic, InPlaceValuesAndVersionCounter) {
  Tensor t = tensor(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3}, kFloat64);
  const auto v0 = t.version();
  t.add_(tensor({1.0, 1.0, 1.0}, kFloat64), 2.0);
  EXPECT_TRUE(values_near(t, {3, 4, 5, 6, 7, 8}, 0));
  t.sub_(tensor(std::vector<double>{1, 2}, {2, 1}, kFloat64));
  EXPECT_TRUE(values_near(t, {2, 3, 4, 4, 5, 6}, 0));
  t.mul_(2.0);
  EXPECT_TRUE(values_near(t, {4, 6, 8, 8, 10, 12}, 0));
  t.div_(full({}, 2.0, kFloat64));
  EXPECT_TRUE(values_near(t, {2, 3, 4, 4, 5, 6}, 0));
  t.mul_(tensor({1.0, 0.0, -1.0}, kFloat64));
  EXPECT_TRUE(values_near(t, {2, 0, -4, 4, 0, -6}, 0));
  t.add_(1.0);
  EXPECT_TRUE(values_near(t, {3, 1, -3, 5, 1, -5}, 0));
  EXPECT_EQ(t.version(), v0 + 6);
  // A view writes through to its base and shares its counter.
  Tensor row = t.select(0, 1);
  row.fill_(7.0);
  EXPECT_TRUE(values_near(t, {3, 1, -3, 7, 7, 7}, 0));
  EXPECT_EQ(t.version(), v0 + 7);
  t.zero_();
  EXPECT_TRUE(values_near(t, {0, 0, 0, 0, 0, 0}, 0));
  t.copy_(tensor({1.0, 2.0, 3.0}, kFloat32));  // broadcast and converted
  EXPECT_TRUE(values_near(t, {1, 2, 3, 1, 2, 3}, 0));
  // In-place into a non-contiguous view.
  Tensor tt = t.transpose(0, 1);
  tt.add_(tensor(std::vector<double>{10, 20}, {1, 2}, kFloat64));
  EXPECT_TRUE(values_near(t, {11, 12, 13, 21, 22, 23}, 0));
}

TEST(Arithmetic, InPlaceOnTensorRequiringGradWhileRecordingIsRefused) {
  Tensor w = ones({2, 3}, kFloat64).requires_grad_();
  EXPECT_TRUE(throws_error([&] { w.add_(ones({2, 3}, kFloat64)); }, {"add_", "requires grad", "[2, 3]"}));
  EXPECT_TRUE(throws_error([&] { w.mul_(2.0); }, {"mul_", "requires grad"}));
  EXPECT_TRUE(throws_error([&] { w.sub_(w); }, {"sub_", "requires grad"}));
  EXPECT_TRUE(throws_error([&] { w.div_(w); }, {"div_", "requires grad"}));
  EXPECT_TRUE(throws_error([&] { w.fill_(0.0); }, {"fill_", "requires grad"}));
  EXPECT_TRUE(throws_error([&] { w.zero_(); }, {"requires grad"}));
  EXPECT_TRUE(throws_error([&] { w.copy_(w); }, {"copy_", "requires grad"}));
  EXPECT_TRUE(values_near(w, {1, 1, 1, 1, 1, 1}, 0));  // untouched
  {
    NoGradGuard no_grad;
    w.add_(ones({2, 3}, kFloat64), -0.5);  // an optimizer step
  }
  EXPECT_TRUE(values_near(w, {0.5, 0.5, 0.5, 0.5, 0.5, 0.5}, 0));
  EXPECT_TRUE(w.requires_grad());
}

TEST(Arithmetic, InPlaceShapeErrors) {
  Tensor t = zeros({2, 1}, kFloat64);
  EXPECT_TRUE(throws_error([&] { t.add_(zeros({3}, kFloat64)); }, {"add_", "[3]", "[2, 1]"}));
  EXPECT_TRUE(throws_error([&] { t.mul_(zeros({4, 2, 1}, kFloat64)); }, {"mul_", "[4, 2, 1]", "[2, 1]"}));
  EXPECT_TRUE(throws_error([&] { t.copy_(zeros({5}, kFloat64)); }, {"copy_", "[2, 1]", "[5]"}));
  EXPECT_TRUE(throws_error([&] { t.add_(Tensor()); }, {"add_", "undefined"}));
  EXPECT_TRUE(throws_error([&] { Tensor().add_(1.0); }, {"add_", "undefined"}));
}

TEST(Arithmetic, SavedTensorModifiedInPlaceIsCaughtAtBackward) {
  const Tensor x = tensor({1.0, 2.0}, kFloat64).requires_grad_();
  Tensor w = tensor({3.0, 4.0}, kFloat64);
  const Tensor y = sum(x * w);  // mul saves w for x's gradient
  w.mul_(2.0);
  EXPECT_TRUE(throws_error([&] { y.backward(); }, {"mul", "modified by an in-place operation"}));
}

}  // namespace
}  // namespace nabla::test
