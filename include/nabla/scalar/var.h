#pragma once
/// nabla::Var: reverse-mode automatic differentiation of scalar (double) code on a flat tape.
///
/// Expression templates, one tape entry per statement. An operation on Var does not record
/// anything: it returns a small expression object that holds its operands (by value), its result
/// and its local partial derivatives, all computed at once. Only when an expression becomes a Var
/// (`Var y = a * b + sin(c);`, `y += ...`, returning it from a function declared to return Var) is
/// one *statement* recorded: the partial of y with respect to each Var leaf of the expression, the
/// chain rule inside the expression applied while recording ("pre-accumulation", as Adept and
/// CoDiPack do). `t = x[i+1] - x[i] * x[i]` is one statement instead of two operations, and the
/// reverse sweep has one step per statement. A product of a Var with itself (x * x) is one
/// argument with the summed partial, so that statement has two arguments, not three.
///
/// Accumulation is merged: `z += e` and `z -= e` append e's arguments to z's own statement when
/// that is the last statement recorded and z is the only Var holding it (the *open* statement,
/// see detail::t_open_statement), so `for (j) z += w[j] * x[j];` records one statement of n + 1
/// arguments instead of n chained ones. Copying a Var that holds the open statement (also into an
/// expression, or passing it by value) closes it, as does recording anything else, so a copy, an
/// expression built earlier and every later statement keep seeing the value they saw. A Var's
/// copy constructor is therefore not trivial (it compares one thread-local index).
///
/// The tape is three contiguous arrays: per statement the start of its arguments (a 32-bit offset),
/// and per argument its partial (double) and its tape index (32-bit), so statements with 0, 1, 2
/// or 9 arguments take exactly what they need. The reverse sweep is one loop over them. Nothing is
/// allocated per operation (the arrays grow by doubling and keep their capacity across
/// Tape::reset()), and nothing is called virtually. Everything is inline: a call per operation would
/// cost as much as the operation itself.
///
/// Write `Var` (not `auto`) for named intermediate results: `auto t = a * b;` keeps an unrecorded
/// expression (correct, but `t = t + 1` then does not compile, and each use of t repeats its leaves).
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
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <span>
#include <type_traits>
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

/// A Var or an unrecorded expression of Vars (what the operators and functions take and return).
/// Each has value(), a compile-time bound kArgs on its number of Var leaves, and record(), which
/// writes the partial of the expression (times a weight) with respect to each leaf into argument
/// slots k, k+1, ... and returns the slot after its last (a product of a Var with itself, x * x,
/// takes one slot, so fewer than kArgs may be written).
template <class E>
concept Expression = requires { typename std::remove_cvref_t<E>::nabla_expression_tag; };

namespace detail {
/// The thread's active tape (null until first use; then the thread's default tape).
extern constinit thread_local Tape* t_active_tape [[gnu::tls_model("initial-exec")]];
/// Creates (once per thread) and activates the thread's default tape.
Tape& activate_default_tape();
/// The active tape's *open* statement: the last one recorded, while the only Var that holds its
/// index is the one it was recorded into (kNoStatement when there is none). `z += e` on that Var
/// appends e's arguments to the open statement instead of recording a new one, while it is still
/// the last statement on the tape. Anything that could let a second holder of the index exist or
/// a later statement use it closes it: copying a Var that holds it (also into an expression),
/// recording another statement or an input, backward(), reset(), rewind() and switching the
/// active tape.
extern constinit thread_local std::uint32_t t_open_statement [[gnu::tls_model("initial-exec")]];
/// The value of t_open_statement when no statement is open (never a tape index).
inline constexpr std::uint32_t kNoStatement = 0xffffffffu;
/// Closes the open statement if a copy of the Var at `index` is being made.
constexpr void note_copy(std::uint32_t index) {
  if (!std::is_constant_evaluated() && index == t_open_statement) [[unlikely]]
    t_open_statement = kNoStatement;
}
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
  using nabla_expression_tag = void;
  /// As an expression, a Var is one leaf.
  static constexpr std::uint32_t kArgs = 1;

