// matmul: values against a naive triple loop for every form (1-D, 2-D, batched, broadcast batch,
// transposed operands, empty sizes), gradcheck, second derivatives and error messages.
#include <gtest/gtest.h>

#include <nabla/core/threads.h>

#include "op_test_util.h"

namespace nabla::test {
namespace {

// Naive torch.matmul semantics on values read row-major, in double.
std::vector<double> ref_matmul(const Tensor& a, const Tensor& b, Shape& out_shape) {
  Shape sa = a.shape(), sb = b.shape();
  const bool a_vec = sa.size() == 1, b_vec = sb.size() == 1;
  if (a_vec) sa.insert(sa.begin(), 1);
  if (b_vec) sb.push_back(1);
  const std::int64_t m = sa[sa.size() - 2], k = sa.back(), n = sb.back();
  const Shape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
  const Shape batch = broadcast_shapes(ba, bb);
  std::int64_t count = 1;
  for (auto s : batch) count *= s;
  const auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  std::vector<double> out;
  for (std::int64_t bi = 0; bi < count; ++bi) {
    const auto idx = unravel(bi, batch);
    const std::int64_t oa = broadcast_pos(idx, ba) * m * k, ob = broadcast_pos(idx, bb) * k * n;
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (std::int64_t p = 0; p < k; ++p) acc += va[oa + i * k + p] * vb[ob + p * n + j];
        out.push_back(acc);
      }
  }
  out_shape = batch;
  if (!a_vec) out_shape.push_back(m);
  if (!b_vec) out_shape.push_back(n);
  return out;
}

const std::vector<std::pair<Shape, Shape>>& matmul_shapes() {
  static const std::vector<std::pair<Shape, Shape>> s{
      {{3}, {3}},          {{2, 3}, {3, 4}},       {{3}, {3, 4}},       {{2, 3}, {3}},
      {{2, 2, 3}, {2, 3, 4}}, {{2, 1, 2, 3}, {3, 3, 2}}, {{2, 2, 3}, {3, 4}}, {{3}, {2, 3, 2}},
      {{2, 2, 3}, {3}},    {{1, 3}, {2, 3, 1}},
  };
  return s;
}

TEST(Linalg, MatmulValuesEveryForm) {
  manual_seed(31);
  for (DType dt : float_dtypes())
    for (const auto& [sa, sb] : matmul_shapes()) {
      const Tensor a = uniform(sa, -1, 1, dt), b = uniform(sb, -1, 1, dt);
      Shape want_shape;
      const auto want = ref_matmul(a, b, want_shape);
      const Tensor c = matmul(a, b);
      EXPECT_EQ(c.shape(), want_shape) << shape_to_string(sa) << " @ " << shape_to_string(sb);
      EXPECT_EQ(c.dtype(), dt);
      const double tol = dt == kFloat32 ? 1e-5 : 1e-13;
      EXPECT_TRUE(values_near(c, want, tol, tol)) << shape_to_string(sa) << " @ " << shape_to_string(sb);
    }
}

TEST(Linalg, MatmulNonContiguousOperands) {
  manual_seed(32);
  for (DType dt : float_dtypes()) {
    const double tol = dt == kFloat32 ? 1e-5 : 1e-13;
    const Tensor a = noncontig_leaf({4, 3}, -1, 1, dt).detach(), b = noncontig_leaf({3, 5}, -1, 1, dt).detach();
    Shape s;
    EXPECT_TRUE(values_near(matmul(a, b), ref_matmul(a, b, s), tol, tol));
    // Neither BLAS layout: a strided slice along the inner dim, and a batch permuted to the middle.
    const Tensor a2 = uniform({4, 7}, -1, 1, dt).slice(1, 0, 7, 2);
    const Tensor b2 = uniform({4, 2, 5}, -1, 1, dt).permute({1, 0, 2});
    EXPECT_TRUE(values_near(matmul(a2, b2), ref_matmul(a2, b2, s), tol, tol));
    const Tensor bt = uniform({2, 5, 4}, -1, 1, dt).transpose(-1, -2);  // batched transposed
    const Tensor a3 = uniform({2, 3, 4}, -1, 1, dt);
    EXPECT_TRUE(values_near(matmul(a3, bt), ref_matmul(a3, bt, s), tol, tol));
    // Expanded (stride 0) operand.
    const Tensor be = uniform({4, 1}, -1, 1, dt).expand({4, 3});
    EXPECT_TRUE(values_near(matmul(a2, be), ref_matmul(a2, be, s), tol, tol));
  }
}

TEST(Linalg, MatmulLargeMatchesReference) {
  manual_seed(33);
  const Tensor a = uniform({64, 70}, -1, 1, kFloat64), b = uniform({70, 33}, -1, 1, kFloat64);
  Shape s;
  EXPECT_TRUE(values_near(matmul(a, b), ref_matmul(a, b, s), 1e-12, 1e-12));
}

// Large enough to be split over the pool (GEMM by column or row blocks; a single row or column goes
// to GEMV, split by output element), with every operand layout, at 1 and 2 threads.
TEST(Linalg, SplitGemmAndGemvEveryLayout) {
  manual_seed(34);
  const int threads_before = get_num_threads();
  struct Case {
    std::int64_t m, k, n;
  };
  for (const int threads : {1, 2}) {
    set_num_threads(threads);
    for (DType dt : float_dtypes())
      for (const Case c : {Case{1, 400, 300}, Case{300, 400, 1}, Case{64, 100, 300}, Case{300, 100, 64}, Case{1, 3, 5}})
        for (const bool ta : {false, true})
          for (const bool tb : {false, true}) {
            // Each operand either stored as is or stored transposed and viewed back.
            const Tensor a = ta ? uniform({c.k, c.m}, -1, 1, dt).t() : uniform({c.m, c.k}, -1, 1, dt);
            const Tensor b = tb ? uniform({c.n, c.k}, -1, 1, dt).t() : uniform({c.k, c.n}, -1, 1, dt);
            Shape s;
            const double tol = dt == kFloat32 ? 1e-4 : 1e-12;
            EXPECT_TRUE(values_near(matmul(a, b), ref_matmul(a, b, s), tol, tol))
                << c.m << "x" << c.k << "x" << c.n << " ta " << ta << " tb " << tb << " threads " << threads;
          }
    // A row and a column with stride 2 (BLAS then reads them with an increment).
    for (DType dt : float_dtypes()) {
      const Tensor row = uniform({1, 800}, -1, 1, dt).slice(1, 0, 800, 2), col = uniform({800, 1}, -1, 1, dt).slice(0, 0, 800, 2);
      const Tensor w = uniform({400, 300}, -1, 1, dt), wt = uniform({300, 400}, -1, 1, dt);
      Shape s;
      const double tol = dt == kFloat32 ? 1e-4 : 1e-12;
      EXPECT_TRUE(values_near(matmul(row, w), ref_matmul(row, w, s), tol, tol)) << "strided row, threads " << threads;
      EXPECT_TRUE(values_near(matmul(wt, col), ref_matmul(wt, col, s), tol, tol)) << "strided column, threads " << threads;
    }
  }
  set_num_threads(threads_before);
}

TEST(Linalg, MatmulEmptySizes) {
  // Inner dim 0: a sum of no terms, zeros.
  const Tensor a = zeros({2, 0}, kFloat64).requires_grad_(), b = zeros({0, 3}, kFloat64).requires_grad_();
  const Tensor c = matmul(a, b);
  EXPECT_EQ(c.shape(), (Shape{2, 3}));
  EXPECT_TRUE(values_near(c, std::vector<double>(6, 0.0), 0));
  sum(c).backward();
  EXPECT_EQ(a.grad().shape(), (Shape{2, 0}));
  EXPECT_EQ(b.grad().shape(), (Shape{0, 3}));
  EXPECT_EQ(matmul(zeros({0, 3}), zeros({3, 4})).shape(), (Shape{0, 4}));
  EXPECT_EQ(matmul(zeros({2, 0, 3}), zeros({3, 4})).shape(), (Shape{2, 0, 4}));
  EXPECT_EQ(matmul(zeros({0}), zeros({0})).item<float>(), 0.0f);
}

TEST(Linalg, GradcheckEveryForm) {
  manual_seed(34);
  for (const auto& [sa, sb] : matmul_shapes()) {
    auto f = [](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); };
    EXPECT_TRUE(grad_ok(f, {leaf(sa), leaf(sb)})) << shape_to_string(sa) << " @ " << shape_to_string(sb);
    EXPECT_TRUE(grad_ok(f, {noncontig_leaf(sa), noncontig_leaf(sb)})) << "non-contiguous " << shape_to_string(sa);
    EXPECT_TRUE(grad_ok(f, {leaf(sa), uniform(sb, -1, 1, kFloat64)})) << "only a";
    EXPECT_TRUE(grad_ok(f, {uniform(sa, -1, 1, kFloat64), leaf(sb)})) << "only b";
  }
  // A transpose inside the function (the x·Wᵀ of a linear layer) and a shared operand (A·A).
  EXPECT_TRUE(grad_ok([](const auto& in) { return matmul(in[0], in[1].t()); }, {leaf({3, 4}), leaf({2, 4})}));
  EXPECT_TRUE(grad_ok([](const auto& in) { return matmul(in[0], in[0]); }, {leaf({3, 3})}));
}

