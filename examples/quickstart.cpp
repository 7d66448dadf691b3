// The README's first example: a tiny graph, its forward values and its gradients.
#include <iostream>

#include <nabla/nabla.h>

int main() {
  // (x + y) * z at x = -2, y = 5, z = -4: the add gate distributes, the mul gate swaps.
  auto x = nabla::tensor({-2.0}, nabla::kFloat64).requires_grad_();
  auto y = nabla::tensor({5.0}, nabla::kFloat64).requires_grad_();
  auto z = nabla::tensor({-4.0}, nabla::kFloat64).requires_grad_();
  auto q = x + y;
  auto f = q * z;
  f.backward();
  std::cout << "f = (x + y) * z = " << f.item<double>() << "\n"
            << "df/dx = " << x.grad().item<double>() << ", df/dy = " << y.grad().item<double>()
            << ", df/dz = " << z.grad().item<double>() << "\n";

  // The API contract: a small network's loss and its gradient.
  nabla::manual_seed(0);
  auto xs = nabla::tensor(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3}, nabla::kFloat64).requires_grad_();
  auto w = nabla::randn({3, 4}, nabla::kFloat64).requires_grad_();
  auto out = nabla::log_softmax(nabla::matmul(xs, w) + 1.0, /*dim=*/1);
  auto loss = -nabla::mean(nabla::sum(out * nabla::sigmoid(out), 1));
  loss.backward();
  std::cout << "loss = " << loss.item<double>() << "\n";
  std::cout << "dloss/dx = " << xs.grad() << "\n";
  return 0;
}