  /// The constant 0.
  constexpr Var() = default;
  /// A constant (not differentiated).
  constexpr Var(double constant) : value_(constant) {}  // NOLINT: implicit on purpose
  /// Records the expression as one statement on the active tape (implicit, so that
  /// `Var y = a * b + c;` and `return a * b;` from a function returning Var record).
  template <Expression E>
    requires(!std::same_as<E, Var>)
  Var(const E& e);  // NOLINT: implicit on purpose
  /// Records the expression as one statement and makes this Var its result.
  template <Expression E>
    requires(!std::same_as<E, Var>)
  Var& operator=(const E& e);
  /// A copy holds the same tape index, so it closes that statement to merging (see t_open_statement).
  constexpr Var(const Var& o) noexcept : value_(o.value_), index_(o.index_), epoch_(o.epoch_) {
    detail::note_copy(o.index_);
  }
  /// As the copy constructor.
  constexpr Var& operator=(const Var& o) noexcept {
    detail::note_copy(o.index_);
    value_ = o.value_;
    index_ = o.index_;
    epoch_ = o.epoch_;
    return *this;
  }

  /// `*this += w * e` for w = +1 or -1 by extending this Var's statement, when it holds the open
  /// one (the last recorded, and no copy of this Var exists): e's arguments are appended to it,
  /// so `z += w[j] * x[j]` in a loop is one statement. Returns false, doing nothing, otherwise
  /// (then += records `z + e` as a new statement).
  template <Expression E>
  bool extend_by(const E& e, double w);
  /// `*this += c` for a constant c, when this Var holds the open statement: a value update only.
  bool extend_by(double c);

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

  /// As a leaf of a statement being recorded: argument slot k gets partial w and this Var's index.
  /// A constant writes index 0, a slot that nothing reads (so no branch is needed).
  std::uint32_t record(double* partials, std::uint32_t* args, std::uint32_t k, double w) const {
    partials[k] = w;
    args[k] = index_;
    return k + 1;
  }

 private:
  friend class Tape;  // variables() writes new Vars in place (a copy would compare with the open statement)
  double value_ = 0.0;
  std::uint32_t index_ = 0;
  std::uint32_t epoch_ = 0;
};
static_assert(sizeof(Var) == 16, "a Var is a double and two 32-bit tape coordinates");

/// One recorded statement, as Tape::statement() shows it: its arguments' partials and tape indices.
struct TapeStatement {
  std::uint32_t size;            ///< number of arguments
  const double* partial;         ///< d(result)/d(argument k)
  const std::uint32_t* arg;      ///< tape index of argument k (0 for a constant)
};

