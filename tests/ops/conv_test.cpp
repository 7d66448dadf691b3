// Convolution, pooling, normalisation and padding (include/nabla/ops/conv.h): values and gradients
// against PyTorch (tests/ops/torch_conv_reference.py, float64, |nabla - torch| <= 1e-10 relative),
// gradcheck and gradgradcheck in float64 over several configurations, the chunked and unbatched
// paths, the max gate, running statistics, and the messages for bad input.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <nabla/autograd/grad_mode.h>
#include <nabla/core/threads.h>
#include <nabla/ops/conv.h>
#include <nabla/ops/nn.h>

#include "kernels/conv.h"
#include "nn/torch_reference.h"
#include "ops/op_test_util.h"

namespace {

using nabla::Shape;
using nabla::Size2;
using nabla::Tensor;
using nabla::test::grad_ok;
using nabla::test::gradgrad_ok;
using nabla::test::leaf;
using nabla::test::throws_error;
using nlohmann::json;

constexpr double kTorchTol = 1e-10;

Tensor t64(const std::vector<double>& v, const Shape& shape) { return nabla::tensor(v, shape, nabla::kFloat64); }

const json* reference_or_fail() {
  try {
    static const json j = nabla::test::run_torch_reference("tests/ops/torch_conv_reference.py", "conv");
    return &j;
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
    return nullptr;
  }
}

Size2 size2(const json& j) { return Size2(j.at(0).get<std::int64_t>(), j.at(1).get<std::int64_t>()); }

// Runs one reference case in nabla: its output, and the inputs (leaves) whose gradients are compared.
Tensor run_case(const json& c, std::map<std::string, Tensor>& in, Tensor& rm, Tensor& rv) {
  const std::string op = c.at("op");
  auto get = [&](const char* n) { return in.count(n) ? in.at(n) : Tensor(); };
  if (op == "conv2d")
    return nabla::conv2d(get("x"), get("w"), get("b"), size2(c.at("stride")), size2(c.at("padding")),
                         size2(c.at("dilation")), c.at("groups").get<std::int64_t>());
  if (op == "max_pool2d") {
    std::optional<Size2> s;
    if (!c.at("stride").is_null()) s = size2(c.at("stride"));
    return nabla::max_pool2d(get("x"), size2(c.at("kernel")), s, size2(c.at("padding")), size2(c.at("dilation")));
  }
  if (op == "avg_pool2d") {
    std::optional<Size2> s;
    if (!c.at("stride").is_null()) s = size2(c.at("stride"));
    return nabla::avg_pool2d(get("x"), size2(c.at("kernel")), s, size2(c.at("padding")),
                             c.at("count_include_pad").get<bool>());
  }
  if (op == "adaptive_avg_pool2d") return nabla::adaptive_avg_pool2d(get("x"), size2(c.at("output_size")));
  if (op == "batch_norm") {
    rm = nabla::test::tensor_from_json(c.at("running_mean"));
    rv = nabla::test::tensor_from_json(c.at("running_var"));
    return nabla::batch_norm(get("x"), rm, rv, get("w"), get("b"), c.at("training").get<bool>(),
                             c.at("momentum").get<double>(), c.at("eps").get<double>());
  }
  if (op == "layer_norm")
    return nabla::layer_norm(get("x"), c.at("normalized_shape").get<Shape>(), get("w"), get("b"),
                             c.at("eps").get<double>());
  if (op == "pad") return nabla::pad(get("x"), c.at("pads").get<std::vector<std::int64_t>>(), c.at("value").get<double>());
  throw std::runtime_error("unknown op " + op);
}

TEST(ConvTorch, ValuesAndGradientsMatch) {
  const json* ref = reference_or_fail();
  if (ref == nullptr) return;
  int checked = 0;
  for (const auto& c : ref->at("cases")) {
    SCOPED_TRACE(c.dump().substr(0, 160));
    std::map<std::string, Tensor> in;
    for (const auto& [name, t] : c.at("inputs").items())
      in[name] = nabla::test::tensor_from_json(t).requires_grad_();
    Tensor rm, rv;
    const Tensor y = run_case(c, in, rm, rv);
    EXPECT_TRUE(nabla::test::all_close(y, c.at("y"), kTorchTol, kTorchTol));
    y.backward(nabla::test::tensor_from_json(c.at("gy")));
    for (const auto& [name, g] : c.at("grads").items()) {
      SCOPED_TRACE("gradient of " + name);
      ASSERT_TRUE(in.at(name).grad().defined());
      EXPECT_TRUE(nabla::test::all_close(in.at(name).grad(), g, kTorchTol, kTorchTol));
    }
    if (c.contains("running_mean_after")) {
      EXPECT_TRUE(nabla::test::all_close(rm, c.at("running_mean_after"), kTorchTol, kTorchTol));
      EXPECT_TRUE(nabla::test::all_close(rv, c.at("running_var_after"), kTorchTol, kTorchTol));
    }
    ++checked;
  }
  EXPECT_GE(checked, 30);
}

// ---- gradcheck ----------------------------------------------------------------------------------

struct ConvCase {
  Shape x, w;
  bool bias;
  Size2 stride, padding, dilation;
  std::int64_t groups;
};

std::vector<ConvCase> conv_cases() {
  return {
      {{2, 2, 5, 5}, {3, 2, 3, 3}, true, 1, 0, 1, 1},
      {{1, 2, 6, 5}, {2, 2, 3, 3}, true, 2, 1, 1, 1},          // stride 2, padding 1
      {{1, 1, 7, 7}, {2, 1, 3, 3}, true, 1, 2, 2, 1},          // dilation 2
      {{2, 4, 4, 4}, {4, 2, 3, 2}, false, 1, 1, 1, 2},         // groups 2, no bias
      {{1, 2, 6, 5}, {2, 1, 2, 3}, true, {2, 1}, {0, 1}, {1, 2}, 2},  // non-square everything
  };
}

// Gradcheck of conv2d over every case (input, weight and, when present, bias).
void expect_conv_gradcheck(const std::vector<ConvCase>& cases) {
  for (const auto& cc : cases) {
    SCOPED_TRACE(nabla::shape_to_string(cc.x) + " * " + nabla::shape_to_string(cc.w));
    std::vector<Tensor> in{leaf(cc.x), leaf(cc.w)};
    if (cc.bias) in.push_back(leaf({cc.w[0]}));
    auto f = [&](const std::vector<Tensor>& v) {
      return nabla::conv2d(v[0], v[1], cc.bias ? v[2] : Tensor(), cc.stride, cc.padding, cc.dilation, cc.groups);
    };
    EXPECT_TRUE(grad_ok(f, in));
  }
}

TEST(ConvGradcheck, Conv2dConfigurations) { expect_conv_gradcheck(conv_cases()); }

// Small per-group reductions K = (c / groups)·kh·kw take the direct loops: rows wide enough for
// register blocks (with the last one overlapping), borders from padding, output channels beyond a
// block of 8, and every option.
std::vector<ConvCase> direct_cases() {
  return {
      {{2, 1, 6, 21}, {9, 1, 3, 3}, true, 1, 0, 1, 1},                   // the CNN's first layer, K = 9
      {{1, 2, 5, 20}, {10, 2, 3, 3}, false, 1, 1, 1, 1},                 // padding, no bias, K = 18
      {{1, 2, 7, 23}, {4, 1, 3, 3}, true, {1, 2}, {2, 1}, {2, 1}, 2},    // stride, dilation, groups
      {{2, 3, 5, 19}, {3, 1, 2, 3}, true, {2, 1}, {0, 2}, {1, 2}, 3},    // depthwise, non-square
      {{1, 1, 4, 6}, {2, 1, 1, 1}, true, 1, 0, 1, 1},                    // K = 1, rows narrower than a block
  };
}

TEST(ConvGradcheck, DirectPathConfigurations) { expect_conv_gradcheck(direct_cases()); }

TEST(ConvGradcheck, Conv2dSecondDerivatives) {
  const auto cases = conv_cases();
  for (std::size_t i : {1u, 3u, 4u}) {
    const auto& cc = cases[i];
    SCOPED_TRACE(i);
    std::vector<Tensor> in{leaf(cc.x), leaf(cc.w), leaf({cc.w[0]})};
    auto f = [&](const std::vector<Tensor>& v) {
      return nabla::conv2d(v[0], v[1], v[2], cc.stride, cc.padding, cc.dilation, cc.groups);
    };
    EXPECT_TRUE(gradgrad_ok(f, in));
  }
}

TEST(ConvGradcheck, BackwardOpsAreDifferentiable) {
  const Tensor w = leaf({4, 1, 3, 2}), gy = leaf({2, 4, 3, 4}), x = leaf({2, 2, 5, 5});
  EXPECT_TRUE(grad_ok([](const std::vector<Tensor>& v) { return nabla::conv2d_input_grad(v[0], v[1], {2, 2, 5, 5}, {2, 1}, {1, 0}, 1, 2); },
                      {gy, w}));
  EXPECT_TRUE(grad_ok([](const std::vector<Tensor>& v) { return nabla::conv2d_weight_grad(v[0], v[1], {4, 1, 3, 2}, {2, 1}, {1, 0}, 1, 2); },
                      {x, gy}));
}

TEST(PoolGradcheck, MaxAvgAdaptive) {
  const Tensor x = leaf({2, 2, 6, 7});
  auto check = [&](const std::function<Tensor(const Tensor&)>& op) {
    EXPECT_TRUE(grad_ok([&](const std::vector<Tensor>& v) { return op(v[0]); }, {x}));
    EXPECT_TRUE(gradgrad_ok([&](const std::vector<Tensor>& v) { return op(v[0]) * op(v[0]); }, {x}));
  };
  check([](const Tensor& t) { return nabla::max_pool2d(t, 2); });
  check([](const Tensor& t) { return nabla::max_pool2d(t, 3, Size2(2), 1); });
  check([](const Tensor& t) { return nabla::max_pool2d(t, {2, 3}, Size2{1, 2}, {1, 1}, {2, 1}); });
  check([](const Tensor& t) { return nabla::avg_pool2d(t, 2); });
  check([](const Tensor& t) { return nabla::avg_pool2d(t, 3, Size2(2), 1, true); });
  check([](const Tensor& t) { return nabla::avg_pool2d(t, {3, 2}, Size2{1, 2}, {1, 1}, false); });
  check([](const Tensor& t) { return nabla::adaptive_avg_pool2d(t, {3, 4}); });
  check([](const Tensor& t) { return nabla::adaptive_avg_pool2d(t, 1); });
}

TEST(NormGradcheck, BatchNormTrainingAndEval) {
  const Tensor x = leaf({4, 3, 2, 3}), w = leaf({3}), b = leaf({3});
  auto train = [](const std::vector<Tensor>& v) { return nabla::batch_norm(v[0], {}, {}, v[1], v[2], true); };
  EXPECT_TRUE(grad_ok(train, {x, w, b}));
  EXPECT_TRUE(gradgrad_ok(train, {x, w, b}));
  const Tensor rm = nabla::uniform({3}, -1, 1, nabla::kFloat64), rv = nabla::uniform({3}, 0.5, 2, nabla::kFloat64);
  auto eval = [&](const std::vector<Tensor>& v) { return nabla::batch_norm(v[0], rm, rv, v[1], v[2], false); };
  EXPECT_TRUE(grad_ok(eval, {x, w, b}));
  EXPECT_TRUE(gradgrad_ok(eval, {x, w, b}));
  const Tensor x2 = leaf({5, 3});  // BatchNorm1d shape, no affine
  EXPECT_TRUE(grad_ok([](const std::vector<Tensor>& v) { return nabla::batch_norm(v[0], {}, {}, {}, {}, true); }, {x2}));
}

TEST(NormGradcheck, LayerNorm) {
  const Tensor x = leaf({3, 2, 4}), w = leaf({2, 4}), b = leaf({2, 4}), w1 = leaf({4});
  auto two = [](const std::vector<Tensor>& v) { return nabla::layer_norm(v[0], {2, 4}, v[1], v[2]); };
  EXPECT_TRUE(grad_ok(two, {x, w, b}));
  EXPECT_TRUE(gradgrad_ok(two, {x, w, b}));
  EXPECT_TRUE(grad_ok([](const std::vector<Tensor>& v) { return nabla::layer_norm(v[0], {4}, v[1]); }, {x, w1}));
  EXPECT_TRUE(grad_ok([](const std::vector<Tensor>& v) { return nabla::layer_norm(v[0], {4}); }, {x}));
}

TEST(PadGradcheck, GrowAndCrop) {
  const Tensor x = leaf({2, 3, 4});
  auto f = [](const std::vector<Tensor>& v) { return nabla::pad(v[0], {1, -1, 2, 0}, 0.25); };
  EXPECT_TRUE(grad_ok(f, {x}));
  EXPECT_TRUE(gradgrad_ok([](const std::vector<Tensor>& v) { return nabla::pad(v[0] * v[0], {1, 2}); }, {x}));
}

// ---- paths and semantics ------------------------------------------------------------------------

// A batch big enough to be split into several chunks gives what convolving each sample alone gives.
TEST(Conv2d, ChunkedBatchMatchesPerSample) {
  nabla::manual_seed(7);
  const Tensor x = nabla::randn({40, 16, 32, 32}, nabla::kFloat64).requires_grad_();
  const Tensor w = nabla::randn({8, 16, 3, 3}, nabla::kFloat64).requires_grad_();
  const Tensor b = nabla::randn({8}, nabla::kFloat64).requires_grad_();
  const Tensor gy = nabla::randn({40, 8, 32, 32}, nabla::kFloat64);
  const Tensor y = nabla::conv2d(x, w, b, 1, 1);
  y.backward(gy);
  const auto yv = y.to_vector<double>(), gxv = x.grad().to_vector<double>();
  std::vector<double> gw_sum(w.numel(), 0.0);
  const std::int64_t per = 8 * 32 * 32, per_in = 16 * 32 * 32;
  for (std::int64_t s : {0, 17, 31, 32, 39}) {
    const Tensor xs = x.detach()[s].unsqueeze(0).requires_grad_(), ws = w.detach().requires_grad_();
    const Tensor ys = nabla::conv2d(xs, ws, b.detach(), 1, 1);
    ys.backward(gy[s].unsqueeze(0));
    const auto ysv = ys.to_vector<double>(), gxs = xs.grad().to_vector<double>();
    for (std::int64_t i = 0; i < per; ++i) ASSERT_NEAR(yv[s * per + i], ysv[i], 1e-12) << "sample " << s;
    for (std::int64_t i = 0; i < per_in; ++i) ASSERT_NEAR(gxv[s * per_in + i], gxs[i], 1e-12) << "sample " << s;
  }
  // The weight gradient is accumulated over chunks: compare with a sum over single-sample runs.
  for (std::int64_t s = 0; s < 40; ++s) {
    const Tensor ws = w.detach().requires_grad_();
    nabla::conv2d(x.detach()[s].unsqueeze(0), ws, Tensor(), 1, 1).backward(gy[s].unsqueeze(0));
    const auto g = ws.grad().to_vector<double>();
    for (std::size_t i = 0; i < g.size(); ++i) gw_sum[i] += g[i];
  }
  EXPECT_TRUE(nabla::test::values_near(w.grad(), gw_sum, 1e-10, 1e-10));

  // One thread: one share of the whole batch, in cache-sized steps (the weight gradient accumulated
  // over them). The single-sample runs above took the whole-batch path (fewer samples than threads).
  const int threads = nabla::get_num_threads();
  nabla::set_num_threads(1);
  const Tensor x1 = x.detach().requires_grad_(), w1 = w.detach().requires_grad_();
  const Tensor y1 = nabla::conv2d(x1, w1, b.detach(), 1, 1);
  y1.backward(gy);
  nabla::set_num_threads(threads);
  EXPECT_TRUE(nabla::test::values_near(y1, yv, 1e-12, 1e-12));
  EXPECT_TRUE(nabla::test::values_near(x1.grad(), gxv, 1e-12, 1e-12));
  EXPECT_TRUE(nabla::test::values_near(w1.grad(), gw_sum, 1e-10, 1e-10));
}

// Fewer samples than threads: the whole batch goes through GEMMs split over the pool, here in two
// chunks (a sample's unfolded input, 16·9 × 100·100 elements, lets kMaxColumnElements hold two), the
// weight and bias gradients accumulated across them. Against one thread, which takes the per-thread
// step path.
TEST(Conv2d, WholeBatchChunksMatchTheStepPath) {
  nabla::manual_seed(13);
  const Tensor x = nabla::randn({4, 16, 102, 102}, nabla::kFloat64), w = nabla::randn({4, 16, 3, 3}, nabla::kFloat64);
  const Tensor b = nabla::randn({4}, nabla::kFloat64), gy = nabla::randn({4, 4, 100, 100}, nabla::kFloat64);
  auto run = [&](int threads) {
    const int before = nabla::get_num_threads();
    nabla::set_num_threads(threads);
    const Tensor xs = x.detach().requires_grad_(), ws = w.detach().requires_grad_(), bs = b.detach().requires_grad_();
    const Tensor y = nabla::conv2d(xs, ws, bs);
    y.backward(gy);
    nabla::set_num_threads(before);
    return std::vector<Tensor>{y, xs.grad(), ws.grad(), bs.grad()};
  };
  const auto whole = run(8), steps = run(1);
  for (std::size_t r = 0; r < whole.size(); ++r)
    EXPECT_TRUE(nabla::test::values_near(whole[r], steps[r].to_vector<double>(), 1e-10, 1e-10)) << "result " << r;
}

// The direct loops and im2col + GEMM agree on every option, in float32 and float64, for small K
// (where kAuto picks the direct path) and larger K (forced); the weight gradient is the same bits
// run to run.
template <class T>
void check_direct_matches_gemm(double tol) {
  using nabla::detail::ConvPath;
  struct Case {
    std::int64_t n, c, h, w, oc, kh, kw, sh, sw, ph, pw, dh, dw, groups;
  };
  const std::vector<Case> cases = {
      {5, 1, 28, 28, 32, 3, 3, 1, 1, 0, 0, 1, 1, 1},   // the default CNN's first layer
      {3, 2, 19, 37, 11, 3, 3, 1, 1, 1, 1, 1, 1, 1},   // padding; 8 + 3 output channels
      {3, 4, 23, 30, 6, 3, 2, 2, 2, 1, 2, 1, 2, 2},    // stride 2, dilation, groups
      {2, 6, 17, 40, 12, 3, 3, 1, 3, 2, 0, 2, 1, 6},   // depthwise x2, strided columns
      {2, 16, 12, 20, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1},   // K = 144: direct forced
      {3, 2, 9, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1},      // rows narrower than a block
  };
  for (const auto& cs : cases) {
    SCOPED_TRACE(::testing::Message() << "c=" << cs.c << " w=" << cs.w << " oc=" << cs.oc << " groups=" << cs.groups);
    nabla::detail::Conv2dGeometry g;
    g.n = cs.n, g.c = cs.c, g.h = cs.h, g.w = cs.w, g.oc = cs.oc, g.kh = cs.kh, g.kw = cs.kw;
    g.sh = cs.sh, g.sw = cs.sw, g.ph = cs.ph, g.pw = cs.pw, g.dh = cs.dh, g.dw = cs.dw, g.groups = cs.groups;
    g.oh = (g.h + 2 * g.ph - g.dh * (g.kh - 1) - 1) / g.sh + 1;
    g.ow = (g.w + 2 * g.pw - g.dw * (g.kw - 1) - 1) / g.sw + 1;
    auto random = [](std::int64_t n) { return nabla::randn({n}, nabla::kFloat64).to_vector<double>(); };
    auto as_t = [](const std::vector<double>& v) { return std::vector<T>(v.begin(), v.end()); };
    const auto x = as_t(random(g.n * g.c * g.h * g.w)), w = as_t(random(g.oc * g.c / g.groups * g.kh * g.kw));
    const auto b = as_t(random(g.oc)), gy = as_t(random(g.n * g.oc * g.oh * g.ow));
    auto run = [&](ConvPath path, bool bias) {
      std::vector<T> y(gy.size()), gx(x.size()), gw(w.size()), gb(b.size());
      nabla::detail::conv2d_forward<T>(g, x.data(), w.data(), bias ? b.data() : nullptr, y.data(), path);
      nabla::detail::conv2d_backward<T>(g, x.data(), w.data(), gy.data(), gx.data(), gw.data(), gb.data(), path);
      return std::vector<std::vector<T>>{y, gx, gw, gb};
    };
    for (bool bias : {true, false}) {
      const auto gemm = run(ConvPath::kGemm, bias), direct = run(ConvPath::kDirect, bias);
      for (std::size_t r = 0; r < gemm.size(); ++r) {
        SCOPED_TRACE(::testing::Message() << "result " << r << (bias ? " with bias" : " without bias"));
        double scale = 1;  // a gradient sums many terms: its error grows with their size, not its own
        for (const T v : gemm[r]) scale = std::max(scale, std::abs(static_cast<double>(v)));
        for (std::size_t i = 0; i < gemm[r].size(); ++i) ASSERT_NEAR(direct[r][i], gemm[r][i], tol * scale) << "at " << i;
      }
      EXPECT_EQ(run(ConvPath::kDirect, bias), direct);
    }
  }
}

TEST(Conv2d, DirectPathMatchesGemmPath) {
  nabla::manual_seed(11);
  check_direct_matches_gemm<double>(1e-12);
  check_direct_matches_gemm<float>(2e-5);
  // One thread: the weight gradient summed in one share instead of one per thread.
  const int threads = nabla::get_num_threads();
  nabla::set_num_threads(1);
  check_direct_matches_gemm<double>(1e-12);
  nabla::set_num_threads(threads);
}

// An infinite input under the direct weight gradient's overlapping last block of a row: the lanes
// that block masks off (already counted) must not turn 0 · Inf into NaN. Row widths 18 and 10 put
// the Inf in the overlap for 16-lane (AVX-512) and 8-lane (AVX2) float blocks.
TEST(Conv2d, DirectWeightGradientKeepsAnInfiniteInputInfinite) {
  using nabla::detail::ConvPath;
  for (const std::int64_t width : {18, 10}) {
    nabla::detail::Conv2dGeometry g;
    g.n = 1, g.c = 1, g.h = 1, g.w = width, g.oc = 1, g.kh = 1, g.kw = 1, g.oh = 1, g.ow = width;
    std::vector<float> x(static_cast<std::size_t>(width), 1.0f), w{1.0f}, gy(x.size(), 1.0f);
    x[5] = std::numeric_limits<float>::infinity();
    for (const ConvPath path : {ConvPath::kGemm, ConvPath::kDirect}) {
      float gw = 0, gb = 0;
      nabla::detail::conv2d_backward<float>(g, x.data(), w.data(), gy.data(), nullptr, &gw, &gb, path);
      EXPECT_EQ(gw, std::numeric_limits<float>::infinity()) << "width " << width << (path == ConvPath::kGemm ? " gemm" : " direct");
      EXPECT_EQ(gb, static_cast<float>(width));
    }
  }
}

TEST(Conv2d, UnbatchedNonContiguousAndFloat32) {
  nabla::manual_seed(3);
  const Tensor x = nabla::randn({2, 3, 6, 5}, nabla::kFloat64), w = nabla::randn({4, 3, 3, 3}, nabla::kFloat64);
  const Tensor y = nabla::conv2d(x, w, {}, 1, 1);
  // One sample as [C, H, W].
  EXPECT_EQ(nabla::conv2d(x[1], w, {}, 1, 1).shape(), (Shape{4, 6, 5}));
  EXPECT_TRUE(nabla::test::values_near(nabla::conv2d(x[1], w, {}, 1, 1), y[1].to_vector<double>(), 1e-13, 1e-13));
  // A transposed (non-contiguous) input.
  const Tensor xt = x.transpose(2, 3).contiguous().transpose(2, 3);
  ASSERT_FALSE(xt.is_contiguous());
  EXPECT_TRUE(nabla::test::values_near(nabla::conv2d(xt, w, {}, 1, 1), y.to_vector<double>(), 1e-13, 1e-13));
  // float32 agrees with float64 to float32 precision.
  const Tensor y32 = nabla::conv2d(x.to(nabla::kFloat32), w.to(nabla::kFloat32), {}, 1, 1);
  EXPECT_EQ(y32.dtype(), nabla::kFloat32);
  EXPECT_TRUE(nabla::test::values_near(y32, y.to_vector<double>(), 1e-4, 1e-4));
}

TEST(MaxPool2d, GradientGoesOnlyToTheArgMax) {
  const Tensor x = t64({1, 5, 2, 0,  //
                                  3, 4, 8, 1,  //
                                  0, 0, 1, 1,  //
                                  9, 0, 1, 7},
                                 {1, 1, 4, 4})
                       .requires_grad_();
  const Tensor y = nabla::max_pool2d(x, 2);
  EXPECT_TRUE(nabla::test::values_near(y, {5, 8, 9, 7}, 0));
  y.backward(t64({1, 2, 3, 4}, {1, 1, 2, 2}));
  EXPECT_TRUE(nabla::test::values_near(x.grad(), {0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 3, 0, 0, 4}, 0));
  // Overlapping windows that share an arg-max add up there.
  const Tensor z = t64({0, 0, 0, 0, 9, 0, 0, 0, 0}, {1, 1, 3, 3}).requires_grad_();
  nabla::sum(nabla::max_pool2d(z, 2, Size2(1))).backward();
  EXPECT_TRUE(nabla::test::values_near(z.grad(), {0, 0, 0, 0, 4, 0, 0, 0, 0}, 0));
  // A NaN in a window wins (as PyTorch), and receives the gradient.
  const double nan = std::nan("");
  const Tensor q = t64({1, nan, 7, 2, 3, 4, -1, 0}, {1, 1, 2, 4}).requires_grad_();
  const Tensor m = nabla::max_pool2d(q, 2);
  const auto mv = m.to_vector<double>();
  EXPECT_TRUE(std::isnan(mv[0]));
  EXPECT_EQ(mv[1], 7.0);
  m.backward(t64({1, 2}, {1, 1, 1, 2}));
  EXPECT_TRUE(nabla::test::values_near(q.grad(), {0, 1, 2, 0, 0, 0, 0, 0}, 0));
}

// 2x2 windows with stride 2 have their own vectorised kernel: against a brute-force max gate, with
// ties (small integers: the first maximum in row-major window order wins), rows wider than its
// 64-output chunks, an odd size whose last row and column no window reads, and one plane holding a
// NaN (that plane falls back to the general kernel; the others must not).
TEST(MaxPool2d, TwoByTwoStrideTwoKernelMatchesBruteForce) {
  const std::int64_t n = 2, c = 3, h = 7, w = 133, oh = h / 2, ow = w / 2;
  for (const nabla::DType dtype : {nabla::kFloat32, nabla::kFloat64}) {
    std::vector<double> v(static_cast<std::size_t>(n * c * h * w));
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>((i * 7919 + i / 5) % 5);
    v[static_cast<std::size_t>(4 * h * w + 3 * w + 10)] = std::nan("");  // plane 4, window (1, 5)
    const Tensor x = nabla::tensor(v, {n, c, h, w}, dtype).requires_grad_();
    const Tensor y = nabla::max_pool2d(x, 2);
    ASSERT_EQ(y.shape(), (Shape{n, c, oh, ow}));
    std::vector<double> gy(static_cast<std::size_t>(n * c * oh * ow)), expect_y(gy.size()), expect_gx(v.size(), 0.0);
    for (std::size_t i = 0; i < gy.size(); ++i) gy[i] = static_cast<double>(i % 13 + 1);
    for (std::int64_t p = 0; p < n * c; ++p)
      for (std::int64_t i = 0; i < oh; ++i)
        for (std::int64_t j = 0; j < ow; ++j) {
          std::int64_t at = -1;
          for (const std::int64_t q : {p * h * w + 2 * i * w + 2 * j, p * h * w + 2 * i * w + 2 * j + 1,
                                       p * h * w + (2 * i + 1) * w + 2 * j, p * h * w + (2 * i + 1) * w + 2 * j + 1}) {
            const double value = v[static_cast<std::size_t>(q)];
            if (at < 0 || std::isnan(value) || (!std::isnan(v[static_cast<std::size_t>(at)]) && value > v[static_cast<std::size_t>(at)]))
              at = q;
          }
          const std::size_t o = static_cast<std::size_t>((p * oh + i) * ow + j);
          expect_y[o] = v[static_cast<std::size_t>(at)];
          expect_gx[static_cast<std::size_t>(at)] += gy[o];
        }
    const auto got = y.to_vector<double>();
    for (std::size_t o = 0; o < got.size(); ++o) {
      if (std::isnan(expect_y[o])) EXPECT_TRUE(std::isnan(got[o])) << o;
      else EXPECT_EQ(got[o], expect_y[o]) << o;
    }
    y.backward(nabla::tensor(gy, y.shape(), dtype));
    EXPECT_TRUE(nabla::test::values_near(x.grad(), expect_gx, 0));
  }
}

TEST(BatchNorm, EvalUsesRunningStatisticsAndTrainingUpdatesThem) {
  const Tensor x = t64({1, 2, 3, 4, 5, 6, 7, 8}, {4, 2});
  Tensor rm = nabla::zeros({2}, nabla::kFloat64), rv = nabla::ones({2}, nabla::kFloat64);
  const Tensor y = nabla::batch_norm(x, rm, rv, {}, {}, true, 0.5, 0.0);
  // Column 0: 1 3 5 7, mean 4, biased var 5, unbiased 20/3.
  EXPECT_TRUE(nabla::test::values_near(y.select(1, 0), {-3 / std::sqrt(5.0), -1 / std::sqrt(5.0), 1 / std::sqrt(5.0), 3 / std::sqrt(5.0)}, 1e-12));
  EXPECT_TRUE(nabla::test::values_near(rm, {2.0, 2.5}, 1e-12));
  EXPECT_TRUE(nabla::test::values_near(rv, {0.5 + 0.5 * 20.0 / 3.0, 0.5 + 0.5 * 20.0 / 3.0}, 1e-12));
  const Tensor e = nabla::batch_norm(x, rm, rv, {}, {}, false, 0.5, 0.0);
  EXPECT_NEAR(e.to_vector<double>()[0], (1 - 2.0) / std::sqrt(0.5 + 0.5 * 20.0 / 3.0), 1e-12);
}

// ---- bad input ----------------------------------------------------------------------------------

TEST(ConvErrors, NameTheOpAndTheShapes) {
  const Tensor x = nabla::zeros({1, 3, 5, 5}, nabla::kFloat64), w = nabla::zeros({4, 3, 3, 3}, nabla::kFloat64);
  using V = std::vector<std::string>;
  EXPECT_TRUE(throws_error([&] { nabla::conv2d(x, nabla::zeros({4, 3, 7, 7}, nabla::kFloat64)); },
                           V{"conv2d", "larger than the padded input", "[1, 3, 5, 5]", "[4, 3, 7, 7]"}));
  EXPECT_TRUE(throws_error([&] { nabla::conv2d(x, w, {}, 0); }, V{"conv2d", "stride must be positive", "[1, 3, 5, 5]"}));
  EXPECT_TRUE(throws_error([&] { nabla::conv2d(x, w, {}, {1, -2}); }, V{"conv2d", "stride", "(1, -2)"}));
  EXPECT_TRUE(throws_error([&] { nabla::conv2d(x, nabla::zeros({4, 2, 3, 3}, nabla::kFloat64)); },
                           V{"conv2d", "3 channels", "[4, 2, 3, 3]", "expects 2"}));
  EXPECT_TRUE(throws_error([&] { nabla::conv2d(x, nabla::zeros({4, 1, 3, 3}, nabla::kFloat64), {}, 1, 0, 1, 2); },
                           V{"conv2d", "groups=2 does not divide", "3 channels"}));
  EXPECT_TRUE(throws_error([&] { nabla::conv2d(nabla::zeros({1, 4, 5, 5}, nabla::kFloat64), nabla::zeros({3, 2, 3, 3}, nabla::kFloat64), {}, 1, 0, 1, 2); },
                           V{"conv2d", "groups=2", "3 output channels"}));
  EXPECT_TRUE(throws_error([&] { nabla::conv2d(nabla::zeros({5, 5}, nabla::kFloat64), w); }, V{"conv2d", "4-D", "[5, 5]"}));
  EXPECT_TRUE(throws_error([&] { nabla::conv2d(x, nabla::zeros({4, 3, 3}, nabla::kFloat64)); }, V{"conv2d", "weight must be 4-D", "[4, 3, 3]"}));
  EXPECT_TRUE(throws_error([&] { nabla::conv2d(x, w, nabla::zeros({3}, nabla::kFloat64)); }, V{"conv2d", "bias of shape [3]", "expected [4]"}));
  EXPECT_TRUE(throws_error([&] { nabla::conv2d(x, w, {}, 1, -1); }, V{"conv2d", "padding must be non-negative"}));
  EXPECT_TRUE(throws_error([&] { nabla::conv2d(x, w, {}, 1, 0, 0); }, V{"conv2d", "dilation must be positive"}));
  EXPECT_TRUE(throws_error([&] { nabla::conv2d(x, w.to(nabla::kFloat32)); }, V{"conv2d", "float64", "float32"}));
  EXPECT_TRUE(throws_error([&] { nabla::conv2d(x, w, {}, 1, 0, 1, 0); }, V{"conv2d", "groups must be positive"}));
  EXPECT_TRUE(throws_error([&] { nabla::conv2d(x, w, {}, 1, 0, 3); }, V{"conv2d", "larger than the padded input", "dilation (3, 3)"}));
}

TEST(PoolErrors, NameTheOpAndTheShapes) {
  const Tensor x = nabla::zeros({1, 2, 4, 4}, nabla::kFloat64);
  using V = std::vector<std::string>;
  EXPECT_TRUE(throws_error([&] { nabla::max_pool2d(x, 5); }, V{"max_pool2d", "larger than the padded input", "[1, 2, 4, 4]"}));
  EXPECT_TRUE(throws_error([&] { nabla::max_pool2d(x, 2, Size2(0)); }, V{"max_pool2d", "stride must be positive"}));
  EXPECT_TRUE(throws_error([&] { nabla::max_pool2d(x, 2, Size2(-1)); }, V{"max_pool2d", "stride", "(-1, -1)"}));
  EXPECT_TRUE(throws_error([&] { nabla::max_pool2d(x, 2, std::nullopt, 2); }, V{"max_pool2d", "at most half the kernel"}));
  EXPECT_TRUE(throws_error([&] { nabla::max_pool2d(nabla::zeros({4, 4}, nabla::kFloat64), 2); }, V{"max_pool2d", "4-D", "[4, 4]"}));
  EXPECT_TRUE(throws_error([&] { nabla::avg_pool2d(x, {2, 6}); }, V{"avg_pool2d", "larger than the padded input"}));
  EXPECT_TRUE(throws_error([&] { nabla::avg_pool2d(x, 0); }, V{"avg_pool2d", "kernel_size must be positive"}));
  EXPECT_TRUE(throws_error([&] { nabla::adaptive_avg_pool2d(x, {0, 2}); }, V{"adaptive_avg_pool2d", "output_size"}));
  EXPECT_TRUE(throws_error([&] { nabla::adaptive_avg_pool2d(nabla::zeros({2, 2, 2, 2, 2}, nabla::kFloat64), 1); },
                           V{"adaptive_avg_pool2d", "[2, 2, 2, 2, 2]"}));
}

TEST(NormErrors, NameTheOpAndTheShapes) {
  const Tensor x = nabla::zeros({2, 3, 4}, nabla::kFloat64);
  using V = std::vector<std::string>;
  EXPECT_TRUE(throws_error([&] { nabla::batch_norm(x, nabla::zeros({4}, nabla::kFloat64), nabla::ones({4}, nabla::kFloat64)); },
                           V{"batch_norm", "running_mean of shape [4]", "[2, 3, 4]", "[3]"}));
  EXPECT_TRUE(throws_error([&] { nabla::batch_norm(x, {}, {}); }, V{"batch_norm", "running_mean"}));
  EXPECT_TRUE(throws_error([&] { nabla::batch_norm(nabla::zeros({1, 3}, nabla::kFloat64), {}, {}, {}, {}, true); },
                           V{"batch_norm", "more than 1 value per channel", "[1, 3]"}));
  EXPECT_TRUE(throws_error([&] { nabla::batch_norm(nabla::zeros({3}, nabla::kFloat64), {}, {}, {}, {}, true); }, V{"batch_norm", "[3]"}));
  EXPECT_TRUE(throws_error([&] { nabla::layer_norm(x, {3}); }, V{"layer_norm", "[3]", "[2, 3, 4]"}));
  EXPECT_TRUE(throws_error([&] { nabla::layer_norm(x, {4}, nabla::ones({3}, nabla::kFloat64)); }, V{"layer_norm", "weight of shape [3]"}));
  EXPECT_TRUE(throws_error([&] { nabla::pad(x, {1}); }, V{"pad", "even number"}));
  EXPECT_TRUE(throws_error([&] { nabla::pad(x, {-3, -2}); }, V{"pad", "negative size"}));
}

}  // namespace
