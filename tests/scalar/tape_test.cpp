// The tape: reuse without allocation, nesting, two threads, and misuse reported in checked builds.
// This file turns the per-operation checks on whatever the build type (they are what it tests).
#define NABLA_SCALAR_CHECKS 1

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <new>
#include <random>
#include <thread>
#include <vector>

#include <nabla/scalar/dual.h>
#include <nabla/scalar/hessian.h>
#include <nabla/scalar/var.h>

#include "bench/rosenbrock.h"

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
  // `s += sin(x * i) * y + x / (i + 1)`: the first step records s (a constant), x, y and x; s then
  // holds the open statement, so every later step appends x, y and x to it. One statement, the two
  // inputs and the reserved slot.
  EXPECT_EQ(tape.size(), Tape::kFirstIndex + 2u + 1u);
  EXPECT_EQ(tape.argument_count(), 4u + 3u * (n - 1));
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
// Bulk inputs and adjoints: Tape::variables and Tape::adjoints.

using nabla::workloads::rosenbrock;
using nabla::workloads::rosenbrock_gradient;
using nabla::workloads::rosenbrock_start;

TEST(ScalarTapeBulk, VariablesAreConsecutiveInputsAndAdjointsTheGradient) {
  Tape tape;
  TapeScope scope(tape);
  const std::vector<double> x = rosenbrock_start(3000);  // beyond the first capacity: variables() grows
  Var before = tape.variable(7.0);
  std::vector<Var> xs(x.size());
  tape.variables(x, xs);
  EXPECT_EQ(tape.size(), Tape::kFirstIndex + 1 + x.size());
  EXPECT_EQ(tape.argument_count(), 0u);
  for (std::size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(xs[i].value(), x[i]);
    EXPECT_EQ(xs[i].index(), before.index() + 1 + i);
    EXPECT_EQ(xs[i].epoch(), tape.epoch());
    EXPECT_EQ(tape.statement(xs[i].index()).size, 0u);  // an input has no arguments
  }
  const Var f = rosenbrock<Var>(xs) + before;
  tape.backward(f);
  EXPECT_DOUBLE_EQ(f.value(), rosenbrock<double>(x) + 7.0);
  const std::vector<double> g = tape.adjoints(xs), expect = rosenbrock_gradient(x);
  std::vector<double> out(x.size(), -1.0);
  tape.adjoints(xs, out);
  ASSERT_EQ(g.size(), x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    EXPECT_NEAR(g[i], expect[i], 1e-12 * (1.0 + std::fabs(expect[i]))) << i;
    EXPECT_EQ(g[i], tape.adjoint(xs[i])) << i;
    EXPECT_EQ(out[i], g[i]) << i;
  }
  EXPECT_EQ(tape.adjoints(std::vector<Var>{before})[0], 1.0);
  EXPECT_TRUE(tape.adjoints(std::vector<Var>{}).empty());
}

TEST(ScalarTapeBulk, AdjointsOfAnyVarsAgreeWithAdjoint) {
  Tape tape;
  TapeScope scope(tape);
  std::vector<Var> xs(4);
  tape.variables(std::vector<double>{0.5, -1.5, 2.0, 3.0}, xs);
  Var p = xs[0] * xs[1];
  Var q = sin(p) + xs[2] * xs[2];
  Var y = q * xs[3];
  Var later = tape.variable(9.0);  // after y: outside the swept range
  tape.backward(y);
  // Replaced, reordered, repeated, intermediate, constant and unswept Vars: element by element.
  const std::vector<std::vector<Var>> cases = {
      {xs[0], xs[1], xs[3]},  // a gap
      {xs[1], xs[0]},         // reversed
      {xs[2], xs[2]},         // repeated
      {xs[3], p},             // consecutive, and p is an intermediate: still its adjoint
      {q, y},
      {y, later},             // consecutive, but later lies beyond the swept range
      {Var(4.0), xs[0]},      // a constant
      {xs[3], later},         // recorded after y
  };
  for (const auto& c : cases) {
    const std::vector<double> g = tape.adjoints(c);
    ASSERT_EQ(g.size(), c.size());
    for (std::size_t i = 0; i < c.size(); ++i) EXPECT_EQ(g[i], tape.adjoint(c[i])) << i;
  }
  EXPECT_DOUBLE_EQ(tape.adjoint(xs[0]), std::cos(p.value()) * xs[1].value() * xs[3].value());
  EXPECT_EQ(tape.adjoint(later), 0.0);
  std::vector<Var> replaced = xs;
  replaced[2] = p;  // no longer consecutive inputs
  const std::vector<double> g = tape.adjoints(replaced);
  EXPECT_EQ(g[2], tape.adjoint(p));
  EXPECT_EQ(g[3], tape.adjoint(xs[3]));
}

