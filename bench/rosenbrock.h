#pragma once
// The extended Rosenbrock function, written once for every scalar type (double, nabla::Var, ADOL-C's
// adouble), with its analytic gradient and a starting point: bench/scalar_bench.cpp times it and
// tests/scalar/tape_test.cpp checks nabla's gradient of it.
#include <cstddef>
#include <vector>

namespace nabla::workloads {

/// f(x) = Σ over pairs 100 (x[i+1] - x[i]²)² + (1 - x[i])².
template <class T, class V>
T rosenbrock(const V& x) {
  T f = 0.0;
  for (std::size_t i = 0; i + 1 < x.size(); i += 2) {
    T t = x[i + 1] - x[i] * x[i];
    T u = 1.0 - x[i];
    f += 100.0 * (t * t) + u * u;
  }
  return f;
}

/// ∇f, by hand.
inline std::vector<double> rosenbrock_gradient(const std::vector<double>& x) {
  std::vector<double> g(x.size(), 0.0);
  for (std::size_t i = 0; i + 1 < x.size(); i += 2) {
    const double t = x[i + 1] - x[i] * x[i];
    g[i] = -400.0 * t * x[i] - 2.0 * (1.0 - x[i]);
    g[i + 1] = 200.0 * t;
  }
  return g;
}

/// The classic start (-1.2, 1) repeated, spread by up to 0.1 so that no two pairs are alike.
inline std::vector<double> rosenbrock_start(std::size_t n) {
  std::vector<double> x(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double spread = 0.1 * static_cast<double>(i) / static_cast<double>(n);
    x[i] = i % 2 == 0 ? -1.2 + spread : 1.0 - spread;
  }
  return x;
}

}  // namespace nabla::workloads
