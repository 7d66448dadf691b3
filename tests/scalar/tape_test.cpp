// The tape: reuse without allocation, nesting, two threads, and misuse reported in checked builds.
// This file turns the per-operation checks on whatever the build type (they are what it tests).
#define NABLA_SCALAR_CHECKS 1

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>
#include <thread>
#include <vector>

#include <nabla/scalar/var.h>

// Counts every allocation of this test program, so "allocates nothing" is checked, not assumed.
namespace {
std::atomic<long> g_allocations{0};
}
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using nabla::Tape;
using nabla::TapeScope;
using nabla::Var;

// f(x, y) = sum_i sin(x * i) * y + x / (i + 1), recorded with n steps; returns df/dx and df/dy.
template <class T>
T workload(const T& x, const T& y, int n) {
  using std::sin;
  T s = 0.0;
  for (int i = 0; i < n; ++i) s += sin(x * double(i)) * y + x / double(i + 1);
  return s;
}
double workload_dx(double x, double y, int n) {
  double s = 0.0;
  for (int i = 0; i < n; ++i) s += std::cos(x * i) * i * y + 1.0 / (i + 1);
  return s;
}
double workload_dy(double x, int n) {
  double s = 0.0;
  for (int i = 0; i < n; ++i) s += std::sin(x * i);
  return s;
}

TEST(ScalarTape, ReuseAtNewInputsAllocatesNothing) {
  Tape tape;
  TapeScope scope(tape);
  const int n = 5000;
  auto run = [&](double x0, double y0, double* dx, double* dy) {
    tape.reset();
    Var x = tape.variable(x0);
    Var y = tape.variable(y0);
    Var f = workload(x, y, n);
    tape.backward(f);
    *dx = tape.adjoint(x);
    *dy = tape.adjoint(y);
    return f.value();
  };
  double dx = 0, dy = 0;
  run(0.3, 1.5, &dx, &dy);
  EXPECT_NEAR(dx, workload_dx(0.3, 1.5, n), 1e-9);
  const auto tape_allocations = tape.allocations();
  const auto capacity = tape.capacity();
  EXPECT_GT(tape_allocations, 0u);
  EXPECT_GE(capacity, tape.size());

  const long before = g_allocations.load();
  const double value = run(-1.1, 0.25, &dx, &dy);
  const long after = g_allocations.load();
  EXPECT_EQ(after - before, 0) << "a second gradient on a reset tape must not allocate";
  EXPECT_EQ(tape.allocations(), tape_allocations);
  EXPECT_EQ(tape.capacity(), capacity);
  EXPECT_DOUBLE_EQ(value, workload(-1.1, 0.25, n));
  EXPECT_NEAR(dx, workload_dx(-1.1, 0.25, n), 1e-9);
  EXPECT_NEAR(dy, workload_dy(-1.1, n), 1e-9);
  // One statement per step (`s += sin(x * i) * y + x / (i + 1)`, whose arguments are s, x, y and x),
  // the two inputs and the reserved slot.
  EXPECT_EQ(tape.size(), Tape::kFirstIndex + 2u + 1u * n);
  EXPECT_EQ(tape.argument_count(), 4u * n);
  EXPECT_EQ(tape.bytes_used(), tape.size() * Tape::bytes_per_statement() + tape.argument_count() * Tape::bytes_per_argument());
}

TEST(ScalarTape, ValueAndGradientReusesTheThreadTape) {
  auto f = [](const std::vector<Var>& x) { return workload(x[0], x[1], 2000); };
  nabla::value_and_gradient(f, {0.1, 0.2});
  const auto allocations = Tape::active().allocations();
  const auto r = nabla::value_and_gradient(f, {0.4, 0.5});
  EXPECT_EQ(Tape::active().allocations(), allocations);
  EXPECT_NEAR(r.grad[0], workload_dx(0.4, 0.5, 2000), 1e-9);
  EXPECT_NEAR(r.grad[1], workload_dy(0.4, 2000), 1e-9);
}

TEST(ScalarTape, NestedGradientsKeepOuterVariables) {
  Tape tape;
  TapeScope scope(tape);
  Var a = tape.variable(2.0);
  Var b = a * a;  // outer recording
  // An inner gradient on the same tape rewinds to where it started; a and b stay valid.
  const auto inner = nabla::value_and_gradient([](const std::vector<Var>& x) { return x[0] * x[0] * x[0]; }, {3.0});
  EXPECT_EQ(inner.grad[0], 27.0);
  Var c = b * a;  // continues after the inner one
  tape.backward(c);
  EXPECT_EQ(tape.adjoint(a), 12.0);  // d(a^3)/da at 2
}

