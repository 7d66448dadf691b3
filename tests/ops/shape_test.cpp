// Shape ops, views, joining and indexing: values against index arithmetic done here, storage
// sharing of views, gradcheck (including views of views and non-contiguous inputs) and errors.
#include <gtest/gtest.h>

#include "op_test_util.h"

namespace nabla::test {
namespace {

Tensor iota(const Shape& shape, DType dt = kFloat64) {
  std::int64_t n = 1;
  for (auto s : shape) n *= s;
  return arange(static_cast<double>(n), dt).reshape(shape);
}

std::vector<double> seq(std::initializer_list<double> v) { return v; }

TEST(Shape, ReshapeViewFlattenValuesAndSharing) {
  for (DType dt : float_dtypes()) {
    const Tensor x = iota({2, 3, 4}, dt);
    const Tensor r = x.reshape({4, -1});
    EXPECT_EQ(r.shape(), (Shape{4, 6}));
    EXPECT_TRUE(r.is_alias_of(x));  // a view when contiguous
    EXPECT_EQ(r.to_vector<double>(), x.to_vector<double>());
    EXPECT_EQ(x.view({24}).shape(), Shape{24});
    EXPECT_EQ(reshape(x, {-1}).shape(), Shape{24});
    EXPECT_EQ(x.flatten().shape(), Shape{24});
    EXPECT_EQ(x.flatten(1).shape(), (Shape{2, 12}));
    EXPECT_EQ(x.flatten(0, 1).shape(), (Shape{6, 4}));
    EXPECT_EQ(x.flatten(-2, -1).shape(), (Shape{2, 12}));
    EXPECT_EQ(full({}, 3.0, dt).flatten().shape(), Shape{1});
    EXPECT_EQ(full({}, 3.0, dt).reshape({1, 1}).item<double>(), 3.0);
    EXPECT_EQ(zeros({0, 3}, dt).reshape({3, 0, 5}).shape(), (Shape{3, 0, 5}));
    EXPECT_EQ(zeros({0, 3}, dt).reshape({-1, 6}).shape(), (Shape{0, 6}));
    // reshape of a transposed tensor copies, in the transposed order.
    const Tensor t = iota({2, 3}, dt).t();
    const Tensor tr = t.reshape({6});
    EXPECT_EQ(tr.to_vector<double>(), seq({0, 3, 1, 4, 2, 5}));
    EXPECT_FALSE(tr.is_alias_of(t));
    // ...but a view works where strides allow it: splitting a transposed dim's neighbour.
    const Tensor p = iota({4, 6}, dt).t();  // shape [6, 4], strides [1, 6]
    EXPECT_EQ(p.view({2, 3, 4}).to_vector<double>(), p.to_vector<double>());
    EXPECT_TRUE(p.view({2, 3, 4}).is_alias_of(p));
  }
}

TEST(Shape, TransposePermuteValues) {
  const Tensor x = iota({2, 3, 4});
  const Tensor t = x.transpose(0, 2);
  EXPECT_EQ(t.shape(), (Shape{4, 3, 2}));
  EXPECT_TRUE(t.is_alias_of(x));
  const auto tv = t.to_vector<double>();
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 2; ++k) EXPECT_EQ(tv[(i * 3 + j) * 2 + k], k * 12 + j * 4 + i);
  EXPECT_EQ(transpose(x, -1, -3).to_vector<double>(), tv);
  const Tensor p = x.permute({1, 2, 0});
  EXPECT_EQ(p.shape(), (Shape{3, 4, 2}));
  const auto pv = p.to_vector<double>();
  for (int j = 0; j < 3; ++j)
    for (int k = 0; k < 4; ++k)
      for (int i = 0; i < 2; ++i) EXPECT_EQ(pv[(j * 4 + k) * 2 + i], i * 12 + j * 4 + k);
  EXPECT_EQ(permute(x, {-2, -1, -3}).to_vector<double>(), pv);
  EXPECT_EQ(iota({2, 3}).t().to_vector<double>(), seq({0, 3, 1, 4, 2, 5}));
  EXPECT_EQ(full({}, 2.0).transpose(0, -1).item<float>(), 2.0f);  // 0-d: nothing to swap
}

TEST(Shape, SliceNarrowSelectIndexValues) {
  const Tensor x = iota({4, 5});
  EXPECT_EQ(x.slice(1, 1, 5, 2).to_vector<double>(), seq({1, 3, 6, 8, 11, 13, 16, 18}));
  EXPECT_EQ(x.slice(0, -2, 100).to_vector<double>(), seq({10, 11, 12, 13, 14, 15, 16, 17, 18, 19}));
  EXPECT_EQ(x.slice(1, 3, 1).shape(), (Shape{4, 0}));  // an empty slice, as Python
  EXPECT_EQ(x.slice(-1, -3, -1).to_vector<double>(), seq({2, 3, 7, 8, 12, 13, 17, 18}));
  EXPECT_EQ(x.narrow(0, 1, 2).to_vector<double>(), seq({5, 6, 7, 8, 9, 10, 11, 12, 13, 14}));
  EXPECT_EQ(x.narrow(1, -2, 2).to_vector<double>(), seq({3, 4, 8, 9, 13, 14, 18, 19}));
  EXPECT_EQ(x.select(1, 2).to_vector<double>(), seq({2, 7, 12, 17}));
  EXPECT_EQ(x.select(-1, -1).to_vector<double>(), seq({4, 9, 14, 19}));
  EXPECT_EQ(x[3].to_vector<double>(), seq({15, 16, 17, 18, 19}));
  EXPECT_EQ(x[-1][2].item<double>(), 17.0);
  EXPECT_EQ(x[1][2].shape(), Shape{});
  EXPECT_TRUE(x.slice(1, 1, 5, 2).is_alias_of(x));
  // Writing through a slice changes the base.
  Tensor y = iota({2, 3});
  y.slice(1, 0, 3, 2).fill_(-1.0);
  EXPECT_EQ(y.to_vector<double>(), seq({-1, 1, -1, -1, 4, -1}));
}

TEST(Shape, ExpandUnsqueezeSqueezeValues) {
  const Tensor x = tensor({1.0, 2.0, 3.0}, kFloat64);
  const Tensor e = x.unsqueeze(0).expand({2, 3});
  EXPECT_EQ(e.to_vector<double>(), seq({1, 2, 3, 1, 2, 3}));
  EXPECT_EQ(e.strides()[0], 0);
  EXPECT_EQ(x.unsqueeze(1).expand({3, 2}).to_vector<double>(), seq({1, 1, 2, 2, 3, 3}));
  EXPECT_EQ(x.expand({2, 2, -1}).shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(full({}, 5.0).expand({2}).to_vector<double>(), seq({5, 5}));
  EXPECT_EQ(x.unsqueeze(-1).shape(), (Shape{3, 1}));
  EXPECT_EQ(x.unsqueeze(1).squeeze(1).shape(), Shape{3});
  EXPECT_EQ(x.unsqueeze(0).squeeze(-2).shape(), Shape{3});
  EXPECT_EQ(full({}, 5.0).unsqueeze(0).shape(), Shape{1});
  EXPECT_EQ(full({}, 5.0).squeeze(0).shape(), Shape{});
}

TEST(Shape, ContiguousCloneTo) {
  const Tensor x = iota({2, 3});
  EXPECT_TRUE(x.contiguous().is_alias_of(x));
  const Tensor t = x.t();
  const Tensor tc = t.contiguous();
  EXPECT_TRUE(tc.is_contiguous());
  EXPECT_FALSE(tc.is_alias_of(x));
  EXPECT_EQ(tc.to_vector<double>(), t.to_vector<double>());
  Tensor c = x.clone();
  EXPECT_FALSE(c.is_alias_of(x));
  c.fill_(0.0);
  EXPECT_EQ(x.to_vector<double>(), seq({0, 1, 2, 3, 4, 5}));
  const Tensor f = tensor({1.5, -2.25, 3.0}, kFloat64).to(kFloat32);
  EXPECT_EQ(f.dtype(), kFloat32);
  EXPECT_EQ(f.to_vector<float>(), (std::vector<float>{1.5f, -2.25f, 3.0f}));
  EXPECT_EQ(tensor({1.7, -2.7}, kFloat64).to(kInt64).to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, -2}));
  EXPECT_EQ(tensor(std::vector<std::int64_t>{4, -1}, {2}).to(kFloat64).to_vector<double>(), seq({4, -1}));
  EXPECT_TRUE(x.to(kFloat64).is_alias_of(x));
}

