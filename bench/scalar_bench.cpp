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
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <nabla/scalar/var.h>

namespace {

using Clock = std::chrono::steady_clock;

double median_seconds(int repeats, const std::function<void()>& body) {
  std::vector<double> t;
  body();  // warm-up: page in buffers, grow tapes
  for (int r = 0; r < repeats; ++r) {
    const auto start = Clock::now();
    body();
    t.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
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

template <class T, class V>
T rosenbrock(const V& x) {
  T f = 0.0;
  for (std::size_t i = 0; i + 1 < kRosenbrockN; i += 2) {
    T t = x[i + 1] - x[i] * x[i];
    T u = 1.0 - x[i];
    f += 100.0 * (t * t) + u * u;
  }
  return f;
}

std::vector<double> rosenbrock_gradient(const std::vector<double>& x) {
  std::vector<double> g(x.size(), 0.0);
  for (std::size_t i = 0; i + 1 < x.size(); i += 2) {
    const double t = x[i + 1] - x[i] * x[i];
    g[i] = -400.0 * t * x[i] - 2.0 * (1.0 - x[i]);
    g[i + 1] = 200.0 * t;
  }
  return g;
}

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

struct Row {
  std::string workload;
  double primal_s = 0, var_s = 0, adolc_s = 0, hand_s = 0;
  std::size_t var_ops = 0, adolc_ops = 0;
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
std::vector<double> var_gradient(const std::vector<double>& x, F&& f, std::size_t* ops) {
  nabla::Tape& tape = nabla::Tape::active();
  tape.reset();
  static thread_local std::vector<nabla::Var> xs;
  xs.resize(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) xs[i] = tape.variable(x[i]);
  const nabla::Var y = f(xs);
  tape.backward(y);
  std::vector<double> g(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) g[i] = tape.adjoint(xs[i]);
  *ops = tape.size() - nabla::Tape::kFirstIndex - x.size();
  return g;
}

/// Gradient by ADOL-C: trace with keep=1 (Taylor values kept), then one first-order reverse sweep.
template <class F>
std::vector<double> adolc_gradient(const std::vector<double>& x, F&& f, std::size_t* ops) {
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
  *ops = stats[NUM_OPERATIONS];
  return g;
}

void print_row(const Row& r) {
  const double var_ratio = r.var_s / r.primal_s, adolc_ratio = r.adolc_s / r.primal_s;
  std::printf("| %-10s | %9.2f | %9.2f | %9.1f | %12.1f | %11.1f | %10.1f | %9.2f | %9.1f | %13zu | %9.1e | %9.1e |\n",
              r.workload.c_str(), r.primal_s * 1e3, r.var_s * 1e3, r.adolc_s * 1e3, var_ratio, adolc_ratio,
              r.adolc_s / r.var_s, r.var_s * 1e9 / double(r.var_ops), r.adolc_s * 1e9 / double(r.adolc_ops), r.var_ops,
              r.var_err, r.adolc_err);
}

}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::atoi(argv[1]) : 11;
  const int adolc_repeats = std::max(3, repeats / 3);
  std::vector<Row> rows;

  {  // chain
    Row r{"chain"};
    const std::vector<double> x{0.4, 1.3, 0.2};
    r.primal_s = median_seconds(repeats, [&] { g_sink = chain(x[0], x[1], x[2]); });
    ChainAdjoint adj;
    std::vector<double> ref(3);
    r.hand_s = median_seconds(repeats, [&] { ref[0] = adj.gradient(x[0], x[1], x[2], &ref[1], &ref[2]); });
    auto f_var = [](const std::vector<nabla::Var>& v) { return chain(v[0], v[1], v[2]); };
    std::vector<double> g;
    r.var_s = median_seconds(repeats, [&] { g = var_gradient(x, f_var, &r.var_ops); });
    r.var_err = max_rel_error(g, ref);
    auto f_adolc = [](const std::vector<adouble>& v) { return chain<adouble>(v[0], v[1], v[2]); };
    std::vector<double> ga;
    r.adolc_s = median_seconds(adolc_repeats, [&] { ga = adolc_gradient(x, f_adolc, &r.adolc_ops); });
    r.adolc_err = max_rel_error(ga, ref);
    rows.push_back(r);
  }
  {  // rosenbrock
    Row r{"rosenbrock"};
    std::vector<double> x(kRosenbrockN);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = (i % 2 == 0) ? -1.2 + 1e-6 * double(i) : 1.0 - 1e-6 * double(i);
    r.primal_s = median_seconds(repeats, [&] { g_sink = rosenbrock<double>(x); });
    const auto ref = rosenbrock_gradient(x);
    std::vector<double> g;
    r.var_s = median_seconds(repeats, [&] {
      g = var_gradient(x, [](const std::vector<nabla::Var>& v) { return rosenbrock<nabla::Var>(v); }, &r.var_ops);
    });
    r.var_err = max_rel_error(g, ref);
    std::vector<double> ga;
    r.adolc_s = median_seconds(adolc_repeats, [&] {
      ga = adolc_gradient(x, [](const std::vector<adouble>& v) { return rosenbrock<adouble>(v); }, &r.adolc_ops);
    });
    r.adolc_err = max_rel_error(ga, ref);
    rows.push_back(r);
  }
  {  // logistic regression
    Row r{"logistic"};
    const Data d = make_data();
    std::vector<double> w(kCols + 1);
    for (std::size_t j = 0; j < w.size(); ++j) w[j] = 0.05 * std::sin(double(j));
    r.primal_s = median_seconds(repeats, [&] { g_sink = logistic_nll<double>(w, d); });
    const auto ref = logistic_gradient(w, d);
    std::vector<double> g;
    r.var_s = median_seconds(repeats, [&] {
      g = var_gradient(w, [&](const std::vector<nabla::Var>& v) { return logistic_nll<nabla::Var>(v, d); }, &r.var_ops);
    });
    r.var_err = max_rel_error(g, ref);
    std::vector<double> ga;
    r.adolc_s = median_seconds(adolc_repeats, [&] {
      ga = adolc_gradient(w, [&](const std::vector<adouble>& v) { return logistic_nll<adouble>(v, d); }, &r.adolc_ops);
    });
    r.adolc_err = max_rel_error(ga, ref);
    rows.push_back(r);
  }

  std::printf("| workload   | primal ms | nabla ms  | ADOL-C ms | nabla/primal | ADOL-C/primal | ADOL-C/nabla | nabla ns/op | ADOL-C ns/op | nabla ops | nabla err | ADOL-C err |\n");
  std::printf("|------------|-----------|-----------|-----------|--------------|---------------|--------------|-------------|--------------|---------------|-----------|-----------|\n");
  for (const Row& r : rows) print_row(r);
  std::printf("\nchain: hand-written adjoint %.2f ms = %.2fx primal\n", rows[0].hand_s * 1e3, rows[0].hand_s / rows[0].primal_s);
  std::printf("nabla tape: %zu bytes per recorded op (%zu-byte entry: two partials, two argument indices; %zu-byte adjoint)\n",
              nabla::Tape::bytes_per_entry(), sizeof(nabla::TapeEntry), sizeof(double));
  std::printf("errors: max |g - g_analytic| / max |g_analytic|; ops: recorded operations (ADOL-C: its own op count, chain %zu, rosenbrock %zu, logistic %zu)\n",
              rows[0].adolc_ops, rows[1].adolc_ops, rows[2].adolc_ops);
  std::printf("median of %d repeats (ADOL-C: %d)\n", repeats, adolc_repeats);
  return 0;
}
