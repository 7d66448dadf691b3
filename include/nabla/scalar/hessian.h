#pragma once
/// Second derivatives of scalar functions: Hessian-vector products by reverse-over-forward.
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <nabla/core/error.h>
#include <nabla/scalar/dual.h>
#include <nabla/scalar/var.h>

namespace nabla {

/// H(x) v, the Hessian of f at x times v, exactly (no finite differences). f is evaluated once over
/// BasicDual<Var> (forward mode along v, recorded on the active tape) and the tangent of its result,
/// grad f(x) . v, is swept in reverse. f must be generic: `[](const auto& x) { ... }`, with x a
/// std::vector of BasicDual<Var>.
template <class F>
std::vector<double> hessian_vector(F&& f, const std::vector<double>& x, const std::vector<double>& v) {
  if (x.size() != v.size())
    throw Error("hessian_vector: the point has " + std::to_string(x.size()) + " coordinates but the direction has " +
                std::to_string(v.size()));
  Tape& tape = Tape::active();
  const std::size_t mark = tape.size();
  struct Rewind {
    Tape& tape;
    std::size_t mark;
    ~Rewind() { tape.rewind(mark); }
  } rewind{tape, mark};
  std::vector<Var> vars;
  vars.reserve(x.size());
  std::vector<BasicDual<Var>> xs;
  xs.reserve(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    vars.push_back(tape.variable(x[i]));
    xs.emplace_back(vars.back(), Var(v[i]));
  }
  const BasicDual<Var> y = std::forward<F>(f)(static_cast<const std::vector<BasicDual<Var>>&>(xs));
  tape.backward(y.tangent(), mark);
  std::vector<double> hv(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) hv[i] = tape.adjoint(vars[i]);
  return hv;
}

/// The full Hessian of f at x (n Hessian-vector products, row i = H e_i). f as for hessian_vector.
template <class F>
std::vector<std::vector<double>> hessian(F&& f, const std::vector<double>& x) {
  std::vector<std::vector<double>> h;
  h.reserve(x.size());
  std::vector<double> e(x.size(), 0.0);
  for (std::size_t i = 0; i < x.size(); ++i) {
    e[i] = 1.0;
    h.push_back(hessian_vector(f, x, e));
    e[i] = 0.0;
  }
  return h;
}

}  // namespace nabla