TEST(ScalarTapeBulk, MisuseIsReported) {
  Tape tape;
  TapeScope scope(tape);
  std::vector<Var> xs(2);
  try {
    tape.variables(std::vector<double>{1.0, 2.0, 3.0}, xs);
    FAIL() << "expected nabla::Error";
  } catch (const nabla::Error& e) {
    EXPECT_NE(std::string(e.what()).find("Tape::variables: 3 values for 2 Vars"), std::string::npos) << e.what();
  }
  EXPECT_EQ(tape.size(), Tape::kFirstIndex);  // nothing recorded
  tape.variables(std::vector<double>{1.0, 2.0}, xs);
  tape.backward(xs[0] * xs[1]);
  std::vector<double> out(3);
  try {
    tape.adjoints(xs, out);
    FAIL() << "expected nabla::Error";
  } catch (const nabla::Error& e) {
    EXPECT_NE(std::string(e.what()).find("Tape::adjoints: 2 Vars for 3 outputs"), std::string::npos) << e.what();
  }
  tape.reset();  // xs are stale now
  EXPECT_THROW((void)tape.adjoints(xs), nabla::Error);
}

TEST(ScalarTapeBulk, VariablesCloseTheOpenStatement) {
  Tape tape;
  TapeScope scope(tape);
  Var a = tape.variable(2.0);
  Var z = a * a;  // open
  std::vector<Var> xs(1);
  tape.variables(std::vector<double>{3.0}, xs);
  const auto statements = tape.size();
  z += xs[0];  // z's statement is no longer the last: a new statement
  EXPECT_EQ(tape.size(), statements + 1);
  tape.backward(z);
  EXPECT_EQ(tape.adjoint(a), 4.0);
  EXPECT_EQ(tape.adjoints(xs)[0], 1.0);
}

TEST(ScalarTapeBulk, ReuseAllocatesNothing) {
  Tape tape;
  TapeScope scope(tape);
  const std::vector<double> x = rosenbrock_start(2000);
  std::vector<Var> xs(x.size());
  std::vector<double> g(x.size());
  auto run = [&] {
    tape.reset();
    tape.variables(x, xs);
    tape.backward(rosenbrock<Var>(xs));
    tape.adjoints(xs, g);
  };
  run();
  const long before = g_allocations.load();
  const auto tape_allocations = tape.allocations();
  run();
  EXPECT_EQ(g_allocations.load() - before, 0) << "bulk inputs and adjoints on a reset tape must not allocate";
  EXPECT_EQ(tape.allocations(), tape_allocations);
  const auto expect = rosenbrock_gradient(x);
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(g[i], expect[i], 1e-12 * (1.0 + std::fabs(expect[i])));
}

TEST(ScalarTapeBulk, ValueAndGradientOfManyInputs) {
  const std::vector<double> x = rosenbrock_start(1000);
  const auto r = nabla::value_and_gradient([](const std::vector<Var>& v) { return rosenbrock<Var>(v); }, x);
  EXPECT_DOUBLE_EQ(r.value, rosenbrock<double>(x));
  const auto expect = rosenbrock_gradient(x);
  ASSERT_EQ(r.grad.size(), x.size());
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(r.grad[i], expect[i], 1e-12 * (1.0 + std::fabs(expect[i])));
  const auto empty = nabla::value_and_gradient([](const std::vector<Var>&) { return Var(2.0); }, {});
  EXPECT_EQ(empty.value, 2.0);
  EXPECT_TRUE(empty.grad.empty());
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
  ASSERT_EQ(st.size, 3u);  // leaves x * x (one slot: the same Var twice), y, x
  EXPECT_EQ(st.arg[0], x.index());
  EXPECT_EQ(st.arg[1], y.index());
  EXPECT_EQ(st.arg[2], x.index());
  EXPECT_DOUBLE_EQ(st.partial[0], 2.0 * xv);
  EXPECT_DOUBLE_EQ(st.partial[1], std::cos(yv) * xv);
  EXPECT_DOUBLE_EQ(st.partial[2], std::sin(yv));
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
  ASSERT_EQ(tape.statement(m.index()).size, 1u);  // the same Var twice: one slot, 0.5 + 0.5
  EXPECT_EQ(tape.statement(m.index()).partial[0], 1.0);
  tape.backward(m);
  EXPECT_EQ(tape.adjoint(x), 1.0);
}