TEST(Shape, CatStackValues) {
  for (DType dt : float_dtypes()) {
    const Tensor a = iota({2, 2}, dt), b = iota({2, 3}, dt) + 10.0;
    EXPECT_EQ(cat({a, b}, 1).to_vector<double>(), seq({0, 1, 10, 11, 12, 2, 3, 13, 14, 15}));
    EXPECT_EQ(cat({a, b}, -1).shape(), (Shape{2, 5}));
    EXPECT_EQ(cat({a, a.t()}, 0).to_vector<double>(), seq({0, 1, 2, 3, 0, 2, 1, 3}));
    EXPECT_EQ(cat({a}, 0).to_vector<double>(), a.to_vector<double>());
    EXPECT_EQ(cat({a, zeros({0, 2}, dt)}, 0).shape(), (Shape{2, 2}));
    const Tensor s = stack({a, a * 2.0}, 0);
    EXPECT_EQ(s.shape(), (Shape{2, 2, 2}));
    EXPECT_EQ(s.to_vector<double>(), seq({0, 1, 2, 3, 0, 2, 4, 6}));
    EXPECT_EQ(stack({a, a * 2.0}, -1).to_vector<double>(), seq({0, 0, 1, 2, 2, 4, 3, 6}));
    EXPECT_EQ(stack({full({}, 1.0, dt), full({}, 2.0, dt)}).to_vector<double>(), seq({1, 2}));
  }
}

