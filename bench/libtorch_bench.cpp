// libtorch (PyTorch C++ frontend) side of the benchmarks: the same training epoch as bench/torch_train.py
// and the same per-op autograd overhead as tiny_op_overhead in bench/kernels_bench.cpp, without Python.
// Its learning rate is constant (torch_train.py and nabla train anneal the CNN's along a cosine, outside
// the timed step): its epoch times compare, its CNN accuracy after several epochs does not.
// Usage: libtorch_bench train --model mlp|cnn --epochs N --threads T [--hidden 256,128] [--batch 64]
//                             [--lr 0.01] [--momentum 0.9] [--seed 0] [--data DIR]
//        libtorch_bench per-op [--threads T] [--repeats R]
// train prints one line per epoch, as torch_train.py does:
//   `epoch E train_loss L train_acc A test_loss L test_acc A epoch_seconds S`
// where epoch_seconds counts the training steps only (data loading and batch indexing excluded).
// per-op prints `per_op_ns N` (median of R runs of 1000 ops `y = y * c + c` on 1-element tensors, then backward).
#include <torch/torch.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

/// Reads an IDX file (gzip or plain: gzread reads both) into a uint8 tensor of its dimensions.
torch::Tensor read_idx(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) throw std::runtime_error("read_idx: cannot open " + path);
  std::vector<unsigned char> data;
  unsigned char buf[1 << 16];
  int got = 0;
  while ((got = gzread(f, buf, sizeof buf)) > 0) data.insert(data.end(), buf, buf + got);
  gzclose(f);
  if (got < 0 || data.size() < 4) throw std::runtime_error("read_idx: cannot read " + path);
  auto be32 = [&](size_t at) {
    return (uint32_t{data[at]} << 24) | (uint32_t{data[at + 1]} << 16) | (uint32_t{data[at + 2]} << 8) | data[at + 3];
  };
  const size_t ndim = data[3];
  std::vector<int64_t> dims;
  int64_t count = 1;
  for (size_t i = 0; i < ndim; ++i) {
    dims.push_back(be32(4 + 4 * i));
    count *= dims.back();
  }
  const size_t offset = 4 + 4 * ndim;
  if (data.size() != offset + static_cast<size_t>(count))
    throw std::runtime_error("read_idx: " + path + " has " + std::to_string(data.size() - offset) + " data bytes, expected " +
                             std::to_string(count));
  return torch::from_blob(data.data() + offset, dims, torch::kUInt8).clone();
}

std::string find(const std::string& dir, const std::string& name) {
  for (const std::string& candidate : {name, name + ".gz"}) {
    const auto path = std::filesystem::path(dir) / candidate;
    if (std::filesystem::exists(path)) return path.string();
  }
  throw std::runtime_error(dir + ": no " + name + " or " + name + ".gz");
}

torch::Tensor images(const std::string& path) { return (read_idx(path).to(torch::kFloat32) / 255.0).unsqueeze(1); }
torch::Tensor labels(const std::string& path) { return read_idx(path).to(torch::kLong); }

torch::nn::Sequential build(const std::string& model, const std::vector<int64_t>& hidden) {
  namespace nn = torch::nn;
  if (model == "mlp") {
    nn::Sequential net{nn::Flatten()};
    int64_t width = 784;
    for (int64_t h : hidden) {
      net->push_back(nn::Linear(width, h));
      net->push_back(nn::ReLU());
      width = h;
    }
    net->push_back(nn::Linear(width, 10));
    return net;
  }
  if (model != "cnn") throw std::runtime_error("--model: unknown model '" + model + "' (expected mlp or cnn)");
  return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(1, 32, 3)), nn::ReLU(), nn::MaxPool2d(2),
                        nn::Conv2d(nn::Conv2dOptions(32, 64, 3)), nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(),
                        nn::Linear(1600, 128), nn::ReLU(), nn::Linear(128, 10));
}

struct Options {
  std::string mode;
  std::string model = "mlp";
  std::vector<int64_t> hidden = {256, 128};
  int epochs = 1;
  int threads = 1;
  int64_t batch = 64;
  double lr = 0.01;
  double momentum = 0.9;
  uint64_t seed = 0;
  int repeats = 201;
  std::string data = "/usr/share/datasets/fashion-mnist";
};

std::vector<int64_t> parse_hidden(const std::string& s) {
  std::vector<int64_t> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t comma = std::min(s.find(',', start), s.size());
    out.push_back(std::stoll(s.substr(start, comma - start)));
    start = comma + 1;
  }
  return out;
}

Options parse(int argc, char** argv) {
  if (argc < 2) throw std::runtime_error("usage: libtorch_bench train|per-op [--model mlp|cnn] [--epochs N] [--threads T] ...");
  Options o;
  o.mode = argv[1];
  if (o.mode != "train" && o.mode != "per-op")
    throw std::runtime_error("unknown mode '" + o.mode + "' (expected train or per-op)");
  for (int i = 2; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) throw std::runtime_error(flag + ": missing value");
    const std::string value = argv[i + 1];
    if (flag == "--model") o.model = value;
    else if (flag == "--hidden") o.hidden = parse_hidden(value);
    else if (flag == "--epochs") o.epochs = std::stoi(value);
    else if (flag == "--threads") o.threads = std::stoi(value);
    else if (flag == "--batch") o.batch = std::stoll(value);
    else if (flag == "--lr") o.lr = std::stod(value);
    else if (flag == "--momentum") o.momentum = std::stod(value);
    else if (flag == "--seed") o.seed = std::stoull(value);
    else if (flag == "--repeats") o.repeats = std::stoi(value);
    else if (flag == "--data") o.data = value;
    else throw std::runtime_error("unknown option '" + flag + "'");
  }
  return o;
}

