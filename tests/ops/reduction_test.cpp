// Reductions, softmax and log-softmax: values against loops written here, keepdim both ways,
// negative dims, 0-d and empty inputs, ties, gradcheck, second derivatives and error messages.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <tuple>

#include "op_test_util.h"

namespace nabla::test {
namespace {

// Reference reduction of a contiguous row-major array over one dim: f folds a row of values.
std::vector<double> ref_reduce(const Tensor& x, std::int64_t dim, const std::function<double(const std::vector<double>&)>& f) {
  const auto v = x.to_vector<double>();
  const Shape& s = x.shape();
  std::int64_t outer = 1, inner = 1;
  for (std::int64_t d = 0; d < dim; ++d) outer *= s[d];
  for (std::int64_t d = dim + 1; d < x.dim(); ++d) inner *= s[d];
  const std::int64_t n = s[dim];
  std::vector<double> out;
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t i = 0; i < inner; ++i) {
      std::vector<double> row;
      for (std::int64_t k = 0; k < n; ++k) row.push_back(v[(o * n + k) * inner + i]);
      out.push_back(f(row));
    }
  return out;
}

double row_sum(const std::vector<double>& r) {
  double s = 0;
  for (double v : r) s += v;
  return s;
}
double row_max(const std::vector<double>& r) { return *std::max_element(r.begin(), r.end()); }
double row_min(const std::vector<double>& r) { return *std::min_element(r.begin(), r.end()); }
double row_lse(const std::vector<double>& r) {
  const double m = row_max(r);
  double s = 0;
  for (double v : r) s += std::exp(v - m);
  return m + std::log(s);
}

Shape reduced(Shape s, std::int64_t d, bool keepdim) {
  if (keepdim) s[d] = 1;
  else s.erase(s.begin() + d);
  return s;
}

TEST(Reduction, SumMeanMaxMinLogsumexpValuesPerDim) {
  manual_seed(21);
  for (DType dt : float_dtypes()) {
    const Shape shape{3, 4, 5};
    const Tensor x = uniform(shape, -2, 2, dt);
    const double tol = dt == kFloat32 ? 1e-5 : 1e-12;
    for (std::int64_t d = -3; d < 3; ++d)
      for (bool keepdim : {false, true}) {
        const std::int64_t pd = d < 0 ? d + 3 : d;
        const Shape out_shape = reduced(shape, pd, keepdim);
        const auto n = static_cast<double>(shape[pd]);
        struct Case {
          const char* name;
          Tensor got;
          std::vector<double> want;
        };
        const std::vector<Case> cases{
            {"sum", sum(x, d, keepdim), ref_reduce(x, pd, row_sum)},
            {"mean", mean(x, d, keepdim), ref_reduce(x, pd, [n](const auto& r) { return row_sum(r) / n; })},
            {"max", max(x, d, keepdim), ref_reduce(x, pd, row_max)},
            {"min", min(x, d, keepdim), ref_reduce(x, pd, row_min)},
            {"logsumexp", logsumexp(x, d, keepdim), ref_reduce(x, pd, row_lse)},
        };
        for (const auto& c : cases) {
          EXPECT_EQ(c.got.shape(), out_shape) << c.name << " dim " << d << " keepdim " << keepdim;
          EXPECT_EQ(c.got.dtype(), dt);
          EXPECT_TRUE(values_near(c.got, c.want, tol, tol)) << c.name << " dim " << d << " " << dtype_name(dt);
        }
      }
    EXPECT_NEAR(sum(x).item<double>(), row_sum(x.to_vector<double>()), dt == kFloat32 ? 1e-4 : 1e-12);
    EXPECT_NEAR(mean(x).item<double>(), row_sum(x.to_vector<double>()) / 60.0, dt == kFloat32 ? 1e-5 : 1e-14);
    EXPECT_EQ(max(x).item<double>(), row_max(x.to_vector<double>()));
    EXPECT_EQ(min(x).item<double>(), row_min(x.to_vector<double>()));
    EXPECT_EQ(sum(x).shape(), Shape{});
  }
}

TEST(Reduction, SumOverSeveralDims) {
  const Tensor x = arange(24.0, kFloat64).reshape({2, 3, 4});
  const Tensor s = sum(x, Shape{0, 2});
  EXPECT_EQ(s.shape(), Shape{3});
  // Row j sums x[i][j][k] over i and k.
  std::vector<double> want(3, 0.0);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) want[j] += i * 12 + j * 4 + k;
  EXPECT_TRUE(values_near(s, want, 0));
  EXPECT_EQ(sum(x, Shape{-1, 0}, true).shape(), (Shape{1, 3, 1}));
  EXPECT_TRUE(values_near(sum(x, Shape{-1, 0}, true), want, 0));
  EXPECT_TRUE(values_near(sum(x, Shape{0, 1, 2}), {276}, 0));
}

TEST(Reduction, ReductionsOfNonContiguousAndLargeInputs) {
  manual_seed(22);
  for (DType dt : float_dtypes()) {
    const Tensor x = noncontig_leaf({4, 6}, -1, 1, dt).detach();
    const Tensor xc = x.contiguous();
    EXPECT_TRUE(x.is_contiguous() == false && xc.is_contiguous());
    for (std::int64_t d : {0, 1}) {
      EXPECT_TRUE(values_near(sum(x, d), ref_reduce(xc, d, row_sum), 1e-6, 1e-6));
      EXPECT_TRUE(values_near(max(x, d), ref_reduce(xc, d, row_max), 0));
      EXPECT_TRUE(values_near(logsumexp(x, d), ref_reduce(xc, d, row_lse), 1e-6, 1e-6));
    }
    const Tensor big = uniform({513, 301}, -1, 1, dt);
    const double tol = dt == kFloat32 ? 1e-3 : 1e-9;
    EXPECT_TRUE(values_near(sum(big, 0), ref_reduce(big, 0, row_sum), tol, tol));
    EXPECT_TRUE(values_near(sum(big, 1), ref_reduce(big, 1, row_sum), tol, tol));
    EXPECT_NEAR(sum(big).item<double>(), row_sum(big.to_vector<double>()), dt == kFloat32 ? 0.05 : 1e-9);
  }
}

TEST(Reduction, ArgmaxArgminAndTies) {
  const Tensor x = tensor(std::vector<double>{1, 3, 3, 0, -1, -1}, {2, 3}, kFloat64);
  EXPECT_EQ(argmax(x, 1).to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 0}));  // first one on ties
  EXPECT_EQ(argmin(x, 1).to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 1}));
  EXPECT_EQ(argmax(x, 0).to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 0, 0}));
  EXPECT_EQ(argmax(x, -1, true).shape(), (Shape{2, 1}));
  EXPECT_EQ(argmax(x, 1).dtype(), kInt64);
  // The max gate over a dim routes the whole gradient to the returned index.
  Tensor y = x.detach().requires_grad_();
  sum(max(y, 1)).backward();
  EXPECT_EQ(y.grad().to_vector<double>(), (std::vector<double>{0, 1, 0, 1, 0, 0}));
  y.reset_grad();
  sum(min(y, 1, true)).backward();
  EXPECT_EQ(y.grad().to_vector<double>(), (std::vector<double>{1, 0, 0, 0, 1, 0}));
  // Over all elements the gradient is split evenly between the ties, as PyTorch.
  y.reset_grad();
  max(y).backward();
  EXPECT_EQ(y.grad().to_vector<double>(), (std::vector<double>{0, 0.5, 0.5, 0, 0, 0}));
  y.reset_grad();
  min(y).backward();
  EXPECT_EQ(y.grad().to_vector<double>(), (std::vector<double>{0, 0, 0, 0, 0.5, 0.5}));
}

