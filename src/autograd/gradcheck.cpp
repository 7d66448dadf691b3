// gradcheck: the slow, simple check. Every analytic gradient entry is compared with a central
// difference of the function itself.
#include <nabla/autograd/gradcheck.h>

#include <cmath>

#include <fmt/format.h>

#include <nabla/autograd/engine.h>
#include <nabla/ops/arithmetic.h>
#include <nabla/ops/shape.h>

#include "core/tensor_impl.h"

namespace nabla {
namespace {

// Storage offsets of every element of t, in row-major order.
std::vector<std::int64_t> element_offsets(const Tensor& t) {
  std::vector<std::int64_t> out;
  const auto& shape = t.shape();
  const auto& strides = t.strides();
  std::vector<std::int64_t> idx(shape.size(), 0);
  for (std::int64_t e = 0; e < t.numel(); ++e) {
    std::int64_t off = t.storage_offset();
    for (std::size_t d = 0; d < shape.size(); ++d) off += idx[d] * strides[d];
    out.push_back(off);
    for (std::size_t d = shape.size(); d-- > 0;)
      if (++idx[d] < shape[d]) break;
      else idx[d] = 0;
  }
  return out;
}

std::vector<double> evaluate(const GradcheckFn& fn, const std::vector<Tensor>& inputs, const char* who) {
  Tensor out = fn(inputs);
  if (!out.defined()) throw Error(fmt::format("{}: the function returned an undefined tensor", who));
  if (out.dtype() != kFloat64)
    throw Error(fmt::format("{}: the function must return float64 (central differences need it), got {}", who,
                            dtype_name(out.dtype())));
  return out.to_vector<double>();
}

}  // namespace

bool gradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs_in, double eps, double atol, double rtol,
               bool raise_on_failure) {
  // Leaves sharing the callers' storage and strides, so non-contiguous views are checked as given.
  std::vector<Tensor> inputs;
  std::vector<std::size_t> checked;
  for (std::size_t i = 0; i < inputs_in.size(); ++i) {
    const Tensor& t = inputs_in[i];
    if (!t.defined()) throw Error(fmt::format("gradcheck: input {} is undefined", i));
    if (!t.requires_grad()) {
      inputs.push_back(t);
      continue;
    }
    if (t.dtype() != kFloat64)
      throw Error(fmt::format("gradcheck: input {} is {}; gradcheck needs float64 inputs", i, dtype_name(t.dtype())));
    for (std::int64_t d = 0; d < t.dim(); ++d)
      if (t.strides()[d] == 0 && t.shape()[d] > 1)
        throw Error(fmt::format("gradcheck: input {} (shape {}) has overlapping memory (an expanded dim {}); pass a "
                                "contiguous copy",
                                i, t.shape_string(), d));
    inputs.push_back(t.detach().requires_grad_());
    checked.push_back(i);
  }

  const std::vector<double> base = evaluate(fn, inputs, "gradcheck");
  const auto n_out = static_cast<std::int64_t>(base.size());

  // Analytic Jacobian, one backward per output element (a row at a time).
  std::vector<Tensor> wrt;
  for (auto i : checked) wrt.push_back(inputs[i]);
  std::vector<std::vector<std::vector<double>>> analytic(checked.size());  // [input][out][element]
  for (std::int64_t k = 0; k < n_out; ++k) {
    Tensor out = fn(inputs);
    if (!out.requires_grad()) {
      for (std::size_t c = 0; c < checked.size(); ++c)
        analytic[c].push_back(std::vector<double>(static_cast<std::size_t>(inputs[checked[c]].numel()), 0.0));
      continue;
    }
    Tensor seed = zeros(out.shape(), kFloat64);
    seed.data_ptr<double>()[k] = 1.0;
    auto grads = autograd::grad({out}, wrt, {seed}, false, false, /*allow_unused=*/true);
    for (std::size_t c = 0; c < checked.size(); ++c) {
      const auto numel = static_cast<std::size_t>(inputs[checked[c]].numel());
      analytic[c].push_back(grads[c].defined() ? grads[c].to_vector<double>() : std::vector<double>(numel, 0.0));
      if (analytic[c].back().size() != numel)
        throw Error(fmt::format("gradcheck: gradient of input {} has {} elements, expected {}", checked[c],
                                analytic[c].back().size(), numel));
    }
  }

  // Numerical Jacobian, one column (input element) at a time, by writing into the shared storage.
  for (std::size_t c = 0; c < checked.size(); ++c) {
    Tensor& x = inputs[checked[c]];
    double* data = static_cast<double*>(x.impl()->storage->data);
    const auto offsets = element_offsets(x);
    for (std::size_t j = 0; j < offsets.size(); ++j) {
      const double orig = data[offsets[j]];
      data[offsets[j]] = orig + eps;
      const auto plus = evaluate(fn, inputs, "gradcheck");
      data[offsets[j]] = orig - eps;
      const auto minus = evaluate(fn, inputs, "gradcheck");
      data[offsets[j]] = orig;
      for (std::int64_t k = 0; k < n_out; ++k) {
        const double numeric = (plus[k] - minus[k]) / (2 * eps);
        const double a = analytic[c][k][j];
        const bool both_nan = std::isnan(numeric) && std::isnan(a);
        if (!both_nan && !(std::abs(a - numeric) <= atol + rtol * std::abs(numeric))) {
          if (!raise_on_failure) return false;
          throw Error(fmt::format("gradcheck: Jacobian mismatch for input {} element {} and output element {}: "
                                  "analytic {} vs numerical {} (atol {}, rtol {})",
                                  checked[c], j, k, a, numeric, atol, rtol));
        }
      }
    }
  }
  return true;
}

bool gradgradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs, double eps, double atol, double rtol,
                   bool raise_on_failure) {
  std::vector<std::size_t> wants;
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].requires_grad()) wants.push_back(i);
  // A fixed random upstream gradient v: the checked function is x -> (dy/dx)ᵀ v.
  const Tensor probe = fn(inputs);
  Tensor v = randn(probe.shape(), kFloat64);
  auto first_grads = [&](const std::vector<Tensor>& xs) {
    std::vector<Tensor> wrt;
    for (auto i : wants) wrt.push_back(xs[i]);
    Tensor y = fn(xs);
    auto gs = autograd::grad({y}, wrt, {v}, true, true, true);
    std::vector<Tensor> flat;
    for (std::size_t c = 0; c < gs.size(); ++c)
      flat.push_back(gs[c].defined() ? gs[c].reshape({-1}) : zeros({wrt[c].numel()}, kFloat64));
    return cat(flat, 0);
  };
  return gradcheck(first_grads, inputs, eps, atol, rtol, raise_on_failure);
}

}  // namespace nabla