/// A recording of scalar statements and their local partials; reusable without allocation.
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

  /// Index of the first recorded statement. Slot 0 stands for constants: their arguments send
  /// their adjoint there, and nothing reads it.
  static constexpr std::uint32_t kFirstIndex = 1;

  /// A new independent variable (an input) with the given value: a statement with no arguments.
  Var variable(double value) {
    if (size_ >= capacity_) [[unlikely]]
      grow(1, 0);
    const std::uint32_t s = size_;
    starts_[s] = nargs_;
    size_ = s + 1;
    detail::t_open_statement = detail::kNoStatement;  // the open statement is no longer the last
    return Var::from_tape(value, s, epoch_);
  }
  /// n inputs at once: out[i] = variable(values[i]) for i = 0, 1, ... (the sizes must match). Their
  /// tape indices are consecutive, so adjoints() reads their gradient as one block.
  void variables(std::span<const double> values, std::span<Var> out);
  /// Forgets every statement (keeping the memory); Vars recorded before become invalid.
  void reset();
  /// Drops the statements from position `mark` on (a nested recording's end); earlier Vars stay valid.
  void rewind(std::size_t mark);

  /// Number of statements, including the kFirstIndex reserved ones.
  std::size_t size() const { return size_; }
  /// Number of statement arguments (partials) recorded.
  std::size_t argument_count() const { return nargs_; }
  /// Statements the tape can hold before it must grow.
  std::size_t capacity() const { return capacity_; }
  /// Arguments the tape can hold before it must grow.
  std::size_t argument_capacity() const { return args_capacity_; }
  /// How many times the tape's buffers were (re)allocated so far.
  std::size_t allocations() const { return allocations_; }
  /// Bytes of tape memory per statement (the start offset of its arguments, its adjoint) ...
  static constexpr std::size_t bytes_per_statement() { return sizeof(std::uint32_t) + sizeof(double); }
  /// ... and per argument (its partial and its tape index).
  static constexpr std::size_t bytes_per_argument() { return sizeof(double) + sizeof(std::uint32_t); }
  /// Bytes of tape memory in use (statements, arguments, adjoints).
  std::size_t bytes_used() const { return size_ * bytes_per_statement() + nargs_ * bytes_per_argument(); }
  /// The generation of this tape: changes on every reset(), unique across tapes and threads.
  std::uint32_t epoch() const { return epoch_; }
  /// Statement i (kFirstIndex <= i < size()).
  TapeStatement statement(std::size_t i) const {
    const std::uint32_t b = starts_[i], e = i + 1 == size_ ? nargs_ : starts_[i + 1];
    return {e - b, partials_ + b, args_ + b};
  }
  /// Makes room for at least n statements and m arguments in total.
  void reserve(std::size_t n, std::size_t m = 0);

  /// Reverse sweep: the adjoint of every statement in [from, y] with respect to y (seed 1).
  void backward(const Var& y, std::size_t from = kFirstIndex);
  /// d y / d x after backward(y) (0 for constants and for statements outside the swept range).
  double adjoint(const Var& x) const {
    const std::uint32_t i = x.index();
    if (x.epoch() == epoch_ && i >= swept_from_ && i <= swept_to_) [[likely]]
      return adjoints_[i];
    return adjoint_outside(x);
  }
  /// out[i] = adjoint(xs[i]) for every i (the sizes must match); one copy when xs are consecutive
  /// inputs, as variables() makes them.
  void adjoints(std::span<const Var> xs, std::span<double> out) const;
  /// The adjoints of xs as a new vector (the gradient with respect to xs after backward(y)).
  std::vector<double> adjoints(std::span<const Var> xs) const;
  /// True when x was recorded on this tape since its last reset (constants: always).
  bool owns(const Var& x) const { return x.index() == 0 || (x.epoch() == epoch_ && x.index() < size_); }

  /// Throws nabla::Error when x is not a constant and not recorded on this tape since its reset.
  void check(const Var& x) const {
    if (x.index() != 0 && (x.epoch() != epoch_ || x.index() >= size_)) [[unlikely]]
      detail::throw_stale_var(x.index(), x.epoch(), *this);
  }

 private:
  friend class Var;
  // ---- recording (by Var, on the active tape only: push() opens the statement it records) ----
  /// Records expression e as one statement and opens it (see detail::t_open_statement); returns
  /// its tape index.
  template <Expression E>
  std::uint32_t push(const E& e) {
    constexpr std::uint32_t n = E::kArgs;
    // Members go to locals first: the stores below go through double* and uint32_t* pointers,
    // which the compiler must otherwise assume may overwrite size_ and nargs_.
    std::uint32_t s = size_, k = nargs_;
    if (s >= capacity_ || k + n > args_capacity_) [[unlikely]] {
      grow(1, n);
      s = size_;
      k = nargs_;
    }
    const std::uint32_t end = e.record(partials_, args_, k, 1.0);
    starts_[s] = k;
    nargs_ = end;
    size_ = s + 1;
    detail::t_open_statement = s;
    return s;
  }
  /// Appends w times expression e's arguments to the last statement (the open one; see
  /// Var::extend_by, which alone calls this).
  template <Expression E>
  void extend(const E& e, double w) {
    constexpr std::uint32_t n = E::kArgs;
    std::uint32_t k = nargs_;
    if (k + n > args_capacity_) [[unlikely]] {
      grow(0, n);
      k = nargs_;
    }
    nargs_ = e.record(partials_, args_, k, w);  // statement size_ - 1 now ends at nargs_
  }
  /// Makes room for `statements` more statements and `args` more arguments (at least doubling).
  void grow(std::size_t statements, std::size_t args);
  double adjoint_outside(const Var& x) const;
  /// Where the adjoints of xs lie, one after another, when they do (else null).
  const double* adjoint_block(std::span<const Var> xs) const;
  // starts_[i]: statement i's first argument; its arguments are [starts_[i], starts_[i + 1]), and
  // the last statement's end is nargs_. Starts, not ends: extending the last statement changes
  // nothing recorded but nargs_.
  std::uint32_t* starts_ = nullptr;
  double* partials_ = nullptr;         // per argument
  std::uint32_t* args_ = nullptr;      // per argument
  double* adjoints_ = nullptr;         // per statement, allocated by the first backward()
  std::uint32_t size_ = kFirstIndex;
  std::uint32_t nargs_ = 0;
  std::uint32_t capacity_ = 0;
  std::uint32_t args_capacity_ = 0;
  std::uint32_t adjoint_capacity_ = 0;
  std::uint32_t epoch_ = 0;
  std::uint32_t swept_from_ = kFirstIndex;  // adjoints of [swept_from_, swept_to_] are valid after backward()
  std::uint32_t swept_to_ = 0;
  std::size_t allocations_ = 0;
};