TEST(Shape, IndexSelectGatherScatterAddOneHotValues) {
  const Tensor x = iota({3, 4});
  const Tensor idx = tensor(std::vector<std::int64_t>{2, 0, 2}, {3});
  EXPECT_EQ(index_select(x, 0, idx).to_vector<double>(), seq({8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11}));
  EXPECT_EQ(index_select(x, 1, idx).to_vector<double>(), seq({2, 0, 2, 6, 4, 6, 10, 8, 10}));
  EXPECT_EQ(index_select(x.t(), 0, idx).to_vector<double>(), seq({2, 6, 10, 0, 4, 8, 2, 6, 10}));
  EXPECT_EQ(index_select(x, 0, tensor(std::vector<std::int64_t>{}, {0})).shape(), (Shape{0, 4}));

  const Tensor gi = tensor(std::vector<std::int64_t>{3, 0, 1, 1}, {2, 2});
  // out[i][j] = x[i][gi[i][j]] along dim 1.
  EXPECT_EQ(gather(x, 1, gi).to_vector<double>(), seq({3, 0, 5, 5}));
  // out[i][j] = x[gi[i][j]][j] along dim 0 (gi values must be < 3).
  const Tensor gi0 = tensor(std::vector<std::int64_t>{2, 0, 1, 1}, {2, 2});
  EXPECT_EQ(gather(x, 0, gi0).to_vector<double>(), seq({8, 1, 4, 5}));
  EXPECT_EQ(gather(x.t(), 0, gi0).to_vector<double>(), seq({2, 4, 1, 5}));

  const Tensor base = zeros({2, 3}, kFloat64);
  const Tensor si = tensor(std::vector<std::int64_t>{0, 2, 2, 1, 1, 1}, {2, 3});
  const Tensor src = tensor(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3}, kFloat64);
  EXPECT_EQ(scatter_add(base, 1, si, src).to_vector<double>(), seq({1, 0, 5, 0, 15, 0}));
  EXPECT_EQ(base.to_vector<double>(), std::vector<double>(6, 0.0));  // out of place

  const Tensor oh = one_hot(tensor(std::vector<std::int64_t>{2, 0, 1}, {3}), 3);
  EXPECT_EQ(oh.shape(), (Shape{3, 3}));
  EXPECT_EQ(oh.dtype(), kFloat32);
  EXPECT_EQ(oh.to_vector<double>(), seq({0, 0, 1, 1, 0, 0, 0, 1, 0}));
  EXPECT_EQ(one_hot(tensor(std::vector<std::int64_t>{1, 0}, {2, 1}), 2, kFloat64).shape(), (Shape{2, 1, 2}));
  EXPECT_EQ(one_hot(tensor(std::vector<std::int64_t>{1}, {1}), 2, kInt64).to_vector<std::int64_t>(),
            (std::vector<std::int64_t>{0, 1}));
}

// ---- gradients ----

TEST(Shape, GradcheckViews) {
  manual_seed(41);
  const std::vector<std::pair<const char*, std::function<Tensor(const Tensor&)>>> ops{
      {"reshape", [](const Tensor& t) { return t.reshape({4, -1}); }},
      {"reshape noncontig", [](const Tensor& t) { return t.transpose(0, 2).reshape({-1}); }},
      {"transpose", [](const Tensor& t) { return t.transpose(0, -1); }},
      {"permute", [](const Tensor& t) { return t.permute({2, 0, 1}); }},
      {"slice", [](const Tensor& t) { return t.slice(2, 1, 4, 2); }},
      {"slice of slice", [](const Tensor& t) { return t.slice(1, 1, 3).slice(2, -3, 4, 2); }},
      {"narrow", [](const Tensor& t) { return t.narrow(1, 1, 2); }},
      {"select", [](const Tensor& t) { return t.select(-1, 2); }},
      {"index", [](const Tensor& t) { return t[1][0]; }},
      {"expand", [](const Tensor& t) { return t.slice(1, 0, 1).expand({2, 3, 4}) * t; }},
      {"expand new dims", [](const Tensor& t) { return t.select(0, 0).select(0, 0).expand({3, 2, 4}); }},
      {"unsqueeze", [](const Tensor& t) { return t.unsqueeze(1).unsqueeze(-1); }},
      {"squeeze", [](const Tensor& t) { return t.narrow(1, 2, 1).squeeze(1); }},
      {"flatten", [](const Tensor& t) { return t.flatten(1); }},
      {"contiguous", [](const Tensor& t) { return t.transpose(1, 2).contiguous(); }},
      {"clone", [](const Tensor& t) { return t.clone() * t; }},
      {"to", [](const Tensor& t) { return t.to(kFloat64); }},
  };
  for (const auto& [name, op] : ops) {
    auto f = [&op](const std::vector<Tensor>& in) { return op(in[0]); };
    EXPECT_TRUE(grad_ok(f, {leaf({2, 3, 4})})) << name;
    EXPECT_TRUE(grad_ok(f, {noncontig_leaf({2, 3, 4})})) << name << " (non-contiguous input)";
  }
  // view needs compatible strides: contiguous input, or a split of a transposed dim's neighbour.
  EXPECT_TRUE(grad_ok([](const auto& in) { return in[0].view({6, 4}); }, {leaf({2, 3, 4})}));
  EXPECT_TRUE(grad_ok([](const auto& in) { return in[0].view({2, 3, 2, 2}); }, {noncontig_leaf({2, 3, 4})}));
}

TEST(Shape, ViewGradientsInClosedForm) {
  Tensor x = zeros({3, 4}, kFloat64).requires_grad_();
  sum(x.slice(1, 1, 4, 2) * 2.0).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), seq({0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2}));
  x.reset_grad();
  sum(x.unsqueeze(0).expand({5, 3, 4})).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), std::vector<double>(12, 5.0));
  x.reset_grad();
  // A value feeding two views sums its gradients.
  // x[0][0] is used once in x[0] and, broadcast, four times through x.select(1, 0)[0].
  sum(x[0] + x.select(1, 0)[0]).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), seq({5, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0}));
  // to(float32) sends the gradient back in the source dtype.
  Tensor d = tensor({1.0, 2.0}, kFloat64).requires_grad_();
  sum(d.to(kFloat32) * 3.0).backward();
  EXPECT_EQ(d.grad().dtype(), kFloat64);
  EXPECT_EQ(d.grad().to_vector<double>(), seq({3, 3}));
}