// The reverse sweep keeps what a statement sends to the statement just before it in a register;
// the adjoints of those intermediate statements must still be right.
// A statement the output does not depend on has adjoint 0 and is skipped: its infinite partial
// (exp of a large x, computed on the side) must not turn the gradient into 0 · inf = NaN.
TEST(ScalarTape, UnusedOverflowingIntermediateLeavesTheGradientFinite) {
  auto r = nabla::value_and_gradient(
      [](const std::vector<Var>& x) {
        Var unused = exp(x[0]);  // inf, with partial inf
        Var also_unused = unused * x[1];
        (void)also_unused;
        return 2.0 * x[0] + x[1];
      },
      {1000.0, 3.0});
  EXPECT_EQ(r.value, 2003.0);
  EXPECT_EQ(r.grad, (std::vector<double>{2.0, 1.0}));
  // Through a dependency the infinite partial still counts (d exp(x) / dx = inf).
  auto d = nabla::value_and_gradient([](const std::vector<Var>& x) { return exp(x[0]) + x[1]; }, {1000.0, 3.0});
  EXPECT_EQ(d.grad[0], std::numeric_limits<double>::infinity());
  EXPECT_EQ(d.grad[1], 1.0);
  // The Hessian of cosh at a large x: its second derivative overflows to inf (as PyTorch's), not NaN.
  const auto h = nabla::hessian([](const auto& x) { return cosh(x[0]); }, {800.0});
  EXPECT_EQ(h[0][0], std::numeric_limits<double>::infinity());
}

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