TEST(ScalarTape, TwoThreadsDifferentiateAtOnce) {
  const int n = 200000;
  std::vector<double> dx(2), dy(2), expect_dx(2), expect_dy(2);
  const double xs[2] = {0.37, -0.81}, ys[2] = {1.9, 0.6};
  std::atomic<int> ready{0};
  auto body = [&](int t) {
    ready.fetch_add(1);
    while (ready.load() < 2) {
    }  // start together so the recordings overlap
    for (int rep = 0; rep < 3; ++rep) {
      auto r = nabla::value_and_gradient([&](const std::vector<Var>& x) { return workload(x[0], x[1], n); },
                                         {xs[t], ys[t]});
      dx[static_cast<std::size_t>(t)] = r.grad[0];
      dy[static_cast<std::size_t>(t)] = r.grad[1];
    }
  };
  std::thread t0(body, 0), t1(body, 1);
  t0.join();
  t1.join();
  for (int t = 0; t < 2; ++t) {
    EXPECT_NEAR(dx[static_cast<std::size_t>(t)], workload_dx(xs[t], ys[t], n), 1e-7 * n) << t;
    EXPECT_NEAR(dy[static_cast<std::size_t>(t)], workload_dy(xs[t], n), 1e-7 * n) << t;
  }
  EXPECT_NE(dx[0], dx[1]);
}

TEST(ScalarTape, VarAfterResetIsReported) {
  Tape tape;
  TapeScope scope(tape);
  Var x = tape.variable(1.0);
  tape.reset();
  try {
    Var y = x * 2.0;
    (void)y;
    FAIL() << "expected nabla::Error";
  } catch (const nabla::Error& e) {
    EXPECT_NE(std::string(e.what()).find("before its reset()"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("variable #1"), std::string::npos) << e.what();
  }
  // backward and adjoint check in every build.
  EXPECT_THROW(tape.backward(x), nabla::Error);
  EXPECT_THROW((void)tape.adjoint(x), nabla::Error);
}

TEST(ScalarTape, VarOfAnotherThreadsTapeIsReported) {
  Var foreign;
  std::thread t([&] { foreign = Tape::active().variable(5.0); });
  t.join();
  try {
    Var y = sin(foreign);
    (void)y;
    FAIL() << "expected nabla::Error";
  } catch (const nabla::Error& e) {
    EXPECT_NE(std::string(e.what()).find("another tape"), std::string::npos) << e.what();
  }
}

TEST(ScalarTape, VarEscapingANestedGradientIsReported) {
  Tape tape;
  TapeScope scope(tape);
  Var keep = tape.variable(1.0);
  Var escaped;
  nabla::value_and_gradient(
      [&](const std::vector<Var>& x) {
        escaped = x[0] * keep;
        return escaped;
      },
      {2.0});
  EXPECT_THROW((void)(escaped + 1.0), nabla::Error);
  EXPECT_NO_THROW((void)(keep + 1.0));
}

TEST(ScalarTape, ScopesNestAndRestore) {
  Tape& thread_default = Tape::active();
  Tape a, b;
  {
    TapeScope sa(a);
    EXPECT_EQ(&Tape::active(), &a);
    {
      TapeScope sb(b);
      EXPECT_EQ(&Tape::active(), &b);
    }
    EXPECT_EQ(&Tape::active(), &a);
  }
  EXPECT_EQ(&Tape::active(), &thread_default);
  EXPECT_NE(a.epoch(), b.epoch());
  const auto e = a.epoch();
  a.reset();
  EXPECT_NE(a.epoch(), e);
  // A statement is a 4-byte argument offset and an 8-byte adjoint; an argument a partial and an index.
  EXPECT_EQ(Tape::bytes_per_statement(), 12u);
  EXPECT_EQ(Tape::bytes_per_argument(), 12u);
}

}  // namespace