TEST(Shape, GradcheckCatStack) {
  manual_seed(42);
  const Tensor a = leaf({2, 3}), b = leaf({2, 1}), c = noncontig_leaf({2, 2});
  EXPECT_TRUE(grad_ok([](const auto& in) { return cat({in[0], in[1], in[2]}, 1); }, {a, b, c}));
  EXPECT_TRUE(grad_ok([](const auto& in) { return cat({in[0], in[1], in[0]}, -1); }, {a, b}));  // repeated input
  EXPECT_TRUE(grad_ok([](const auto& in) { return cat({in[0], in[1]}, 0); }, {leaf({1, 3}), noncontig_leaf({2, 3})}));
  const Tensor fixed = uniform({2, 2}, -1, 1, kFloat64);
  EXPECT_TRUE(grad_ok([&](const auto& in) { return cat({in[0], fixed}, 1); }, {a}));
  for (std::int64_t d : {0, 1, 2, -1})
    EXPECT_TRUE(grad_ok([d](const auto& in) { return stack({in[0], in[1]}, d); }, {leaf({2, 3}), noncontig_leaf({2, 3})}))
        << d;
  EXPECT_TRUE(grad_ok([](const auto& in) { return stack({in[0], in[1]}); }, {leaf({}), leaf({})}));
}

TEST(Shape, GradcheckIndexing) {
  manual_seed(43);
  const Tensor idx = tensor(std::vector<std::int64_t>{2, 0, 2, 1}, {4});
  for (std::int64_t d : {0, 1, -1})
    EXPECT_TRUE(grad_ok([&](const auto& in) { return index_select(in[0], d, idx); }, {noncontig_leaf({3, 3})})) << d;
  const Tensor gi = tensor(std::vector<std::int64_t>{0, 2, 2, 1, 1, 1}, {2, 3});
  EXPECT_TRUE(grad_ok([&](const auto& in) { return gather(in[0], 1, gi); }, {leaf({2, 4})}));
  EXPECT_TRUE(grad_ok([&](const auto& in) { return gather(in[0], 0, gi); }, {noncontig_leaf({3, 3})}));
  EXPECT_TRUE(grad_ok([&](const auto& in) { return gather(in[0], -2, gi.slice(1, 0, 2)); }, {leaf({3, 2})}));
  EXPECT_TRUE(grad_ok([&](const auto& in) { return scatter_add(in[0], 1, gi, in[1]); }, {leaf({2, 4}), leaf({2, 3})}));
  EXPECT_TRUE(grad_ok([&](const auto& in) { return scatter_add(in[0], 0, gi, in[1]); },
                      {noncontig_leaf({3, 3}), noncontig_leaf({2, 3})}));
  // Second derivatives through the gather / scatter_add / index_select adjoint pairs.
  EXPECT_TRUE(gradgrad_ok([&](const auto& in) { return gather(in[0] * in[0], 1, gi); }, {leaf({2, 4})}));
  EXPECT_TRUE(gradgrad_ok([&](const auto& in) { return index_select(in[0] * in[0], 0, idx); }, {leaf({3, 2})}));
  EXPECT_TRUE(gradgrad_ok([&](const auto& in) { return scatter_add(in[0], 1, gi, in[1] * in[1]); },
                          {leaf({2, 4}), leaf({2, 3})}));
}

TEST(Shape, IndexSelectGradientAddsRepeatedRows) {
  Tensor x = zeros({3, 2}, kFloat64).requires_grad_();
  sum(index_select(x, 0, tensor(std::vector<std::int64_t>{2, 0, 2}, {3}))).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), seq({1, 1, 0, 0, 2, 2}));
}

// ---- errors ----

TEST(Shape, ReshapeAndViewErrors) {
  const Tensor x = zeros({2, 3});
  EXPECT_TRUE(throws_error([&] { x.reshape({4, 4}); }, {"reshape: shape [4, 4] is invalid for input of shape [2, 3]"}));
  EXPECT_TRUE(throws_error([&] { x.reshape({-1, 4}); }, {"reshape", "[-1, 4]", "[2, 3]"}));
  EXPECT_TRUE(throws_error([&] { x.reshape({-1, -1}); }, {"reshape", "only one dimension can be -1"}));
  EXPECT_TRUE(throws_error([&] { x.reshape({-2, 3}); }, {"reshape", "invalid size -2"}));
  EXPECT_TRUE(throws_error([&] { x.view({7}); }, {"view", "[7]", "[2, 3]"}));
  EXPECT_TRUE(throws_error([&] { x.t().view({6}); },
                           {"view: shape [6] is not compatible with the input's shape [3, 2] and strides [1, 3]", "reshape"}));
  EXPECT_TRUE(throws_error([&] { x.flatten(1, 0); }, {"flatten", "start_dim 1", "end_dim 0"}));
  EXPECT_TRUE(throws_error([&] { x.flatten(2); }, {"flatten", "dim 2"}));
}

