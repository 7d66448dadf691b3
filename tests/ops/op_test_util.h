#pragma once
// Shared helpers of the per-op tests: seeded random float64 inputs, non-contiguous views,
// gradcheck/gradgradcheck as gtest assertions, error-message matching and independent references.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <nabla/autograd/engine.h>
#include <nabla/autograd/function.h>
#include <nabla/autograd/grad_mode.h>
#include <nabla/autograd/gradcheck.h>
#include <nabla/core/error.h>
#include <nabla/core/generator.h>
#include <nabla/core/tensor.h>
#include <nabla/ops/arithmetic.h>
#include <nabla/ops/linalg.h>
#include <nabla/ops/reduction.h>
#include <nabla/ops/shape.h>
#include <nabla/ops/unary.h>

namespace nabla::test {

/// A leaf of `shape` with values uniform on [lo, hi), requiring grad.
inline Tensor leaf(const Shape& shape, double lo = -1.0, double hi = 1.0, DType dtype = kFloat64) {
  return uniform(shape, lo, hi, dtype).requires_grad_();
}

/// A non-contiguous leaf of `shape` (values uniform on [lo, hi)): for rank >= 2 the transpose of a
/// contiguous tensor with the last two dims swapped, else (rank 1, or when that transpose is still
/// contiguous) every other element along the last dim of a wider tensor.
inline Tensor noncontig_leaf(const Shape& shape, double lo = -1.0, double hi = 1.0, DType dtype = kFloat64) {
  Tensor out;
  if (shape.size() >= 2) {
    Shape swapped = shape;
    std::swap(swapped[swapped.size() - 1], swapped[swapped.size() - 2]);
    out = uniform(swapped, lo, hi, dtype).transpose(-1, -2);
  }
  if (!shape.empty() && (!out.defined() || out.is_contiguous())) {
    // Every other element along the last dim of a wider tensor.
    Shape wide = shape;
    wide.back() = 2 * shape.back() + 1;
    out = uniform(wide, lo, hi, dtype).slice(-1, 1, wide.back(), 2);
  } else if (shape.empty()) {
    out = uniform({3}, lo, hi, dtype).select(0, 1);
  }
  EXPECT_EQ(out.shape(), shape);
  if (out.numel() > 1) EXPECT_FALSE(out.is_contiguous()) << "helper failed to make a non-contiguous view";
  return out.requires_grad_();
}

/// gradcheck with its default tolerances, as a gtest assertion carrying gradcheck's message.
inline ::testing::AssertionResult grad_ok(const GradcheckFn& fn, const std::vector<Tensor>& inputs) {
  try {
    if (gradcheck(fn, inputs)) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "gradcheck returned false";
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << e.what();
  }
}

/// gradgradcheck with its default tolerances, as a gtest assertion.
inline ::testing::AssertionResult gradgrad_ok(const GradcheckFn& fn, const std::vector<Tensor>& inputs) {
  try {
    if (gradgradcheck(fn, inputs)) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "gradgradcheck returned false";
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << e.what();
  }
}

/// Success when f throws nabla::Error whose message contains every one of `parts`.
template <class F>
::testing::AssertionResult throws_error(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const auto& p : parts)
      if (msg.find(p) == std::string::npos)
        return ::testing::AssertionFailure() << "message \"" << msg << "\" lacks \"" << p << "\"";
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-nabla exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

/// Elementwise closeness of t's values (read as double) to expected; NaN matches NaN, inf matches inf.
inline ::testing::AssertionResult values_near(const Tensor& t, const std::vector<double>& expected, double rtol,
                                              double atol = 0.0) {
  const auto got = t.to_vector<double>();
  if (got.size() != expected.size())
    return ::testing::AssertionFailure() << "got " << got.size() << " values, expected " << expected.size();
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double g = got[i], e = expected[i];
    if (std::isnan(e) && std::isnan(g)) continue;
    if (std::isinf(e) && g == e) continue;
    if (!(std::abs(g - e) <= atol + rtol * std::abs(e)))
      return ::testing::AssertionFailure() << "element " << i << ": got " << g << ", expected " << e;
  }
  return ::testing::AssertionSuccess();
}

/// Value tolerance per dtype: a few ulps of the type.
inline double rtol_for(DType d) { return d == kFloat32 ? 2e-6 : 1e-13; }

/// Row-major multi-index of flat position i in shape.
inline std::vector<std::int64_t> unravel(std::int64_t i, const Shape& shape) {
  std::vector<std::int64_t> idx(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    idx[d] = shape[d] == 0 ? 0 : i % shape[d];
    if (shape[d] != 0) i /= shape[d];
  }
  return idx;
}

/// Flat position in `shape` of the multi-index `out_idx` of a shape it broadcasts to.
inline std::int64_t broadcast_pos(const std::vector<std::int64_t>& out_idx, const Shape& shape) {
  const std::size_t lead = out_idx.size() - shape.size();
  std::int64_t pos = 0;
  for (std::size_t d = 0; d < shape.size(); ++d) pos = pos * shape[d] + (shape[d] == 1 ? 0 : out_idx[lead + d]);
  return pos;
}

/// Independent reference for a broadcast binary op: f applied to a's and b's values (as double).
inline std::vector<double> ref_binary(const Tensor& a, const Tensor& b, const Shape& out_shape,
                                      const std::function<double(double, double)>& f) {
  const auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  std::int64_t n = 1;
  for (auto s : out_shape) n *= s;
  std::vector<double> out;
  for (std::int64_t i = 0; i < n; ++i) {
    const auto idx = unravel(i, out_shape);
    out.push_back(f(va[broadcast_pos(idx, a.shape())], vb[broadcast_pos(idx, b.shape())]));
  }
  return out;
}

/// Independent reference for a unary op.
inline std::vector<double> ref_unary(const Tensor& x, const std::function<double(double)>& f) {
  std::vector<double> out;
  for (double v : x.to_vector<double>()) out.push_back(f(v));
  return out;
}

/// The float-type-rounded reference: f evaluated in T on T inputs, then widened.
template <class T>
std::vector<double> ref_unary_t(const Tensor& x, const std::function<T(T)>& f) {
  std::vector<double> out;
  for (T v : x.to_vector<T>()) out.push_back(static_cast<double>(f(v)));
  return out;
}

/// The two floating dtypes, for value tests run in both.
inline const std::vector<DType>& float_dtypes() {
  static const std::vector<DType> d{kFloat32, kFloat64};
  return d;
}

inline constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace nabla::test
