// Inference through a trained `nabla train` MLP checkpoint: latency of one sample and throughput of
// batches of 1,000, gradients off. Run by bench/run_inference.sh next to bench/torch_inference.py.
// Usage: inference_bench CHECKPOINT THREADS   → prints `latency_us L throughput_per_s T`
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <nabla/nabla.h>

using nabla::Tensor;

namespace {

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

template <class F>
double seconds(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s CHECKPOINT THREADS\n", argv[0]);
    return 2;
  }
  nabla::set_num_threads(std::atoi(argv[2]));
  // The default MLP's layers, named as `nabla train` saves them (model.0, model.2, model.4).
  const auto file = nabla::io::load_safetensors(argv[1]);
  const auto tensor = [&](const std::string& name) {
    for (const auto& [n, t] : file.tensors)
      if (n == name) return t;
    std::fprintf(stderr, "%s: no tensor %s (not a default-MLP checkpoint of nabla train)\n", argv[1], name.c_str());
    std::exit(2);
  };
  std::vector<std::pair<Tensor, Tensor>> layers;
  for (const char* index : {"0", "2", "4"})
    layers.emplace_back(tensor(std::string("model.") + index + ".weight"), tensor(std::string("model.") + index + ".bias"));
  const auto forward = [&](const Tensor& x) {
    Tensor h = x;
    for (std::size_t i = 0; i < layers.size(); ++i) {
      // Hidden layers as nn::Sequential runs them: Linear and ReLU fused into one op.
      h = i + 1 < layers.size() ? nabla::linear_relu(h, layers[i].first, layers[i].second)
                                : nabla::linear(h, layers[i].first, layers[i].second);
    }
    return h;
  };
  nabla::NoGradGuard no_grad;
  nabla::manual_seed(0);
  const Tensor one = nabla::rand({1, 784}), batch = nabla::rand({1000, 784});
  for (int i = 0; i < 1000; ++i) forward(one);  // warm caches and the allocator
  std::vector<double> latency, throughput;
  for (int i = 0; i < 20000; ++i) latency.push_back(seconds([&] { forward(one); }));
  for (int i = 0; i < 5; ++i) forward(batch);
  for (int i = 0; i < 100; ++i) throughput.push_back(1000 / seconds([&] { forward(batch); }));
  std::printf("latency_us %.2f throughput_per_s %.0f\n", median(latency) * 1e6, median(throughput));
  return 0;
}