namespace {
// Statement merging: `z += e` appends e's arguments to z's statement when z holds the open one (the
// last statement recorded, with no copy of z in existence). Every way a second holder of z's index
// could appear must keep the gradients of both right.
struct ScalarMerge : ::testing::Test {
  Tape tape;
  TapeScope scope{tape};
  const double xv = 1.5, yv = -0.75;
  Var x = tape.variable(xv), y = tape.variable(yv);
  /// d out / d x and d out / d y by a reverse sweep from out.
  std::pair<double, double> grad(const Var& out) {
    tape.backward(out);
    return {tape.adjoint(x), tape.adjoint(y)};
  }
};

TEST_F(ScalarMerge, AccumulationIntoAFreshVarIsOneStatement) {
  Var z = x * y;
  const auto size = tape.size();
  z += x * 2.0;
  z -= sin(y);
  z += 1.0;
  z -= 0.25;
  EXPECT_EQ(tape.size(), size) << "appended to z's statement";
  ASSERT_EQ(tape.statement(z.index()).size, 4u);  // x, y, x, y
  EXPECT_DOUBLE_EQ(z.value(), xv * yv + 2.0 * xv - std::sin(yv) + 0.75);
  const auto [gx, gy] = grad(z);
  EXPECT_DOUBLE_EQ(gx, yv + 2.0);
  EXPECT_DOUBLE_EQ(gy, xv - std::cos(yv));
}

TEST_F(ScalarMerge, CopyThenAccumulateLeavesTheCopyAlone) {
  Var z = x * y;
  Var copy = z;  // copy construction
  Var assigned;
  assigned = z;  // copy assignment
  std::vector<Var> stored{z};
  z += x;
  z -= y * 3.0;
  EXPECT_DOUBLE_EQ(copy.value(), xv * yv);
  EXPECT_DOUBLE_EQ(z.value(), xv * yv + xv - 3.0 * yv);
  for (const Var& c : {copy, assigned, stored[0]}) {
    const auto [gx, gy] = grad(c);
    EXPECT_DOUBLE_EQ(gx, yv);
    EXPECT_DOUBLE_EQ(gy, xv);
  }
  const auto [gx, gy] = grad(z);
  EXPECT_DOUBLE_EQ(gx, yv + 1.0);
  EXPECT_DOUBLE_EQ(gy, xv - 3.0);
}

TEST_F(ScalarMerge, CopyOfAnAccumulatedVarMadeMidwayKeepsItsValue) {
  Var z = x * 0.0;
  std::vector<Var> history;
  for (int i = 1; i <= 4; ++i) {
    z += x * double(i);  // appended while no copy exists
    history.push_back(z);  // the copy closes z's statement: the next += records a new one
  }
  for (int i = 1; i <= 4; ++i) {
    const Var& h = history[static_cast<std::size_t>(i - 1)];
    EXPECT_DOUBLE_EQ(h.value(), xv * i * (i + 1) / 2.0);
    EXPECT_DOUBLE_EQ(grad(h).first, i * (i + 1) / 2.0) << i;
  }
}

TEST_F(ScalarMerge, PassingByValueOrMovingCopies) {
  Var z = x * y;
  auto identity = [](Var v) { return v; };
  Var passed = identity(z);
  Var a = x + y;
  Var moved = std::move(a);  // a still holds the index (a Var has no moved-from state)
  z += x;
  a += y;
  EXPECT_DOUBLE_EQ(grad(passed).first, yv);
  EXPECT_DOUBLE_EQ(grad(moved).second, 1.0);
  EXPECT_DOUBLE_EQ(grad(a).second, 2.0);
  EXPECT_DOUBLE_EQ(grad(z).first, yv + 1.0);
}

TEST_F(ScalarMerge, VarUsedByALaterStatementIsNotExtended) {
  Var z = x * y;
  Var u = z * 3.0;  // u's statement uses z's index
  const auto size = tape.size();
  z += x;  // z's statement is no longer the last: a new one
  EXPECT_EQ(tape.size(), size + 1);
  u += z;  // u's statement is not the last either
  EXPECT_DOUBLE_EQ(u.value(), 3.0 * xv * yv + xv * yv + xv);
  const auto [gx, gy] = grad(u);
  EXPECT_DOUBLE_EQ(gx, 4.0 * yv + 1.0);
  EXPECT_DOUBLE_EQ(gy, 4.0 * xv);
}

TEST_F(ScalarMerge, AccumulatingAnExpressionOfItself) {
  Var z = x * y;
  z += z;  // 2xy
  EXPECT_DOUBLE_EQ(z.value(), 2.0 * xv * yv);
  auto [gx, gy] = grad(z);
  EXPECT_DOUBLE_EQ(gx, 2.0 * yv);
  EXPECT_DOUBLE_EQ(gy, 2.0 * xv);
  Var w = x * y;
  w += w * x;  // xy + x^2 y
  w -= sin(w) * 0.5;
  const double w1 = xv * yv + xv * xv * yv;
  EXPECT_DOUBLE_EQ(w.value(), w1 - 0.5 * std::sin(w1));
  std::tie(gx, gy) = grad(w);
  const double dw = 1.0 - 0.5 * std::cos(w1);
  EXPECT_NEAR(gx, dw * (yv + 2.0 * xv * yv), 1e-14);
  EXPECT_NEAR(gy, dw * (xv + xv * xv), 1e-14);
}

TEST_F(ScalarMerge, UnrecordedExpressionBuiltBeforeAnAccumulation) {
  Var z = x * y;
  const auto e = z * 2.0;  // holds z (a copy): z's statement is closed
  z += x;
  Var v = e;
  EXPECT_DOUBLE_EQ(v.value(), 2.0 * xv * yv);
  EXPECT_DOUBLE_EQ(grad(v).first, 2.0 * yv);
  EXPECT_DOUBLE_EQ(grad(z).first, yv + 1.0);
}

TEST_F(ScalarMerge, InputsAndConstantsAreNeverExtended) {
  Var in = tape.variable(2.0);
  const Var in_copy = Var::from_tape(in.value(), in.index(), in.epoch());  // same index, no copy made
  auto size = tape.size();
  in += x;
  EXPECT_EQ(tape.size(), size + 1);
  EXPECT_EQ(tape.statement(in_copy.index()).size, 0u) << "the input's statement stays an input";
  Var c = 3.0;  // a constant
  size = tape.size();
  c += x;
  EXPECT_EQ(tape.size(), size + 1);
  EXPECT_DOUBLE_EQ(grad(c).first, 1.0);
}

TEST_F(ScalarMerge, BackwardClosesTheStatement) {
  Var z = x * y;
  auto [gx, gy] = grad(z);
  EXPECT_DOUBLE_EQ(gx, yv);
  z += x;  // a new statement: the sweep above still describes the old z
  EXPECT_EQ(tape.adjoint(z), 0.0);
  std::tie(gx, gy) = grad(z);
  EXPECT_DOUBLE_EQ(gx, yv + 1.0);
}

TEST_F(ScalarMerge, StaleVarAccumulatedIsReported) {
  Var z = x * y;
  Var stale;
  {
    Tape other;
    TapeScope inner(other);
    stale = other.variable(1.0);
  }
  EXPECT_THROW(z += stale, nabla::Error);  // this file builds with NABLA_SCALAR_CHECKS=1
  EXPECT_THROW(z -= stale, nabla::Error);
  EXPECT_THROW(z += stale * 2.0, nabla::Error);
}

TEST_F(ScalarMerge, NestedGradientAndRewindCloseTheStatement) {
  Var s = x * y;
  const auto inner = nabla::value_and_gradient([](const std::vector<Var>& v) { return v[0] * v[0]; }, {3.0});
  EXPECT_EQ(inner.grad[0], 6.0);
  // After the rewind s's statement is the last again, but it was closed: a new statement.
  const auto size = tape.size();
  s += x;
  EXPECT_EQ(tape.size(), size + 1);
  EXPECT_DOUBLE_EQ(grad(s).first, yv + 1.0);
}

TEST_F(ScalarMerge, SwitchingTapesClosesTheStatement) {
  Var z = x * y;
  Var copy;
  {
    Tape other;
    TapeScope inner(other);
    copy = z;  // copied while another tape is active
    Var o = other.variable(1.0);
    o += o * 2.0;  // other's own statements merge as usual
    EXPECT_EQ(o.value(), 3.0);
  }
  z += x;
  EXPECT_DOUBLE_EQ(grad(copy).first, yv);
  EXPECT_DOUBLE_EQ(grad(z).first, yv + 1.0);
}

TEST_F(ScalarMerge, LogisticRegressionLoopMatchesAnalyticGradient) {
  // nll = sum_i log(1 + exp(z_i)) - t_i z_i, z_i = b + sum_j w_j a_ij: each z_i one statement.
  const int rows = 7, cols = 5;
  std::vector<Var> w;
  std::vector<double> wv;
  for (int j = 0; j <= cols; ++j) {
    wv.push_back(0.1 * j - 0.2);
    w.push_back(tape.variable(wv.back()));
  }
  auto a = [](int i, int j) { return std::sin(1.0 + i * 0.7 + j * 1.3); };
  auto t = [](int i) { return i % 2 == 0 ? 1.0 : 0.0; };
  const auto size = tape.size();
  Var nll = 0.0;
  std::vector<double> g(static_cast<std::size_t>(cols + 1), 0.0);
  for (int i = 0; i < rows; ++i) {
    Var z = w[static_cast<std::size_t>(cols)];
    double zv = wv[static_cast<std::size_t>(cols)];
    for (int j = 0; j < cols; ++j) {
      z += w[static_cast<std::size_t>(j)] * a(i, j);
      zv += wv[static_cast<std::size_t>(j)] * a(i, j);
    }
    nll += log(1.0 + exp(z)) - t(i) * z;
    const double r = 1.0 / (1.0 + std::exp(-zv)) - t(i);
    for (int j = 0; j < cols; ++j) g[static_cast<std::size_t>(j)] += r * a(i, j);
    g[static_cast<std::size_t>(cols)] += r;
  }
  EXPECT_EQ(tape.size(), size + 2u * rows) << "one statement per z and one per nll +=";
  tape.backward(nll);
  for (int j = 0; j <= cols; ++j)
    EXPECT_NEAR(tape.adjoint(w[static_cast<std::size_t>(j)]), g[static_cast<std::size_t>(j)], 1e-13) << j;
}

TEST_F(ScalarMerge, SameVarTwiceInAProductTakesOneSlot) {
  Var sq = x * x;
  ASSERT_EQ(tape.statement(sq.index()).size, 1u);
  EXPECT_DOUBLE_EQ(grad(sq).first, 2.0 * xv);
  Var zero = x - x;
  ASSERT_EQ(tape.statement(zero.index()).size, 1u);
  EXPECT_EQ(grad(zero).first, 0.0);
  Var one = x / x;
  EXPECT_NEAR(grad(one).first, 0.0, 1e-16);
  Var mixed = x * y + y * y;
  ASSERT_EQ(tape.statement(mixed.index()).size, 3u);
  const auto [gx, gy] = grad(mixed);
  EXPECT_DOUBLE_EQ(gx, yv);
  EXPECT_DOUBLE_EQ(gy, xv + 2.0 * yv);
}
}  // namespace

