// Determinism: the same seed and thread count give bit-identical training runs; the ops the README
// lists as thread-count-independent give bit-identical results on 1 and 2 threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include <nabla/nabla.h>

namespace {

using nabla::Tensor;

/// Restores the thread count a test changed.
struct ThreadCountGuard {
  int saved = nabla::get_num_threads();
  ~ThreadCountGuard() { nabla::set_num_threads(saved); }
};

/// The bytes of every tensor, concatenated (contiguous copies), for bit-for-bit comparison.
std::vector<unsigned char> bytes_of(const std::vector<Tensor>& tensors) {
  std::vector<unsigned char> out;
  for (const Tensor& t : tensors) {
    const Tensor c = t.contiguous();
    const std::size_t n = static_cast<std::size_t>(c.numel()) * nabla::element_size(c.dtype());
    const auto* p = static_cast<const unsigned char*>(c.dtype() == nabla::kFloat64
                                                          ? static_cast<const void*>(c.data_ptr<double>())
                                                          : c.dtype() == nabla::kInt64
                                                                ? static_cast<const void*>(c.data_ptr<std::int64_t>())
                                                                : static_cast<const void*>(c.data_ptr<float>()));
    out.insert(out.end(), p, p + n);
  }
  return out;
}

/// 300 SGD (momentum) steps of a 20-32-32-5 MLP on random data in minibatches of 32; returns the
/// final parameters and the last loss.
std::vector<Tensor> train_mlp(std::uint64_t seed, int threads) {
  nabla::set_num_threads(threads);
  nabla::manual_seed(seed);
  auto model = std::make_shared<nabla::nn::Sequential>(std::initializer_list<std::shared_ptr<nabla::nn::Module>>{
      std::make_shared<nabla::nn::Linear>(20, 32), std::make_shared<nabla::nn::ReLU>(),
      std::make_shared<nabla::nn::Linear>(32, 32), std::make_shared<nabla::nn::Tanh>(),
      std::make_shared<nabla::nn::Linear>(32, 5)});
  const Tensor x = nabla::randn({256, 20});
  const Tensor y = nabla::randint(0, 5, {256});
  nabla::optim::SGD opt(model->parameters(), nabla::optim::SGDOptions(0.05).momentum(0.9));
  Tensor loss;
  for (int step = 0; step < 300; ++step) {
    const std::int64_t start = (step * 32) % 256;
    opt.zero_grad();
    loss = nabla::cross_entropy((*model)(x.narrow(0, start, 32)), y.narrow(0, start, 32));
    loss.backward();
    opt.step();
  }
  std::vector<Tensor> out = model->parameters();
  out.push_back(loss.detach());
  return out;
}

/// A conv2d + max-pool + linear forward and backward on random data; returns the output and every gradient.
std::vector<Tensor> conv_step(std::uint64_t seed, int threads) {
  nabla::set_num_threads(threads);
  nabla::manual_seed(seed);
  const Tensor x = nabla::randn({16, 3, 20, 20}).requires_grad_();
  const Tensor w = nabla::randn({8, 3, 3, 3}).requires_grad_();
  const Tensor b = nabla::randn({8}).requires_grad_();
  const Tensor fc = nabla::randn({10, 8 * 10 * 10}).requires_grad_();
  const Tensor h = nabla::max_pool2d(nabla::relu(nabla::conv2d(x, w, b, 1, 1)), 2);
  const Tensor out = nabla::linear(h.flatten(1), fc);
  nabla::sum(out * out).backward();
  return {out, x.grad(), w.grad(), b.grad(), fc.grad()};
}

/// The ops the README calls thread-count-independent, forward and backward, on inputs large enough
/// (above the parallel grain) to be split across threads.
std::vector<Tensor> thread_independent_ops(int threads) {
  nabla::set_num_threads(threads);
  nabla::manual_seed(7);
  const Tensor a = nabla::randn({300, 500}).requires_grad_();
  const Tensor b = nabla::randn({300, 500}).requires_grad_();
  const Tensor e = nabla::exp(a) * nabla::tanh(b) + nabla::sigmoid(a - b) / (1.0 + a * a);  // elementwise, broadcast-free
  const Tensor s0 = nabla::sum(e, 0), s1 = nabla::sum(e, 1);  // sum over a dim
  const Tensor all = nabla::sum(e);                           // sum over all elements
  const Tensor mx = nabla::max(e, 1), mn = nabla::min(e, 0), gmax = nabla::max(e);
  const Tensor sm = nabla::softmax(e, 1), lsm = nabla::log_softmax(e, 0);
  // float64 with a broadcast operand, reduced over everything.
  const Tensor d = nabla::randn({200, 500}, nabla::kFloat64).requires_grad_();
  const Tensor d_all = nabla::sum(nabla::exp(d) * nabla::randn({500}, nabla::kFloat64));
  d_all.backward();
  const Tensor loss = all + nabla::sum(s0 * s0) + nabla::sum(mx) + nabla::sum(mn) + nabla::sum(sm * e) + nabla::mean(lsm);
  loss.backward();
  return {e, s0, s1, all, mx, mn, gmax, sm, lsm, loss, a.grad(), b.grad(), d_all, d.grad()};
}

}  // namespace

TEST(Determinism, MlpTrainingIsBitIdenticalRunToRun) {
  ThreadCountGuard guard;
  for (int threads : {1, 2}) {
    const auto first = bytes_of(train_mlp(42, threads));
    const auto second = bytes_of(train_mlp(42, threads));
    ASSERT_FALSE(first.empty());
    EXPECT_TRUE(first == second) << "threads " << threads;
  }
  // A different seed gives a different run (the comparison above is not vacuous).
  EXPECT_FALSE(bytes_of(train_mlp(42, 1)) == bytes_of(train_mlp(43, 1)));
}

TEST(Determinism, ConvForwardBackwardIsBitIdenticalRunToRun) {
  ThreadCountGuard guard;
  for (int threads : {1, 2}) {
    const auto first = bytes_of(conv_step(5, threads));
    const auto second = bytes_of(conv_step(5, threads));
    EXPECT_TRUE(first == second) << "threads " << threads;
  }
}

TEST(Determinism, ReadmeOpsAreBitIdenticalOnOneAndTwoThreads) {
  ThreadCountGuard guard;
  const auto one = thread_independent_ops(1);
  const auto two = thread_independent_ops(2);
  ASSERT_EQ(one.size(), two.size());
  for (std::size_t i = 0; i < one.size(); ++i)
    EXPECT_TRUE(bytes_of({one[i]}) == bytes_of({two[i]})) << "result " << i << " differs between 1 and 2 threads";
}

// Not bit-identical across thread counts (README): conv2d groups samples into GEMMs differently with
// the thread count, and OpenBLAS blocks matrix products by it. They agree to rounding.
TEST(Determinism, ConvAndMatmulAgreeAcrossThreadCountsToRounding) {
  ThreadCountGuard guard;
  const auto one = conv_step(5, 1);
  const auto two = conv_step(5, 2);
  for (std::size_t i = 0; i < one.size(); ++i) {
    const auto a = one[i].to_vector<double>(), b = two[i].to_vector<double>();
    ASSERT_EQ(a.size(), b.size());
    double worst = 0.0, scale = 0.0;
    for (std::size_t k = 0; k < a.size(); ++k) {
      worst = std::max(worst, std::abs(a[k] - b[k]));
      scale = std::max(scale, std::abs(a[k]));
    }
    EXPECT_LE(worst, 1e-5 * scale) << "result " << i;
  }
}
