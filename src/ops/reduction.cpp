// Reductions, softmax and log-softmax: forward kernel and backward side by side.
#include <nabla/ops/reduction.h>

#include <algorithm>
#include <cmath>

#include <nabla/autograd/grad_mode.h>
#include <nabla/ops/arithmetic.h>
#include <nabla/ops/shape.h>
#include <nabla/ops/unary.h>

#include "autograd/record.h"
#include "kernels/reduce.h"

namespace nabla {
using detail::BackwardContext;
using detail::record;
using Grads = std::vector<Tensor>;

namespace {
// Shape of a reduction over `dim`: the dim kept with size 1, or removed.
Shape reduced_shape(const Shape& shape, std::int64_t dim, bool keepdim) {
  Shape out = shape;
  if (shape.empty()) return out;
  if (keepdim) out[dim] = 1;
  else out.erase(out.begin() + dim);
  return out;
}

// The upstream gradient of a reduction over `dims`, reshaped so it broadcasts against the input.
Tensor unsqueeze_reduced(const Tensor& g, const Shape& input_shape, Shape dims, bool keepdim) {
  if (keepdim || input_shape.empty()) return g;
  std::sort(dims.begin(), dims.end());
  Tensor out = g;
  for (auto d : dims) out = out.unsqueeze(d);
  return out;
}

// The dims of a reduction over a dim list: wrapped, sorted, each once, and at least one.
Shape reduction_dims(const Tensor& x, const Shape& dims_in, const char* op) {
  if (dims_in.empty())
    throw Error(fmt::format("{}: the dim list is empty; name at least one dim, or call {}(x) to reduce all elements", op, op));
  Shape dims;
  for (auto d : dims_in) dims.push_back(detail::wrap_dim(d, x.dim(), op));
  std::sort(dims.begin(), dims.end());
  if (std::adjacent_find(dims.begin(), dims.end()) != dims.end())
    throw Error(fmt::format("{}: dim list {} names a dim twice", op, shape_to_string(dims_in)));
  return dims;
}

// A reduction over a dim list as the one-dim reduction `single(t, dim, keepdim)` over one merged
// dim: the kept dims first (in order), the reduced ones moved behind them and flattened into the
// last dim. Permute and reshape are recorded, so gradients (of any order) come back through them.
template <class Single>
Tensor reduce_over_dims(const Tensor& x, const Shape& dims_in, bool keepdim, const char* op, Single single) {
  detail::check_floating(x, op);
  const Shape dims = reduction_dims(x, dims_in, op);
  if (x.dim() == 0 || dims.size() == 1) return single(x, dims[0], keepdim);
  Shape perm, merged;
  std::int64_t n = 1;
  for (std::int64_t d = 0; d < x.dim(); ++d)
    if (!std::binary_search(dims.begin(), dims.end(), d)) {
      perm.push_back(d);
      merged.push_back(x.shape()[d]);
    }
  for (auto d : dims) {
    perm.push_back(d);
    n *= x.shape()[d];
  }
  merged.push_back(n);
  Tensor out = single(x.permute(perm).reshape(merged), -1, false);
  if (!keepdim) return out;
  Shape kept = x.shape();
  for (auto d : dims) kept[d] = 1;
  return out.reshape(kept);
}

// For reductions that refuse an empty dim: names the dims of x that make it empty.
void check_nonempty_dims(const Tensor& x, const Shape& dims_in, const char* op, const char* what) {
  for (auto d : dims_in) {
    const auto w = detail::wrap_dim(d, x.dim(), op);
    if (x.dim() > 0 && x.shape()[w] == 0)
      throw Error(fmt::format("{}: dim {} of shape {} is empty, so it has no {}", op, d, x.shape_string(), what));
  }
}

// Sum over one dim, no graph.
Tensor sum_dim_forward(const Tensor& x, std::int64_t dim, bool keepdim) {
  const Tensor xc = detail::dense(x);
  Tensor out = detail::make_empty(reduced_shape(x.shape(), dim, keepdim), x.dtype());
  detail::dispatch_floating(x.dtype(), "sum", [&]<class T>() {
    detail::sum_dim<T>(xc.data_ptr<T>(), out.data_ptr<T>(), detail::split_at(x.shape(), dim));
  });
  return out;
}
}  // namespace

Tensor sum(const Tensor& x) {
  detail::check_floating(x, "sum");
  const Tensor xc = detail::dense(x);
  Tensor out = detail::dispatch_floating(x.dtype(), "sum", [&]<class T>() {
    return full({}, detail::sum_all<T>(xc.data_ptr<T>(), xc.numel()), x.dtype());
  });
  // The sum gate hands the upstream gradient to every element unchanged.
  return record("sum", out, {x}, {}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    return {g.expand(c.input_shape(0))};
  });
}