TEST(Reduction, NaNWinsMaxAndMin) {
  const Tensor x = tensor({1.0, std::nan(""), 2.0}, kFloat64);
  EXPECT_TRUE(std::isnan(max(x).item<double>()));
  EXPECT_TRUE(std::isnan(min(x, 0).item<double>()));
  EXPECT_EQ(argmax(x, 0).item<std::int64_t>(), 1);
  EXPECT_EQ(argmin(x, 0).item<std::int64_t>(), 1);
  EXPECT_TRUE(std::isnan(sum(x).item<double>()));
}

TEST(Reduction, SoftmaxLargeOverEachDim) {
  manual_seed(27);
  for (DType dt : float_dtypes()) {
    const Tensor x = uniform({130, 70}, -5, 5, dt);
    for (std::int64_t d : {0, 1}) {
      const Tensor lse = logsumexp(x, d, true);
      const Tensor want = x.to(kFloat64) - lse.to(kFloat64);
      const double tol = dt == kFloat32 ? 1e-5 : 1e-12;
      EXPECT_TRUE(values_near(log_softmax(x, d), want.to_vector<double>(), tol, tol)) << d;
      EXPECT_TRUE(values_near(sum(softmax(x, d), d), std::vector<double>(d == 0 ? 70 : 130, 1.0), tol, tol)) << d;
      EXPECT_TRUE(values_near(max(x, d), ref_reduce(x, d, row_max), 0)) << d;
      EXPECT_TRUE(values_near(lse.squeeze(d), ref_reduce(x, d, row_lse), tol, tol)) << d;
    }
  }
}

TEST(Reduction, SoftmaxAndLogSoftmaxValues) {
  manual_seed(23);
  for (DType dt : float_dtypes()) {
    const Tensor x = uniform({3, 4}, -3, 3, dt);
    const auto v = x.to_vector<double>();
    for (std::int64_t d : {0, 1, -1, -2}) {
      const std::int64_t pd = d < 0 ? d + 2 : d;
      std::vector<double> want_sm(12), want_lsm(12);
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 4; ++j) {
          std::vector<double> row;
          if (pd == 1) for (int k = 0; k < 4; ++k) row.push_back(v[i * 4 + k]);
          else for (int k = 0; k < 3; ++k) row.push_back(v[k * 4 + j]);
          const double lse = row_lse(row);
          want_lsm[i * 4 + j] = v[i * 4 + j] - lse;
          want_sm[i * 4 + j] = std::exp(want_lsm[i * 4 + j]);
        }
      const double tol = dt == kFloat32 ? 1e-6 : 1e-14;
      EXPECT_TRUE(values_near(softmax(x, d), want_sm, tol, tol)) << d;
      EXPECT_TRUE(values_near(log_softmax(x, d), want_lsm, tol, tol)) << d;
      EXPECT_TRUE(values_near(sum(softmax(x, d), pd), std::vector<double>(pd == 1 ? 3 : 4, 1.0), tol, tol));
    }
  }
}

TEST(Reduction, StableForLargeMagnitudes) {
  for (DType dt : float_dtypes()) {
    const Tensor x = tensor(std::vector<double>{1000, 1000, -1000, 0}, {1, 4}, dt);
    EXPECT_TRUE(values_near(softmax(x, 1), {0.5, 0.5, 0, 0}, 1e-6, 1e-30));
    const auto lsm = log_softmax(x, 1).to_vector<double>();
    // x - lse(x) near 1000 is exact to the type's spacing there (float32: 6.1e-5).
    EXPECT_NEAR(lsm[0], -std::log(2.0), dt == kFloat32 ? 1e-4 : 1e-12);
    EXPECT_NEAR(lsm[2], -2000 - std::log(2.0), 1e-2);
    EXPECT_NEAR(logsumexp(x, 1).item<double>(), 1000 + std::log(2.0), 1e-3);
    // A row of -inf has logsumexp -inf (not nan); +inf gives +inf.
    EXPECT_EQ(logsumexp(tensor(std::vector<double>{-kInf, -kInf}, {2}, dt), 0).item<double>(), -kInf);
    EXPECT_EQ(logsumexp(tensor(std::vector<double>{kInf, 1}, {2}, dt), 0).item<double>(), kInf);
  }
}

TEST(Reduction, ZeroDimInputs) {
  const Tensor s = full({}, 1.5, kFloat64).requires_grad_();
  EXPECT_EQ(sum(s).item<double>(), 1.5);
  EXPECT_EQ(sum(s, 0).shape(), Shape{});
  EXPECT_EQ(sum(s, -1, true).item<double>(), 1.5);
  EXPECT_EQ(mean(s, 0).item<double>(), 1.5);
  EXPECT_EQ(max(s, 0).item<double>(), 1.5);
  EXPECT_EQ(min(s).item<double>(), 1.5);
  EXPECT_EQ(argmax(s, 0).item<std::int64_t>(), 0);
  EXPECT_EQ(logsumexp(s, 0).item<double>(), 1.5);
  EXPECT_EQ(softmax(s, 0).item<double>(), 1.0);
  EXPECT_EQ(log_softmax(s, 0).item<double>(), 0.0);
  EXPECT_EQ(softmax(s, 0).shape(), Shape{});
  for (auto f : std::vector<std::function<Tensor(const Tensor&)>>{
           [](const Tensor& t) { return sum(t); }, [](const Tensor& t) { return sum(t, 0); },
           [](const Tensor& t) { return mean(t, -1); }, [](const Tensor& t) { return max(t, 0, true); },
           [](const Tensor& t) { return max(t); }, [](const Tensor& t) { return logsumexp(t, 0); },
           [](const Tensor& t) { return softmax(t, 0) * t; }, [](const Tensor& t) { return log_softmax(t, 0) + t; }})
    EXPECT_TRUE(grad_ok([&f](const auto& in) { return f(in[0]); }, {leaf({})}));
}

TEST(Reduction, EmptyInputs) {
  const Tensor e = zeros({0, 3}, kFloat64).requires_grad_();
  EXPECT_EQ(sum(e).item<double>(), 0.0);
  EXPECT_TRUE(values_near(sum(e, 0), {0, 0, 0}, 0));
  EXPECT_EQ(sum(e, 1).shape(), Shape{0});
  EXPECT_EQ(max(e, 1).shape(), Shape{0});  // reducing a non-empty dim of an empty tensor
  EXPECT_EQ(softmax(e, 1).shape(), (Shape{0, 3}));
  EXPECT_EQ(log_softmax(e, 0).shape(), (Shape{0, 3}));
  EXPECT_EQ(mean(e, 1).shape(), Shape{0});
  sum(sum(e, 0)).backward();
  EXPECT_EQ(e.grad().shape(), (Shape{0, 3}));
  EXPECT_TRUE(values_near(logsumexp(e, 0), {-kInf, -kInf, -kInf}, 0));
}

// ---- gradients ----

