// Initialisers. Each writes into the tensor's storage under NoGradGuard, drawing from the seeded
// default generator, so a seed fixes a model's initial weights.
#include <nabla/nn/init.h>

#include <cmath>

#include <fmt/format.h>

#include <nabla/autograd/grad_mode.h>

namespace nabla::nn::init {
namespace {
Tensor fill_from(Tensor t, const Tensor& values) {
  NoGradGuard no_grad;
  t.copy_(values);
  return t;
}

std::int64_t fan(const Tensor& t, const std::string& mode) {
  auto [in, out] = fans(t);
  if (mode == "fan_in") return in;
  if (mode == "fan_out") return out;
  throw Error(fmt::format("init: mode must be \"fan_in\" or \"fan_out\", got \"{}\"", mode));
}
}  // namespace

std::pair<std::int64_t, std::int64_t> fans(const Tensor& w) {
  if (w.dim() < 2)
    throw Error(fmt::format("init: fan in and fan out need a tensor of at least 2 dims, got shape {}", w.shape_string()));
  std::int64_t receptive = 1;
  for (std::int64_t d = 2; d < w.dim(); ++d) receptive *= w.shape()[d];
  return {w.shape()[1] * receptive, w.shape()[0] * receptive};
}

double calculate_gain(const std::string& nonlinearity, double param) {
  if (nonlinearity == "linear" || nonlinearity == "sigmoid" || nonlinearity == "conv2d") return 1.0;
  if (nonlinearity == "tanh") return 5.0 / 3.0;
  if (nonlinearity == "relu") return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu") return std::sqrt(2.0 / (1.0 + param * param));
  throw Error(fmt::format("calculate_gain: unknown nonlinearity \"{}\" (linear, sigmoid, tanh, relu, leaky_relu)", nonlinearity));
}

Tensor uniform_(Tensor t, double a, double b) { return fill_from(t, uniform(t.shape(), a, b, t.dtype())); }

Tensor normal_(Tensor t, double mean, double std) {
  if (!(std >= 0)) throw Error(fmt::format("normal_: std must be non-negative, got {}", std));
  NoGradGuard no_grad;
  Tensor v = randn(t.shape(), t.dtype());
  v.mul_(std);
  v.add_(mean);
  return fill_from(t, v);
}

Tensor constant_(Tensor t, double value) {
  NoGradGuard no_grad;
  return t.fill_(value);
}
Tensor zeros_(Tensor t) { return constant_(t, 0.0); }
Tensor ones_(Tensor t) { return constant_(t, 1.0); }

Tensor xavier_uniform_(Tensor t, double gain) {
  auto [in, out] = fans(t);
  const double bound = gain * std::sqrt(6.0 / static_cast<double>(in + out));
  return uniform_(t, -bound, bound);
}

Tensor xavier_normal_(Tensor t, double gain) {
  auto [in, out] = fans(t);
  return normal_(t, 0.0, gain * std::sqrt(2.0 / static_cast<double>(in + out)));
}

Tensor kaiming_uniform_(Tensor t, double a, const std::string& mode, const std::string& nonlinearity) {
  const double bound = calculate_gain(nonlinearity, a) * std::sqrt(3.0 / static_cast<double>(fan(t, mode)));
  return uniform_(t, -bound, bound);
}

Tensor kaiming_normal_(Tensor t, double a, const std::string& mode, const std::string& nonlinearity) {
  return normal_(t, 0.0, calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(fan(t, mode))));
}

}  // namespace nabla::nn::init
