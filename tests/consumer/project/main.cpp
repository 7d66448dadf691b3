// A program outside nabla's tree, built against its installed package.
#include <cstdio>

#include <nabla/nabla.h>

int main() {
  auto x = nabla::tensor(std::vector<double>{0.5, -1.0, 2.0}, {3}, nabla::kFloat64).requires_grad_();
  auto loss = nabla::mean(nabla::sigmoid(x));
  loss.backward();
  std::printf("consumer: loss %.6f grad %.6f\n", loss.item<double>(), x.grad().to_vector<double>()[0]);
  return 0;
}