TEST(Shape, DimAndIndexRangeErrors) {
  const Tensor x = zeros({2, 3});
  EXPECT_TRUE(throws_error([&] { x.transpose(0, 2); }, {"transpose: dim 2 is out of range for a tensor of 2 dimensions"}));
  EXPECT_TRUE(throws_error([&] { x.permute({0}); }, {"permute", "[0]", "2 dimensions"}));
  EXPECT_TRUE(throws_error([&] { x.permute({1, 1}); }, {"permute", "twice"}));
  EXPECT_TRUE(throws_error([&] { x.permute({0, 2}); }, {"permute", "dim 2"}));
  EXPECT_TRUE(throws_error([&] { x.t().t().unsqueeze(0).t(); }, {"t: expected a 2-D tensor, got shape [1, 2, 3]"}));
  EXPECT_TRUE(throws_error([&] { x.slice(2, 0, 1); }, {"slice", "dim 2"}));
  EXPECT_TRUE(throws_error([&] { x.slice(0, 0, 1, 0); }, {"slice", "step", "0"}));
  EXPECT_TRUE(throws_error([&] { full({}, 1.0).slice(0, 0, 1); }, {"slice", "0-dimensional"}));
  EXPECT_TRUE(throws_error([&] { x.narrow(1, 2, 2); }, {"narrow", "start 2", "length 2", "size 3"}));
  EXPECT_TRUE(throws_error([&] { x.narrow(1, 0, -1); }, {"narrow"}));
  EXPECT_TRUE(throws_error([&] { x.select(1, 3); }, {"select: index 3 is out of range for dim 1 of size 3"}));
  EXPECT_TRUE(throws_error([&] { x.select(0, -3); }, {"select", "index -3"}));
  EXPECT_TRUE(throws_error([&] { x[2]; }, {"select", "index 2", "size 2"}));
  EXPECT_TRUE(throws_error([&] { full({}, 1.0)[0]; }, {"select", "0-dimensional"}));
  EXPECT_TRUE(throws_error([&] { x.expand({2, 4}); }, {"expand: shape [2, 3] cannot be expanded to [2, 4]"}));
  EXPECT_TRUE(throws_error([&] { x.expand({3}); }, {"expand", "[3]", "[2, 3]"}));
  EXPECT_TRUE(throws_error([&] { x.expand({-1, 2, 3}); }, {"expand", "-1"}));
  EXPECT_TRUE(throws_error([&] { x.unsqueeze(3); }, {"unsqueeze", "dim 3"}));
  EXPECT_TRUE(throws_error([&] { x.squeeze(0); }, {"squeeze: dim 0 of shape [2, 3] has size 2, not 1"}));
  EXPECT_TRUE(throws_error([&] { x.size(2); }, {"dim 2"}));
}

TEST(Rearrange, FlipRollRepeatValues) {
  for (DType dt : float_dtypes()) {
    const Tensor x = iota({2, 3}, dt);  // 0 1 2 / 3 4 5
    EXPECT_EQ(flip(x, {1}).to_vector<double>(), seq({2, 1, 0, 5, 4, 3}));
    EXPECT_EQ(flip(x, {0, -1}).to_vector<double>(), seq({5, 4, 3, 2, 1, 0}));
    EXPECT_EQ(flip(x.t(), {0}).to_vector<double>(), seq({2, 5, 1, 4, 0, 3}));  // non-contiguous input
    const Tensor f = flip(x, {});
    EXPECT_EQ(f.to_vector<double>(), x.to_vector<double>());
    EXPECT_FALSE(f.is_alias_of(x));  // a copy, as torch.flip
    // roll: element j moves to j + shift, wrapping; negative and oversized shifts too.
    EXPECT_EQ(roll(x, {1}, {1}).to_vector<double>(), seq({2, 0, 1, 5, 3, 4}));
    EXPECT_EQ(roll(x, {-1}, {1}).to_vector<double>(), seq({1, 2, 0, 4, 5, 3}));
    EXPECT_EQ(roll(x, {7}, {1}).to_vector<double>(), roll(x, {1}, {1}).to_vector<double>());
    EXPECT_EQ(roll(x, {1, 1}, {0, 1}).to_vector<double>(), seq({5, 3, 4, 2, 0, 1}));
    EXPECT_EQ(roll(x, {1, 2}, {1, 1}).to_vector<double>(), roll(x, {3}, {1}).to_vector<double>());  // a dim twice adds up
    // repeat: tiles, with extra leading dims.
    const Tensor r = repeat(x, {2, 1});
    EXPECT_EQ(r.shape(), (Shape{4, 3}));
    EXPECT_EQ(r.to_vector<double>(), seq({0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5}));
    EXPECT_EQ(repeat(x, {1, 2}).to_vector<double>(), seq({0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5}));
    const Tensor r3 = repeat(tensor({1.0, 2.0}, dt), {2, 1, 2});
    EXPECT_EQ(r3.shape(), (Shape{2, 1, 4}));
    EXPECT_EQ(r3.to_vector<double>(), seq({1, 2, 1, 2, 1, 2, 1, 2}));
    EXPECT_EQ(repeat(x, {0, 2}).shape(), (Shape{0, 6}));
    // Always a copy, also when nothing is tiled.
    const Tensor same = repeat(x, {1, 1});
    EXPECT_FALSE(same.is_alias_of(x));
    EXPECT_FALSE(repeat(x, {1, 1, 1}).is_alias_of(x));
    // 0-d: flip is a copy of the one element (dims 0 and -1 name it, as torch.flip).
    const Tensor s0 = full({}, 3.0, dt);
    EXPECT_EQ(flip(s0, {0}).item<double>(), 3.0);
    EXPECT_FALSE(flip(s0, {-1}).is_alias_of(s0));
  }
  // int64 tensors rearrange too (no gradient).
  const Tensor labels = tensor(std::vector<std::int64_t>{1, 2, 3}, {3});
  EXPECT_EQ(flip(labels, {0}).to_vector<std::int64_t>(), (std::vector<std::int64_t>{3, 2, 1}));
  EXPECT_EQ(roll(labels, {1}, {0}).to_vector<std::int64_t>(), (std::vector<std::int64_t>{3, 1, 2}));
  EXPECT_EQ(repeat(labels, {2}).to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 2, 3, 1, 2, 3}));
}