Tensor sum(const Tensor& x, const Shape& dims_in, bool keepdim) {
  detail::check_floating(x, "sum");
  Shape dims;
  for (auto d : dims_in) dims.push_back(detail::wrap_dim(d, x.dim(), "sum"));
  std::sort(dims.begin(), dims.end());
  if (std::adjacent_find(dims.begin(), dims.end()) != dims.end())
    throw Error(fmt::format("sum: dim list {} names a dim twice", shape_to_string(dims_in)));
  Tensor out = x;
  for (auto it = dims.rbegin(); it != dims.rend(); ++it) out = sum_dim_forward(out, *it, true);
  if (!keepdim && x.dim() > 0) {
    Shape shape;
    for (std::int64_t d = 0; d < x.dim(); ++d)
      if (!std::binary_search(dims.begin(), dims.end(), d)) shape.push_back(x.shape()[d]);
    out = detail::make_view(out, shape, detail::contiguous_strides(shape), 0);
  }
  if (dims.empty()) out = x.clone().detach();
  return record("sum", out, {x}, {}, [dims, keepdim](const BackwardContext& c, const Tensor& g) -> Grads {
    return {unsqueeze_reduced(g, c.input_shape(0), dims, keepdim).expand(c.input_shape(0))};
  });
}

Tensor sum(const Tensor& x, std::int64_t dim, bool keepdim) { return sum(x, Shape{dim}, keepdim); }

Tensor mean(const Tensor& x) {
  detail::check_floating(x, "mean");
  if (x.numel() == 0) throw Error("mean: the tensor is empty (shape " + x.shape_string() + "), so it has no mean");
  return sum(x) / static_cast<double>(x.numel());
}

Tensor mean(const Tensor& x, std::int64_t dim, bool keepdim) {
  detail::check_floating(x, "mean");
  const auto d = detail::wrap_dim(dim, x.dim(), "mean");
  const std::int64_t n = x.dim() == 0 ? 1 : x.shape()[d];
  if (n == 0) throw Error(fmt::format("mean: dim {} of shape {} is empty", dim, x.shape_string()));
  return sum(x, d, keepdim) / static_cast<double>(n);
}

Tensor mean(const Tensor& x, const Shape& dims, bool keepdim) {
  check_nonempty_dims(x, dims, "mean", "mean");
  return reduce_over_dims(x, dims, keepdim, "mean", [](const Tensor& t, std::int64_t d, bool k) { return mean(t, d, k); });
}