TEST(Linalg, MatmulGradientsInClosedForm) {
  const Tensor a = tensor(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3}, kFloat64).requires_grad_();
  const Tensor b = tensor(std::vector<double>{1, -1, 0, 2, 3, 1}, {3, 2}, kFloat64).requires_grad_();
  sum(matmul(a, b)).backward();
  // dA = 1·Bᵀ: row sums of B per column of A; dB = Aᵀ·1: column sums of A per row of B.
  EXPECT_TRUE(values_near(a.grad(), {0, 2, 4, 0, 2, 4}, 0));
  EXPECT_TRUE(values_near(b.grad(), {5, 5, 7, 7, 9, 9}, 0));
}

TEST(Linalg, GradgradcheckMatmul) {
  manual_seed(35);
  auto f = [](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); };
  EXPECT_TRUE(gradgrad_ok(f, {leaf({2, 3}), leaf({3, 2})}));
  EXPECT_TRUE(gradgrad_ok(f, {leaf({2, 2, 3}), leaf({3, 2})}));
  EXPECT_TRUE(gradgrad_ok(f, {leaf({3}), leaf({3, 2})}));
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return tanh(matmul(in[0], in[1])); }, {leaf({2, 3}), leaf({3, 2})}));
}

// ---- errors ----

TEST(Linalg, InnerDimMismatchMessage) {
  EXPECT_TRUE(throws_error([] { matmul(zeros({64, 784}), zeros({785, 256})); },
                           {"matmul: shapes [64, 784] and [785, 256] cannot be multiplied"}));
  EXPECT_TRUE(throws_error([] { matmul(zeros({3}), zeros({4})); }, {"matmul: shapes [3] and [4] cannot be multiplied"}));
  EXPECT_TRUE(throws_error([] { matmul(zeros({3}), zeros({4, 2})); }, {"matmul: shapes [3] and [4, 2]"}));
  EXPECT_TRUE(throws_error([] { matmul(zeros({2, 3}), zeros({2})); }, {"matmul: shapes [2, 3] and [2]"}));
  EXPECT_TRUE(throws_error([] { matmul(zeros({5, 2, 3}), zeros({5, 4, 3})); },
                           {"matmul: shapes [5, 2, 3] and [5, 4, 3] cannot be multiplied"}));
}

