// The scalar tape: growth, reset, the reverse sweep and the misuse errors.
#include <nabla/scalar/var.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <string>

#include <fmt/format.h>

#include <nabla/core/error.h>

namespace nabla {

namespace detail {

constinit thread_local Tape* t_active_tape [[gnu::tls_model("initial-exec")]] = nullptr;
constinit thread_local std::uint32_t t_open_statement [[gnu::tls_model("initial-exec")]] = kNoStatement;

Tape& activate_default_tape() {
  thread_local Tape tape;
  t_active_tape = &tape;
  return tape;
}

namespace {
/// Epochs are drawn from one counter, so that no two tapes (or two generations of one tape) share one.
std::uint32_t next_epoch() {
  static std::atomic<std::uint32_t> counter{0};
  std::uint32_t e = counter.fetch_add(1, std::memory_order_relaxed) + 1;
  if (e == 0) e = counter.fetch_add(1, std::memory_order_relaxed) + 1;  // 0 marks constants
  return e;
}
}  // namespace

void throw_stale_var(std::uint32_t index, std::uint32_t var_epoch, const Tape& tape) {
  if (var_epoch != tape.epoch())
    throw Error(fmt::format(
        "nabla::Var: variable #{} was recorded on another tape, or on this one before its reset() "
        "(variable epoch {}, active tape epoch {}); a Var is valid only on the thread and tape that recorded it, "
        "until that tape is reset",
        index, var_epoch, tape.epoch()));
  throw Error(fmt::format(
      "nabla::Var: variable #{} lies beyond the end of the active tape (size {}); it was recorded inside a "
      "nested gradient computation (value_and_gradient) that has ended",
      index, tape.size()));
}

}  // namespace detail

Tape::Tape() : epoch_(detail::next_epoch()) {}

Tape::~Tape() {
  if (detail::t_active_tape == this) {
    detail::t_active_tape = nullptr;
    detail::t_open_statement = detail::kNoStatement;
  }
  std::free(starts_);
  std::free(partials_);
  std::free(args_);
  std::free(adjoints_);
}

void Tape::reset() {
  detail::t_open_statement = detail::kNoStatement;
  size_ = kFirstIndex;
  nargs_ = 0;
  swept_from_ = kFirstIndex;
  swept_to_ = 0;
  epoch_ = detail::next_epoch();
}

void Tape::rewind(std::size_t mark) {
  if (mark < kFirstIndex || mark > size_)
    throw Error(fmt::format("Tape::rewind: mark {} is outside the tape [{}, {}]", mark, kFirstIndex, size_));
  detail::t_open_statement = detail::kNoStatement;
  if (mark < size_) nargs_ = starts_[mark];
  size_ = static_cast<std::uint32_t>(mark);
  swept_to_ = std::min(swept_to_, size_ - 1);
}

namespace {
/// realloc that throws, for n elements of T.
template <class T>
T* grow_array(T* p, std::size_t n) {
  void* q = std::realloc(p, n * sizeof(T));
  if (!q) throw std::bad_alloc();
  return static_cast<T*>(q);
}
}  // namespace

void Tape::reserve(std::size_t n, std::size_t m) {
  constexpr std::size_t kMax = std::numeric_limits<std::uint32_t>::max();
  if (n > kMax || m > kMax)
    throw Error(fmt::format("Tape::reserve: {} statements or {} arguments exceed the tape's limit of {}", n, m, kMax));
  if (n > capacity_) {
    starts_ = grow_array(starts_, n);
    if (capacity_ == 0) starts_[0] = 0;  // slot 0 (constants) has no arguments
    capacity_ = static_cast<std::uint32_t>(n);
    ++allocations_;
  }
  if (m > args_capacity_) {
    // Two arrays, one allocation count: they always grow together.
    partials_ = grow_array(partials_, m);
    args_ = grow_array(args_, m);
    args_capacity_ = static_cast<std::uint32_t>(m);
    ++allocations_;
  }
}

void Tape::grow(std::size_t statements, std::size_t args) {
  constexpr std::size_t kMax = std::numeric_limits<std::uint32_t>::max();
  const std::size_t need_n = std::size_t{size_} + statements, need_m = std::size_t{nargs_} + args;
  std::size_t n = capacity_, m = args_capacity_;
  if (need_n > n) n = std::max<std::size_t>({1024, n * 2, need_n});
  if (need_m > m) m = std::max<std::size_t>({2048, m * 2, need_m});
  reserve(std::min(n, kMax), std::min(m, kMax));
  if (need_n > capacity_ || need_m > args_capacity_)
    throw Error(fmt::format("nabla::Tape: more than {} statements or {} arguments on one tape", capacity_,
                            args_capacity_));
}

void Tape::variables(std::span<const double> values, std::span<Var> out) {
  if (values.size() != out.size())
    throw Error(fmt::format("Tape::variables: {} values for {} Vars", values.size(), out.size()));
  const std::size_t n = values.size();
  if (n == 0) return;
  if (std::size_t{size_} + n > capacity_) grow(n, 0);
  detail::t_open_statement = detail::kNoStatement;  // as variable(): the open statement is no longer the last
  const std::uint32_t s = size_, epoch = epoch_;
  std::fill(starts_ + s, starts_ + s + n, nargs_);  // inputs have no arguments
  // Written member by member: assigning Vars would compare each with the open statement.
  for (std::size_t i = 0; i < n; ++i) {
    out[i].value_ = values[i];
    out[i].index_ = s + static_cast<std::uint32_t>(i);
    out[i].epoch_ = epoch;
  }
  size_ = s + static_cast<std::uint32_t>(n);
}

const double* Tape::adjoint_block(std::span<const Var> xs) const {
  if (xs.empty()) return nullptr;
  const std::uint32_t first = xs.front().index();
  if (xs.front().epoch() != epoch_ || first < swept_from_ || first > swept_to_ ||
      xs.size() - 1 > std::size_t{swept_to_ - first})
    return nullptr;
  // Every Var is checked (the caller may have replaced some since variables()), in one pass with
  // no early exit, a few instructions each.
  int consecutive = 1;  // an int combined with &, not && on bools: no branch per Var
  for (std::size_t i = 0; i < xs.size(); ++i)
    consecutive &= static_cast<int>(xs[i].index() == first + static_cast<std::uint32_t>(i)) &
                   static_cast<int>(xs[i].epoch() == epoch_);
  return consecutive != 0 ? adjoints_ + first : nullptr;
}

void Tape::adjoints(std::span<const Var> xs, std::span<double> out) const {
  if (xs.size() != out.size())
    throw Error(fmt::format("Tape::adjoints: {} Vars for {} outputs", xs.size(), out.size()));
  if (const double* block = adjoint_block(xs)) {
    std::copy(block, block + xs.size(), out.begin());
    return;
  }
  for (std::size_t i = 0; i < xs.size(); ++i) out[i] = adjoint(xs[i]);
}

std::vector<double> Tape::adjoints(std::span<const Var> xs) const {
  if (const double* block = adjoint_block(xs)) return {block, block + xs.size()};  // no zeroing first
  std::vector<double> out(xs.size());
  adjoints(xs, out);
  return out;
}

void Tape::backward(const Var& y, std::size_t from) {
  if (!owns(y))
    detail::throw_stale_var(y.index(), y.epoch(), *this);
  if (from > size_)
    throw Error(fmt::format("Tape::backward: start {} is beyond the end of the tape ({})", from, size_));
  from = std::max<std::size_t>(from, kFirstIndex);
  // y's statement is closed: a later `y += ...` records a new statement, so that the adjoints of
  // this sweep keep describing what was swept.
  detail::t_open_statement = detail::kNoStatement;
  // At least slot 0, also for a tape that recorded nothing (a constant output).
  const std::uint32_t need = std::max(capacity_, kFirstIndex);
  if (adjoint_capacity_ < need) {
    std::free(adjoints_);
    adjoints_ = static_cast<double*>(std::malloc(std::size_t{need} * sizeof(double)));
    if (!adjoints_) {
      adjoint_capacity_ = 0;
      throw std::bad_alloc();
    }
    adjoint_capacity_ = need;
    ++allocations_;
  }
  double* a = adjoints_;
  a[0] = 0.0;  // where constants send their adjoint
  const std::uint32_t lo = static_cast<std::uint32_t>(from);
  std::fill(a + lo, a + size_, 0.0);
  swept_from_ = lo;
  swept_to_ = y.index();
  if (y.index() < lo) return;  // a constant, or recorded before `from`: no gradient flows
  a[y.index()] = 1.0;
  // One pass, statements from last to first; statement i's arguments are [starts[i], starts[i+1]),
  // so one running argument position k walks the partials and indices backwards, contiguously.
  // Each argument costs one multiply-add into the adjoint of the statement that computed it.
  //
  // When a statement's first argument is the statement just before it (accumulations like
  // `z += w[j] * x[j]`, and chains `y = f(y)`: the first leaf of the expression), what it sends
  // there is kept in a register (carry) instead of memory. Through memory, the next step's load
  // of a[i - 1] would wait for that store to be forwarded, adding about 5 cycles of latency to
  // every link of the chain of dependent adjoints. Only the first argument is compared, so the
  // other arguments keep the plain loop (comparing every argument cost Rosenbrock 20%; see
  // BENCHMARKS.md). The adjoint is still stored (a[i] = g) for adjoint() to read; nothing waits on it.
  const std::uint32_t* starts = starts_;
  const double* partial = partials_;
  const std::uint32_t* arg = args_;
  std::uint32_t k = y.index() + 1 < size_ ? starts[y.index() + 1] : nargs_;  // the end of y's arguments
  double carry = 0.0;    // what statement i + 1 sent to statement i
  bool carried = false;  // whether it sent anything that way
  // Statements [lo, stop) have no arguments (inputs, created before anything was computed from
  // them, as usual): the loop has nothing to do for them. starts is non-decreasing, so stop is
  // found by bisection (Rosenbrock's 100,000 inputs were 100,000 idle iterations): the first i
  // with starts[i + 1] > starts[lo], or y.
  const std::uint32_t stop = static_cast<std::uint32_t>(
      std::upper_bound(starts + lo + 1, starts + y.index() + 1, starts[lo]) - starts - 1);
  for (std::uint32_t i = y.index(); i >= stop; --i) {
    double g = a[i];
    if (carried) {
      g += carry;
      a[i] = g;  // for adjoint(); stored only here (an unconditional store cost 5-9%)
      carried = false;
    }
    const std::uint32_t first = starts[i];
    // An input has no arguments; and nothing flows through a statement whose adjoint is exactly 0
    // (usually one the output does not depend on): it is skipped, so that an infinite partial there
    // (exp(x) of a large x computed on the side) does not send 0 · inf = NaN into its arguments
    // (docs/scalar.md says what this means where the output does depend on it). One branch for
    // both (a second one cost Rosenbrock's sweep 5%).
    if ((k == first) | (g == 0.0)) {
      k = first;
      continue;
    }
    for (; k > first + 2; k -= 2) {  // two at a time: independent unless they share a target
      const std::uint32_t t1 = arg[k - 1], t2 = arg[k - 2];
      const double c1 = partial[k - 1] * g, c2 = partial[k - 2] * g;
      a[t1] += c1;
      a[t2] += c2;
    }
    if (k > first + 1) {
      --k;
      a[arg[k]] += partial[k] * g;
    }
    --k;  // the first argument
    const double c = partial[k] * g;
    if (arg[k] == i - 1) {
      carry = c;
      carried = true;
    } else {
      a[arg[k]] += c;
    }
  }
  if (carried && stop - 1 >= lo) a[stop - 1] += carry;
}

double Tape::adjoint_outside(const Var& x) const {
  if (!owns(x))
    detail::throw_stale_var(x.index(), x.epoch(), *this);
  if (x.index() < swept_from_ || x.index() > swept_to_) return 0.0;
  return adjoints_[x.index()];
}

}  // namespace nabla