namespace {
// max/min over a dim: values recorded with a backward that routes the gradient to the arg-extreme.
template <bool Largest>
std::pair<Tensor, Tensor> extreme(const Tensor& x, std::int64_t dim, bool keepdim, const char* op) {
  detail::check_floating(x, op);
  const auto d = detail::wrap_dim(dim, x.dim(), op);
  if (x.dim() > 0 && x.shape()[d] == 0)
    throw Error(fmt::format("{}: dim {} of shape {} is empty, so it has no {}", op, dim, x.shape_string(),
                            Largest ? "maximum" : "minimum"));
  const Tensor xc = detail::dense(x);
  const Shape shape = reduced_shape(x.shape(), d, keepdim);
  Tensor values = detail::make_empty(shape, x.dtype());
  Tensor indices = detail::make_empty(shape, kInt64);
  detail::dispatch_floating(x.dtype(), op, [&]<class T>() {
    detail::extreme_dim<T, Largest>(xc.data_ptr<T>(), values.data_ptr<T>(), indices.data_ptr<std::int64_t>(),
                                    detail::split_at(x.shape(), d));
  });
  return {values, indices};
}

template <bool Largest>
Tensor extreme_values(const Tensor& x, std::int64_t dim, bool keepdim, const char* op) {
  auto [values, indices] = extreme<Largest>(x, dim, keepdim, op);
  const auto d = detail::wrap_dim(dim, x.dim(), op);
  // The max gate: the whole gradient goes to the element that won, none to the others.
  return record(op, values, {x}, {indices}, [d, keepdim](const BackwardContext& c, const Tensor& g) -> Grads {
    const Shape& in = c.input_shape(0);
    if (in.empty()) return {g};
    const Tensor idx = unsqueeze_reduced(c.saved(0), in, {d}, keepdim);
    return {scatter_add(zeros(in, g.dtype()), d, idx, unsqueeze_reduced(g, in, {d}, keepdim))};
  });
}

template <bool Largest>
Tensor extreme_all(const Tensor& x, const char* op) {
  detail::check_floating(x, op);
  if (x.numel() == 0) throw Error(fmt::format("{}: the tensor is empty, so it has no {}", op, Largest ? "maximum" : "minimum"));
  Tensor flat = detail::dense(x);
  flat = detail::make_view(flat, {x.numel()}, {1}, flat.storage_offset());
  Tensor values = extreme<Largest>(flat, 0, false, op).first;
  // Ties share the gradient evenly, as in PyTorch.
  return record(op, values, {x}, {x, values}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor winners = eq(c.saved(0), c.saved(1).detach());
    return {g * winners / sum(winners)};
  });
}
}  // namespace

Tensor max(const Tensor& x) { return extreme_all<true>(x, "max"); }
Tensor min(const Tensor& x) { return extreme_all<false>(x, "min"); }
Tensor max(const Tensor& x, std::int64_t dim, bool keepdim) { return extreme_values<true>(x, dim, keepdim, "max"); }
Tensor min(const Tensor& x, std::int64_t dim, bool keepdim) { return extreme_values<false>(x, dim, keepdim, "min"); }
Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim) { return extreme<true>(x, dim, keepdim, "argmax").second; }
Tensor argmin(const Tensor& x, std::int64_t dim, bool keepdim) { return extreme<false>(x, dim, keepdim, "argmin").second; }

namespace {
// amax/amin over one dim: the values of max/min, with the gradient shared evenly by the ties.
template <bool Largest>
Tensor extreme_shared(const Tensor& x, std::int64_t dim, bool keepdim, const char* op) {
  const auto d = detail::wrap_dim(dim, x.dim(), op);
  Tensor values = extreme<Largest>(x, d, keepdim, op).first;
  return record(op, values, {x}, {x, values}, [d, keepdim](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor x = c.saved(0);
    const Shape& in = c.input_shape(0);
    const Tensor winners = eq(x, unsqueeze_reduced(c.saved(1), in, {d}, keepdim));
    return {winners / sum(winners, d, true) * unsqueeze_reduced(g, in, {d}, keepdim)};
  });
}
}  // namespace

Tensor amax(const Tensor& x, const Shape& dims, bool keepdim) {
  check_nonempty_dims(x, dims, "amax", "maximum");
  return reduce_over_dims(x, dims, keepdim, "amax",
                          [](const Tensor& t, std::int64_t d, bool k) { return extreme_shared<true>(t, d, k, "amax"); });
}

Tensor amin(const Tensor& x, const Shape& dims, bool keepdim) {
  check_nonempty_dims(x, dims, "amin", "minimum");
  return reduce_over_dims(x, dims, keepdim, "amin",
                          [](const Tensor& t, std::int64_t d, bool k) { return extreme_shared<false>(t, d, k, "amin"); });
}

Tensor logsumexp(const Tensor& x, std::int64_t dim, bool keepdim) {
  detail::check_floating(x, "logsumexp");
  const auto d = detail::wrap_dim(dim, x.dim(), "logsumexp");
  // An empty dim sums no terms: log(0) = -inf, as PyTorch (and max would refuse the empty dim).
  if (x.dim() > 0 && x.shape()[d] == 0) return log(sum(x, d, keepdim));
  // Composed from primitives: the shift m is a constant (detached), so the gradient is softmax(x).
  Tensor m = max(x, d, true).detach();
  m = where(eq(abs(m), scalar_like(m, INFINITY)), scalar_like(m, 0.0), m);
  Tensor out = log(sum(exp(x - m), d, true)) + m;
  return keepdim || x.dim() == 0 ? out : out.squeeze(d);
}