/// Makes `tape` the calling thread's active tape for the scope's lifetime, then restores the previous one.
class TapeScope {
 public:
  explicit TapeScope(Tape& tape) : previous_(detail::t_active_tape) {
    detail::t_open_statement = detail::kNoStatement;  // the open statement belongs to the previous tape
    detail::t_active_tape = &tape;
  }
  ~TapeScope() {
    detail::t_open_statement = detail::kNoStatement;
    detail::t_active_tape = previous_;
  }
  TapeScope(const TapeScope&) = delete;
  TapeScope& operator=(const TapeScope&) = delete;

 private:
  Tape* previous_;
};

template <Expression E>
  requires(!std::same_as<E, Var>)
inline Var::Var(const E& e) : value_(e.value()) {
  Tape& t = Tape::active();
  index_ = t.push(e);
  epoch_ = t.epoch();
}

template <Expression E>
  requires(!std::same_as<E, Var>)
inline Var& Var::operator=(const E& e) {
  // Not `*this = Var(e)`: that copy would close the statement just opened.
  const double v = e.value();
  Tape& t = Tape::active();
  index_ = t.push(e);
  epoch_ = t.epoch();
  value_ = v;
  return *this;
}

// extend_by() calls no operation (they live in the checked or unchecked inline namespace below;
// the fallback `z = z + e` is in operator+=, which lives there too).
template <Expression E>
inline bool Var::extend_by(const E& e, double w) {
  // e's Var leaves were copied into e when it was built, which closed this Var's statement if
  // e contains this Var (z += z * y): then += records a new statement, as for any other Var.
  // A Var operand is taken by reference, not copied: z += z must close it here.
  if constexpr (std::same_as<E, Var>) detail::note_copy(e.index());
  // An open statement was recorded on the active tape (push() runs on it alone, and switching
  // or destroying the active tape closes it), so there is one: no null check.
  if (index_ == detail::t_open_statement && epoch_ == detail::t_active_tape->epoch()) [[likely]] {
    detail::t_active_tape->extend(e, w);
    value_ = w > 0.0 ? value_ + e.value() : value_ - e.value();
    return true;
  }
  return false;
}

inline bool Var::extend_by(double c) {
  if (index_ == detail::t_open_statement && epoch_ == detail::t_active_tape->epoch()) {
    value_ += c;  // z + c has d/dz = 1: the statement's partials stay right
    return true;
  }
  return false;
}

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

/// f(a) with its value and local partial d = f'(a), computed when it is built. Operands are held
/// by value (a Var is 16 bytes; after inlining none of this is in memory), so an expression never
/// refers to a temporary that is gone.
template <class A>
struct UnaryExpr {
  using nabla_expression_tag = void;
  static constexpr std::uint32_t kArgs = A::kArgs;
  A a;
  double v, d;
  double value() const { return v; }
  std::uint32_t record(double* partials, std::uint32_t* args, std::uint32_t k, double w) const {
    return a.record(partials, args, k, w * d);
  }
};

/// f(a, b) with its value and local partials da, db.
template <class A, class B>
struct BinaryExpr {
  using nabla_expression_tag = void;
  static constexpr std::uint32_t kArgs = A::kArgs + B::kArgs;
  A a;
  B b;
  double v, da, db;
  double value() const { return v; }
  std::uint32_t record(double* partials, std::uint32_t* args, std::uint32_t k, double w) const {
    if constexpr (std::same_as<A, Var> && std::same_as<B, Var>) {
      // Two Var leaves that are the same variable (x * x, t * t) take one slot with the sum of
      // their partials: fewer arguments to store and to sweep. Both slots are written, and the
      // second is overwritten or left beyond the end when they are the same (no branch).
      const bool same = a.index() == b.index();
      const double pa = w * da, pb = w * db;
      partials[k] = same ? pa + pb : pa;
      args[k] = a.index();
      partials[k + 1] = pb;
      args[k + 1] = b.index();
      return k + (same ? 1u : 2u);
    } else {
      return b.record(partials, args, a.record(partials, args, k, w * da), w * db);
    }
  }
};

