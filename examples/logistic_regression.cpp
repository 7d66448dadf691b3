// Logistic regression: one linear unit and a sigmoid, trained with binary cross-entropy.
// Task: tell sneakers (class 7) from ankle boots (class 9) in Fashion-MNIST, pixels as features.
//
//   example_logistic_regression [--data DIR] [--epochs N] [--limit N]
//
// --limit N trains on the first N matching training images only; the test set is always whole.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <nabla/nabla.h>

namespace {

constexpr std::int64_t kNegative = 7;  // Sneaker
constexpr std::int64_t kPositive = 9;  // Ankle boot

// The images of the two classes, with targets 0 (sneaker) and 1 (ankle boot) as float [N, 1].
struct Binary {
  nabla::Tensor x, y;
};
Binary two_classes(const nabla::data::MnistData& d, std::int64_t limit) {
  const auto labels = d.labels.to_vector<std::int64_t>();
  const auto pixels = d.images.to_vector<float>();
  const std::int64_t width = d.images.shape()[1];
  std::vector<float> xs, ys;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] != kNegative && labels[i] != kPositive) continue;
    if (limit > 0 && static_cast<std::int64_t>(ys.size()) >= limit) break;
    xs.insert(xs.end(), pixels.begin() + static_cast<std::ptrdiff_t>(i * width),
              pixels.begin() + static_cast<std::ptrdiff_t>((i + 1) * width));
    ys.push_back(labels[i] == kPositive ? 1.0f : 0.0f);
  }
  const auto n = static_cast<std::int64_t>(ys.size());
  return {nabla::tensor(xs, {n, width}), nabla::tensor(ys, {n, 1})};
}

double accuracy(nabla::nn::Module& model, const Binary& d) {
  nabla::NoGradGuard no_grad;
  const auto logits = model(d.x).to_vector<double>();
  const auto ys = d.y.to_vector<double>();
  std::size_t correct = 0;
  for (std::size_t i = 0; i < ys.size(); ++i) correct += (logits[i] > 0) == (ys[i] > 0.5);
  return ys.empty() ? 0.0 : static_cast<double>(correct) / static_cast<double>(ys.size());
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir = nabla::data::default_mnist_dir();
  long long epochs = 5, limit = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc || (a != "--data" && a != "--epochs" && a != "--limit")) {
      std::fprintf(stderr, "usage: %s [--data DIR] [--epochs N] [--limit N]\n", argv[0]);
      return 2;
    }
    const std::string v = argv[++i];
    if (a == "--data") data_dir = v;
    else if (a == "--epochs") epochs = std::atoll(v.c_str());
    else limit = std::atoll(v.c_str());
  }

  Binary train, test;
  try {
    train = two_classes(nabla::data::load_mnist(data_dir, nabla::data::Split::Train), limit);
    test = two_classes(nabla::data::load_mnist(data_dir, nabla::data::Split::Test), 0);
  } catch (const nabla::Error& e) {
    std::fprintf(stderr, "logistic_regression: %s\n", e.what());
    return 2;
  }
  std::printf("logistic regression: sneaker (0) vs ankle boot (1), %lld training and %lld test images\n",
              static_cast<long long>(train.x.shape()[0]), static_cast<long long>(test.x.shape()[0]));

  nabla::manual_seed(0);
  nabla::nn::Linear model(784, 1);  // p(ankle boot | x) = sigmoid(w·x + b)
  nabla::optim::SGD sgd(model.parameters(), nabla::optim::SGDOptions(0.1));
  auto dataset = std::make_shared<nabla::data::TensorDataset>(std::vector<nabla::Tensor>{train.x, train.y});
  nabla::data::DataLoader loader(dataset, nabla::data::DataLoaderOptions().batch_size(64).shuffle(true).seed(0));
  for (long long epoch = 1; epoch <= epochs; ++epoch) {
    double loss_sum = 0;
    long long batches = 0;
    for (const auto& batch : loader) {
      sgd.zero_grad();
      const nabla::Tensor loss = nabla::binary_cross_entropy_with_logits(model(batch[0]), batch[1]);
      loss.backward();
      sgd.step();
      loss_sum += loss.item<double>();
      ++batches;
    }
    std::printf("epoch %lld  loss %.4f  train accuracy %.4f\n", epoch,
                batches ? loss_sum / static_cast<double>(batches) : 0.0, accuracy(model, train));
  }
  std::printf("test accuracy %.4f\n", accuracy(model, test));
  return 0;
}