Tensor softmax(const Tensor& x, std::int64_t dim) {
  detail::check_floating(x, "softmax");
  const auto d = detail::wrap_dim(dim, x.dim(), "softmax");
  const Tensor xc = detail::dense(x);
  Tensor y = detail::make_empty(x.shape(), x.dtype());
  detail::dispatch_floating(x.dtype(), "softmax", [&]<class T>() {
    detail::softmax_dim<T, false>(xc.data_ptr<T>(), y.data_ptr<T>(), detail::split_at(x.shape(), d));
  });
  // dx = y * (g - sum(g * y)): the Jacobian-vector product without the Jacobian.
  return record("softmax", y, {x}, {y}, [d](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor y = c.saved(0);
    const Tensor gy = g * y;
    return {gy - y * sum(gy, d, true)};
  });
}

Tensor log_softmax(const Tensor& x, std::int64_t dim) {
  detail::check_floating(x, "log_softmax");
  const auto d = detail::wrap_dim(dim, x.dim(), "log_softmax");
  const Tensor xc = detail::dense(x);
  Tensor y = detail::make_empty(x.shape(), x.dtype());
  detail::dispatch_floating(x.dtype(), "log_softmax", [&]<class T>() {
    detail::softmax_dim<T, true>(xc.data_ptr<T>(), y.data_ptr<T>(), detail::split_at(x.shape(), d));
  });
  // dx = g - softmax(x) * sum(g), with softmax(x) = exp(y).
  return record("log_softmax", y, {x}, {y}, [d](const BackwardContext& c, const Tensor& g) -> Grads {
    return {g - exp(c.saved(0)) * sum(g, d, true)};
  });
}

// ---- variance, standard deviation, norms ----

Tensor var(const Tensor& x) { return var(x.reshape({x.numel()}), 0); }

namespace {
// N - correction for a variance over dim d (N = 1 for a 0-d tensor), after checking the correction.
double variance_denominator(const Tensor& x, std::int64_t d, double correction, const char* op) {
  if (!(correction >= 0.0) || !std::isfinite(correction))
    throw Error(fmt::format("{}: correction must be finite and >= 0, got {}", op, correction));
  const double n = x.dim() == 0 ? 1.0 : static_cast<double>(x.shape()[d]);
  return std::max(0.0, n - correction);
}

// Σ (x - mean)² / denominator over dim d, in two passes (no cancellation of large sums) and in
// double: a float32 square overflows beyond |x| ≈ 1.8e19.
// No graph: var and std record their own backward.
Tensor variance_in_double(const Tensor& x, std::int64_t d, double denominator, bool keepdim) {
  NoGradGuard no_grad;
  const Tensor xd = x.detach().to(kFloat64);
  const Tensor centered = xd - mean(xd, d, true);
  return sum(centered * centered, d, keepdim) / denominator;
}

// (x - mean(x) over d) · scale in x's dtype (the backward of var and std). Computed in double, as
// the forward: in float32 the sum in the mean, the deviation (3e38 - (-3e38)) and the product can
// each overflow where the result does not.
Tensor centered_times(const Tensor& x, std::int64_t d, const Tensor& scale) {
  const Tensor xd = x.to(kFloat64);
  return ((xd - mean(xd, d, true)) * scale.to(kFloat64)).to(x.dtype());
}
}  // namespace

Tensor var(const Tensor& x, std::int64_t dim, double correction, bool keepdim) {
  detail::check_floating(x, "var");
  const auto d = detail::wrap_dim(dim, x.dim(), "var");
  const double denominator = variance_denominator(x, d, correction, "var");
  if (x.dim() > 0 && x.shape()[d] == 0) return sum(x, d, keepdim) / denominator;  // 0 / 0: NaN, as PyTorch
  const Tensor out = variance_in_double(x, d, denominator, keepdim).to(x.dtype());
  // d var / dx = 2 (x - mean) / (N - correction) (the mean's own dependence on x sums to 0).
  return record("var", out, {x}, {x}, [d, keepdim, denominator](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor gu = unsqueeze_reduced(g, c.input_shape(0), {d}, keepdim);
    return {centered_times(c.saved(0), d, gu * (2.0 / denominator))};
  });
}

