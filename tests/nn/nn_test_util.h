#pragma once
// Helpers of the nn and optim tests: seeded float64 leaves (contiguous or not), gradcheck as a gtest
// assertion, error-message matching and value comparison.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include <nabla/autograd/gradcheck.h>
#include <nabla/core/error.h>
#include <nabla/core/generator.h>
#include <nabla/core/tensor.h>
#include <nabla/ops/arithmetic.h>
#include <nabla/ops/reduction.h>
#include <nabla/ops/unary.h>

namespace nabla::nntest {

/// A leaf of `shape` with values uniform on [lo, hi), requiring grad.
inline Tensor leaf(const Shape& shape, double lo = -1.0, double hi = 1.0, DType dtype = kFloat64) {
  return uniform(shape, lo, hi, dtype).requires_grad_();
}

/// A non-contiguous leaf of `shape` (rank 1 or 2): the transpose of a contiguous [cols, rows]
/// tensor for rank 2, every other element of a wider tensor for rank 1.
inline Tensor noncontig_leaf(const Shape& shape, double lo = -1.0, double hi = 1.0) {
  Tensor out = shape.size() == 2 ? uniform({shape[1], shape[0]}, lo, hi, kFloat64).t()
                                 : uniform({2 * shape[0]}, lo, hi, kFloat64).slice(0, 0, 2 * shape[0], 2);
  EXPECT_EQ(out.shape(), shape);
  EXPECT_FALSE(out.is_contiguous());
  return out.requires_grad_();
}

/// gradcheck (or gradgradcheck) with its default tolerances, as a gtest assertion with its message.
inline ::testing::AssertionResult grad_ok(const GradcheckFn& fn, const std::vector<Tensor>& inputs, bool second = false) {
  try {
    if (second ? gradgradcheck(fn, inputs) : gradcheck(fn, inputs)) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "gradcheck returned false";
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << e.what();
  }
}
inline ::testing::AssertionResult gradgrad_ok(const GradcheckFn& fn, const std::vector<Tensor>& inputs) {
  return grad_ok(fn, inputs, true);
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

/// Elementwise |got - want| <= atol + rtol |want| for t's values read as double.
inline ::testing::AssertionResult values_near(const Tensor& t, const std::vector<double>& want, double rtol,
                                              double atol = 0.0) {
  const auto got = t.to_vector<double>();
  if (got.size() != want.size())
    return ::testing::AssertionFailure() << "got " << got.size() << " values, expected " << want.size();
  for (std::size_t i = 0; i < got.size(); ++i)
    if (!(std::abs(got[i] - want[i]) <= atol + rtol * std::abs(want[i])))
      return ::testing::AssertionFailure() << "element " << i << ": got " << got[i] << ", expected " << want[i];
  return ::testing::AssertionSuccess();
}

/// The two floating dtypes.
inline const std::vector<DType>& float_dtypes() {
  static const std::vector<DType> d{kFloat32, kFloat64};
  return d;
}

}  // namespace nabla::nntest