TEST(Reduction, GradcheckEveryReductionEveryDimKeepdimBothWays) {
  manual_seed(24);
  const Shape shape{2, 3, 4};
  for (std::int64_t d = -3; d < 3; ++d)
    for (bool keepdim : {false, true}) {
      const std::vector<std::pair<const char*, std::function<Tensor(const Tensor&)>>> ops{
          {"sum", [&](const Tensor& t) { return sum(t, d, keepdim); }},
          {"mean", [&](const Tensor& t) { return mean(t, d, keepdim); }},
          {"max", [&](const Tensor& t) { return max(t, d, keepdim); }},
          {"min", [&](const Tensor& t) { return min(t, d, keepdim); }},
          {"logsumexp", [&](const Tensor& t) { return logsumexp(t, d, keepdim); }},
      };
      for (const auto& [name, op] : ops) {
        auto f = [&op](const std::vector<Tensor>& in) { return op(in[0]); };
        EXPECT_TRUE(grad_ok(f, {leaf(shape)})) << name << " dim " << d << " keepdim " << keepdim;
        EXPECT_TRUE(grad_ok(f, {noncontig_leaf(shape)})) << name << " non-contiguous dim " << d;
      }
    }
}

TEST(Reduction, GradcheckAllReduceSoftmaxAndSumTo) {
  manual_seed(25);
  for (const Shape& shape : {Shape{2, 3}, Shape{5}, Shape{2, 1, 3}}) {
    EXPECT_TRUE(grad_ok([](const auto& in) { return sum(in[0]); }, {leaf(shape)}));
    EXPECT_TRUE(grad_ok([](const auto& in) { return mean(in[0]); }, {leaf(shape)}));
    EXPECT_TRUE(grad_ok([](const auto& in) { return max(in[0]); }, {leaf(shape)}));
    EXPECT_TRUE(grad_ok([](const auto& in) { return min(in[0]); }, {noncontig_leaf(shape)}));
  }
  for (std::int64_t d : {0, 1, 2, -1, -3}) {
    EXPECT_TRUE(grad_ok([d](const auto& in) { return softmax(in[0], d); }, {leaf({2, 3, 2}, -2, 2)})) << d;
    EXPECT_TRUE(grad_ok([d](const auto& in) { return log_softmax(in[0], d); }, {noncontig_leaf({2, 3, 2}, -2, 2)}))
        << d;
  }
  EXPECT_TRUE(grad_ok([](const auto& in) { return sum(in[0], Shape{0, 2}, true); }, {leaf({2, 3, 2})}));
  EXPECT_TRUE(grad_ok([](const auto& in) { return sum(in[0], Shape{-1, 0}); }, {noncontig_leaf({2, 3, 2})}));
  EXPECT_TRUE(grad_ok([](const auto& in) { return sum_to(in[0], {3, 1}); }, {leaf({2, 3, 4})}));
  EXPECT_TRUE(grad_ok([](const auto& in) { return sum_to(in[0], {}); }, {leaf({2, 3})}));
}

TEST(Reduction, SumToValues) {
  const Tensor x = arange(6.0, kFloat64).reshape({2, 3});
  EXPECT_TRUE(values_near(sum_to(x, {3}), {3, 5, 7}, 0));
  EXPECT_TRUE(values_near(sum_to(x, {2, 1}), {3, 12}, 0));
  EXPECT_EQ(sum_to(x, {2, 1}).shape(), (Shape{2, 1}));
  EXPECT_TRUE(values_near(sum_to(x, {}), {15}, 0));
  EXPECT_TRUE(values_near(sum_to(x, {1, 1}), {15}, 0));
  EXPECT_TRUE(throws_error([&] { sum_to(x, {4}); }, {"sum_to", "[2, 3]", "[4]"}));
  EXPECT_TRUE(throws_error([&] { sum_to(x, {1, 2, 3}); }, {"sum_to", "[2, 3]", "[1, 2, 3]"}));
}

TEST(Reduction, GradgradcheckRepresentative) {
  manual_seed(26);
  const Tensor x = leaf({2, 3}, -2, 2);
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return sum(in[0] * in[0]); }, {x}));
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return sum(in[0] * in[0], 1, true); }, {x}));
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return mean(exp(in[0]), 0); }, {x}));
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return mean(in[0] * in[0]); }, {x}));
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return logsumexp(in[0], 1); }, {x}));
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return logsumexp(in[0], 0, true); }, {noncontig_leaf({2, 3}, -2, 2)}));
  for (std::int64_t d : {0, -1}) {
    EXPECT_TRUE(gradgrad_ok([d](const auto& in) { return softmax(in[0], d); }, {x})) << d;
    EXPECT_TRUE(gradgrad_ok([d](const auto& in) { return log_softmax(in[0], d); }, {x})) << d;
  }
}

// ---- errors ----

TEST(Reduction, OutOfRangeDimsNameTheOp) {
  const Tensor x = zeros({2, 3});
  EXPECT_TRUE(throws_error([&] { sum(x, 2); }, {"sum: dim 2 is out of range for a tensor of 2 dimensions"}));
  EXPECT_TRUE(throws_error([&] { sum(x, -3); }, {"sum: dim -3"}));
  EXPECT_TRUE(throws_error([&] { sum(x, Shape{0, 5}); }, {"sum", "dim 5"}));
  EXPECT_TRUE(throws_error([&] { sum(x, Shape{1, -1}); }, {"sum", "twice"}));
  EXPECT_TRUE(throws_error([&] { mean(x, 2); }, {"mean", "dim 2"}));
  EXPECT_TRUE(throws_error([&] { max(x, 2); }, {"max", "dim 2"}));
  EXPECT_TRUE(throws_error([&] { min(x, -3); }, {"min", "dim -3"}));
  EXPECT_TRUE(throws_error([&] { argmax(x, 2); }, {"argmax", "dim 2"}));
  EXPECT_TRUE(throws_error([&] { logsumexp(x, 2); }, {"logsumexp", "dim 2"}));
  EXPECT_TRUE(throws_error([&] { softmax(x, 2); }, {"softmax", "dim 2"}));
  EXPECT_TRUE(throws_error([&] { log_softmax(x, -3); }, {"log_softmax", "dim -3"}));
  EXPECT_TRUE(throws_error([&] { sum(full({}, 1.0), 1); }, {"sum", "dim 1"}));
}

TEST(Reduction, EmptyReductionsWithoutIdentityAreRejected) {
  const Tensor e = zeros({0, 3});
  EXPECT_TRUE(throws_error([&] { mean(e); }, {"mean", "empty", "[0, 3]"}));
  EXPECT_TRUE(throws_error([&] { mean(e, 0); }, {"mean", "[0, 3]"}));
  EXPECT_TRUE(throws_error([&] { max(e); }, {"max", "empty"}));
  EXPECT_TRUE(throws_error([&] { min(e, 0); }, {"min", "[0, 3]"}));
  EXPECT_TRUE(throws_error([&] { argmax(e, 0); }, {"argmax", "[0, 3]"}));
}

TEST(Reduction, Int64AndUndefinedInputsAreRejected) {
  const Tensor i = tensor(std::vector<std::int64_t>{1, 2}, {2});
  const std::vector<std::pair<const char*, std::function<void(const Tensor&)>>> ops{
      {"sum", [](const Tensor& t) { sum(t); }},           {"sum", [](const Tensor& t) { sum(t, 0); }},
      {"mean", [](const Tensor& t) { mean(t); }},         {"max", [](const Tensor& t) { max(t); }},
      {"min", [](const Tensor& t) { min(t, 0); }},        {"argmax", [](const Tensor& t) { argmax(t, 0); }},
      {"logsumexp", [](const Tensor& t) { logsumexp(t, 0); }}, {"softmax", [](const Tensor& t) { softmax(t, 0); }},
      {"log_softmax", [](const Tensor& t) { log_softmax(t, 0); }},
  };
  for (const auto& [name, op] : ops) {
    EXPECT_TRUE(throws_error([&] { op(i); }, {std::string(name) + ": expected a float32 or float64 tensor, got int64"}))
        << name;
    EXPECT_TRUE(throws_error([&] { op(Tensor()); }, {std::string(name), "undefined"})) << name;
  }
}

}  // namespace
}  // namespace nabla::test