Tensor var(const Tensor& x, const Shape& dims, double correction, bool keepdim) {
  return reduce_over_dims(x, dims, keepdim, "var",
                          [correction](const Tensor& t, std::int64_t d, bool k) { return var(t, d, correction, k); });
}

Tensor std(const Tensor& x) { return std(x.reshape({x.numel()}), 0); }

Tensor std(const Tensor& x, std::int64_t dim, double correction, bool keepdim) {
  detail::check_floating(x, "std");
  const auto d = detail::wrap_dim(dim, x.dim(), "std");
  const double denominator = variance_denominator(x, d, correction, "std");
  if (x.dim() > 0 && x.shape()[d] == 0) return sqrt(sum(x, d, keepdim) / denominator);  // NaN, as PyTorch
  // The square root in double too: a float32 std is finite where its variance is not.
  const Tensor out = sqrt(variance_in_double(x, d, denominator, keepdim)).to(x.dtype());
  // d std / dx = (x - mean) / ((N - correction) std), and 0 where std is 0 (as PyTorch 1.13;
  // sqrt' is infinite there).
  return record("std", out, {x}, {x, out}, [d, keepdim, denominator](const BackwardContext& c, const Tensor& g) -> Grads {
    const Shape& in = c.input_shape(0);
    const Tensor s = unsqueeze_reduced(c.saved(1), in, {d}, keepdim);
    const Tensor zero = scalar_like(s, 0.0);
    // Divided one at a time: std · (N - correction) can overflow float32 where std alone does not.
    const Tensor scale = where(eq(s, zero), zero, unsqueeze_reduced(g, in, {d}, keepdim) / s / denominator);
    return {centered_times(c.saved(0), d, scale)};
  });
}

Tensor std(const Tensor& x, const Shape& dims, double correction, bool keepdim) {
  return reduce_over_dims(x, dims, keepdim, "std",
                          [correction](const Tensor& t, std::int64_t d, bool k) { return std(t, d, correction, k); });
}

Tensor norm(const Tensor& x, double p) { return norm(x.reshape({x.numel()}), p, 0, false); }

Tensor norm(const Tensor& x, double p, std::int64_t dim, bool keepdim) {
  detail::check_floating(x, "norm");
  if (std::isnan(p)) throw Error("norm: p must be a number (any real, inf or -inf), got nan");
  const auto d = detail::wrap_dim(dim, x.dim(), "norm");
  const bool inf = std::isinf(p);
  if ((inf || p < 0) && x.dim() > 0 && x.shape()[d] == 0)  // max, min or a sum of infinities over nothing
    throw Error(fmt::format("norm: the {}-norm of an empty dim (dim {} of shape {}) is undefined", p, dim, x.shape_string()));
  // The value from the detached input; the backward below is PyTorch's, written with ops.
  Tensor out;
  {
    const Tensor a = abs(x.detach());
    if (inf) out = p > 0 ? max(a, d, keepdim) : min(a, d, keepdim);
    else if (p == 0.0) out = sum(ne(a, scalar_like(a, 0.0)), d, keepdim);  // the count of nonzero elements
    else if (p == 1.0) out = sum(a, d, keepdim);
    else if (p == 2.0) out = sqrt(sum(a * a, d, keepdim));
    else out = pow(sum(pow(a, p), d, keepdim), 1.0 / p);  // p < 0 too: a zero element makes it 0
  }
  return record("norm", out, {x}, {x, out}, [p, d, keepdim, inf](const BackwardContext& c, const Tensor& g) -> Grads {
    const Tensor x = c.saved(0);
    const Shape& shape = c.input_shape(0);
    if (p == 0.0) return {zeros_like(x)};  // a count: piecewise constant
    const Tensor n = unsqueeze_reduced(c.saved(1), shape, {d}, keepdim);
    const Tensor gu = unsqueeze_reduced(g, shape, {d}, keepdim);
    if (p == 1.0) return {sign(x) * gu};
    if (inf) {  // shared by the elements whose |x| is the norm (the largest, or for -inf the smallest)
      const Tensor winners = eq(abs(x), n);
      const Tensor count = sum(winners, d, true);  // 0 where the norm is NaN: then no gradient (as PyTorch)
      const Tensor zc = scalar_like(count, 0.0);
      return {where(eq(count, zc), zc, sign(x) * winners / count) * gu};
    }
    const Tensor zero = scalar_like(n, 0.0);
    if (p == 2.0) return {x * where(eq(n, zero), zero, gu / n)};
    // sign(x) (|x| / n)^(p-1), one power: apart, |x|^(p-1) and n^(p-1) can overflow float32 where
    // their quotient does not (p < 0). At x = 0 with p < 1 the power is inf: the gradient there is
    // 0 (as PyTorch), not 0 · inf; and a zero norm has gradient 0.
    const Tensor zx = scalar_like(x, 0.0);
    const Tensor safe_n = where(eq(n, zero), scalar_like(n, 1.0), n);
    const Tensor ratio = where(eq(x, zx), zx, sign(x) * pow(abs(x) / safe_n, p - 1.0));
    return {where(eq(n, zero), zero, gu) * ratio};
  });
}

