#pragma once
/// nabla::Var: reverse-mode automatic differentiation of scalar (double) code on a flat tape.
///
/// Every operation on Var appends one fixed-size entry to the thread's active Tape: the local
/// partial derivatives of its result with respect to (at most) two arguments and those arguments'
/// tape indices. The reverse sweep is one loop over that contiguous array. Nothing is allocated
/// per operation (the tape grows by doubling and keeps its capacity across Tape::reset()), and
/// nothing is called virtually. The operators are inline on purpose: a call per operation would
/// cost as much as the operation itself.
///
/// Checking: with NABLA_SCALAR_CHECKS=1 (the default when NDEBUG is not defined) every operation
/// checks that its Var arguments belong to the thread's active tape and were recorded since its
/// last reset(), and throws nabla::Error otherwise. With checks off (release builds) such a Var
/// is not detected while recording: its index is taken as is, which gives wrong gradients or, if
/// the index lies beyond the tape, undefined behaviour. Tape::backward() and Tape::adjoint()
/// check their Var argument in every build.
#include <atomic>
#include <cmath>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include <nabla/core/error.h>

#ifndef NABLA_SCALAR_CHECKS
#ifdef NDEBUG
#define NABLA_SCALAR_CHECKS 0
#else
#define NABLA_SCALAR_CHECKS 1
#endif
#endif

namespace nabla {

class Var;
class Tape;

/// One recorded operation: d(result)/d(arg[k]) = partial[k]. The unused slot of a one-argument op
/// points at one of the tape's first entries (sinks that nothing reads) with partial 0, so the
/// reverse sweep needs no branch.
struct TapeEntry {
  double partial[2];
  std::uint32_t arg[2];
};
static_assert(sizeof(TapeEntry) == 24, "a tape entry is 24 bytes");

namespace detail {
/// The thread's active tape (null until first use; then the thread's default tape).
extern constinit thread_local Tape* t_active_tape [[gnu::tls_model("initial-exec")]];
/// Creates (once per thread) and activates the thread's default tape.
Tape& activate_default_tape();
/// Throws the "Var used on the wrong tape" error.
[[noreturn]] void throw_stale_var(std::uint32_t index, std::uint32_t var_epoch, const Tape& tape);

/// 1 / (1 + e^-x) without overflow for large |x|.
inline double sigmoid(double x) {
  if (x >= 0.0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}
/// d(a^b)/da, 0 where b == 0 (so 0^0 has a finite derivative, as in PyTorch).
inline double pow_dbase(double a, double b) { return b == 0.0 ? 0.0 : b * std::pow(a, b - 1.0); }
/// d(a^b)/db given r = a^b, 0 where a == 0 and b >= 0 (as in PyTorch).
inline double pow_dexp(double a, double b, double r) { return (a == 0.0 && b >= 0.0) ? 0.0 : r * std::log(a); }
}  // namespace detail

/// A double that records what is computed from it on the thread's active Tape.
/// A Var made from a double is a constant: it is not on any tape and gets no gradient.
class Var {
 public:
  /// The constant 0.
  constexpr Var() = default;
  /// A constant (not differentiated).
  constexpr Var(double constant) : value_(constant) {}  // NOLINT: implicit on purpose

  /// The forward value.
  constexpr double value() const { return value_; }
  /// Position on the tape (0 for constants).
  constexpr std::uint32_t index() const { return index_; }
  /// The epoch of the tape that recorded it (0 for constants).
  constexpr std::uint32_t epoch() const { return epoch_; }
  /// True for a constant.
  constexpr bool is_constant() const { return index_ == 0; }

  /// A Var with the given tape coordinates (used by Tape; not for general use).
  static constexpr Var from_tape(double value, std::uint32_t index, std::uint32_t epoch) {
    Var v(value);
    v.index_ = index;
    v.epoch_ = epoch;
    return v;
  }

 private:
  double value_ = 0.0;
  std::uint32_t index_ = 0;
  std::uint32_t epoch_ = 0;
};
static_assert(sizeof(Var) == 16, "a Var is a double and two 32-bit tape coordinates");

/// A recording of scalar operations and their local partials; reusable without allocation.
/// One thread uses a tape at a time; each thread has its own default tape (Tape::active()).
class Tape {
 public:
  /// An empty tape (no memory until the first operation).
  Tape();
  ~Tape();
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  /// The calling thread's active tape: the one made active by a TapeScope, else the thread's default.
  static Tape& active() {
    Tape* t = detail::t_active_tape;
    return t ? *t : detail::activate_default_tape();
  }