namespace nabla::test {
namespace {

double row_var(const std::vector<double>& r, double correction) {
  double m = 0;
  for (double v : r) m += v;
  m /= static_cast<double>(r.size());
  double s = 0;
  for (double v : r) s += (v - m) * (v - m);
  return s / std::max(0.0, static_cast<double>(r.size()) - correction);
}

double row_norm(const std::vector<double>& r, double p) {
  double s = 0;
  for (double v : r) s = std::isinf(p) ? std::max(s, std::fabs(v)) : s + std::pow(std::fabs(v), p);
  return std::isinf(p) ? s : std::pow(s, 1.0 / p);
}

TEST(Reduction, VarStdNormCumsumValuesPerDim) {
  manual_seed(40);
  for (DType dt : float_dtypes()) {
    const Tensor x = uniform({3, 4, 5}, -2, 2, dt);
    const double tol = dt == kFloat32 ? 1e-5 : 1e-13;
    for (std::int64_t d = 0; d < 3; ++d)
      for (bool keepdim : {false, true}) {
        for (double correction : {0.0, 1.0, 2.5}) {
          const Tensor v = var(x, d, correction, keepdim);
          EXPECT_EQ(v.shape(), reduced(x.shape(), d, keepdim));
          EXPECT_TRUE(values_near(v, ref_reduce(x, d, [&](const auto& r) { return row_var(r, correction); }), tol));
          EXPECT_TRUE(values_near(std(x, d, correction, keepdim),
                                  ref_reduce(x, d, [&](const auto& r) { return std::sqrt(row_var(r, correction)); }), tol));
        }
        for (double p : {1.0, 2.0, 3.0, 0.5, kInf}) {
          const Tensor n = norm(x, p, d, keepdim);
          EXPECT_EQ(n.shape(), reduced(x.shape(), d, keepdim));
          EXPECT_TRUE(values_near(n, ref_reduce(x, d, [&](const auto& r) { return row_norm(r, p); }), tol)) << p;
        }
      }
    const auto all = x.to_vector<double>();
    EXPECT_NEAR(var(x).item<double>(), row_var(all, 1.0), tol);
    EXPECT_NEAR(std(x).item<double>(), std::sqrt(row_var(all, 1.0)), tol);
    EXPECT_NEAR(var(x.flatten(), 0, 0.0).item<double>(), row_var(all, 0.0), tol);
    EXPECT_NEAR(norm(x).item<double>(), row_norm(all, 2.0), tol);
    EXPECT_NEAR(norm(x.transpose(0, 2), kInf).item<double>(), row_norm(all, kInf), 0);
    // cumsum: running sums along each dim, also of a non-contiguous view.
    const Tensor c = cumsum(x.transpose(0, 1), 1);
    const Tensor xt = x.transpose(0, 1).contiguous();
    const auto xv = xt.to_vector<double>(), cv = c.to_vector<double>();
    for (std::int64_t a = 0; a < 4; ++a)
      for (std::int64_t b = 0; b < 5; ++b) {
        double total = 0;
        for (std::int64_t k = 0; k < 3; ++k) {
          total += xv[static_cast<std::size_t>((a * 3 + k) * 5 + b)];
          EXPECT_NEAR(cv[static_cast<std::size_t>((a * 3 + k) * 5 + b)], total, tol);
        }
      }
  }
  // 0-d inputs: dim 0 or -1; the variance of one value with correction 1 is 0 / 0.
  const Tensor s = tensor(std::vector<double>{-3.0}, {}, kFloat64);
  EXPECT_EQ(cumsum(s, -1).item<double>(), -3.0);
  EXPECT_EQ(norm(s, 2.0, 0).item<double>(), 3.0);
  EXPECT_TRUE(std::isnan(var(s).item<double>()));
  EXPECT_EQ(var(s, 0, 0.0).item<double>(), 0.0);
}

TEST(Reduction, VarStdNormCumsumGradients) {
  manual_seed(41);
  for (std::int64_t d : {0, 1, -1})
    for (bool keepdim : {false, true}) {
      EXPECT_TRUE(grad_ok([&](const auto& in) { return var(in[0], d, 1.0, keepdim); }, {leaf({3, 4})})) << d;
      EXPECT_TRUE(grad_ok([&](const auto& in) { return std(in[0], d, 0.0, keepdim); }, {noncontig_leaf({3, 4})})) << d;
      for (double p : {1.0, 2.0, 3.0, 1.5, kInf})
        EXPECT_TRUE(grad_ok([&](const auto& in) { return norm(in[0], p, d, keepdim); }, {leaf({3, 4})})) << p;
    }
  EXPECT_TRUE(grad_ok([](const auto& in) { return cumsum(in[0], 1); }, {leaf({2, 3, 2})}));
  EXPECT_TRUE(grad_ok([](const auto& in) { return cumsum(in[0], -3); }, {noncontig_leaf({2, 3, 2})}));
  EXPECT_TRUE(grad_ok([](const auto& in) { return var(in[0]) + std(in[0]) + norm(in[0], 3.0); }, {leaf({2, 3})}));
  // Second derivatives: var and std are composed of ops, norm's and cumsum's backward too.
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return var(in[0], 1); }, {leaf({2, 3})}));
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return std(in[0], 0, 0.0); }, {leaf({2, 3})}));
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return norm(in[0], 2.0, 1); }, {leaf({2, 3})}));
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return norm(in[0], 3.0); }, {leaf({2, 3})}));
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return cumsum(in[0] * in[0], 0); }, {leaf({3, 2})}));
}