Tensor norm(const Tensor& x, double p, const Shape& dims, bool keepdim) {
  if (std::isinf(p) || p < 0) check_nonempty_dims(x, dims, "norm", fmt::format("{}-norm", p).c_str());
  return reduce_over_dims(x, dims, keepdim, "norm", [p](const Tensor& t, std::int64_t d, bool k) { return norm(t, p, d, k); });
}

// ---- cumulative sum (and the running scan cumprod shares) ----

namespace {
// The running scan s[i] = h[i] + f s[i-1] along dim d, from the front or (Reverse) from the back,
// in double for float32, no graph. The factor f is 1 without x (cumsum), else x[i] going forward
// and x[i+1] going back (the scans of cumprod, below); the first step has none.
template <bool Reverse>
Tensor running_scan(const Tensor& h, const Tensor& x, std::int64_t d, const char* op) {
  const Tensor hc = detail::dense(h), xc = x.defined() ? detail::dense(x) : Tensor();
  Tensor out = detail::make_empty(h.shape(), h.dtype());
  const auto split = detail::split_at(h.shape(), d);
  detail::dispatch_floating(h.dtype(), op, [&]<class T>() {
    const T* hp = hc.data_ptr<T>();
    const T* xp = xc.defined() ? xc.data_ptr<T>() : nullptr;
    T* o = out.data_ptr<T>();
    for (std::int64_t a = 0; a < split.outer; ++a)
      for (std::int64_t b = 0; b < split.inner; ++b) {
        const std::int64_t base = a * split.n * split.inner + b;
        double s = 0.0;
        for (std::int64_t k = 0; k < split.n; ++k) {
          const std::int64_t i = base + (Reverse ? split.n - 1 - k : k) * split.inner;
          const double factor = xp == nullptr || k == 0 ? 1.0 : static_cast<double>(xp[Reverse ? i + split.inner : i]);
          s = static_cast<double>(hp[i]) + factor * s;
          o[i] = static_cast<T>(s);
        }
      }
  });
  return out;
}

// The running sum from the back, recorded (its adjoint is the running sum from the front).
Tensor reverse_cumsum(const Tensor& g, std::int64_t d) {
  return record("reverse_cumsum", running_scan<true>(g, Tensor(), d, "cumsum"), {g}, {}, [d](const BackwardContext&, const Tensor& gg) -> Grads {
    return {cumsum(gg, d)};
  });
}
}  // namespace

Tensor cumsum(const Tensor& x, std::int64_t dim) {
  detail::check_floating(x, "cumsum");
  const auto d = detail::wrap_dim(dim, x.dim(), "cumsum");
  return record("cumsum", running_scan<false>(x, Tensor(), d, "cumsum"), {x}, {}, [d](const BackwardContext&, const Tensor& g) -> Grads {
    return {reverse_cumsum(g, d)};
  });
}