namespace detail_ops {
/// In checked builds, a Var operand must belong to the active tape; an expression operand was
/// checked when it was built. (So misuse is reported by the operation that uses the stale Var.)
template <class A>
inline void check(const A& a) {
  if constexpr (NABLA_SCALAR_CHECKS && std::same_as<A, Var>) Tape::active().check(a);
}
template <class A>
inline UnaryExpr<A> unary(const A& a, double r, double d) {
  check(a);
  return {a, r, d};
}
template <class A, class B>
inline BinaryExpr<A, B> binary(const A& a, const B& b, double r, double da, double db) {
  check(a);
  check(b);
  return {a, b, r, da, db};
}
}  // namespace detail_ops

// ---- arithmetic ----
/// a + b.
template <Expression A, Expression B>
inline auto operator+(const A& a, const B& b) {
  return detail_ops::binary(a, b, a.value() + b.value(), 1.0, 1.0);
}
/// a + constant.
template <Expression A>
inline auto operator+(const A& a, double b) {
  return detail_ops::unary(a, a.value() + b, 1.0);
}
/// constant + b.
template <Expression B>
inline auto operator+(double a, const B& b) {
  return detail_ops::unary(b, a + b.value(), 1.0);
}
/// a - b.
template <Expression A, Expression B>
inline auto operator-(const A& a, const B& b) {
  return detail_ops::binary(a, b, a.value() - b.value(), 1.0, -1.0);
}
/// a - constant.
template <Expression A>
inline auto operator-(const A& a, double b) {
  return detail_ops::unary(a, a.value() - b, 1.0);
}
/// constant - b.
template <Expression B>
inline auto operator-(double a, const B& b) {
  return detail_ops::unary(b, a - b.value(), -1.0);
}
/// a * b.
template <Expression A, Expression B>
inline auto operator*(const A& a, const B& b) {
  return detail_ops::binary(a, b, a.value() * b.value(), b.value(), a.value());
}
/// a * constant.
template <Expression A>
inline auto operator*(const A& a, double b) {
  return detail_ops::unary(a, a.value() * b, b);
}
/// constant * b.
template <Expression B>
inline auto operator*(double a, const B& b) {
  return detail_ops::unary(b, a * b.value(), a);
}
/// a / b.
template <Expression A, Expression B>
inline auto operator/(const A& a, const B& b) {
  const double inv = 1.0 / b.value();
  const double r = a.value() * inv;
  return detail_ops::binary(a, b, r, inv, -r * inv);
}
/// a / constant.
template <Expression A>
inline auto operator/(const A& a, double b) {
  const double inv = 1.0 / b;
  return detail_ops::unary(a, a.value() * inv, inv);
}
/// constant / b.
template <Expression B>
inline auto operator/(double a, const B& b) {
  const double inv = 1.0 / b.value();
  const double r = a * inv;
  return detail_ops::unary(b, r, -r * inv);
}
/// -a.
template <Expression A>
inline auto operator-(const A& a) {
  return detail_ops::unary(a, -a.value(), -1.0);
}
/// +a (a itself).
template <Expression A>
inline A operator+(const A& a) {
  return a;
}

/// a = a + b (appended to a's statement when a holds the open one; see Var::extend_by).
template <Expression B>
inline Var& operator+=(Var& a, const B& b) {
  detail_ops::check(b);  // a Var operand (an expression's were checked when it was built)
  if (!a.extend_by(b, 1.0)) a = a + b;
  return a;
}
/// a = a + constant.
inline Var& operator+=(Var& a, double b) {
  if (!a.extend_by(b)) a = a + b;
  return a;
}
/// a = a - b (appended to a's statement when a holds the open one).
template <Expression B>
inline Var& operator-=(Var& a, const B& b) {
  detail_ops::check(b);
  if (!a.extend_by(b, -1.0)) a = a - b;
  return a;
}
/// a = a - constant.
inline Var& operator-=(Var& a, double b) {
  if (!a.extend_by(-b)) a = a - b;
  return a;
}
/// a = a * b.
template <Expression B>
inline Var& operator*=(Var& a, const B& b) {
  return a = a * b;
}
/// a = a * constant.
inline Var& operator*=(Var& a, double b) { return a = a * b; }
/// a = a / b.
template <Expression B>
inline Var& operator/=(Var& a, const B& b) {
  return a = a / b;
}
/// a = a / constant.
inline Var& operator/=(Var& a, double b) { return a = a / b; }

