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
  if (detail::t_active_tape == this) detail::t_active_tape = nullptr;
  std::free(entries_);
  std::free(adjoints_);
}

void Tape::reset() {
  size_ = kFirstIndex;
  swept_from_ = kFirstIndex;
  swept_to_ = 0;
  epoch_ = detail::next_epoch();
}

void Tape::rewind(std::size_t mark) {
  if (mark < kFirstIndex || mark > size_)
    throw Error(fmt::format("Tape::rewind: mark {} is outside the tape [{}, {}]", mark, kFirstIndex, size_));
  size_ = static_cast<std::uint32_t>(mark);
  swept_to_ = std::min(swept_to_, size_ - 1);
}

void Tape::reserve(std::size_t n) {
  constexpr std::size_t kMax = std::numeric_limits<std::uint32_t>::max();
  if (n > kMax) throw Error(fmt::format("Tape::reserve: {} entries exceed the tape's limit of {}", n, kMax));
  if (n <= capacity_) return;
  void* p = std::realloc(entries_, n * sizeof(TapeEntry));
  if (!p) throw std::bad_alloc();
  entries_ = static_cast<TapeEntry*>(p);
  if (capacity_ == 0)
    for (std::uint32_t i = 0; i < kFirstIndex; ++i) entries_[i] = TapeEntry{{0.0, 0.0}, {0, 0}};
  capacity_ = static_cast<std::uint32_t>(n);
  ++allocations_;
}

void Tape::grow() {
  const std::size_t want = std::max<std::size_t>(std::size_t{1024}, std::size_t{capacity_} * 2);
  reserve(std::min<std::size_t>(want, std::numeric_limits<std::uint32_t>::max()));
  if (size_ >= capacity_)
    throw Error(fmt::format("nabla::Tape: more than {} operations on one tape", capacity_));
}

void Tape::backward(const Var& y, std::size_t from) {
  if (!owns(y))
    detail::throw_stale_var(y.index(), y.epoch(), *this);
  if (from > size_)
    throw Error(fmt::format("Tape::backward: start {} is beyond the end of the tape ({})", from, size_));
  from = std::max<std::size_t>(from, kFirstIndex);
  // At least the reserved slots, also for a tape that recorded nothing (a constant output).
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
  std::fill(a, a + kFirstIndex, 0.0);  // the sinks
  const std::uint32_t lo = static_cast<std::uint32_t>(from);
  std::fill(a + lo, a + size_, 0.0);
  swept_from_ = lo;
  swept_to_ = y.index();
  if (y.index() < lo) return;  // a constant, or recorded before `from`: no gradient flows
  a[y.index()] = 1.0;
  // One branch-free loop: two multiply-adds per entry. One-argument ops send their unused partial
  // to one of eight sink slots (see Tape::sink), so no memory location is read and written by
  // consecutive entries except where the computation itself chains them. (Carrying the adjoint of
  // entry i - 1 in a register instead was measured: 20% faster on a pure chain, 10% slower on
  // Rosenbrock and logistic regression; see BENCHMARKS.md.)
  const TapeEntry* e = entries_;
  for (std::uint32_t i = y.index(); i >= lo; --i) {
    const double g = a[i];
    a[e[i].arg[0]] += e[i].partial[0] * g;
    a[e[i].arg[1]] += e[i].partial[1] * g;
  }
}

double Tape::adjoint(const Var& x) const {
  if (!owns(x))
    detail::throw_stale_var(x.index(), x.epoch(), *this);
  if (x.index() < swept_from_ || x.index() > swept_to_) return 0.0;
  return adjoints_[x.index()];
}

}  // namespace nabla