// ---- cumulative product, product ----
//
// Both rest on two linear scans along a dim, each the other's adjoint in its first input:
//   scan_forward(h, x):  s[i] = h[i] + x[i] s[i-1]      (s[-1] = 0)
//   scan_reverse(g, x):  r[i] = g[i] + x[i+1] r[i+1]    (r[n] = 0)
// (x[0] is used by neither.) cumprod(x) is scan_forward(h, x) with h = x[0] at index 0 and 0
// elsewhere, so its gradient is scan_reverse(g, x) times the exclusive running product: no step
// divides by x, and zeros in x are exact. In x, d s[i] / d x[k] = s[k-1] x[k+1] ... x[i] for
// 0 < k <= i, so the adjoint of scan_forward in x is shift(s) · scan_reverse(u, x), and that of
// scan_reverse is r · shift(scan_forward(u, x)), where shift moves one step up the dim with 0
// entering. Each scan's backward is made of the two scans, so every order is differentiable.

namespace {
// t moved one step up dim d: out[0] = 0, out[i] = t[i - 1].
Tensor shift_up(const Tensor& t, std::int64_t d) {
  const std::int64_t n = t.dim() == 0 ? 1 : t.shape()[d];
  if (t.dim() == 0 || n == 0) return zeros_like(t);
  Shape first = t.shape();
  first[d] = 1;
  return cat({zeros(first, t.dtype()), t.narrow(d, 0, n - 1)}, d);
}

template <bool Reverse>
Tensor scan(const Tensor& h, const Tensor& x, std::int64_t d) {
  Tensor out = running_scan<Reverse>(h, x, d, "cumprod");
  return record(Reverse ? "scan_reverse" : "scan_forward", out, {h, x}, {x, out},
                [d](const BackwardContext& c, const Tensor& u) -> Grads {
                  const Tensor x = c.saved(0), s = c.saved(1);
                  const Tensor other = scan<!Reverse>(u, x, d);  // the adjoint in h
                  Tensor gx;
                  if (c.needs_grad(1)) gx = Reverse ? s * shift_up(other, d) : shift_up(s, d) * other;
                  return {c.needs_grad(0) ? other : Tensor(), gx};
                });
}
}  // namespace

Tensor cumprod(const Tensor& x, std::int64_t dim) {
  detail::check_floating(x, "cumprod");
  const auto d = detail::wrap_dim(dim, x.dim(), "cumprod");
  if (x.dim() == 0 || x.shape()[d] == 0) return x * 1.0;  // itself, as a new tensor (as every op's result)
  // h: x's first entry along d, zeros after it.
  Shape rest = x.shape();
  rest[d] -= 1;
  const Tensor h = cat({x.narrow(d, 0, 1), zeros(rest, x.dtype())}, d);
  return scan<false>(h, x, d);
}

Tensor prod(const Tensor& x) {
  detail::check_floating(x, "prod");
  return prod(x.reshape({x.numel()}), 0, false);
}

Tensor prod(const Tensor& x, std::int64_t dim, bool keepdim) {
  detail::check_floating(x, "prod");
  const auto d = detail::wrap_dim(dim, x.dim(), "prod");
  if (x.dim() == 0) return x * 1.0;
  const std::int64_t n = x.shape()[d];
  if (n == 0) return sum(x, d, keepdim) * 0.0 + 1.0;  // the empty product, 1, still in the graph (gradient: none to give)
  // The last running product; its gradient is exactly the product of the other elements.
  const Tensor last = cumprod(x, d).narrow(d, n - 1, 1);
  return keepdim ? last : last.squeeze(d);
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  const auto nx = x.dim(), ns = static_cast<std::int64_t>(shape.size());
  if (ns > nx) throw Error(fmt::format("sum_to: cannot sum shape {} to the larger rank shape {}", x.shape_string(), shape_to_string(shape)));
  Shape dims;
  for (std::int64_t d = 0; d < nx; ++d) {
    const std::int64_t target = d < nx - ns ? -1 : shape[d - (nx - ns)];
    if (target == -1 || (target == 1 && x.shape()[d] != 1)) dims.push_back(d);
    else if (target != x.shape()[d])
      throw Error(fmt::format("sum_to: shape {} cannot be summed to {}", x.shape_string(), shape_to_string(shape)));
  }
  Tensor out = dims.empty() ? x : sum(x, dims, true);
  return out.reshape(shape);
}

}  // namespace nabla