TEST(Reduction, NormAndStdAtZeroAndTies) {
  // A zero norm has gradient 0 (PyTorch's convention), for every p.
  for (double p : {0.5, 1.0, 2.0, 3.0, kInf}) {
    Tensor z = zeros({2, 2}, kFloat64).requires_grad_();
    norm(z, p).backward();
    EXPECT_EQ(z.grad().to_vector<double>(), (std::vector<double>{0, 0, 0, 0})) << p;
  }
  // inf-norm: the gradient is shared by the elements of largest |x|, with their signs.
  Tensor t = tensor({3.0, -3.0, 1.0, 2.0}, kFloat64).requires_grad_();
  norm(t, kInf).backward();
  EXPECT_EQ(t.grad().to_vector<double>(), (std::vector<double>{0.5, -0.5, 0, 0}));
  // 2-norm: x / |x|.
  Tensor u = tensor({3.0, -4.0}, kFloat64).requires_grad_();
  norm(u).backward();
  EXPECT_TRUE(values_near(u.grad(), {0.6, -0.8}, 1e-15));
  // std of a constant row: 0, with gradient 0 (as PyTorch 1.13's).
  Tensor c = full({3}, 2.0, kFloat64).requires_grad_();
  const Tensor sd = std(c);
  EXPECT_EQ(sd.item<double>(), 0.0);
  sd.backward();
  EXPECT_EQ(c.grad().to_vector<double>(), (std::vector<double>{0, 0, 0}));
  // p < 1: |x|^(p-1) is inf at a zero entry; its gradient is 0 there and the others stay finite.
  Tensor h = tensor({0.3, -1.2, 0.0, 1.7}, kFloat64).requires_grad_();
  norm(h, 0.5).backward();
  const auto hg = h.grad().to_vector<double>();
  EXPECT_EQ(hg[2], 0.0);
  for (double v : hg) EXPECT_TRUE(std::isfinite(v));
  Tensor hz = zeros({3}, kFloat64).requires_grad_();
  norm(hz, 0.5).backward();
  EXPECT_EQ(hz.grad().to_vector<double>(), (std::vector<double>{0, 0, 0}));
  // Variance of large, nearly equal values: two passes keep it exact where one pass would cancel.
  const Tensor big = tensor({1e9 + 1.0, 1e9 + 2.0, 1e9 + 3.0}, kFloat64);
  EXPECT_EQ(var(big).item<double>(), 1.0);
  // Empty dims: var is NaN (0 / 0), the 2-norm 0, the inf-norm refused.
  const Tensor e = zeros({0, 3}, kFloat64);
  EXPECT_TRUE(std::isnan(var(e, 0).to_vector<double>()[0]));
  EXPECT_EQ(norm(e, 2.0, 0).to_vector<double>(), (std::vector<double>{0, 0, 0}));
  EXPECT_TRUE(throws_error([&] { norm(e, kInf, 0); }, {"norm", "inf", "[0, 3]"}));
  EXPECT_EQ(cumsum(e, 0).shape(), (Shape{0, 3}));
}

// Reference reduction of a contiguous row-major array over a dim list: each output element (kept
// dims in row-major order) folds the elements that share its kept coordinates, in row-major order.
std::vector<double> ref_reduce_dims(const Tensor& x, const Shape& dims, const std::function<double(const std::vector<double>&)>& f) {
  const auto v = x.to_vector<double>();
  const Shape& s = x.shape();
  auto reduced_dim = [&](std::int64_t d) { return std::find(dims.begin(), dims.end(), d) != dims.end(); };
  std::map<std::int64_t, std::vector<double>> rows;  // key: the kept coordinates, row-major
  for (std::int64_t flat = 0; flat < x.numel(); ++flat) {
    std::int64_t rest = flat, key = 0, scale = 1;
    for (std::int64_t d = x.dim() - 1; d >= 0; --d) {
      const std::int64_t c = rest % s[d];
      rest /= s[d];
      if (!reduced_dim(d)) {
        key += c * scale;
        scale *= s[d];
      }
    }
    rows[key].push_back(v[static_cast<std::size_t>(flat)]);
  }
  std::vector<double> out;
  for (const auto& [key, row] : rows) out.push_back(f(row));
  return out;
}

Shape reduced_dims(Shape s, const Shape& dims, bool keepdim) {
  Shape out;
  for (std::int64_t d = 0; d < static_cast<std::int64_t>(s.size()); ++d) {
    const bool r = std::find(dims.begin(), dims.end(), d) != dims.end();
    if (!r) out.push_back(s[d]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

TEST(Reduction, OverDimListsValues) {
  manual_seed(42);
  for (DType dt : float_dtypes()) {
    const Tensor x = uniform({3, 4, 5}, -2, 2, dt);
    const double tol = dt == kFloat32 ? 1e-5 : 1e-13;
    // Each list as given and as wrapped (for the reference): unsorted, negative, one dim, all dims.
    const std::vector<std::pair<Shape, Shape>> lists{{{2, 0}, {0, 2}}, {{-1, 1}, {1, 2}}, {{1}, {1}}, {{0, 1, 2}, {0, 1, 2}}};
    for (const auto& [given, dims] : lists)
      for (bool keepdim : {false, true}) {
        const Shape out_shape = reduced_dims(x.shape(), dims, keepdim);
        const double n = static_cast<double>(ref_reduce_dims(x, dims, [](const auto& r) { return double(r.size()); })[0]);
        const std::vector<std::tuple<std::string, Tensor, std::vector<double>>> cases{
            {"mean", mean(x, given, keepdim), ref_reduce_dims(x, dims, [n](const auto& r) { return row_sum(r) / n; })},
            {"amax", amax(x, given, keepdim), ref_reduce_dims(x, dims, row_max)},
            {"amin", amin(x, given, keepdim), ref_reduce_dims(x, dims, row_min)},
            {"var", var(x, given, 1.0, keepdim), ref_reduce_dims(x, dims, [](const auto& r) { return row_var(r, 1.0); })},
            {"var c0", var(x, given, 0.0, keepdim), ref_reduce_dims(x, dims, [](const auto& r) { return row_var(r, 0.0); })},
            {"std", std(x, given, 2.5, keepdim), ref_reduce_dims(x, dims, [](const auto& r) { return std::sqrt(row_var(r, 2.5)); })},
            {"norm 2", norm(x, 2.0, given, keepdim), ref_reduce_dims(x, dims, [](const auto& r) { return row_norm(r, 2.0); })},
            {"norm 1.5", norm(x, 1.5, given, keepdim), ref_reduce_dims(x, dims, [](const auto& r) { return row_norm(r, 1.5); })},
            {"norm inf", norm(x, kInf, given, keepdim), ref_reduce_dims(x, dims, [](const auto& r) { return row_norm(r, kInf); })},
        };
        for (const auto& [name, got, want] : cases) {
          EXPECT_EQ(got.shape(), out_shape) << name << " " << shape_to_string(given) << " keepdim " << keepdim;
          EXPECT_EQ(got.dtype(), dt) << name;
          EXPECT_TRUE(values_near(got, want, tol)) << name << " " << shape_to_string(given) << " keepdim " << keepdim;
        }
      }
    // A non-contiguous input, and the one-dim overloads agree with one-element lists.
    const Tensor xt = x.transpose(0, 2);
    EXPECT_TRUE(values_near(var(xt, Shape{0, 1}), ref_reduce_dims(xt.contiguous(), {0, 1}, [](const auto& r) { return row_var(r, 1.0); }), tol));
    EXPECT_TRUE(values_near(mean(x, Shape{1}, true), mean(x, 1, true).to_vector<double>(), 0));
    EXPECT_TRUE(values_near(norm(x, 3.0, Shape{-1}), norm(x, 3.0, -1).to_vector<double>(), 0));
  }
  // A 0-d tensor reduces over dim 0 (or -1) like its one-dim overloads.
  const Tensor s = tensor(std::vector<double>{-3.0}, {}, kFloat64);
  EXPECT_EQ(amax(s, Shape{0}).item<double>(), -3.0);
  EXPECT_EQ(mean(s, Shape{-1}).item<double>(), -3.0);
  EXPECT_EQ(var(s, Shape{0}, 0.0).item<double>(), 0.0);
}

TEST(Reduction, OverDimListsGradients) {
  manual_seed(43);
  for (const Shape& dims : {Shape{0, 2}, Shape{-1, 0}, Shape{1}})
    for (bool keepdim : {false, true}) {
      const std::string where = shape_to_string(dims) + (keepdim ? " keepdim" : "");
      EXPECT_TRUE(grad_ok([&](const auto& in) { return mean(in[0], dims, keepdim); }, {leaf({2, 3, 4})})) << where;
      EXPECT_TRUE(grad_ok([&](const auto& in) { return var(in[0], dims, 1.0, keepdim); }, {noncontig_leaf({2, 3, 4})})) << where;
      EXPECT_TRUE(grad_ok([&](const auto& in) { return std(in[0], dims, 0.0, keepdim); }, {leaf({2, 3, 4})})) << where;
      EXPECT_TRUE(grad_ok([&](const auto& in) { return amax(in[0], dims, keepdim); }, {leaf({2, 3, 4})})) << where;
      EXPECT_TRUE(grad_ok([&](const auto& in) { return amin(in[0], dims, keepdim); }, {noncontig_leaf({2, 3, 4})})) << where;
      for (double p : {1.0, 2.0, 3.0, kInf})
        EXPECT_TRUE(grad_ok([&](const auto& in) { return norm(in[0], p, dims, keepdim); }, {leaf({2, 3, 4})})) << where << " p " << p;
    }
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return var(in[0], Shape{0, 1}); }, {leaf({2, 3})}));
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return std(in[0], Shape{1, 2}, 0.0, true); }, {leaf({2, 2, 3})}));
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return norm(in[0], 3.0, Shape{0, 1}); }, {leaf({2, 3})}));
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return mean(in[0] * in[0], Shape{0, 1}); }, {leaf({2, 3})}));
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return amax(in[0] * in[0], Shape{1}); }, {leaf({2, 3})}));
}