void train(const Options& o) {
  torch::manual_seed(o.seed);
  torch::Tensor xtr = images(find(o.data, "train-images-idx3-ubyte"));
  const torch::Tensor ytr = labels(find(o.data, "train-labels-idx1-ubyte"));
  torch::Tensor xte = images(find(o.data, "t10k-images-idx3-ubyte"));
  {  // standardised with the training images' mean and population std, as nabla train does: accumulated
     // in double a slice at a time, applied in place (no second copy of the data set)
    const int64_t n = xtr.size(0), count = xtr.numel(), rows = 1000;
    double total = 0, squares = 0;
    for (int64_t i = 0; i < n; i += rows) total += xtr.slice(0, i, std::min(n, i + rows)).to(torch::kDouble).sum().item<double>();
    const double mean = total / static_cast<double>(count);
    for (int64_t i = 0; i < n; i += rows)
      squares += (xtr.slice(0, i, std::min(n, i + rows)).to(torch::kDouble) - mean).pow(2).sum().item<double>();
    const double std = std::sqrt(squares / static_cast<double>(count));
    for (torch::Tensor* x : {&xtr, &xte}) x->sub_(mean).div_(std);
  }
  const torch::Tensor yte = labels(find(o.data, "t10k-labels-idx1-ubyte"));
  torch::nn::Sequential model = build(o.model, o.hidden);
  torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(o.lr).momentum(o.momentum));
  auto params = model->parameters();
  torch::Generator gen = at::detail::createCPUGenerator(o.seed);
  const int64_t n = xtr.size(0);
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    const torch::Tensor order = torch::randperm(n, gen);
    model->train();
    double seconds = 0.0, loss_sum = 0.0;
    int64_t correct = 0;
    for (int64_t start = 0; start < n; start += o.batch) {
      const torch::Tensor idx = order.slice(0, start, std::min(start + o.batch, n));
      const torch::Tensor x = xtr.index_select(0, idx), y = ytr.index_select(0, idx);
      const auto t0 = Clock::now();
      for (auto& p : params) p.mutable_grad().reset();  // zero_grad(set_to_none=True), as torch_train.py
      const torch::Tensor out = model->forward(x);
      const torch::Tensor loss = torch::nn::functional::cross_entropy(out, y);
      loss.backward();
      opt.step();
      seconds += std::chrono::duration<double>(Clock::now() - t0).count();
      loss_sum += loss.item<double>() * static_cast<double>(idx.size(0));
      correct += out.argmax(1).eq(y).sum().item<int64_t>();
    }
    model->eval();
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> chunks;
    for (int64_t i = 0; i < xte.size(0); i += 1000) chunks.push_back(model->forward(xte.slice(0, i, i + 1000)));
    const torch::Tensor out = torch::cat(chunks);
    const double test_loss = torch::nn::functional::cross_entropy(out, yte).item<double>();
    const double test_acc = out.argmax(1).eq(yte).to(torch::kFloat32).mean().item<double>();
    std::printf("epoch %d train_loss %.4f train_acc %.4f test_loss %.4f test_acc %.4f epoch_seconds %.3f\n", epoch,
                loss_sum / static_cast<double>(n), static_cast<double>(correct) / static_cast<double>(n), test_loss,
                test_acc, seconds);
    std::fflush(stdout);
  }
}

/// The per-op autograd overhead of tiny_op_overhead in kernels_bench.cpp: 1000 ops (500 of `y * c`,
/// 500 of `+ c`) on 1-element float tensors, then sum(y).backward(); ns per op, median of the repeats.
void per_op(const Options& o) {
  constexpr int kOps = 1000;
  const torch::Tensor x = torch::full({1}, 0.5, torch::kFloat32).requires_grad_();
  const torch::Tensor c = torch::full({1}, 1.0001, torch::kFloat32);
  auto run = [&] {
    torch::Tensor y = x;
    for (int i = 0; i < kOps / 2; ++i) y = y * c + c;
    y.sum().backward();
    x.mutable_grad().reset();
  };
  for (int i = 0; i < 20; ++i) run();  // warm-up
  std::vector<double> ns;
  for (int r = 0; r < o.repeats; ++r) {
    const auto t0 = Clock::now();
    run();
    ns.push_back(std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / kOps);
  }
  std::sort(ns.begin(), ns.end());
  const size_t m = ns.size() / 2;
  std::printf("per_op_ns %.1f\n", ns.size() % 2 ? ns[m] : (ns[m - 1] + ns[m]) / 2);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options o = parse(argc, argv);
    torch::set_num_threads(o.threads);
    if (o.mode == "train") train(o);
    else per_op(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "libtorch_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