// ---- comparisons (on values; they record nothing) ----
/// Equality of values.
template <Expression A, Expression B>
inline bool operator==(const A& a, const B& b) {
  return a.value() == b.value();
}
/// Equality with a constant.
template <Expression A>
inline bool operator==(const A& a, double b) {
  return a.value() == b;
}
/// Ordering of values (unordered when a NaN is involved).
template <Expression A, Expression B>
inline std::partial_ordering operator<=>(const A& a, const B& b) {
  return a.value() <=> b.value();
}
/// Ordering against a constant.
template <Expression A>
inline std::partial_ordering operator<=>(const A& a, double b) {
  return a.value() <=> b;
}

// ---- elementary functions: the local partial is computed next to the value ----
/// e^a.
template <Expression A>
inline auto exp(const A& a) {
  const double r = std::exp(a.value());
  return detail_ops::unary(a, r, r);
}
/// Natural logarithm (IEEE result outside the domain: NaN for a < 0, -inf at 0).
template <Expression A>
inline auto log(const A& a) {
  return detail_ops::unary(a, std::log(a.value()), 1.0 / a.value());
}
/// Square root (IEEE result outside the domain; the derivative at 0 is +inf).
template <Expression A>
inline auto sqrt(const A& a) {
  const double r = std::sqrt(a.value());
  return detail_ops::unary(a, r, 0.5 / r);
}
/// Sine.
template <Expression A>
inline auto sin(const A& a) {
  return detail_ops::unary(a, std::sin(a.value()), std::cos(a.value()));
}
/// Cosine.
template <Expression A>
inline auto cos(const A& a) {
  return detail_ops::unary(a, std::cos(a.value()), -std::sin(a.value()));
}
/// Tangent.
template <Expression A>
inline auto tan(const A& a) {
  const double r = std::tan(a.value());
  return detail_ops::unary(a, r, 1.0 + r * r);
}
/// Hyperbolic tangent.
template <Expression A>
inline auto tanh(const A& a) {
  const double r = std::tanh(a.value());
  return detail_ops::unary(a, r, 1.0 - r * r);
}
/// 1 / (1 + e^-a), computed without overflow.
template <Expression A>
inline auto sigmoid(const A& a) {
  const double r = detail::sigmoid(a.value());
  return detail_ops::unary(a, r, r * (1.0 - r));
}
/// max(a, 0); the derivative at 0 is 0.
template <Expression A>
inline auto relu(const A& a) {
  const double v = a.value();
  return detail_ops::unary(a, v > 0.0 ? v : 0.0, v > 0.0 ? 1.0 : 0.0);
}
/// |a|; the derivative at 0 is 0.
template <Expression A>
inline auto abs(const A& a) {
  const double v = a.value();
  return detail_ops::unary(a, std::fabs(v), v > 0.0 ? 1.0 : (v < 0.0 ? -1.0 : 0.0));
}
/// |a| (the name of <cmath>'s double version, for generic code).
template <Expression A>
inline auto fabs(const A& a) {
  return abs(a);
}
/// Arc sine (IEEE result outside [-1, 1]; the derivative at ±1 is +inf).
template <Expression A>
inline auto asin(const A& a) {
  const double v = a.value();
  return detail_ops::unary(a, std::asin(v), 1.0 / std::sqrt((1.0 - v) * (1.0 + v)));
}
/// Arc cosine (IEEE result outside [-1, 1]; the derivative at ±1 is -inf).
template <Expression A>
inline auto acos(const A& a) {
  const double v = a.value();
  return detail_ops::unary(a, std::acos(v), -1.0 / std::sqrt((1.0 - v) * (1.0 + v)));
}
/// Arc tangent.
template <Expression A>
inline auto atan(const A& a) {
  const double v = a.value();
  return detail_ops::unary(a, std::atan(v), 1.0 / (1.0 + v * v));
}
/// Hyperbolic sine.
template <Expression A>
inline auto sinh(const A& a) {
  return detail_ops::unary(a, std::sinh(a.value()), std::cosh(a.value()));
}
/// Hyperbolic cosine.
template <Expression A>
inline auto cosh(const A& a) {
  return detail_ops::unary(a, std::cosh(a.value()), std::sinh(a.value()));
}
/// Inverse hyperbolic sine (the derivative 1 / hypot(a, 1) does not overflow for large |a|).
template <Expression A>
inline auto asinh(const A& a) {
  return detail_ops::unary(a, std::asinh(a.value()), 1.0 / std::hypot(a.value(), 1.0));
}
/// Inverse hyperbolic cosine (IEEE result below 1; the derivative at 1 is +inf).
template <Expression A>
inline auto acosh(const A& a) {
  const double v = a.value();
  return detail_ops::unary(a, std::acosh(v), 1.0 / std::sqrt((v - 1.0) * (v + 1.0)));
}
/// Inverse hyperbolic tangent (IEEE result outside (-1, 1)).
template <Expression A>
inline auto atanh(const A& a) {
  const double v = a.value();
  return detail_ops::unary(a, std::atanh(v), 1.0 / ((1.0 - v) * (1.0 + v)));
}
/// log(1 + a), accurate for small a.
template <Expression A>
inline auto log1p(const A& a) {
  return detail_ops::unary(a, std::log1p(a.value()), 1.0 / (1.0 + a.value()));
}
/// e^a - 1, accurate for small a (the derivative e^a taken directly: r + 1 would be 0 below a ≈ -37).
template <Expression A>
inline auto expm1(const A& a) {
  return detail_ops::unary(a, std::expm1(a.value()), std::exp(a.value()));
}
/// Base-2 logarithm.
template <Expression A>
inline auto log2(const A& a) {
  return detail_ops::unary(a, std::log2(a.value()), 1.0 / (a.value() * std::numbers::ln2));
}
/// Base-10 logarithm.
template <Expression A>
inline auto log10(const A& a) {
  return detail_ops::unary(a, std::log10(a.value()), 1.0 / (a.value() * std::numbers::ln10));
}
/// 2^a.
template <Expression A>
inline auto exp2(const A& a) {
  const double r = std::exp2(a.value());
  return detail_ops::unary(a, r, r * std::numbers::ln2);
}
/// Cube root (defined for negative a; the derivative at 0 is +inf).
template <Expression A>
inline auto cbrt(const A& a) {
  const double r = std::cbrt(a.value());
  return detail_ops::unary(a, r, 1.0 / (3.0 * r * r));
}
/// The error function.
template <Expression A>
inline auto erf(const A& a) {
  const double v = a.value();
  return detail_ops::unary(a, std::erf(v), std::numbers::inv_sqrtpi * 2.0 * std::exp(-v * v));
}
/// The complementary error function 1 - erf(a).
template <Expression A>
inline auto erfc(const A& a) {
  const double v = a.value();
  return detail_ops::unary(a, std::erfc(v), -std::numbers::inv_sqrtpi * 2.0 * std::exp(-v * v));
}
// Rounding: piecewise constant, so the derivative is 0 (as in PyTorch, also at the jumps). They
// still record a statement, so that a graph shows where the gradient stops.
/// The largest integer not greater than a.
template <Expression A>
inline auto floor(const A& a) {
  return detail_ops::unary(a, std::floor(a.value()), 0.0);
}
/// The smallest integer not less than a.
template <Expression A>
inline auto ceil(const A& a) {
  return detail_ops::unary(a, std::ceil(a.value()), 0.0);
}
/// a rounded to the nearest integer, halfway cases away from zero (std::round).
template <Expression A>
inline auto round(const A& a) {
  return detail_ops::unary(a, std::round(a.value()), 0.0);
}
/// a rounded toward zero.
template <Expression A>
inline auto trunc(const A& a) {
  return detail_ops::unary(a, std::trunc(a.value()), 0.0);
}
/// The angle of the point (b, a): atan2(a, b) in (-pi, pi]. The partials b / r² and -a / r² are
/// taken through r = hypot(a, b), which does not overflow; at (0, 0) they are NaN (as in PyTorch).
template <Expression A, Expression B>
inline auto atan2(const A& a, const B& b) {
  const double av = a.value(), bv = b.value(), r = std::hypot(av, bv);
  return detail_ops::binary(a, b, std::atan2(av, bv), bv / r / r, -av / r / r);
}
/// atan2 with a constant second argument.
template <Expression A>
inline auto atan2(const A& a, double b) {
  const double av = a.value(), r = std::hypot(av, b);
  return detail_ops::unary(a, std::atan2(av, b), b / r / r);
}
/// atan2 with a constant first argument.
template <Expression B>
inline auto atan2(double a, const B& b) {
  const double bv = b.value(), r = std::hypot(a, bv);
  return detail_ops::unary(b, std::atan2(a, bv), -a / r / r);
}
/// sqrt(a² + b²) without overflow; the partials a / r and b / r are NaN at (0, 0) (as in PyTorch).
template <Expression A, Expression B>
inline auto hypot(const A& a, const B& b) {
  const double av = a.value(), bv = b.value(), r = std::hypot(av, bv);
  return detail_ops::binary(a, b, r, av / r, bv / r);
}
/// hypot with a constant second argument.
template <Expression A>
inline auto hypot(const A& a, double b) {
  const double av = a.value(), r = std::hypot(av, b);
  return detail_ops::unary(a, r, av / r);
}
/// hypot with a constant first argument.
template <Expression B>
inline auto hypot(double a, const B& b) {
  return hypot(b, a);
}
/// a^b (d/db is 0 where a == 0 and b >= 0, like PyTorch; d/da is 0 where b == 0).
template <Expression A, Expression B>
inline auto pow(const A& a, const B& b) {
  const double av = a.value(), bv = b.value();
  const double r = std::pow(av, bv);
  return detail_ops::binary(a, b, r, detail::pow_dbase(av, bv), detail::pow_dexp(av, bv, r));
}
/// a^constant.
template <Expression A>
inline auto pow(const A& a, double b) {
  return detail_ops::unary(a, std::pow(a.value(), b), detail::pow_dbase(a.value(), b));
}
/// constant^b.
template <Expression B>
inline auto pow(double a, const B& b) {
  const double r = std::pow(a, b.value());
  return detail_ops::unary(b, r, detail::pow_dexp(a, b.value(), r));
}
/// The larger of a and b; at a tie each gets half the gradient (like torch.maximum).
template <Expression A, Expression B>
inline auto max(const A& a, const B& b) {
  const double av = a.value(), bv = b.value();
  const double da = av > bv ? 1.0 : (av < bv ? 0.0 : 0.5);
  return detail_ops::binary(a, b, av >= bv ? av : bv, da, 1.0 - da);
}
/// The smaller of a and b; at a tie each gets half the gradient (like torch.minimum).
template <Expression A, Expression B>
inline auto min(const A& a, const B& b) {
  const double av = a.value(), bv = b.value();
  const double da = av < bv ? 1.0 : (av > bv ? 0.0 : 0.5);
  return detail_ops::binary(a, b, av <= bv ? av : bv, da, 1.0 - da);
}
// Non-template overloads for two Vars: after `using std::max;` an unqualified max(x, y) of two
// Vars would otherwise pick std::max<Var> (more specialized than the template above), which
// compares and copies without splitting the gradient at a tie.
/// The larger of two Vars (see the template).
inline BinaryExpr<Var, Var> max(const Var& a, const Var& b) { return max<Var, Var>(a, b); }
/// The smaller of two Vars (see the template).
inline BinaryExpr<Var, Var> min(const Var& a, const Var& b) { return min<Var, Var>(a, b); }
/// max with a constant (a tie gives the Var half the gradient).
template <Expression A>
inline auto max(const A& a, double b) {
  const double av = a.value();
  return detail_ops::unary(a, av >= b ? av : b, av > b ? 1.0 : (av < b ? 0.0 : 0.5));
}
/// max with a constant.
template <Expression B>
inline auto max(double a, const B& b) {
  return max(b, a);
}
/// min with a constant (a tie gives the Var half the gradient).
template <Expression A>
inline auto min(const A& a, double b) {
  const double av = a.value();
  return detail_ops::unary(a, av <= b ? av : b, av < b ? 1.0 : (av > b ? 0.0 : 0.5));
}
/// min with a constant.
template <Expression B>
inline auto min(double a, const B& b) {
  return min(b, a);
}

}  // namespace NABLA_SCALAR_OPS_NS

}  // namespace nabla

namespace nabla {

/// Value and gradient of f at x, recorded on the thread's active tape (whose earlier entries are
/// kept: the recording is rewound afterwards). f takes `const std::vector<nabla::Var>&` and returns a Var.
template <class F>
ValueAndGradient value_and_gradient(F&& f, const std::vector<double>& x) {
  Tape& tape = Tape::active();
  const std::size_t mark = tape.size();
  std::vector<Var> xs(x.size());
  tape.variables(x, xs);
  struct Rewind {
    Tape& tape;
    std::size_t mark;
    ~Rewind() { tape.rewind(mark); }
  } rewind{tape, mark};
  const Var y = std::forward<F>(f)(static_cast<const std::vector<Var>&>(xs));
  tape.backward(y, mark);
  return {y.value(), tape.adjoints(xs)};
}

}  // namespace nabla