TEST(Reduction, AmaxSharesTiesWhereMaxPicksOne) {
  // amax, as torch.amax, splits the gradient between equal extremes; max over a dim routes it all
  // to the arg-max (the max gate), as torch.max(x, dim).
  Tensor x = tensor({3.0, 1.0, 3.0, 2.0, -1.0, -1.0}, kFloat64).reshape({3, 2}).requires_grad_();
  amax(x, Shape{0, 1}).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0.5, 0, 0.5, 0, 0, 0}));
  Tensor y = tensor({3.0, 3.0, 1.0, 2.0}, kFloat64).reshape({2, 2}).requires_grad_();
  sum(amin(y, Shape{1})).backward();  // row 0: a tie of 3s; row 1: 1 alone
  EXPECT_EQ(y.grad().to_vector<double>(), (std::vector<double>{0.5, 0.5, 1, 0}));
  Tensor z = tensor({3.0, 3.0}, kFloat64).requires_grad_();
  max(z, 0).backward();
  EXPECT_EQ(z.grad().to_vector<double>(), (std::vector<double>{1, 0}));
}

TEST(Reduction, Float32VarianceIsSummedInDouble) {
  // 1000 values of ±1e18: each square (1e36) fits float32, their sum (1e39) does not; PyTorch sums
  // in double and gets 1e39 / 999. Summed in float32 this was inf.
  std::vector<float> alternating(1000);
  for (std::size_t i = 0; i < alternating.size(); ++i) alternating[i] = i % 2 == 0 ? 1e18f : -1e18f;
  const Tensor a = tensor(alternating, {1000});
  const double expected = 1000.0 * 1e36 / 999.0;
  EXPECT_NEAR(var(a).item<double>() / expected, 1.0, 1e-6);
  EXPECT_NEAR(var(a.reshape({10, 100}), Shape{0, 1}).item<double>() / expected, 1.0, 1e-6);
  // A variance beyond float32 is inf, but its square root is not: std takes it in double too.
  const Tensor b = tensor(std::vector<float>{1e20f, -1e20f, 3e19f}, {3});
  EXPECT_TRUE(std::isinf(var(b).item<double>()));
  const double mb = (1e20 - 1e20 + 3e19) / 3.0;
  const double vb = ((1e20 - mb) * (1e20 - mb) + (-1e20 - mb) * (-1e20 - mb) + (3e19 - mb) * (3e19 - mb)) / 2.0;
  EXPECT_NEAR(std(b).item<double>() / std::sqrt(vb), 1.0, 1e-6);
  // The gradient of such a std is finite as well: (x - mean) / (2 std).
  Tensor bg = b.clone().requires_grad_();
  std(bg).backward();
  const auto g = bg.grad().to_vector<double>();
  EXPECT_NEAR(g[0], (1e20 - mb) / (2.0 * std::sqrt(vb)), 1e-6);
  EXPECT_EQ(bg.grad().dtype(), kFloat32);
}

TEST(Reduction, BracedDimListsAreListsNotDimZero) {
  // {} and {d} would convert to the single dim 0 and d without the initializer_list overloads.
  const Tensor x = tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, kFloat64).reshape({2, 3});
  EXPECT_EQ(sum(x, {}).to_vector<double>(), x.to_vector<double>());  // sums nothing (as NumPy)
  EXPECT_EQ(sum(x, {}).shape(), x.shape());
  EXPECT_TRUE(throws_error([&] { mean(x, {}); }, {"mean", "dim list is empty"}));
  EXPECT_TRUE(throws_error([&] { var(x, {}); }, {"var", "dim list is empty"}));
  EXPECT_TRUE(throws_error([&] { std(x, {}, 0.0); }, {"std", "dim list is empty"}));
  EXPECT_TRUE(throws_error([&] { norm(x, 2.0, {}); }, {"norm", "dim list is empty"}));
  EXPECT_EQ(mean(x, {1}).to_vector<double>(), mean(x, 1).to_vector<double>());
  EXPECT_EQ(sum(x, {0, 1}, true).shape(), (Shape{1, 1}));
  EXPECT_EQ(var(x, {0, 1}, 0.0).item<double>(), 35.0 / 12.0);
  EXPECT_EQ(var(x, 1, 0.0).shape(), Shape{2});  // a plain integer is still one dim
}

TEST(Reduction, Float32StdGradientWhereFloat32SumsOverflow) {
  // std · (N - correction) beyond float32: the gradient (x - mean) / ((N - c) std) stays finite.
  const Tensor a = tensor(std::vector<float>{1e38f, -1e38f, 1e38f, -1e38f}, {4}).requires_grad_();
  std(a, 0).backward();
  const double s = std::sqrt(4e76 / 3.0);
  for (double g : a.grad().to_vector<double>()) EXPECT_NEAR(std::fabs(g), 1e38 / (3.0 * s), 1e-6);
  // A sum beyond float32 (8e38) in the backward's mean: the mean is taken in double.
  const Tensor b = tensor(std::vector<float>{3e38f, 3e38f, 2e38f}, {3}).requires_grad_();
  const Tensor sb = std(b);
  sb.backward();
  const double mb = 8e38 / 3.0, vb = (2 * (3e38 - mb) * (3e38 - mb) + (2e38 - mb) * (2e38 - mb)) / 2.0;
  EXPECT_NEAR(sb.item<double>() / std::sqrt(vb), 1.0, 1e-6);
  const auto gb = b.grad().to_vector<double>();
  EXPECT_NEAR(gb[0], (3e38 - mb) / (2.0 * std::sqrt(vb)), 1e-6);
  EXPECT_NEAR(gb[2], (2e38 - mb) / (2.0 * std::sqrt(vb)), 1e-6);
  // The deviation 1e38 - (-3e38) itself overflows float32: the backward works in double throughout.
  const Tensor d = tensor(std::vector<float>{3e38f, 3e38f, -3e38f, 1e38f}, {4}).requires_grad_();
  const Tensor sd = std(d);
  sd.backward();
  const double md = 4e38 / 4.0, sdd = std::sqrt((2 * (3e38 - md) * (3e38 - md) + (-3e38 - md) * (-3e38 - md) + (1e38 - md) * (1e38 - md)) / 3.0);
  const auto gd = d.grad().to_vector<double>();
  for (std::size_t i = 0; i < 4; ++i) {
    const double xi = std::vector<double>{3e38, 3e38, -3e38, 1e38}[i];
    EXPECT_NEAR(gd[i], (xi - md) / (3.0 * sdd), 1e-6) << i;
  }
  Tensor c = tensor(std::vector<float>{3e38f, 3e38f, 3e38f}, {3}).requires_grad_();
  const Tensor vc = var(c);
  EXPECT_EQ(vc.item<double>(), 0.0);
  vc.backward();
  EXPECT_EQ(c.grad().to_vector<double>(), (std::vector<double>{0, 0, 0}));
}