  /// Index of the first recorded entry. Slot 0 stands for constants; slots 0..7 are sinks where
  /// one-argument ops send their unused second partial (spread over eight slots, so the reverse
  /// sweep does not wait on one memory location).
  static constexpr std::uint32_t kFirstIndex = 8;

  /// A new independent variable (an input) with the given value.
  Var variable(double value) { return push(value, 0.0, sink(), 0.0, sink()); }
  /// Forgets every entry (keeping the memory); Vars recorded before become invalid.
  void reset();
  /// Drops the entries from position `mark` on (a nested recording's end); earlier Vars stay valid.
  void rewind(std::size_t mark);

  /// Number of entries, including the kFirstIndex reserved ones.
  std::size_t size() const { return size_; }
  /// Entries the tape can hold before it must grow.
  std::size_t capacity() const { return capacity_; }
  /// How many times the tape's buffers were (re)allocated so far.
  std::size_t allocations() const { return allocations_; }
  /// Bytes of tape memory per recorded operation (entry plus adjoint).
  static constexpr std::size_t bytes_per_entry() { return sizeof(TapeEntry) + sizeof(double); }
  /// The generation of this tape: changes on every reset(), unique across tapes and threads.
  std::uint32_t epoch() const { return epoch_; }
  /// Entry i (kFirstIndex <= i < size()).
  const TapeEntry& entry(std::size_t i) const { return entries_[i]; }
  /// Makes room for at least n entries in total.
  void reserve(std::size_t n);

  /// Reverse sweep: the adjoint of every entry in [from, y] with respect to y (seed 1).
  void backward(const Var& y, std::size_t from = kFirstIndex);
  /// d y / d x after backward(y) (0 for constants and for entries outside the swept range).
  double adjoint(const Var& x) const;
  /// True when x was recorded on this tape since its last reset (constants: always).
  bool owns(const Var& x) const { return x.index() == 0 || (x.epoch() == epoch_ && x.index() < size_); }

  // ---- recording (used by the Var operations) ----
  /// Appends an entry and returns the Var of its result.
  Var push(double value, double d0, std::uint32_t i0, double d1, std::uint32_t i1) {
    if (size_ >= capacity_) [[unlikely]]
      grow();
    const std::uint32_t index = size_++;
    TapeEntry& e = entries_[index];
    e.partial[0] = d0;
    e.partial[1] = d1;
    e.arg[0] = i0;
    e.arg[1] = i1;
    return Var::from_tape(value, index, epoch_);
  }
  /// Appends a one-argument entry (its second slot goes to a sink).
  Var push_unary(double value, double d0, std::uint32_t i0) { return push(value, d0, i0, 0.0, sink()); }
  /// The sink for the entry about to be recorded.
  std::uint32_t sink() const { return size_ & (kFirstIndex - 1); }
  /// Throws nabla::Error when x is not a constant and not recorded on this tape since its reset.
  void check(const Var& x) const {
    if (x.index() != 0 && (x.epoch() != epoch_ || x.index() >= size_)) [[unlikely]]
      detail::throw_stale_var(x.index(), x.epoch(), *this);
  }

 private:
  void grow();
  TapeEntry* entries_ = nullptr;
  double* adjoints_ = nullptr;
  std::uint32_t size_ = kFirstIndex;
  std::uint32_t capacity_ = 0;
  std::uint32_t adjoint_capacity_ = 0;
  std::uint32_t epoch_ = 0;
  std::uint32_t swept_from_ = kFirstIndex;  // adjoints of [swept_from_, swept_to_] are valid after backward()
  std::uint32_t swept_to_ = 0;
  std::size_t allocations_ = 0;
};

/// Makes `tape` the calling thread's active tape for the scope's lifetime, then restores the previous one.
class TapeScope {
 public:
  explicit TapeScope(Tape& tape) : previous_(detail::t_active_tape) { detail::t_active_tape = &tape; }
  ~TapeScope() { detail::t_active_tape = previous_; }
  TapeScope(const TapeScope&) = delete;
  TapeScope& operator=(const TapeScope&) = delete;