TEST(Rearrange, TrilTriuSplitChunkValues) {
  for (DType dt : float_dtypes()) {
    const Tensor x = iota({3, 4}, dt) + 1.0;  // 1..12
    EXPECT_EQ(tril(x).to_vector<double>(), seq({1, 0, 0, 0, 5, 6, 0, 0, 9, 10, 11, 0}));
    EXPECT_EQ(triu(x).to_vector<double>(), seq({1, 2, 3, 4, 0, 6, 7, 8, 0, 0, 11, 12}));
    EXPECT_EQ(tril(x, 1).to_vector<double>(), seq({1, 2, 0, 0, 5, 6, 7, 0, 9, 10, 11, 12}));
    EXPECT_EQ(triu(x, -1).to_vector<double>(), seq({1, 2, 3, 4, 5, 6, 7, 8, 0, 10, 11, 12}));
    EXPECT_EQ(tril(x, -5).to_vector<double>(), std::vector<double>(12, 0.0));
    EXPECT_EQ(triu(x, -5).to_vector<double>(), x.to_vector<double>());
    // A batch of matrices, non-contiguous: each matrix on its own.
    const Tensor b = iota({2, 2, 2}, dt).transpose(1, 2);  // [[0 2][1 3]], [[4 6][5 7]]
    EXPECT_EQ(tril(b).to_vector<double>(), seq({0, 0, 1, 3, 4, 0, 5, 7}));
    // An inf outside the triangle is zeroed, and its gradient is 0 (not NaN).
    Tensor m = tensor({1.0, kInf, 2.0, 3.0}, dt).reshape({2, 2}).detach().requires_grad_();
    const Tensor lo = tril(m);
    EXPECT_EQ(lo.to_vector<double>(), seq({1, 0, 2, 3}));
    sum(lo).backward();
    EXPECT_EQ(m.grad().to_vector<double>(), seq({1, 0, 1, 1}));
    // split and chunk: views of consecutive pieces.
    const auto pieces = split(x, 3, 1);
    ASSERT_EQ(pieces.size(), 2u);
    EXPECT_EQ(pieces[0].shape(), (Shape{3, 3}));
    EXPECT_EQ(pieces[1].to_vector<double>(), seq({4, 8, 12}));
    EXPECT_TRUE(pieces[1].is_alias_of(x));
    const auto sized = split(x, Shape{1, 0, 2}, 0);
    ASSERT_EQ(sized.size(), 3u);
    EXPECT_EQ(sized[1].shape(), (Shape{0, 4}));
    EXPECT_EQ(sized[2].to_vector<double>(), seq({5, 6, 7, 8, 9, 10, 11, 12}));
    const auto chunks = chunk(x, 3, -1);  // 4 columns in at most 3 chunks: 2, 2 (as torch.chunk)
    ASSERT_EQ(chunks.size(), 2u);
    EXPECT_EQ(chunks[1].to_vector<double>(), seq({3, 4, 7, 8, 11, 12}));
    EXPECT_EQ(chunk(x, 5, 0).size(), 3u);
    const auto braced = split(x, {1, 2}, 0);  // a braced list is a list of sizes
    ASSERT_EQ(braced.size(), 2u);
    EXPECT_EQ(braced[1].shape(), (Shape{2, 4}));
    // An empty dim: `chunks` empty pieces, as torch.chunk; split gives one.
    const auto empty_chunks = chunk(zeros({0, 2}, dt), 3);
    ASSERT_EQ(empty_chunks.size(), 3u);
    for (const Tensor& c : empty_chunks) EXPECT_EQ(c.shape(), (Shape{0, 2}));
    EXPECT_EQ(split(zeros({0, 2}, dt), 2).size(), 1u);
  }
  const Tensor ints = tensor(std::vector<std::int64_t>{1, 2, 3, 4}, {2, 2});
  EXPECT_EQ(triu(ints).to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 2, 0, 4}));
}