TEST(Linalg, BatchBroadcastMismatchNamesBothFullShapes) {
  EXPECT_TRUE(throws_error([] { matmul(zeros({2, 3, 4}), zeros({3, 4, 5})); }, {"matmul", "[2, 3, 4]", "[3, 4, 5]"}));
}

TEST(Linalg, DtypeAndRankErrors) {
  EXPECT_TRUE(throws_error([] { matmul(zeros({2, 3}), zeros({3, 2}, kFloat64)); },
                           {"matmul: dtypes float32 and float64 do not match", "[2, 3]", "[3, 2]"}));
  const Tensor i = tensor(std::vector<std::int64_t>{1, 2, 3, 4}, {2, 2});
  EXPECT_TRUE(throws_error([&] { matmul(i, zeros({2, 2})); }, {"matmul", "int64"}));
  EXPECT_TRUE(throws_error([&] { matmul(zeros({2, 2}), i); }, {"matmul", "int64"}));
  EXPECT_TRUE(throws_error([] { matmul(full({}, 1.0), zeros({2})); }, {"matmul", "[]", "[2]"}));
  EXPECT_TRUE(throws_error([] { matmul(zeros({2}), full({}, 1.0)); }, {"matmul", "[2]", "[]"}));
  EXPECT_TRUE(throws_error([] { matmul(Tensor(), zeros({2})); }, {"matmul", "undefined"}));
  EXPECT_TRUE(throws_error([] { matmul(zeros({2}), Tensor()); }, {"matmul", "undefined"}));
}

}  // namespace
}  // namespace nabla::test