double row_prod(const std::vector<double>& r) {
  double p = 1;
  for (double v : r) p *= v;
  return p;
}

TEST(Reduction, ProdAndCumprodValues) {
  manual_seed(44);
  for (DType dt : float_dtypes()) {
    const Tensor x = uniform({3, 4, 2}, 0.5, 1.5, dt);
    const double tol = dt == kFloat32 ? 1e-6 : 1e-14;
    for (std::int64_t d = 0; d < 3; ++d) {
      for (bool keepdim : {false, true}) {
        const Tensor p = prod(x, d, keepdim);
        EXPECT_EQ(p.shape(), reduced(x.shape(), d, keepdim));
        EXPECT_TRUE(values_near(p, ref_reduce(x, d, row_prod), tol)) << d;
      }
      // cumprod: the running product along d (checked through its last entry and by division).
      const Tensor c = cumprod(x, d);
      EXPECT_EQ(c.shape(), x.shape());
      EXPECT_TRUE(values_near(c.narrow(d, x.shape()[d] - 1, 1).squeeze(d), ref_reduce(x, d, row_prod), tol));
      EXPECT_TRUE(values_near(c.narrow(d, 0, 1), x.narrow(d, 0, 1).to_vector<double>(), 0));
      const std::int64_t n = x.shape()[d];
      EXPECT_TRUE(values_near(c.narrow(d, 1, n - 1) / c.narrow(d, 0, n - 1), x.narrow(d, 1, n - 1).to_vector<double>(), tol));
    }
    EXPECT_NEAR(prod(x).item<double>(), row_prod(x.to_vector<double>()), tol);
    EXPECT_TRUE(values_near(cumprod(x.transpose(0, 2), 2), cumprod(x.transpose(0, 2).contiguous(), 2).to_vector<double>(), 0));
  }
  // Zeros, empty tensors and dims, 0-d.
  const Tensor z = tensor({2.0, 0.0, 3.0, -1.0}, kFloat64);
  EXPECT_EQ(cumprod(z, 0).to_vector<double>(), (std::vector<double>{2, 0, 0, -0.0}));
  EXPECT_EQ(prod(zeros({0}, kFloat64)).item<double>(), 1.0);
  EXPECT_EQ(prod(zeros({2, 0}, kFloat64), 1).to_vector<double>(), (std::vector<double>{1, 1}));
  EXPECT_EQ(prod(zeros({2, 0}, kFloat64), 1, true).shape(), (Shape{2, 1}));
  {  // the empty product stays in the graph: backward works and gives the (empty) input no gradient
    Tensor e = zeros({0, 3}, kFloat64).requires_grad_();
    const Tensor pe = prod(e, 0);
    EXPECT_EQ(pe.to_vector<double>(), (std::vector<double>{1, 1, 1}));
    ASSERT_TRUE(pe.requires_grad());
    sum(pe).backward();
    EXPECT_EQ(e.grad().shape(), (Shape{0, 3}));
  }
  EXPECT_EQ(cumprod(zeros({0, 3}, kFloat64), 0).shape(), (Shape{0, 3}));
  const Tensor s = tensor(std::vector<double>{-3.0}, {}, kFloat64);
  EXPECT_EQ(prod(s).item<double>(), -3.0);
  EXPECT_EQ(cumprod(s, -1).item<double>(), -3.0);
  // float32 is multiplied in double: a running product that passes below float32's range and back.
  const Tensor tiny = tensor(std::vector<float>{1e-30f, 1e-30f, 1e30f, 1e30f}, {4});
  EXPECT_NEAR(prod(tiny).item<double>(), 1.0, 1e-6);
}

TEST(Reduction, ProdAndCumprodGradientsAreExactAtZeros) {
  // prod: the product of the others, also where there are zeros (one zero: only it; two: none).
  auto prod_grad = [](std::vector<double> v) {
    Tensor t = tensor(v, {static_cast<std::int64_t>(v.size())}, kFloat64).requires_grad_();
    prod(t).backward();
    return t.grad().to_vector<double>();
  };
  EXPECT_EQ(prod_grad({2, 3, 4}), (std::vector<double>{12, 8, 6}));
  EXPECT_EQ(prod_grad({2, 0, 4}), (std::vector<double>{0, 8, 0}));
  EXPECT_EQ(prod_grad({0, 3, 0}), (std::vector<double>{0, 0, 0}));
  // cumprod with a zero: d/dx[j] of sum(cumprod) = Σ_{i>=j} Π_{k<=i, k != j} x[k].
  Tensor c = tensor({2.0, 0.0, 3.0, 5.0}, kFloat64).requires_grad_();
  sum(cumprod(c, 0)).backward();
  EXPECT_EQ(c.grad().to_vector<double>(), (std::vector<double>{1, 2 + 2 * 3 + 2 * 3 * 5, 0, 0}));
  manual_seed(45);
  EXPECT_TRUE(grad_ok([](const auto& in) { return cumprod(in[0], 1); }, {leaf({2, 4, 2})}));
  EXPECT_TRUE(grad_ok([](const auto& in) { return cumprod(in[0], 0); }, {noncontig_leaf({3, 2})}));
  for (bool keepdim : {false, true})
    EXPECT_TRUE(grad_ok([keepdim](const auto& in) { return prod(in[0], -1, keepdim); }, {leaf({3, 4})}));
  EXPECT_TRUE(grad_ok([](const auto& in) { return prod(in[0]); }, {leaf({2, 3})}));
  // Gradcheck where entries are exactly 0 (prod and cumprod are polynomials, smooth there).
  const Tensor zs = tensor({0.5, 0.0, -1.5, 0.0, 2.0, 0.7}, kFloat64).reshape({2, 3}).requires_grad_();
  EXPECT_TRUE(grad_ok([](const auto& in) { return prod(in[0], 1); }, {zs}));
  EXPECT_TRUE(grad_ok([](const auto& in) { return cumprod(in[0], 0); }, {zs}));
  EXPECT_TRUE(grad_ok([](const auto& in) { return prod(in[0]); }, {zs}));
  // Second (and third) order: the scans' backward is made of the scans.
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return cumprod(in[0], 1); }, {leaf({2, 3})}));
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return prod(in[0], 0); }, {zs}));
  Tensor w = tensor({2.0, 0.0, 3.0}, kFloat64).requires_grad_();
  const auto g1 = autograd::grad({prod(w)}, {w}, {}, true, true);         // [0, 6, 0]
  const auto g2 = autograd::grad({g1[1 - 1].select(0, 1)}, {w}, {}, true, true);  // d(x0 x2): [3, 0, 2]
  EXPECT_EQ(g1[0].to_vector<double>(), (std::vector<double>{0, 6, 0}));
  EXPECT_EQ(g2[0].to_vector<double>(), (std::vector<double>{3, 0, 2}));
  EXPECT_EQ(autograd::grad({g2[0].select(0, 0)}, {w})[0].to_vector<double>(), (std::vector<double>{0, 0, 1}));
}