namespace {
TEST(ScalarTape, BackwardOfAConstantOnAnEmptyTape) {
  Tape tape;  // nothing recorded, nothing allocated yet
  EXPECT_EQ(tape.capacity(), 0u);
  tape.backward(Var(2.0));
  EXPECT_EQ(tape.adjoint(Var(2.0)), 0.0);
  TapeScope scope(tape);
  Var x = tape.variable(1.0);
  tape.backward(Var(3.0) * 2.0);  // recorded, but does not depend on x
  EXPECT_EQ(tape.adjoint(x), 0.0);
}
}  // namespace

namespace {
// Expression templates: an expression records nothing until it becomes a Var, and then one
// statement whose arguments are its Var leaves, in order, with the pre-accumulated partials.
TEST(ScalarTape, OneStatementPerAssignmentWithPreaccumulatedPartials) {
  Tape tape;
  TapeScope scope(tape);
  const double xv = 1.5, yv = -0.5;
  Var x = tape.variable(xv), y = tape.variable(yv);
  const auto before = tape.size();
  const auto e = x * x + sin(y) * x;  // an expression: nothing recorded yet
  EXPECT_EQ(tape.size(), before);
  EXPECT_DOUBLE_EQ(e.value(), xv * xv + std::sin(yv) * xv);
  Var f = e;
  EXPECT_EQ(tape.size(), before + 1);
  const nabla::TapeStatement st = tape.statement(f.index());
  ASSERT_EQ(st.size, 4u);  // leaves x, x, y, x
  EXPECT_EQ(st.arg[0], x.index());
  EXPECT_EQ(st.arg[1], x.index());
  EXPECT_EQ(st.arg[2], y.index());
  EXPECT_EQ(st.arg[3], x.index());
  EXPECT_DOUBLE_EQ(st.partial[0], xv);
  EXPECT_DOUBLE_EQ(st.partial[1], xv);
  EXPECT_DOUBLE_EQ(st.partial[2], std::cos(yv) * xv);
  EXPECT_DOUBLE_EQ(st.partial[3], std::sin(yv));
  tape.backward(f);
  EXPECT_DOUBLE_EQ(tape.adjoint(x), 2.0 * xv + std::sin(yv));
  EXPECT_DOUBLE_EQ(tape.adjoint(y), std::cos(yv) * xv);
  // A constant Var in an expression is an argument with index 0, which nothing reads.
  Var g = x * Var(3.0);
  EXPECT_EQ(tape.statement(g.index()).size, 2u);
  EXPECT_EQ(tape.statement(g.index()).arg[1], 0u);
  // After `using std::max`, two Vars still get nabla's max (half the gradient each at a tie).
  using std::max;
  Var m = max(x, Var::from_tape(xv, x.index(), x.epoch()));
  EXPECT_NE(m.index(), x.index()) << "std::max would return a copy of x";
  EXPECT_EQ(tape.statement(m.index()).partial[0], 0.5);
  tape.backward(m);
  EXPECT_EQ(tape.adjoint(x), 1.0);
}

// The reverse sweep keeps what a statement sends to the statement just before it in a register;
// the adjoints of those intermediate statements must still be right.
TEST(ScalarTape, AdjointsOfIntermediatesAlongAChain) {
  Tape tape;
  TapeScope scope(tape);
  const double av = 1.1, y0 = 0.3;
  const int n = 20;
  Var a = tape.variable(av);
  Var y = tape.variable(y0);
  std::vector<Var> ys{y};
  for (int i = 0; i < n; ++i) {
    y = y * a;  // first argument: the previous statement
    ys.push_back(y);
  }
  tape.backward(y);
  for (int k = 0; k <= n; ++k)
    EXPECT_NEAR(tape.adjoint(ys[static_cast<std::size_t>(k)]), std::pow(av, n - k), 1e-12) << k;
  EXPECT_NEAR(tape.adjoint(a), n * y0 * std::pow(av, n - 1), 1e-12);
  // Accumulation `s += w * c` (also carried) and a sweep that starts in the middle of the tape.
  Var s = tape.variable(0.0);
  const auto mark = tape.size();
  Var w = tape.variable(2.0);
  Var acc = s;
  for (int i = 1; i <= 5; ++i) acc += w * double(i);
  tape.backward(acc, mark);
  EXPECT_EQ(tape.adjoint(w), 15.0);
  EXPECT_EQ(tape.adjoint(s), 0.0);  // recorded before the start of the sweep
}
}  // namespace
