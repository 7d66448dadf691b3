#pragma once
/// Numerical differentiation by central differences, for checking automatic derivatives.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <nabla/core/error.h>

namespace nabla {

/// Central-difference gradient of f at x: (f(x + h e_i) - f(x - h e_i)) / 2h with h = eps * max(1, |x_i|).
/// f takes `const std::vector<double>&` and returns a double; it is called 2 n times.
template <class F>
std::vector<double> numeric_gradient(F&& f, const std::vector<double>& x, double eps = 1e-6) {
  if (!(eps > 0.0)) throw Error("numeric_gradient: eps must be positive, got " + std::to_string(eps));
  std::vector<double> xp = x;
  std::vector<double> g(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double h = eps * std::max(1.0, std::fabs(x[i]));
    const double hi = x[i] + h, lo = x[i] - h;  // the step actually taken, after rounding
    xp[i] = hi;
    const double up = f(static_cast<const std::vector<double>&>(xp));
    xp[i] = lo;
    const double down = f(static_cast<const std::vector<double>&>(xp));
    xp[i] = x[i];
    g[i] = (up - down) / (hi - lo);
  }
  return g;
}

}  // namespace nabla
