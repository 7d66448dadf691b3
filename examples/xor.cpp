// XOR: the function no single linear layer can learn, learned by one hidden layer.
// A 2-8-1 net (tanh hidden layer, sigmoid output through binary cross-entropy with logits),
// full-batch Adam on the four points; prints each prediction and how many of the four are right.
#include <cstdio>

#include <nabla/nabla.h>

int main() {
  nabla::manual_seed(0);
  const nabla::Tensor x = nabla::tensor(std::vector<float>{0, 0, 0, 1, 1, 0, 1, 1}, {4, 2});
  const nabla::Tensor y = nabla::tensor(std::vector<float>{0, 1, 1, 0}, {4, 1});

  auto net = std::make_shared<nabla::nn::Sequential>();
  net->push_back(std::make_shared<nabla::nn::Linear>(2, 8));
  net->push_back(std::make_shared<nabla::nn::Tanh>());
  net->push_back(std::make_shared<nabla::nn::Linear>(8, 1));
  nabla::optim::Adam adam(net->parameters(), nabla::optim::AdamOptions(0.05));

  nabla::Tensor loss;
  for (int step = 1; step <= 500; ++step) {
    adam.zero_grad();
    loss = nabla::binary_cross_entropy_with_logits((*net)(x), y);
    loss.backward();
    adam.step();
    if (step % 100 == 0) std::printf("step %d  loss %.6f\n", step, loss.item<double>());
  }

  nabla::NoGradGuard no_grad;
  const auto p = nabla::sigmoid((*net)(x)).to_vector<double>();
  const auto xs = x.to_vector<double>();
  const auto ys = y.to_vector<double>();
  int correct = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    const int predicted = p[i] > 0.5 ? 1 : 0;
    correct += predicted == static_cast<int>(ys[i]);
    std::printf("%g xor %g = %g  predicted %d (p = %.4f)\n", xs[2 * i], xs[2 * i + 1], ys[i], predicted, p[i]);
  }
  std::printf("correct: %d/4\n", correct);
  return correct == 4 ? 0 : 1;
}
