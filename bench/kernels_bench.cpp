// Google Benchmark micro-benchmarks of nabla's kernels and of the per-op autograd overhead.
// Run: bash bench/run_kernels.sh  (figures in BENCHMARKS.md).
#include <benchmark/benchmark.h>

#include <nabla/nabla.h>

using nabla::Tensor;

namespace {

void elementwise_add(benchmark::State& state) {
  const auto n = state.range(0);
  Tensor a = nabla::randn({n}), b = nabla::randn({n});
  for (auto _ : state) benchmark::DoNotOptimize(nabla::add(a, b));
  state.SetBytesProcessed(state.iterations() * n * 12);
}
BENCHMARK(elementwise_add)->Arg(1 << 10)->Arg(1 << 16)->Arg(1 << 20);

void relu_forward(benchmark::State& state) {
  Tensor a = nabla::randn({state.range(0)});
  for (auto _ : state) benchmark::DoNotOptimize(nabla::relu(a));
  state.SetBytesProcessed(state.iterations() * state.range(0) * 8);
}
BENCHMARK(relu_forward)->Arg(1 << 16)->Arg(1 << 20);

void sum_rows(benchmark::State& state) {
  Tensor a = nabla::randn({state.range(0), 784});
  for (auto _ : state) benchmark::DoNotOptimize(nabla::sum(a, 0));
  state.SetBytesProcessed(state.iterations() * state.range(0) * 784 * 4);
}
BENCHMARK(sum_rows)->Arg(64)->Arg(4096);

void softmax_cross_entropy(benchmark::State& state) {
  const auto n = state.range(0);
  Tensor logits = nabla::randn({n, 10}).requires_grad_();
  Tensor labels = nabla::randint(0, 10, {n});
  for (auto _ : state) {
    Tensor loss = nabla::cross_entropy(logits, labels);
    loss.backward();
    logits.reset_grad();
  }
}
BENCHMARK(softmax_cross_entropy)->Arg(64)->Arg(1000);

// Square float32 matmul at a given thread count; 1024 at 1 and 2 threads is the sgemm rate that
// bench/run_all.sh divides each epoch's FLOPs by (the GEMM-bound floor).
void matmul_square(benchmark::State& state) {
  const auto n = state.range(0);
  const int threads_before = nabla::get_num_threads();
  nabla::set_num_threads(static_cast<int>(state.range(1)));
  Tensor a = nabla::randn({n, n}), b = nabla::randn({n, n});
  for (auto _ : state) benchmark::DoNotOptimize(nabla::matmul(a, b));
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * n * n * n, benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
  nabla::set_num_threads(threads_before);
}
BENCHMARK(matmul_square)->ArgNames({"n", "threads"})->Args({64, 2})->Args({256, 2})->Args({1024, 1})->Args({1024, 2})->UseRealTime();

void linear_forward_backward(benchmark::State& state) {
  Tensor x = nabla::randn({64, 784});
  nabla::nn::Linear layer(784, 256);
  for (auto _ : state) {
    Tensor y = nabla::sum(layer(x));
    y.backward();
    layer.zero_grad();
  }
}
BENCHMARK(linear_forward_backward);

// One SGD step of the default `nabla train` MLP (784-256-128-10, ReLU, batch 64, momentum 0.9)
// on a fixed random batch: the training epoch's inner loop without data loading (938 steps per epoch).
void mlp_train_step(benchmark::State& state) {
  const int threads_before = nabla::get_num_threads();
  nabla::set_num_threads(static_cast<int>(state.range(0)));
  nabla::manual_seed(0);
  auto model = std::make_shared<nabla::nn::Sequential>();
  model->push_back(std::make_shared<nabla::nn::Linear>(784, 256));
  model->push_back(std::make_shared<nabla::nn::ReLU>());
  model->push_back(std::make_shared<nabla::nn::Linear>(256, 128));
  model->push_back(std::make_shared<nabla::nn::ReLU>());
  model->push_back(std::make_shared<nabla::nn::Linear>(128, 10));
  nabla::optim::SGD sgd(model->parameters(), nabla::optim::SGDOptions(0.01).momentum(0.9));
  const Tensor x = nabla::rand({64, 784});
  const Tensor y = nabla::randint(0, 10, {64});
  for (auto _ : state) {
    sgd.zero_grad();
    Tensor loss = nabla::cross_entropy((*model)(x), y);
    loss.backward();
    sgd.step();
  }
  nabla::set_num_threads(threads_before);
}
BENCHMARK(mlp_train_step)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime();

void conv_forward_backward(benchmark::State& state) {
  const auto c_in = state.range(0), c_out = state.range(1), hw = state.range(2);
  Tensor x = nabla::randn({64, c_in, hw, hw}).requires_grad_();
  nabla::nn::Conv2d conv(c_in, c_out, 3);
  for (auto _ : state) {
    Tensor y = nabla::sum(conv(x));
    y.backward();
    conv.zero_grad();
    x.reset_grad();
  }
}
BENCHMARK(conv_forward_backward)->Args({1, 32, 28})->Args({32, 64, 13});

// Per-op overhead: tiny tensors, so the time is the op's bookkeeping (dispatch, allocation, graph
// recording) plus its share of the backward sweep, per op.
void tiny_op_overhead(benchmark::State& state) {
  constexpr int kOps = 1000;
  Tensor x = nabla::tensor({0.5}, nabla::kFloat32).requires_grad_();
  Tensor c = nabla::tensor({1.0001}, nabla::kFloat32);
  for (auto _ : state) {
    Tensor y = x;
    for (int i = 0; i < kOps / 2; ++i) y = y * c + c;
    nabla::sum(y).backward();
    x.reset_grad();
  }
  state.counters["ns/op"] = benchmark::Counter(static_cast<double>(kOps), benchmark::Counter::kIsIterationInvariantRate |
                                                                              benchmark::Counter::kInvert,
                                               benchmark::Counter::kIs1000);
}
BENCHMARK(tiny_op_overhead);

}  // namespace

BENCHMARK_MAIN();
