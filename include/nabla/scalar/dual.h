#pragma once
/// nabla::Dual: forward-mode automatic differentiation (value + tangent), and jvp.
///
/// BasicDual<T> carries a value and a tangent of type T. Dual is BasicDual<double>; BasicDual<Var>
/// records the tangent computation on the tape, which gives second derivatives by reverse-over-forward
/// (see hessian.h). The functions mirror those of Var and are found by argument-dependent lookup.
#include <cmath>
#include <compare>
#include <cstddef>
#include <numbers>
#include <string>
#include <utility>
#include <vector>

#include <nabla/core/error.h>
#include <nabla/scalar/var.h>

namespace nabla {

/// A value and its directional derivative (tangent), both of type T.
template <class T>
class BasicDual {
 public:
  /// The constant 0.
  constexpr BasicDual() = default;
  /// A constant (tangent 0).
  constexpr BasicDual(double constant) : value_(constant), tangent_(0.0) {}  // NOLINT: implicit on purpose
  /// A value with a tangent.
  constexpr BasicDual(T value, T tangent) : value_(std::move(value)), tangent_(std::move(tangent)) {}

  /// The forward value.
  constexpr const T& value() const { return value_; }
  /// The directional derivative.
  constexpr const T& tangent() const { return tangent_; }

 private:
  T value_{};
  T tangent_{};
};

/// Forward mode over double.
using Dual = BasicDual<double>;

namespace detail {
/// The double inside a double, Var or nested dual (for comparisons and branches).
inline double primal(double x) { return x; }
inline double primal(const Var& x) { return x.value(); }
template <class T>
double primal(const BasicDual<T>& x) {
  return primal(x.value());
}
/// The logistic function of a double, Var or nested dual.
inline double sigmoid_of(double x) { return sigmoid(x); }
inline Var sigmoid_of(const Var& x) { return nabla::sigmoid(x); }
template <class T>
BasicDual<T> sigmoid_of(const BasicDual<T>& x);
}  // namespace detail

// ---- arithmetic ----
/// a + b.
template <class T>
BasicDual<T> operator+(const BasicDual<T>& a, const BasicDual<T>& b) {
  return {a.value() + b.value(), a.tangent() + b.tangent()};
}
/// a - b.
template <class T>
BasicDual<T> operator-(const BasicDual<T>& a, const BasicDual<T>& b) {
  return {a.value() - b.value(), a.tangent() - b.tangent()};
}
/// a * b.
template <class T>
BasicDual<T> operator*(const BasicDual<T>& a, const BasicDual<T>& b) {
  return {a.value() * b.value(), a.tangent() * b.value() + a.value() * b.tangent()};
}
/// a / b.
template <class T>
BasicDual<T> operator/(const BasicDual<T>& a, const BasicDual<T>& b) {
  T r = a.value() / b.value();
  return {r, (a.tangent() - r * b.tangent()) / b.value()};
}
/// -a.
template <class T>
BasicDual<T> operator-(const BasicDual<T>& a) {
  return {-a.value(), -a.tangent()};
}
/// +a.
template <class T>
BasicDual<T> operator+(const BasicDual<T>& a) {
  return a;
}
/// a + constant.
template <class T>
BasicDual<T> operator+(const BasicDual<T>& a, double b) {
  return {a.value() + b, a.tangent()};
}
/// constant + b.
template <class T>
BasicDual<T> operator+(double a, const BasicDual<T>& b) {
  return {a + b.value(), b.tangent()};
}
/// a - constant.
template <class T>
BasicDual<T> operator-(const BasicDual<T>& a, double b) {
  return {a.value() - b, a.tangent()};
}
/// constant - b.
template <class T>
BasicDual<T> operator-(double a, const BasicDual<T>& b) {
  return {a - b.value(), -b.tangent()};
}
/// a * constant.
template <class T>
BasicDual<T> operator*(const BasicDual<T>& a, double b) {
  return {a.value() * b, a.tangent() * b};
}
/// constant * b.
template <class T>
BasicDual<T> operator*(double a, const BasicDual<T>& b) {
  return {a * b.value(), a * b.tangent()};
}
/// a / constant.
template <class T>
BasicDual<T> operator/(const BasicDual<T>& a, double b) {
  return {a.value() / b, a.tangent() / b};
}
/// constant / b.
template <class T>
BasicDual<T> operator/(double a, const BasicDual<T>& b) {
  T r = a / b.value();
  return {r, -r * b.tangent() / b.value()};
}
/// a = a + b.
template <class T, class U>
BasicDual<T>& operator+=(BasicDual<T>& a, const U& b) {
  return a = a + b;
}
/// a = a - b.
template <class T, class U>
BasicDual<T>& operator-=(BasicDual<T>& a, const U& b) {
  return a = a - b;
}
/// a = a * b.
template <class T, class U>
BasicDual<T>& operator*=(BasicDual<T>& a, const U& b) {
  return a = a * b;
}
/// a = a / b.
template <class T, class U>
BasicDual<T>& operator/=(BasicDual<T>& a, const U& b) {
  return a = a / b;
}

// ---- comparisons on values ----
/// Equality of values.
template <class T>
bool operator==(const BasicDual<T>& a, const BasicDual<T>& b) {
  return detail::primal(a) == detail::primal(b);
}
/// Equality with a constant.
template <class T>
bool operator==(const BasicDual<T>& a, double b) {
  return detail::primal(a) == b;
}
/// Ordering of values.
template <class T>
std::partial_ordering operator<=>(const BasicDual<T>& a, const BasicDual<T>& b) {
  return detail::primal(a) <=> detail::primal(b);
}
/// Ordering against a constant.
template <class T>
std::partial_ordering operator<=>(const BasicDual<T>& a, double b) {
  return detail::primal(a) <=> b;
}

// ---- elementary functions: f(a) = (f(v), f'(v) * t) ----
/// e^a.
template <class T>
BasicDual<T> exp(const BasicDual<T>& a) {
  using std::exp;
  T r = exp(a.value());
  return {r, r * a.tangent()};
}
/// Natural logarithm.
template <class T>
BasicDual<T> log(const BasicDual<T>& a) {
  using std::log;
  return {log(a.value()), a.tangent() / a.value()};
}
/// Square root.
template <class T>
BasicDual<T> sqrt(const BasicDual<T>& a) {
  using std::sqrt;
  T r = sqrt(a.value());
  return {r, a.tangent() / (2.0 * r)};
}
/// Sine.
template <class T>
BasicDual<T> sin(const BasicDual<T>& a) {
  using std::cos;
  using std::sin;
  return {sin(a.value()), cos(a.value()) * a.tangent()};
}
/// Cosine.
template <class T>
BasicDual<T> cos(const BasicDual<T>& a) {
  using std::cos;
  using std::sin;
  return {cos(a.value()), -(sin(a.value()) * a.tangent())};
}
/// Tangent.
template <class T>
BasicDual<T> tan(const BasicDual<T>& a) {
  using std::tan;
  T r = tan(a.value());
  return {r, (1.0 + r * r) * a.tangent()};
}
/// Hyperbolic tangent.
template <class T>
BasicDual<T> tanh(const BasicDual<T>& a) {
  using std::tanh;
  T r = tanh(a.value());
  return {r, (1.0 - r * r) * a.tangent()};
}
/// 1 / (1 + e^-a).
template <class T>
BasicDual<T> sigmoid(const BasicDual<T>& a) {
  T r = detail::sigmoid_of(a.value());
  return {r, r * (1.0 - r) * a.tangent()};
}
template <class T>
BasicDual<T> detail::sigmoid_of(const BasicDual<T>& x) {
  return sigmoid(x);
}
/// max(a, 0); the derivative at 0 is 0.
template <class T>
BasicDual<T> relu(const BasicDual<T>& a) {
  if (detail::primal(a) > 0.0) return a;
  return {T(0.0), T(0.0)};
}
/// |a|; the derivative at 0 is 0 (and |NaN| is NaN, with tangent 0, as Var's).
template <class T>
BasicDual<T> abs(const BasicDual<T>& a) {
  const double v = detail::primal(a);
  if (v > 0.0) return a;
  if (v < 0.0) return -a;
  if (v == 0.0) return {T(0.0), T(0.0)};
  return {a.value(), T(0.0)};
}
/// |a| (the name of <cmath>'s double version, for generic code).
template <class T>
BasicDual<T> fabs(const BasicDual<T>& a) {
  return abs(a);
}
/// Arc sine.
template <class T>
BasicDual<T> asin(const BasicDual<T>& a) {
  using std::asin;
  using std::sqrt;
  return {asin(a.value()), a.tangent() / sqrt((1.0 - a.value()) * (1.0 + a.value()))};
}
/// Arc cosine.
template <class T>
BasicDual<T> acos(const BasicDual<T>& a) {
  using std::acos;
  using std::sqrt;
  return {acos(a.value()), -(a.tangent() / sqrt((1.0 - a.value()) * (1.0 + a.value())))};
}
/// Arc tangent.
template <class T>
BasicDual<T> atan(const BasicDual<T>& a) {
  using std::atan;
  return {atan(a.value()), a.tangent() / (1.0 + a.value() * a.value())};
}
/// Hyperbolic sine.
template <class T>
BasicDual<T> sinh(const BasicDual<T>& a) {
  using std::cosh;
  using std::sinh;
  return {sinh(a.value()), cosh(a.value()) * a.tangent()};
}
/// Hyperbolic cosine.
template <class T>
BasicDual<T> cosh(const BasicDual<T>& a) {
  using std::cosh;
  using std::sinh;
  return {cosh(a.value()), sinh(a.value()) * a.tangent()};
}
/// Inverse hyperbolic sine.
template <class T>
BasicDual<T> asinh(const BasicDual<T>& a) {
  using std::asinh;
  using std::hypot;
  return {asinh(a.value()), a.tangent() / hypot(a.value(), 1.0)};
}
/// Inverse hyperbolic cosine.
template <class T>
BasicDual<T> acosh(const BasicDual<T>& a) {
  using std::acosh;
  using std::sqrt;
  return {acosh(a.value()), a.tangent() / sqrt((a.value() - 1.0) * (a.value() + 1.0))};
}
/// Inverse hyperbolic tangent.
template <class T>
BasicDual<T> atanh(const BasicDual<T>& a) {
  using std::atanh;
  return {atanh(a.value()), a.tangent() / ((1.0 - a.value()) * (1.0 + a.value()))};
}
/// log(1 + a).
template <class T>
BasicDual<T> log1p(const BasicDual<T>& a) {
  using std::log1p;
  return {log1p(a.value()), a.tangent() / (1.0 + a.value())};
}
/// e^a - 1.
template <class T>
BasicDual<T> expm1(const BasicDual<T>& a) {
  using std::exp;
  using std::expm1;
  return {expm1(a.value()), exp(a.value()) * a.tangent()};
}
/// Base-2 logarithm.
template <class T>
BasicDual<T> log2(const BasicDual<T>& a) {
  using std::log2;
  return {log2(a.value()), a.tangent() / (a.value() * std::numbers::ln2)};
}
/// Base-10 logarithm.
template <class T>
BasicDual<T> log10(const BasicDual<T>& a) {
  using std::log10;
  return {log10(a.value()), a.tangent() / (a.value() * std::numbers::ln10)};
}
/// 2^a.
template <class T>
BasicDual<T> exp2(const BasicDual<T>& a) {
  using std::exp2;
  T r = exp2(a.value());
  return {r, r * std::numbers::ln2 * a.tangent()};
}
/// Cube root.
template <class T>
BasicDual<T> cbrt(const BasicDual<T>& a) {
  using std::cbrt;
  T r = cbrt(a.value());
  return {r, a.tangent() / (3.0 * r * r)};
}
/// The error function.
template <class T>
BasicDual<T> erf(const BasicDual<T>& a) {
  using std::erf;
  using std::exp;
  return {erf(a.value()), std::numbers::inv_sqrtpi * 2.0 * exp(-(a.value() * a.value())) * a.tangent()};
}
/// The complementary error function.
template <class T>
BasicDual<T> erfc(const BasicDual<T>& a) {
  using std::erfc;
  using std::exp;
  return {erfc(a.value()), -(std::numbers::inv_sqrtpi * 2.0 * exp(-(a.value() * a.value())) * a.tangent())};
}
/// Rounding functions: piecewise constant, tangent 0.
template <class T>
BasicDual<T> floor(const BasicDual<T>& a) {
  using std::floor;
  return {floor(a.value()), T(0.0)};
}
/// See floor.
template <class T>
BasicDual<T> ceil(const BasicDual<T>& a) {
  using std::ceil;
  return {ceil(a.value()), T(0.0)};
}
/// See floor.
template <class T>
BasicDual<T> round(const BasicDual<T>& a) {
  using std::round;
  return {round(a.value()), T(0.0)};
}
/// See floor.
template <class T>
BasicDual<T> trunc(const BasicDual<T>& a) {
  using std::trunc;
  return {trunc(a.value()), T(0.0)};
}
/// atan2(a, b) (same conventions as atan2(Var, Var): NaN tangent at (0, 0)).
template <class T>
BasicDual<T> atan2(const BasicDual<T>& a, const BasicDual<T>& b) {
  using std::atan2;
  using std::hypot;
  T r = hypot(a.value(), b.value());
  return {atan2(a.value(), b.value()), (b.value() * a.tangent() - a.value() * b.tangent()) / r / r};
}
/// atan2 with a constant (its term is left out, not multiplied by a zero tangent: at a = ±inf that
/// product would be NaN).
template <class T>
BasicDual<T> atan2(const BasicDual<T>& a, double b) {
  using std::atan2;
  using std::hypot;
  T r = hypot(a.value(), b);
  return {atan2(a.value(), b), b / r / r * a.tangent()};
}
/// atan2 with a constant.
template <class T>
BasicDual<T> atan2(double a, const BasicDual<T>& b) {
  using std::atan2;
  using std::hypot;
  T r = hypot(a, b.value());
  return {atan2(a, b.value()), -a / r / r * b.tangent()};
}
/// sqrt(a² + b²) (NaN tangent at (0, 0), as hypot(Var, Var)).
template <class T>
BasicDual<T> hypot(const BasicDual<T>& a, const BasicDual<T>& b) {
  using std::hypot;
  T r = hypot(a.value(), b.value());
  return {r, (a.value() * a.tangent() + b.value() * b.tangent()) / r};
}
/// hypot with a constant.
template <class T>
BasicDual<T> hypot(const BasicDual<T>& a, double b) {
  return hypot(a, BasicDual<T>(b));
}
/// hypot with a constant.
template <class T>
BasicDual<T> hypot(double a, const BasicDual<T>& b) {
  return hypot(BasicDual<T>(a), b);
}
/// a^b (same conventions as pow(Var, Var)).
template <class T>
BasicDual<T> pow(const BasicDual<T>& a, const BasicDual<T>& b) {
  using std::log;
  using std::pow;
  T r = pow(a.value(), b.value());
  const double av = detail::primal(a), bv = detail::primal(b);
  T t = (bv == 0.0) ? T(0.0) : b.value() * pow(a.value(), b.value() - 1.0) * a.tangent();
  if (!(av == 0.0 && bv >= 0.0)) t = t + r * log(a.value()) * b.tangent();
  return {r, t};
}
/// a^constant.
template <class T>
BasicDual<T> pow(const BasicDual<T>& a, double b) {
  using std::pow;
  T r = pow(a.value(), b);
  if (b == 0.0) return {r, T(0.0)};
  return {r, b * pow(a.value(), b - 1.0) * a.tangent()};
}
/// constant^b.
template <class T>
BasicDual<T> pow(double a, const BasicDual<T>& b) {
  return pow(BasicDual<T>(a), b);
}
/// The larger of a and b; at a tie the tangents are averaged (like Var's max).
template <class T>
BasicDual<T> max(const BasicDual<T>& a, const BasicDual<T>& b) {
  const double av = detail::primal(a), bv = detail::primal(b);
  if (av > bv) return a;
  if (av < bv) return b;
  return {a.value(), 0.5 * (a.tangent() + b.tangent())};
}
/// The smaller of a and b; at a tie the tangents are averaged.
template <class T>
BasicDual<T> min(const BasicDual<T>& a, const BasicDual<T>& b) {
  const double av = detail::primal(a), bv = detail::primal(b);
  if (av < bv) return a;
  if (av > bv) return b;
  return {a.value(), 0.5 * (a.tangent() + b.tangent())};
}
/// max with a constant.
template <class T>
BasicDual<T> max(const BasicDual<T>& a, double b) {
  return max(a, BasicDual<T>(b));
}
/// max with a constant.
template <class T>
BasicDual<T> max(double a, const BasicDual<T>& b) {
  return max(BasicDual<T>(a), b);
}
/// min with a constant.
template <class T>
BasicDual<T> min(const BasicDual<T>& a, double b) {
  return min(a, BasicDual<T>(b));
}
/// min with a constant.
template <class T>
BasicDual<T> min(double a, const BasicDual<T>& b) {
  return min(BasicDual<T>(a), b);
}

/// The value of f at x and its derivative along v (what jvp returns for a scalar f).
struct ValueAndTangent {
  double value = 0.0;
  double tangent = 0.0;
};

/// Forward mode: f(x) and the directional derivative J(x) v, in one evaluation of f over Duals.
/// f takes `const std::vector<nabla::Dual>&` and returns a Dual.
template <class F>
ValueAndTangent jvp(F&& f, const std::vector<double>& x, const std::vector<double>& v) {
  if (x.size() != v.size())
    throw Error("jvp: the point has " + std::to_string(x.size()) + " coordinates but the direction has " +
                std::to_string(v.size()));
  std::vector<Dual> xs;
  xs.reserve(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) xs.emplace_back(x[i], v[i]);
  const Dual y = std::forward<F>(f)(static_cast<const std::vector<Dual>&>(xs));
  return {y.value(), y.tangent()};
}

}  // namespace nabla