TEST(Reduction, DimListErrorsNameTheOpAndTheDims) {
  const Tensor x = zeros({2, 3}, kFloat64);
  for (const char* op : {"mean", "var", "std", "norm", "amax", "amin"}) {
    auto call = [&](const Shape& dims) {
      const std::string o = op;
      if (o == "mean") return mean(x, dims);
      if (o == "var") return var(x, dims);
      if (o == "std") return std(x, dims);
      if (o == "norm") return norm(x, 2.0, dims);
      if (o == "amax") return amax(x, dims);
      return amin(x, dims);
    };
    EXPECT_TRUE(throws_error([&] { call(Shape{}); }, {op, "dim list is empty"})) << op;
    EXPECT_TRUE(throws_error([&] { call(Shape{1, -1}); }, {op, "[1, -1]", "twice"})) << op;
    EXPECT_TRUE(throws_error([&] { call(Shape{0, 2}); }, {op, "dim 2"})) << op;
  }
  // Reductions with no value over an empty dim say which dim is empty.
  const Tensor e = zeros({2, 0, 3}, kFloat64);
  EXPECT_TRUE(throws_error([&] { mean(e, Shape{0, 1}); }, {"mean", "dim 1", "[2, 0, 3]", "empty"}));
  EXPECT_TRUE(throws_error([&] { amax(e, Shape{1}); }, {"amax", "dim 1", "empty"}));
  EXPECT_TRUE(throws_error([&] { norm(e, kInf, Shape{-2, 2}); }, {"norm", "dim -2", "empty"}));
  EXPECT_TRUE(std::isnan(var(e, Shape{0, 1}).to_vector<double>()[0]));  // 0 / 0, as PyTorch
  EXPECT_EQ(norm(e, 2.0, Shape{1}).to_vector<double>(), std::vector<double>(6, 0.0));
  EXPECT_TRUE(throws_error([&] { var(x, Shape{0}, -0.5); }, {"var", "correction", "-0.5"}));
}

TEST(Reduction, NormOfOrderZeroNegativeAndMinusInf) {
  // As torch.linalg.vector_norm: 0 counts nonzero elements (gradient 0); -inf is min |x| with the
  // gradient shared by the ties; p < 0 is (Σ |x|^p)^(1/p), 0 (with gradient 0) when an element is 0.
  Tensor x = tensor({3.0, -1.0, 0.5, -0.5}, kFloat64).requires_grad_();
  EXPECT_EQ(norm(x, 0.0).item<double>(), 4.0);
  EXPECT_EQ(norm(tensor({0.0, 2.0, 0.0}, kFloat64), 0.0).item<double>(), 1.0);
  norm(x, 0.0).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0, 0, 0, 0}));
  Tensor y = tensor({3.0, -1.0, 0.5, -0.5}, kFloat64).requires_grad_();
  const Tensor m = norm(y, -kInf);
  EXPECT_EQ(m.item<double>(), 0.5);
  m.backward();
  EXPECT_EQ(y.grad().to_vector<double>(), (std::vector<double>{0, 0, 0.5, -0.5}));
  Tensor z = tensor({3.0, -1.0, 0.5, -0.5}, kFloat64).requires_grad_();
  const Tensor h = norm(z, -1.0);  // 1 / (1/3 + 1 + 2 + 2)
  EXPECT_NEAR(h.item<double>(), 1.0 / (1.0 / 3 + 5.0), 1e-15);
  h.backward();
  // d/dx (Σ|x|^-1)^-1 = sign(x) |x|^-2 · n²
  const double n = 1.0 / (1.0 / 3 + 5.0);
  EXPECT_TRUE(values_near(z.grad(), {n * n / 9, -n * n, n * n / 0.25, -n * n / 0.25}, 1e-14));
  Tensor w = tensor({3.0, -1.0, 0.0, -1.0}, kFloat64).requires_grad_();
  const Tensor hw = norm(w, -1.0) + norm(w, -kInf);
  EXPECT_EQ(hw.item<double>(), 0.0);
  hw.backward();
  EXPECT_EQ(w.grad().to_vector<double>(), (std::vector<double>{0, 0, 0, 0}));
  // A NaN makes the ±inf norm NaN, and then no element is the winner: gradient 0 (as PyTorch), not 0/0.
  for (double p : {kInf, -kInf}) {
    Tensor q = tensor({std::nan(""), 1.0}, kFloat64).requires_grad_();
    const Tensor nq = norm(q, p);
    EXPECT_TRUE(std::isnan(nq.item<double>()));
    nq.backward();
    EXPECT_EQ(q.grad().to_vector<double>(), (std::vector<double>{0, 0})) << p;
  }
  // float32 with p < 0: |x|^(p-1) and n^(p-1) overflow apart; their quotient (the gradient) does not.
  Tensor f = tensor(std::vector<float>{1e-10f, 2e-10f}, {2}).requires_grad_();
  norm(f, -3.0).backward();
  const double nf = std::pow(std::pow(1e-10, -3.0) + std::pow(2e-10, -3.0), -1.0 / 3.0);
  const auto gf = f.grad().to_vector<double>();
  EXPECT_NEAR(gf[0], std::pow(1e-10 / nf, -4.0), 1e-5);
  EXPECT_NEAR(gf[1], std::pow(2e-10 / nf, -4.0), 1e-5);
  manual_seed(46);
  for (double p : {-1.0, -2.5, -kInf})
    EXPECT_TRUE(grad_ok([p](const auto& in) { return norm(in[0], p, 1); }, {leaf({2, 4})})) << p;
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return norm(in[0], -2.0, Shape{0, 1}); }, {leaf({2, 3})}));
}

TEST(Reduction, VarNormCumsumErrorsNameTheOp) {
  const Tensor x = tensor({1.0, 2.0}, kFloat64);
  EXPECT_TRUE(throws_error([&] { var(x, 0, -1.0); }, {"var", "correction", "-1"}));
  EXPECT_TRUE(throws_error([&] { var(x, 3, 1.0); }, {"var", "dim 3"}));
  EXPECT_TRUE(throws_error([&] { norm(x, std::nan("")); }, {"norm", "p", "nan"}));
  EXPECT_TRUE(throws_error([&] { norm(zeros({0}, kFloat64), -kInf, 0); }, {"norm", "-inf-norm", "empty"}));
  EXPECT_TRUE(throws_error([&] { norm(zeros({0, 3}, kFloat64), -1.0, 0); }, {"norm", "-1-norm", "empty"}));  // as torch
  EXPECT_TRUE(throws_error([&] { norm(zeros({0, 3}, kFloat64), -1.0, Shape{0, 1}); }, {"norm", "-1-norm", "empty"}));
  EXPECT_TRUE(throws_error([&] { cumsum(x, 1); }, {"cumsum", "dim 1"}));
  EXPECT_TRUE(throws_error([&] { cumsum(tensor(std::vector<std::int64_t>{1}, {1}, kInt64), 0); }, {"cumsum"}));
  EXPECT_TRUE(throws_error([&] { cumprod(x, -2); }, {"cumprod", "dim -2"}));
  EXPECT_TRUE(throws_error([&] { prod(x, 1); }, {"prod", "dim 1"}));
  EXPECT_TRUE(throws_error([&] { prod(tensor(std::vector<std::int64_t>{1}, {1}, kInt64)); }, {"prod"}));
}

}  // namespace
}  // namespace nabla::test