 private:
  Tape* previous_;
};

/// The value of f at x and its gradient (what value_and_gradient returns).
struct ValueAndGradient {
  double value = 0.0;
  std::vector<double> grad;
};

// The operations live in an inline namespace whose name depends on NABLA_SCALAR_CHECKS, so that
// translation units built with and without checks never share (ODR-violating) inline definitions.
// Argument-dependent lookup finds them through Var's namespace, nabla.
#if NABLA_SCALAR_CHECKS
#define NABLA_SCALAR_OPS_NS scalar_ops_checked
#else
#define NABLA_SCALAR_OPS_NS scalar_ops
#endif

inline namespace NABLA_SCALAR_OPS_NS {

namespace detail_ops {
inline Tape& tape_for(const Var& a) {
  Tape& t = Tape::active();
  if constexpr (NABLA_SCALAR_CHECKS) t.check(a);
  return t;
}
inline Tape& tape_for(const Var& a, const Var& b) {
  Tape& t = Tape::active();
  if constexpr (NABLA_SCALAR_CHECKS) {
    t.check(a);
    t.check(b);
  }
  return t;
}
/// Records a one-argument op with result r and partial d.
inline Var unary(const Var& a, double r, double d) { return tape_for(a).push_unary(r, d, a.index()); }
/// Records a two-argument op with result r and partials da, db.
inline Var binary(const Var& a, const Var& b, double r, double da, double db) {
  return tape_for(a, b).push(r, da, a.index(), db, b.index());
}
}  // namespace detail_ops

// ---- arithmetic ----
/// a + b.
inline Var operator+(const Var& a, const Var& b) { return detail_ops::binary(a, b, a.value() + b.value(), 1.0, 1.0); }
/// a + constant.
inline Var operator+(const Var& a, double b) { return detail_ops::unary(a, a.value() + b, 1.0); }
/// constant + b.
inline Var operator+(double a, const Var& b) { return detail_ops::unary(b, a + b.value(), 1.0); }
/// a - b.
inline Var operator-(const Var& a, const Var& b) { return detail_ops::binary(a, b, a.value() - b.value(), 1.0, -1.0); }
/// a - constant.
inline Var operator-(const Var& a, double b) { return detail_ops::unary(a, a.value() - b, 1.0); }
/// constant - b.
inline Var operator-(double a, const Var& b) { return detail_ops::unary(b, a - b.value(), -1.0); }
/// a * b.
inline Var operator*(const Var& a, const Var& b) {
  return detail_ops::binary(a, b, a.value() * b.value(), b.value(), a.value());
}
/// a * constant.
inline Var operator*(const Var& a, double b) { return detail_ops::unary(a, a.value() * b, b); }
/// constant * b.
inline Var operator*(double a, const Var& b) { return detail_ops::unary(b, a * b.value(), a); }
/// a / b.
inline Var operator/(const Var& a, const Var& b) {
  const double inv = 1.0 / b.value();
  const double r = a.value() * inv;
  return detail_ops::binary(a, b, r, inv, -r * inv);
}
/// a / constant.
inline Var operator/(const Var& a, double b) {
  const double inv = 1.0 / b;
  return detail_ops::unary(a, a.value() * inv, inv);
}
/// constant / b.
inline Var operator/(double a, const Var& b) {
  const double inv = 1.0 / b.value();
  const double r = a * inv;
  return detail_ops::unary(b, r, -r * inv);
}
/// -a.
inline Var operator-(const Var& a) { return detail_ops::unary(a, -a.value(), -1.0); }
/// +a (a itself).
inline Var operator+(const Var& a) { return a; }

/// a = a + b.
inline Var& operator+=(Var& a, const Var& b) { return a = a + b; }
/// a = a + constant.
inline Var& operator+=(Var& a, double b) { return a = a + b; }
/// a = a - b.
inline Var& operator-=(Var& a, const Var& b) { return a = a - b; }
/// a = a - constant.
inline Var& operator-=(Var& a, double b) { return a = a - b; }
/// a = a * b.
inline Var& operator*=(Var& a, const Var& b) { return a = a * b; }
/// a = a * constant.
inline Var& operator*=(Var& a, double b) { return a = a * b; }
/// a = a / b.
inline Var& operator/=(Var& a, const Var& b) { return a = a / b; }
/// a = a / constant.
inline Var& operator/=(Var& a, double b) { return a = a / b; }

// ---- comparisons (on values; they record nothing) ----
/// Equality of values.
inline bool operator==(const Var& a, const Var& b) { return a.value() == b.value(); }
/// Ordering of values (unordered when a NaN is involved).
inline std::partial_ordering operator<=>(const Var& a, const Var& b) { return a.value() <=> b.value(); }

// ---- elementary functions (inline: the local partial is computed next to the value) ----
/// e^a.
inline Var exp(const Var& a) {
  const double r = std::exp(a.value());
  return detail_ops::unary(a, r, r);
}
/// Natural logarithm (IEEE result outside the domain: NaN for a < 0, -inf at 0).
inline Var log(const Var& a) { return detail_ops::unary(a, std::log(a.value()), 1.0 / a.value()); }
/// Square root (IEEE result outside the domain; the derivative at 0 is +inf).
inline Var sqrt(const Var& a) {
  const double r = std::sqrt(a.value());
  return detail_ops::unary(a, r, 0.5 / r);
}
/// Sine.
inline Var sin(const Var& a) { return detail_ops::unary(a, std::sin(a.value()), std::cos(a.value())); }
/// Cosine.
inline Var cos(const Var& a) { return detail_ops::unary(a, std::cos(a.value()), -std::sin(a.value())); }
/// Tangent.
inline Var tan(const Var& a) {
  const double r = std::tan(a.value());
  return detail_ops::unary(a, r, 1.0 + r * r);
}
/// Hyperbolic tangent.
inline Var tanh(const Var& a) {
  const double r = std::tanh(a.value());
  return detail_ops::unary(a, r, 1.0 - r * r);
}
/// 1 / (1 + e^-a), computed without overflow.
inline Var sigmoid(const Var& a) {
  const double r = detail::sigmoid(a.value());
  return detail_ops::unary(a, r, r * (1.0 - r));
}
/// max(a, 0); the derivative at 0 is 0.
inline Var relu(const Var& a) {
  return detail_ops::unary(a, a.value() > 0.0 ? a.value() : 0.0, a.value() > 0.0 ? 1.0 : 0.0);
}
/// |a|; the derivative at 0 is 0.
inline Var abs(const Var& a) {
  return detail_ops::unary(a, std::fabs(a.value()), a.value() > 0.0 ? 1.0 : (a.value() < 0.0 ? -1.0 : 0.0));
}
/// a^b (d/db is 0 where a == 0 and b >= 0, like PyTorch; d/da is 0 where b == 0).
inline Var pow(const Var& a, const Var& b) {
  const double r = std::pow(a.value(), b.value());
  return detail_ops::binary(a, b, r, detail::pow_dbase(a.value(), b.value()), detail::pow_dexp(a.value(), b.value(), r));
}
/// a^constant.
inline Var pow(const Var& a, double b) {
  return detail_ops::unary(a, std::pow(a.value(), b), detail::pow_dbase(a.value(), b));
}
/// constant^b.
inline Var pow(double a, const Var& b) {
  const double r = std::pow(a, b.value());
  return detail_ops::unary(b, r, detail::pow_dexp(a, b.value(), r));
}
/// The larger of a and b; at a tie each gets half the gradient (like torch.maximum).
inline Var max(const Var& a, const Var& b) {
  const double da = a.value() > b.value() ? 1.0 : (a.value() < b.value() ? 0.0 : 0.5);
  return detail_ops::binary(a, b, a.value() >= b.value() ? a.value() : b.value(), da, 1.0 - da);
}
/// The smaller of a and b; at a tie each gets half the gradient (like torch.minimum).
inline Var min(const Var& a, const Var& b) {
  const double da = a.value() < b.value() ? 1.0 : (a.value() > b.value() ? 0.0 : 0.5);
  return detail_ops::binary(a, b, a.value() <= b.value() ? a.value() : b.value(), da, 1.0 - da);
}
/// max with a constant.
inline Var max(const Var& a, double b) { return max(a, Var(b)); }
/// max with a constant.
inline Var max(double a, const Var& b) { return max(Var(a), b); }
/// min with a constant.
inline Var min(const Var& a, double b) { return min(a, Var(b)); }
/// min with a constant.
inline Var min(double a, const Var& b) { return min(Var(a), b); }

}  // namespace NABLA_SCALAR_OPS_NS
}  // namespace nabla

namespace nabla {

/// Value and gradient of f at x, recorded on the thread's active tape (whose earlier entries are
/// kept: the recording is rewound afterwards). f takes `const std::vector<nabla::Var>&` and returns a Var.
template <class F>
ValueAndGradient value_and_gradient(F&& f, const std::vector<double>& x) {
  Tape& tape = Tape::active();
  const std::size_t mark = tape.size();
  std::vector<Var> xs;
  xs.reserve(x.size());
  for (double v : x) xs.push_back(tape.variable(v));
  struct Rewind {
    Tape& tape;
    std::size_t mark;
    ~Rewind() { tape.rewind(mark); }
  } rewind{tape, mark};
  const Var y = std::forward<F>(f)(static_cast<const std::vector<Var>&>(xs));
  ValueAndGradient result{y.value(), std::vector<double>(x.size(), 0.0)};
  tape.backward(y, mark);
  for (std::size_t i = 0; i < xs.size(); ++i) result.grad[i] = tape.adjoint(xs[i]);
  return result;
}

}  // namespace nabla
