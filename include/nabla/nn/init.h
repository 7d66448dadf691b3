#pragma once
/// Initialisers: fill a tensor in place from the seeded generator (outside the graph).
#include <string>

#include <nabla/core/tensor.h>

namespace nabla::nn::init {

/// Fan-in and fan-out of a weight ([out, in] or [out, in, kh, kw]).
std::pair<std::int64_t, std::int64_t> fans(const Tensor& weight);
/// The recommended gain for a nonlinearity: "linear"/"sigmoid" 1, "tanh" 5/3, "relu" sqrt(2),
/// "leaky_relu" sqrt(2 / (1 + a^2)).
double calculate_gain(const std::string& nonlinearity, double param = 0.01);
/// U(a, b).
Tensor uniform_(Tensor t, double a = 0.0, double b = 1.0);
/// N(mean, std^2).
Tensor normal_(Tensor t, double mean = 0.0, double std = 1.0);
/// All `value`.
Tensor constant_(Tensor t, double value);
/// All zeros.
Tensor zeros_(Tensor t);
/// All ones.
Tensor ones_(Tensor t);
/// Glorot: U(-g·sqrt(6/(fan_in+fan_out)), +...).
Tensor xavier_uniform_(Tensor t, double gain = 1.0);
/// Glorot: N(0, g^2 · 2/(fan_in+fan_out)).
Tensor xavier_normal_(Tensor t, double gain = 1.0);
/// He: U(-bound, bound), bound = gain(nonlinearity, a) · sqrt(3 / fan_in) (fan_out with mode "fan_out").
Tensor kaiming_uniform_(Tensor t, double a = 0.0, const std::string& mode = "fan_in",
                        const std::string& nonlinearity = "leaky_relu");
/// He: N(0, (gain / sqrt(fan))^2).
Tensor kaiming_normal_(Tensor t, double a = 0.0, const std::string& mode = "fan_in",
                       const std::string& nonlinearity = "leaky_relu");

}  // namespace nabla::nn::init