TEST(Rearrange, Gradients) {
  manual_seed(61);
  EXPECT_TRUE(grad_ok([](const auto& in) { return flip(in[0], {0, 2}); }, {leaf({2, 3, 2})}));
  EXPECT_TRUE(grad_ok([](const auto& in) { return roll(in[0], {2, -1}, {1, 0}); }, {noncontig_leaf({3, 4})}));
  EXPECT_TRUE(grad_ok([](const auto& in) { return repeat(in[0], {2, 1, 3}); }, {leaf({2, 3})}));
  EXPECT_TRUE(grad_ok([](const auto& in) { return repeat(in[0], {2, 2}); }, {noncontig_leaf({3, 2})}));
  EXPECT_TRUE(grad_ok([](const auto& in) { return tril(in[0], 1); }, {leaf({2, 3, 4})}));
  EXPECT_TRUE(grad_ok([](const auto& in) { return triu(in[0], -1); }, {noncontig_leaf({4, 3})}));
  EXPECT_TRUE(grad_ok([](const auto& in) { return split(in[0], 2, 1)[1] * 2.0; }, {leaf({2, 5})}));
  EXPECT_TRUE(grad_ok([](const auto& in) {
    const auto c = chunk(in[0], 2, 0);
    return c[0] * c[1];
  }, {leaf({4, 3})}));
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return flip(in[0] * in[0], {1}); }, {leaf({2, 3})}));
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return roll(in[0] * in[0], {1}, {0}); }, {leaf({3, 2})}));
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return triu(in[0] * in[0]); }, {leaf({3, 3})}));
  EXPECT_TRUE(gradgrad_ok([](const auto& in) { return repeat(in[0] * in[0], {2, 1}); }, {leaf({2, 2})}));
}

TEST(Rearrange, ErrorsNameTheOpAndTheArguments) {
  const Tensor x = zeros({2, 3}, kFloat64);
  EXPECT_TRUE(throws_error([&] { flip(x, {1, -1}); }, {"flip", "[1, -1]", "twice"}));
  EXPECT_TRUE(throws_error([&] { flip(x, {2}); }, {"flip", "dim 2"}));
  EXPECT_TRUE(throws_error([&] { roll(x, {1}, {0, 1}); }, {"roll", "[1]", "[0, 1]", "same length"}));
  EXPECT_TRUE(throws_error([&] { roll(x, {}, {}); }, {"roll", "non-empty"}));
  EXPECT_TRUE(throws_error([&] { repeat(x, {2}); }, {"repeat", "1 repeats", "2 dims", "[2, 3]"}));
  EXPECT_TRUE(throws_error([&] { repeat(x, {1, -2}); }, {"repeat", ">= 0", "[1, -2]"}));
  EXPECT_TRUE(throws_error([&] { tril(zeros({3}, kFloat64)); }, {"tril", "2 dims", "[3]"}));
  EXPECT_TRUE(throws_error([&] { split(x, 0, 1); }, {"split", "split_size", "0"}));
  EXPECT_TRUE(throws_error([&] { split(x, Shape{1, 1}, 1); }, {"split", "[1, 1]", "add up to 2", "[2, 3]", "3"}));
  EXPECT_TRUE(throws_error([&] { chunk(x, 0); }, {"chunk", "> 0"}));
  EXPECT_TRUE(throws_error([&] { roll(full({}, 1.0, kFloat64), {1}, {0}); }, {"roll", "0-dimensional"}));  // as torch.roll
  EXPECT_TRUE(throws_error([&] { flip(full({}, 1.0, kFloat64), {1}); }, {"flip", "dim 1"}));
  EXPECT_TRUE(throws_error([&] { split(iota({6}), {3}); }, {"split", "[3]", "add up to 3", "6"}));  // a size list, not size 3
  EXPECT_TRUE(throws_error([&] { triu(Tensor()); }, {"triu", "undefined"}));
}

TEST(Shape, CatStackErrors) {
  const Tensor a = zeros({2, 3}), b = zeros({3, 3});
  EXPECT_TRUE(throws_error([&] { cat({a, b}, 1); }, {"cat: tensor 1 has shape [3, 3]", "tensor 0's shape [2, 3]"}));
  EXPECT_TRUE(throws_error([&] { cat({a, zeros({2, 3, 1})}, 0); }, {"cat", "[2, 3, 1]", "[2, 3]"}));
  EXPECT_TRUE(throws_error([&] { cat({a, zeros({2, 3}, kFloat64)}, 0); }, {"cat: tensor 1 has dtype float64", "float32"}));
  EXPECT_TRUE(throws_error([&] { cat({}, 0); }, {"cat", "at least one"}));
  EXPECT_TRUE(throws_error([&] { cat({a, Tensor()}, 0); }, {"cat: tensor 1 is undefined"}));
  EXPECT_TRUE(throws_error([&] { cat({a, a}, 2); }, {"cat: dim 2 is out of range"}));
  EXPECT_TRUE(throws_error([&] { cat({full({}, 1.0)}, 0); }, {"cat", "zero-dimensional"}));
  EXPECT_TRUE(throws_error([&] { stack({a, b}, 0); }, {"stack: tensor 1 has shape [3, 3], but tensor 0 has [2, 3]"}));
  EXPECT_TRUE(throws_error([&] { stack({a, a}, 3); }, {"stack", "dim 3"}));
  EXPECT_TRUE(throws_error([&] { stack({}, 0); }, {"stack", "at least one"}));
  EXPECT_TRUE(throws_error([&] { stack({a, Tensor()}, 0); }, {"stack", "undefined"}));
}

