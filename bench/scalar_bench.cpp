// Scalar tape benchmark: three workloads as plain double, as nabla::Var gradient (record + reverse)
// and as ADOL-C's tape-based gradient, in the same run, on one core. Prints a Markdown table.
//
//   chain       1,000,000 mixed elementary ops (mul, add, sin, square, add const, log, exp, sqrt, div, tanh)
//   rosenbrock  extended Rosenbrock function of 100,000 inputs
//   logistic    negative log-likelihood of logistic regression, 2,000 x 50 data, scalar ops
//
// Each gradient is checked against a hand-written analytic gradient (the chain's is a hand-written
// adjoint, also timed, as the lower bound an operator-overloading tool is compared with).
#include <adolc/adolc.h>

#include <algorithm>
#include <ctime>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <nabla/scalar/var.h>

#include "rosenbrock.h"

namespace {

/// CPU time of the calling thread (user + system, page faults included). The machine is shared:
/// wall time would also count the time other jobs hold the core; CPU time does not.
double thread_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

/// Median times of several variants of one workload, measured interleaved (variant 0, 1, 2, 0, 1,
/// 2, ...) so that a change in the machine's load hits them alike; one warm-up run each first.
std::vector<double> interleaved_medians(int repeats, const std::vector<std::function<void()>>& bodies) {
  std::vector<std::vector<double>> t(bodies.size());
  for (const auto& body : bodies) body();  // warm-up: page in buffers, grow tapes
  for (int r = 0; r < repeats; ++r)
    for (std::size_t v = 0; v < bodies.size(); ++v) {
      const double start = thread_seconds();
      bodies[v]();
      t[v].push_back(thread_seconds() - start);
    }
  std::vector<double> medians;
  for (auto& tv : t) {
    std::sort(tv.begin(), tv.end());
    medians.push_back(tv[tv.size() / 2]);
  }
  return medians;
}

volatile double g_sink = 0.0;

// ---------------------------------------------------------------------------------------------
// workloads, generic over double, nabla::Var and adouble

constexpr long kChainOps = 1000000;
constexpr int kChainOpsPerRound = 10;

template <class T>
T chain(const T& x0, const T& a, const T& b) {
  using std::exp;
  using std::log;
  using std::sin;
  using std::sqrt;
  using std::tanh;
  T y = x0;
  for (long i = 0; i < kChainOps / kChainOpsPerRound; ++i) {
    y = y * a;      // mul
    y = y + b;      // add
    y = sin(y);     // sin
    y = y * y;      // square, in [0, 1]
    y = y + 1.0;    // add constant, in [1, 2]
    y = log(y);     // log
    y = exp(y);     // exp, back in [1, 2]
    y = sqrt(y);    // sqrt
    y = y / a;      // div
    y = tanh(y);    // tanh
  }
  return y;
}

// The hand-written adjoint of chain: forward pass keeping what the reverse pass needs, then reverse.
struct ChainAdjoint {
  std::vector<double> y;  // the value entering each round
  double gradient(double x0, double a, double b, double* ga, double* gb) {
    const long rounds = kChainOps / kChainOpsPerRound;
    y.resize(static_cast<std::size_t>(rounds) + 1);
    double v = x0;
    for (long i = 0; i < rounds; ++i) {
      y[static_cast<std::size_t>(i)] = v;
      double t = std::sin(v * a + b);
      t = std::sqrt(std::exp(std::log(t * t + 1.0)));
      v = std::tanh(t / a);
    }
    double gy = 1.0, sa = 0.0, sb = 0.0;
    for (long i = rounds - 1; i >= 0; --i) {
      const double y0 = y[static_cast<std::size_t>(i)];
      const double u = y0 * a + b;
      const double s = std::sin(u), c = std::cos(u);
      const double q = s * s + 1.0;        // y after add constant
      const double r = std::sqrt(q);       // after log, exp, sqrt
      const double th = std::tanh(r / a);
      double g = gy * (1.0 - th * th);      // through tanh
      sa += g * (-r / (a * a));             // div by a
      g /= a;
      g *= 0.5 / r;                         // sqrt (of exp(log(q)) = q)
      g *= q;                               // exp: value q
      g /= q;                               // log
      g *= 2.0 * s;                         // square
      g *= c;                               // sin
      sb += g;                              // add b
      sa += g * y0;                         // mul by a
      gy = g * a;
    }
    *ga = sa;
    *gb = sb;
    return gy;
  }
};

constexpr std::size_t kRosenbrockN = 100000;

using nabla::workloads::rosenbrock;
using nabla::workloads::rosenbrock_gradient;

constexpr std::size_t kRows = 2000, kCols = 50;

struct Data {
  std::vector<double> x;  // kRows x kCols, row-major
  std::vector<double> y;  // 0 or 1
};

Data make_data() {
  std::mt19937_64 rng(42);
  std::normal_distribution<double> normal(0.0, 1.0);
  Data d;
  d.x.resize(kRows * kCols);
  d.y.resize(kRows);
  for (auto& v : d.x) v = normal(rng);
  for (std::size_t i = 0; i < kRows; ++i) {
    double z = 0.0;
    for (std::size_t j = 0; j < kCols; ++j) z += d.x[i * kCols + j] * (j % 3 == 0 ? 0.5 : -0.2);
    d.y[i] = (z + 0.3 * normal(rng)) > 0.0 ? 1.0 : 0.0;
  }
  return d;
}

// Parameters: kCols weights then the bias.
template <class T, class V>
T logistic_nll(const V& w, const Data& d) {
  using std::exp;
  using std::log;
  T nll = 0.0;
  for (std::size_t i = 0; i < kRows; ++i) {
    T z = w[kCols];
    for (std::size_t j = 0; j < kCols; ++j) z += w[j] * d.x[i * kCols + j];
    nll += log(1.0 + exp(z)) - d.y[i] * z;
  }
  return nll;
}

std::vector<double> logistic_gradient(const std::vector<double>& w, const Data& d) {
  std::vector<double> g(kCols + 1, 0.0);
  for (std::size_t i = 0; i < kRows; ++i) {
    double z = w[kCols];
    for (std::size_t j = 0; j < kCols; ++j) z += w[j] * d.x[i * kCols + j];
    const double r = 1.0 / (1.0 + std::exp(-z)) - d.y[i];
    for (std::size_t j = 0; j < kCols; ++j) g[j] += r * d.x[i * kCols + j];
    g[kCols] += r;
  }
  return g;
}

// ---------------------------------------------------------------------------------------------
// drivers

/// ADOL-C's tape statistics of the last recording (to show that it stayed in memory).
struct AdolcStats {
  std::size_t ops = 0, locations = 0, values = 0, taylors = 0;
  bool file = false;  // operations, locations or values written to a file
};

struct Row {
  std::string workload;
  double primal_s = 0, var_s = 0, adolc_s = 0, hand_s = 0, adolc_retained_s = 0;
  std::size_t ops = 0;                      // elementary operations of the workload (as plain code has them)
  std::size_t var_statements = 0, var_args = 0, var_bytes = 0;
  AdolcStats adolc;
  double var_err = 0, adolc_err = 0;
};

double max_rel_error(const std::vector<double>& g, const std::vector<double>& ref) {
  double scale = 0.0, err = 0.0;
  for (double v : ref) scale = std::max(scale, std::fabs(v));
  for (std::size_t i = 0; i < g.size(); ++i) err = std::max(err, std::fabs(g[i] - ref[i]));
  return err / std::max(scale, 1e-300);
}

/// Gradient by nabla::Var on the thread's tape, reset each time (the steady state of an optimizer loop).
template <class F>
std::vector<double> var_gradient(const std::vector<double>& x, F&& f, Row* row) {
  nabla::Tape& tape = nabla::Tape::active();
  tape.reset();
  static thread_local std::vector<nabla::Var> xs;
  xs.resize(x.size());
  tape.variables(x, xs);
  const nabla::Var y = f(xs);
  tape.backward(y);
  std::vector<double> g = tape.adjoints(xs);
  row->var_statements = tape.size() - nabla::Tape::kFirstIndex - x.size();
  row->var_args = tape.argument_count();
  row->var_bytes = tape.bytes_used();
  return g;
}

/// Gradient by ADOL-C: trace with keep=1 (Taylor values kept), then one first-order reverse sweep.
template <class F>
std::vector<double> adolc_gradient(const std::vector<double>& x, F&& f, AdolcStats* st) {
  const short tag = 1;
  const int n = static_cast<int>(x.size());
  trace_on(tag, 1);
  std::vector<adouble> xs(x.size());
  for (int i = 0; i < n; ++i) xs[static_cast<std::size_t>(i)] <<= x[static_cast<std::size_t>(i)];
  adouble y = f(xs);
  double out = 0.0;
  y >>= out;
  trace_off();
  std::vector<double> g(x.size());
  double u = 1.0;
  fos_reverse(tag, 1, n, &u, g.data());
  size_t stats[STAT_SIZE];
  tapestats(tag, stats);
  st->ops = stats[NUM_OPERATIONS];
  st->locations = stats[NUM_LOCATIONS];
  st->values = stats[NUM_VALUES];
  st->taylors = stats[TAY_STACK_SIZE];
  st->file = stats[OP_FILE_ACCESS] || stats[LOC_FILE_ACCESS] || stats[VAL_FILE_ACCESS];
  return g;
}

/// ADOL-C's gradient() driver (zos_forward + fos_reverse) on the tape adolc_gradient recorded last,
/// at x: no retaping. Valid only while the function's control flow does not depend on x; shown
/// for context, not as the comparison the issue asks for (which includes taping).
std::vector<double> adolc_retained_gradient(const std::vector<double>& x) {
  std::vector<double> g(x.size());
  gradient(1, static_cast<int>(x.size()), x.data(), g.data());
  return g;
}

void print_row(const Row& r) {
  const double var_ratio = r.var_s / r.primal_s, adolc_ratio = r.adolc_s / r.primal_s;
  std::printf("| %-10s | %9.2f | %9.2f | %9.1f | %12.1f | %13.1f | %12.1f | %11.2f | %12.1f | %9zu | %10zu | %9zu | %9.1f | %9.1e | %10.1e |\n",
              r.workload.c_str(), r.primal_s * 1e3, r.var_s * 1e3, r.adolc_s * 1e3, var_ratio, adolc_ratio,
              r.adolc_s / r.var_s, r.var_s * 1e9 / double(r.ops), r.adolc_s * 1e9 / double(r.adolc.ops), r.ops,
              r.var_statements, r.var_args, double(r.var_bytes) / double(r.ops), r.var_err, r.adolc_err);
}

}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::atoi(argv[1]) : 11;
  std::vector<Row> rows;

  {  // chain
    Row r{"chain"};
    r.ops = kChainOps;
    const std::vector<double> x{0.4, 1.3, 0.2};
    ChainAdjoint adj;
    std::vector<double> ref(3), g, ga, gr;
    auto f_var = [](const std::vector<nabla::Var>& v) { return chain(v[0], v[1], v[2]); };
    auto f_adolc = [](const std::vector<adouble>& v) { return chain<adouble>(v[0], v[1], v[2]); };
    const auto t = interleaved_medians(repeats, {
        [&] { g_sink = chain(x[0], x[1], x[2]); },
        [&] { ref[0] = adj.gradient(x[0], x[1], x[2], &ref[1], &ref[2]); },
        [&] { g = var_gradient(x, f_var, &r); },
        [&] { ga = adolc_gradient(x, f_adolc, &r.adolc); },
        [&] { gr = adolc_retained_gradient(x); },
    });
    r.primal_s = t[0], r.hand_s = t[1], r.var_s = t[2], r.adolc_s = t[3], r.adolc_retained_s = t[4];
    r.var_err = max_rel_error(g, ref);
    r.adolc_err = std::max(max_rel_error(ga, ref), max_rel_error(gr, ref));
    rows.push_back(r);
  }
  {  // rosenbrock
    Row r{"rosenbrock"};
    r.ops = kRosenbrockN / 2 * 8;  // per pair: x*x, -, 1-x, t*t, 100*, u*u, +, +=
    const std::vector<double> x = nabla::workloads::rosenbrock_start(kRosenbrockN);
    const auto ref = rosenbrock_gradient(x);
    std::vector<double> g, ga, gr;
    const auto t = interleaved_medians(repeats, {
        [&] { g_sink = rosenbrock<double>(x); },
        [&] { g = var_gradient(x, [](const std::vector<nabla::Var>& v) { return rosenbrock<nabla::Var>(v); }, &r); },
        [&] { ga = adolc_gradient(x, [](const std::vector<adouble>& v) { return rosenbrock<adouble>(v); }, &r.adolc); },
        [&] { gr = adolc_retained_gradient(x); },
    });
    r.primal_s = t[0], r.var_s = t[1], r.adolc_s = t[2], r.adolc_retained_s = t[3];
    r.var_err = max_rel_error(g, ref);
    r.adolc_err = std::max(max_rel_error(ga, ref), max_rel_error(gr, ref));
    rows.push_back(r);
  }
  {  // logistic regression
    Row r{"logistic"};
    r.ops = kRows * (2 * kCols + 6);  // per row: kCols (mul, add), exp, 1+, log, y*z, -, +=
    const Data d = make_data();
    std::vector<double> w(kCols + 1);
    for (std::size_t j = 0; j < w.size(); ++j) w[j] = 0.05 * std::sin(double(j));
    const auto ref = logistic_gradient(w, d);
    std::vector<double> g, ga, gr;
    const auto t = interleaved_medians(repeats, {
        [&] { g_sink = logistic_nll<double>(w, d); },
        [&] { g = var_gradient(w, [&](const std::vector<nabla::Var>& v) { return logistic_nll<nabla::Var>(v, d); }, &r); },
        [&] { ga = adolc_gradient(w, [&](const std::vector<adouble>& v) { return logistic_nll<adouble>(v, d); }, &r.adolc); },
        [&] { gr = adolc_retained_gradient(w); },
    });
    r.primal_s = t[0], r.var_s = t[1], r.adolc_s = t[2], r.adolc_retained_s = t[3];
    r.var_err = max_rel_error(g, ref);
    r.adolc_err = std::max(max_rel_error(ga, ref), max_rel_error(gr, ref));
    rows.push_back(r);
  }

  std::printf("| workload   | primal ms | nabla ms  | ADOL-C ms | nabla/primal | ADOL-C/primal | ADOL-C/nabla | nabla ns/op | ADOL-C ns/op |       ops | statements | arguments | bytes/op | nabla err | ADOL-C err |\n");
  std::printf("|------------|----------:|----------:|----------:|-------------:|--------------:|-------------:|------------:|-------------:|----------:|-----------:|----------:|---------:|----------:|-----------:|\n");
  for (const Row& r : rows) print_row(r);
  std::printf("\nchain: hand-written adjoint %.2f ms = %.2fx primal\n", rows[0].hand_s * 1e3, rows[0].hand_s / rows[0].primal_s);
  std::printf("ADOL-C gradient() on the retained tape (zos_forward + fos_reverse, no retaping): chain %.2f ms, rosenbrock %.2f ms, logistic %.2f ms\n",
              rows[0].adolc_retained_s * 1e3, rows[1].adolc_retained_s * 1e3, rows[2].adolc_retained_s * 1e3);
  std::printf("nabla tape: %zu bytes per statement (argument start offset, adjoint) + %zu per argument (partial, index)\n",
              nabla::Tape::bytes_per_statement(), nabla::Tape::bytes_per_argument());
  std::printf("ops: elementary operations of the workload; nabla ns/op and bytes/op are per elementary op; ADOL-C ns/op per ADOL-C's own op count (chain %zu, rosenbrock %zu, logistic %zu)\n",
              rows[0].adolc.ops, rows[1].adolc.ops, rows[2].adolc.ops);
  for (const Row& r : rows)
    std::printf("ADOL-C tape %s: %zu operations, %zu locations, %zu values, Taylor stack %zu; %s\n", r.workload.c_str(),
                r.adolc.ops, r.adolc.locations, r.adolc.values, r.adolc.taylors,
                r.adolc.file ? "WRITTEN TO FILES (buffers too small: see bench/run_scalar.sh)" : "kept in memory");
  std::printf("errors: max |g - g_analytic| / max |g_analytic| (ADOL-C: the worse of taped and retained)\n");
  std::printf("times: median thread CPU time of %d interleaved repeats after one warm-up\n", repeats);
  return 0;
}