namespace {
// A random program of accumulations, copies, self-references and reuse, run with Var (reverse
// mode, with statement merging) and with Dual (forward mode, no tape): the gradients must agree.
template <class T>
T random_program(const T& x0, const T& x1, unsigned seed) {
  using std::sin;
  std::mt19937 rng(seed);
  std::vector<T> v{x0, x1, x0 * x1, x0 + 1.0};
  std::vector<T> kept;  // copies taken along the way, summed into the output
  auto pick = [&] { return static_cast<std::size_t>(rng() % v.size()); };
  for (int step = 0; step < 60; ++step) {
    const std::size_t a = pick(), b = pick(), c = pick();
    const double k = 0.25 + 0.125 * double(rng() % 5);
    switch (rng() % 10) {
      case 0: v[a] += v[b] * k; break;
      case 1: v[a] -= sin(v[b]) * k; break;
      case 2: v[a] = v[b]; break;
      case 3: v[a] += v[a]; break;
      case 4: v[a] += v[a] * v[b] * 0.5; break;
      case 5: { T tmp = v[a]; v[a] += v[b] * k; v[b] = tmp * k + v[b]; } break;
      case 6: v[a] = v[b] * v[c] * k; break;
      case 7: v[a] += k; v[a] -= 0.5 * k; break;
      case 8: v[a] -= v[b]; break;
      default: kept.push_back(v[a]); v[a] += v[c] * k; break;
    }
    for (T& t : v) t = sin(t) * 1.5;  // keep the values bounded (and record a new statement each)
    if (rng() % 3 == 0) v[a] += v[b] * k;  // an accumulation into the fresh statement
  }
  T y = 0.0;
  for (const T& t : v) y += t;
  for (const T& t : kept) y += t * 0.5;
  return y;
}

TEST(ScalarMergeRandom, ProgramsAgreeWithForwardMode) {
  for (unsigned seed = 1; seed <= 200; ++seed) {
    const double x0 = 0.3 + 0.01 * seed, x1 = -0.7;
    Tape tape;
    TapeScope scope(tape);
    const Var a = tape.variable(x0), b = tape.variable(x1);
    const Var y = random_program(a, b, seed);
    tape.backward(y);
    const nabla::Dual d0 = random_program(nabla::Dual(x0, 1.0), nabla::Dual(x1, 0.0), seed);
    const nabla::Dual d1 = random_program(nabla::Dual(x0, 0.0), nabla::Dual(x1, 1.0), seed);
    ASSERT_DOUBLE_EQ(y.value(), d0.value()) << seed;
    ASSERT_NEAR(tape.adjoint(a), d0.tangent(), 1e-12 * (1.0 + std::fabs(d0.tangent()))) << seed;
    ASSERT_NEAR(tape.adjoint(b), d1.tangent(), 1e-12 * (1.0 + std::fabs(d1.tangent()))) << seed;
  }
}
}  // namespace