TEST(Shape, IndexingErrors) {
  const Tensor x = zeros({3, 4});
  const Tensor fidx = tensor({0.0, 1.0});
  EXPECT_TRUE(throws_error([&] { index_select(x, 0, fidx); }, {"index_select: index must be an int64 tensor, got float32"}));
  EXPECT_TRUE(throws_error([&] { index_select(x, 0, tensor(std::vector<std::int64_t>{3}, {1})); },
                           {"index_select: index 3 is out of range for dim 0 of size 3 (shape [3, 4])"}));
  EXPECT_TRUE(throws_error([&] { index_select(x, 2, tensor(std::vector<std::int64_t>{0}, {1})); }, {"index_select", "dim 2"}));
  EXPECT_TRUE(throws_error([&] { index_select(x, 0, zeros({1, 1}).to(kInt64)); }, {"index_select", "[1, 1]"}));
  EXPECT_TRUE(throws_error([&] { index_select(x, 0, Tensor()); }, {"index_select", "undefined"}));
  EXPECT_TRUE(throws_error([&] { gather(x, 1, fidx); }, {"gather", "int64", "float32"}));
  EXPECT_TRUE(throws_error([&] { gather(x, 1, tensor(std::vector<std::int64_t>{4}, {1, 1})); },
                           {"gather: index 4 is out of range for dim 1 of size 4"}));
  EXPECT_TRUE(throws_error([&] { gather(x, 1, tensor(std::vector<std::int64_t>{-1}, {1, 1})); }, {"gather", "index -1"}));
  EXPECT_TRUE(throws_error([&] { gather(x, 1, tensor(std::vector<std::int64_t>{0, 0}, {2})); },
                           {"gather: index of shape [2] does not fit input of shape [3, 4]"}));
  EXPECT_TRUE(throws_error([&] { gather(x, 1, zeros({4, 1}).to(kInt64)); }, {"gather", "[4, 1]", "[3, 4]"}));
  EXPECT_TRUE(throws_error([&] { gather(x, 2, zeros({1, 1}).to(kInt64)); }, {"gather", "dim 2"}));
  EXPECT_TRUE(throws_error([&] { gather(x.to(kInt64), 0, zeros({1, 1}).to(kInt64)); }, {"gather", "int64"}));
  const Tensor si = zeros({2, 2}).to(kInt64);
  EXPECT_TRUE(throws_error([&] { scatter_add(x, 1, si, zeros({2, 3})); },
                           {"scatter_add: src has shape [2, 3] but index has shape [2, 2]"}));
  EXPECT_TRUE(throws_error([&] { scatter_add(x, 1, si, zeros({2, 2}, kFloat64)); }, {"scatter_add", "float32", "float64"}));
  EXPECT_TRUE(throws_error([&] { scatter_add(x, 1, tensor(std::vector<std::int64_t>{9}, {1, 1}), zeros({1, 1})); },
                           {"scatter_add: index 9 is out of range for dim 1 of size 4"}));
  EXPECT_TRUE(throws_error([&] { one_hot(tensor(std::vector<std::int64_t>{0, 3}, {2}), 3); },
                           {"one_hot: label 3 at position 1 is outside 0..2"}));
  EXPECT_TRUE(throws_error([&] { one_hot(tensor(std::vector<std::int64_t>{-1}, {1}), 3); }, {"one_hot", "label -1"}));
  EXPECT_TRUE(throws_error([&] { one_hot(tensor({1.0}), 3); }, {"one_hot", "int64", "float32"}));
  EXPECT_TRUE(throws_error([&] { one_hot(tensor(std::vector<std::int64_t>{0}, {1}), 0); }, {"one_hot", "num_classes"}));
}

TEST(Shape, ZeroDimIndexing) {
  const Tensor s = full({}, 2.5, kFloat64);
  const Tensor zero = tensor(std::vector<std::int64_t>{0}, {}), five = tensor(std::vector<std::int64_t>{5}, {});
  EXPECT_EQ(gather(s, 0, zero).item<double>(), 2.5);
  EXPECT_EQ(scatter_add(s, 0, zero, s).item<double>(), 5.0);
  EXPECT_TRUE(throws_error([&] { gather(s, 0, five); }, {"gather: index 5 is out of range for dim 0 of size 1"}));
  EXPECT_TRUE(throws_error([&] { scatter_add(s, 0, five, s); }, {"scatter_add: index 5 is out of range"}));
  EXPECT_TRUE(throws_error([&] { index_select(s, 0, zero); }, {"index_select: cannot index a 0-dimensional tensor"}));
  EXPECT_TRUE(grad_ok([&](const auto& in) { return gather(in[0], 0, zero); }, {leaf({})}));
}

TEST(Shape, ToInt64CutsTheGraphOnlyWhenAsked) {
  const Tensor x = tensor({1.0, 2.0}, kFloat64).requires_grad_();
  EXPECT_TRUE(throws_error([&] { x.to(kInt64); }, {"to", "int64", "detach"}));
  EXPECT_EQ(x.detach().to(kInt64).to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 2}));
  EXPECT_TRUE(throws_error([&] { tensor(std::vector<std::int64_t>{1}, {1}).requires_grad_(); }, {"int64"}));
}

TEST(Shape, UndefinedTensorsAreRejected) {
  const Tensor u;
  EXPECT_TRUE(throws_error([&] { u.reshape({1}); }, {"undefined"}));
  EXPECT_TRUE(throws_error([&] { u.shape(); }, {"undefined"}));
  EXPECT_TRUE(throws_error([&] { u.item<double>(); }, {"undefined"}));
  EXPECT_TRUE(throws_error([&] { index_select(u, 0, tensor(std::vector<std::int64_t>{0}, {1})); }, {"index_select", "undefined"}));
  EXPECT_TRUE(throws_error([&] { gather(u, 0, tensor(std::vector<std::int64_t>{0}, {1})); }, {"gather", "undefined"}));
}

}  // namespace
}  // namespace nabla::test
