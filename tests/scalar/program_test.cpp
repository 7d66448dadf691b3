// Scalar programs: parsing (and its caret errors), binding, gradients in three modes, the trace,
// NaN/Inf reporting, and the DOT/Mermaid export shared with tensor graphs.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nabla/core/tensor.h>
#include <nabla/ops/arithmetic.h>
#include <nabla/ops/linalg.h>
#include <nabla/ops/reduction.h>
#include <nabla/ops/unary.h>
#include <nabla/scalar/graph_export.h>
#include <nabla/scalar/program.h>

namespace {

using nabla::scalar::GradMode;
using nabla::scalar::Program;
using nabla::scalar::ProgramError;

const char* kShop = "p = apple * n; total = p * tax";

TEST(ScalarProgram, ShopExampleInAllModes) {
  const Program p = Program::parse(kShop);
  EXPECT_EQ(p.inputs(), (std::vector<std::string>{"apple", "n", "tax"}));
  EXPECT_EQ(p.output_name(), "total");
  const auto bound = nabla::scalar::bind_inputs(p, {"tax=1.1", "apple=100", "n=2"});
  EXPECT_EQ(bound.values, (std::vector<double>{100.0, 2.0, 1.1}));
  EXPECT_EQ(bound.order, (std::vector<std::int32_t>{2, 0, 1}));
  for (GradMode mode : {GradMode::Reverse, GradMode::Forward, GradMode::Numeric}) {
    SCOPED_TRACE(std::string(nabla::scalar::grad_mode_name(mode)));
    const auto r = nabla::scalar::program_gradient(p, bound.values, mode);
    const double tol = mode == GradMode::Numeric ? 1e-6 : 1e-12;
    EXPECT_NEAR(r.value, 220.0, 1e-12);
    EXPECT_NEAR(r.grad[0], 2.2, tol);
    EXPECT_NEAR(r.grad[1], 110.0, tol * 100);
    EXPECT_NEAR(r.grad[2], 200.0, tol * 100);
  }
}

TEST(ScalarProgram, GrammarPrecedenceFunctionsAndComments) {
  struct Case {
    const char* source;
    std::vector<std::string> args;
    double value;
  };
  const std::vector<Case> cases{
      {"y = 1 + 2 * 3 ^ 2", {}, 19.0},
      {"y = -x^2", {"x=3"}, -9.0},
      {"y = 2^3^2", {}, 512.0},
      {"y = (1 + 2) * 3 - 4 / 8", {}, 8.5},
      {"y = 1e-3 * 2E2 + .5", {}, 0.7},
      {"a = x * 2\n# a comment\nb = a + 1   # trailing\ny = max(a, b) - min(a, pow(b, 2))", {"x=1"}, 1.0},
      {"y = abs(-x) + relu(x - 5) + sigmoid(0) + tanh(0) + tan(0) + cos(0) + sin(0) + exp(0) + log(1) + sqrt(4)",
       {"x=2"}, 2.0 + 0.0 + 0.5 + 0 + 0 + 1 + 0 + 1 + 0 + 2},
      {"x * y", {"x=3", "y=4"}, 12.0},
      {"y = x;;; z = y * y;", {"x=-1.5"}, 2.25},
      // A function's name is a variable where it is not called (programs written before a function
      // of that name existed keep working).
      {"round * 2 + erf", {"round=3", "erf=1"}, 7.0},
      {"sin = 3; y = sin(sin) + sin", {}, std::sin(3.0) + 3.0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.source);
    const Program p = Program::parse(c.source);
    const auto b = nabla::scalar::bind_inputs(p, c.args);
    EXPECT_NEAR(p.evaluate_output<double>(b.values), c.value, 1e-12);
  }
  EXPECT_EQ(Program::parse("x * y").output_name(), "output");
}

// Every function through the program, reverse vs forward vs numeric, at a few points.
TEST(ScalarProgram, EveryFunctionAgreesAcrossModes) {
  const std::vector<std::string> programs{
      "y = exp(x) * a",  "y = log(x) * a",  "y = sqrt(x) * a", "y = sin(x) * a", "y = cos(x) * a",
      "y = tan(x) * a",  "y = tanh(x) * a", "y = sigmoid(x * a)", "y = relu(x - a)", "y = abs(x - a)",
      "y = pow(x, a)",   "y = x ^ a",       "y = max(x, a)",   "y = min(x, a)",   "y = x / a - a / x",
      "y = -x * a + x - a",
      "y = asin(x / 2) * a", "y = acos(x / 2) * a", "y = atan(x) * a", "y = sinh(x) * a", "y = cosh(x) * a",
      "y = asinh(x) * a", "y = acosh(x + 1) * a", "y = atanh(x / 2) * a", "y = log1p(x) * a", "y = expm1(x) * a",
      "y = log2(x) * a", "y = log10(x) * a", "y = exp2(x) * a", "y = cbrt(x - 1) * a", "y = erf(x) * a",
      "y = erfc(x) * a", "y = floor(3 * x) * x * a", "y = ceil(3 * x) * x * a", "y = round(3 * x) * x * a",
      "y = trunc(3 * x) * x * a", "y = atan2(x, a)", "y = atan2(a, -x)", "y = hypot(x, a)",
  };
  for (const auto& src : programs) {
    for (double x : {0.4, 1.3}) {
      SCOPED_TRACE(src + " at x=" + std::to_string(x));
      const Program p = Program::parse(src);
      const std::vector<double> in = p.inputs()[0] == "x" ? std::vector<double>{x, 0.9} : std::vector<double>{0.9, x};
      const auto r = nabla::scalar::program_gradient(p, in, GradMode::Reverse);
      const auto f = nabla::scalar::program_gradient(p, in, GradMode::Forward);
      const auto n = nabla::scalar::program_gradient(p, in, GradMode::Numeric);
      for (std::size_t i = 0; i < in.size(); ++i) {
        EXPECT_NEAR(f.grad[i], r.grad[i], 1e-14 * (1 + std::fabs(r.grad[i])));
        EXPECT_NEAR(n.grad[i], r.grad[i], 1e-7 * (1 + std::fabs(r.grad[i])));
      }
    }
  }
}

struct ErrorCase {
  std::string source;
  std::vector<std::string> args;
  std::string message;      // a part of the message
  std::size_t position;     // byte offset of the caret
  bool in_program = true;   // caret in the program (else in the argument)
};

TEST(ScalarProgram, ErrorsCarryACaretAndEvaluateNothing) {
  const std::vector<ErrorCase> cases{
      {"p = apple * (n; total = p * tax", {}, "expected ')' to close the '(' at column 13, found ';'", 14},
      {"y = sinn(x)", {}, "unknown function 'sinn'", 4},
      {"y = x +", {}, "expected a number, a name or '(', found the end of the program", 7},
      {"y = x $ 2", {}, "unexpected character '$'", 6},
      {"y = 1.2.3", {}, "malformed number", 4},
      {"y = 2x", {}, "malformed number '2x'", 4},
      {"y = pow(x)", {}, "pow takes 2 arguments, got 1", 9},
      {"y = sin(x, 2)", {}, "sin takes 1 argument, got 2", 11},
      {"y = sin * 2", {}, "no value for input 'sin'; pass sin=VALUE (or, to call the function, write sin(...))", 4},
      {"y = x; y = 2", {}, "'y' is already defined", 7},
      {"y = x * 2; x = 3", {}, "'x' is used as an input", 11},
      {"x * 2; y = 3", {}, "only the last statement may be a bare expression", 0},
      {"", {}, "the program is empty", 0},
      {"y = x x", {}, "expected ';' or a new line after the statement, found 'x'", 6},
      {"y = 2 x", {}, "found 'x' (is an operator missing? write '2 * x', not '2 x')", 6},
      {"y = cos x", {}, "found 'x' (to call cos, write cos(...))", 8},
      {"y = x (x + 1)", {}, "unknown function 'x' (known: abs, ", 4},
      {"y = x (x + 1)", {}, "for a product write 'x * (...)'", 4},
      {"a = 1\nb = a +* 2", {}, "unexpected '*'; expected a number, a name or '('", 13},
      {"y = x * z", {"x=1"}, "no value for input 'z'; pass z=VALUE", 8},
      {"y = x * 2", {"x=1", "q=2"}, "unknown name 'q': it is not an input of the program (its inputs: x)", 0, false},
      {"y = x * 2", {"x=1", "x=2"}, "input 'x' is given twice", 0, false},
      {"y = x * 2", {"x=1.5abc"}, "the value of 'x' is not a number: '1.5abc'", 5, false},
      {"y = x * 2", {"x"}, "an input value is written name=value", 1, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.source);
    try {
      const Program p = Program::parse(c.source);
      nabla::scalar::bind_inputs(p, c.args);
      ADD_FAILURE() << "expected a ProgramError";
    } catch (const ProgramError& e) {
      EXPECT_NE(e.message().find(c.message), std::string::npos) << e.message();
      EXPECT_EQ(e.position(), c.position) << e.what();
      EXPECT_EQ(e.source(), c.in_program ? c.source : c.args.back());
    }
  }
}

TEST(ScalarProgram, CaretLinesUpUnderTheProblem) {
  try {
    Program::parse("a = 1\nb = a +* 2");
    FAIL();
  } catch (const ProgramError& e) {
    EXPECT_EQ(std::string(e.what()),
              "error: unexpected '*'; expected a number, a name or '(' (line 2, column 8)\n"
              "  b = a +* 2\n"
              "         ^");
    EXPECT_EQ(e.line_column(), (std::pair<std::size_t, std::size_t>{2, 8}));
  }
  EXPECT_THROW(Program::parse(std::string(500, '(') + "x" + std::string(500, ')')), ProgramError);
}

TEST(ScalarProgram, TraceHoldsValuesLocalUpstreamAndDownstreamGradients) {
  const Program p = Program::parse(kShop);
  const auto t = nabla::scalar::trace_program(p, {100.0, 2.0, 1.1});
  ASSERT_EQ(t.nodes.size(), 5u);  // apple, n, p, tax, total
  const auto& mul1 = t.nodes[2];
  EXPECT_EQ(mul1.name, "p");
  EXPECT_EQ(mul1.args, (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(mul1.value, 200.0);
  EXPECT_EQ(mul1.local, (std::vector<double>{2.0, 100.0}));
  EXPECT_DOUBLE_EQ(mul1.upstream, 1.1);
  EXPECT_DOUBLE_EQ(mul1.downstream[0], 2.2);
  EXPECT_DOUBLE_EQ(mul1.downstream[1], 110.0);
  EXPECT_EQ(t.nodes[4].name, "total");
  EXPECT_EQ(t.nodes[4].upstream, 1.0);
  EXPECT_DOUBLE_EQ(t.nodes[0].upstream, 2.2);
  EXPECT_DOUBLE_EQ(t.nodes[3].upstream, 200.0);
  const std::string table = nabla::scalar::format_trace_table(t);
  EXPECT_EQ(table,
            "id  node   op     inputs    value  local grads  upstream  downstream\n"
            "0   apple  input  -         100    -            2.2       -\n"
            "1   n      input  -         2      -            110       -\n"
            "2   p      mul    apple, n  200    2, 100       1.1       2.2, 110\n"
            "3   tax    input  -         1.1    -            200       -\n"
            "4   total  mul    p, tax    220    1.1, 200     1         1.1, 200\n");
}

TEST(ScalarProgram, NonFiniteValuesAndGradientsNameTheirNode) {
  const Program p = Program::parse("a = x * 2; b = log(a - 3); y = b + sqrt(x)");
  const auto t = nabla::scalar::trace_program(p, {1.0});
  const auto bad = nabla::scalar::find_non_finite(p, t);
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->message, "node b 'log(a - 3)' (log) is nan from finite arguments %4 = -1");
  EXPECT_EQ(bad->position, 15u);
  const Program q = Program::parse("y = sqrt(x) * 3");
  const auto bad_grad = nabla::scalar::find_non_finite(q, nabla::scalar::trace_program(q, {0.0}));
  ASSERT_TRUE(bad_grad.has_value());
  EXPECT_NE(bad_grad->message.find("the gradient became inf at node %1 'sqrt(x)' (sqrt)"), std::string::npos)
      << bad_grad->message;
  EXPECT_FALSE(nabla::scalar::find_non_finite(q, nabla::scalar::trace_program(q, {4.0})).has_value());
}

TEST(ScalarGraph, DotAndMermaidShowValuesForwardAndGradientsBackward) {
  const Program p = Program::parse(kShop);
  const auto g = nabla::scalar::trace_graph(nabla::scalar::trace_program(p, {100.0, 2.0, 1.1}));
  const std::string dot = nabla::to_dot(g);
  EXPECT_EQ(dot.rfind("digraph nabla {\n  rankdir=LR;\n", 0), 0u) << dot;
  EXPECT_NE(dot.find("n2 [label=\"p = mul\\nvalue 200\\ngrad 1.1\", fillcolor=\"#ffffff\"];"), std::string::npos) << dot;
  EXPECT_NE(dot.find("n0 -> n2 [label=\"100\"];"), std::string::npos) << dot;
  EXPECT_NE(dot.find("n0 -> n2 [label=\"2.2\", dir=back, style=dashed"), std::string::npos) << dot;
  EXPECT_NE(dot.find("n4 [label=\"total = mul\\nvalue 220\\ngrad 1\", fillcolor=\"#fde68a\", penwidth=2];"),
            std::string::npos)
      << dot;
  const std::string mermaid = nabla::to_mermaid(g);
  EXPECT_EQ(mermaid.rfind("graph LR\n  n0[\"apple<br/>value 100<br/>grad 2.2\"]\n", 0), 0u) << mermaid;
  EXPECT_NE(mermaid.find("  n0 -->|\"100\"| n2\n"), std::string::npos) << mermaid;
  EXPECT_NE(mermaid.find("  n2 -.->|\"2.2\"| n0\n"), std::string::npos) << mermaid;
}

TEST(ScalarGraph, WriteGraphIsAtomicAndRendersSvg) {
  const auto dir = std::filesystem::temp_directory_path() / ("nabla_graph_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const Program p = Program::parse(kShop);
  const auto g = nabla::scalar::trace_graph(nabla::scalar::trace_program(p, {100.0, 2.0, 1.1}));
  nabla::write_graph(g, dir / "g.dot");
  nabla::write_graph(g, dir / "g.svg");
  nabla::write_graph(g, dir / "g.mmd");
  std::ifstream svg(dir / "g.svg");
  std::stringstream text;
  text << svg.rdbuf();
  EXPECT_NE(text.str().find("<svg"), std::string::npos);
  EXPECT_NE(text.str().find("total = mul"), std::string::npos);
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    ++files;
    EXPECT_EQ(entry.path().string().find(".tmp-"), std::string::npos) << "temporary left behind: " << entry.path();
  }
  EXPECT_EQ(files, 3u);
  EXPECT_THROW(nabla::write_graph(g, dir / "g.txt"), nabla::Error);
  EXPECT_THROW(nabla::write_graph(g, dir / "missing_dir" / "g.svg"), nabla::Error);
  std::filesystem::remove_all(dir);
}

TEST(ScalarGraph, TensorGraphShowsOpsAndShapes) {
  nabla::Tensor w = nabla::tensor(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3}).requires_grad_();
  nabla::Tensor x = nabla::tensor(std::vector<double>{1, 0, -1}, {3, 1});
  nabla::Tensor y = nabla::sum(nabla::relu(nabla::matmul(w, x)));
  const nabla::Graph g = nabla::tensor_graph(y);
  const std::string dot = nabla::to_dot(y);
  EXPECT_EQ(dot, nabla::to_dot(g));
  // sum <- relu <- matmul <- leaf w, then the output node.
  ASSERT_EQ(g.nodes.size(), 5u) << dot;
  EXPECT_EQ(g.nodes[4].label, "output\n[] float64");
  EXPECT_EQ(g.nodes[3].label, "leaf\n[2, 3]");
  EXPECT_NE(dot.find("[2, 1]"), std::string::npos) << dot;  // matmul's output flowing into relu
  EXPECT_NE(dot.find("[2, 3]"), std::string::npos) << dot;
  // A tensor without a graph still draws.
  const nabla::Graph plain = nabla::tensor_graph(x);
  ASSERT_EQ(plain.nodes.size(), 1u);
  EXPECT_NE(plain.nodes[0].label.find("no graph"), std::string::npos);
}

}  // namespace

namespace {

// Robustness: random programs built from the language's own pieces (and stray bytes) either parse or
// throw ProgramError with a position inside the source; parsed ones evaluate in all three types.
TEST(ScalarProgram, RandomProgramsParseOrFailCleanly) {
  const std::vector<std::string> pieces{"x", "y", "a", "=", "+", "-", "*", "/", "^", "(", ")", ",", ";", "\n",
                                        "1", "2.5", "1e-3", "1e", ".", "sin", "max", "pow", "log", " ", "#", "$",
                                        "\xc3\xa9", "sqrt(", "q = ", "y = "};
  std::mt19937 rng(7);
  int parsed = 0, rejected = 0;
  for (int n = 0; n < 3000; ++n) {
    std::string src = (n % 2 == 0) ? "y = " : "";
    const int len = 1 + static_cast<int>(rng() % 12);
    for (int k = 0; k < len; ++k) src += pieces[rng() % pieces.size()];
    try {
      const Program p = Program::parse(src);
      ++parsed;
      std::vector<double> in(p.inputs().size(), 0.75);
      const double v = p.evaluate_output<double>(in);
      const auto r = nabla::scalar::program_gradient(p, in, GradMode::Reverse);
      const auto f = nabla::scalar::program_gradient(p, in, GradMode::Forward);
      if (std::isfinite(v)) {
        EXPECT_EQ(r.value, v) << src;
        for (std::size_t i = 0; i < in.size(); ++i)
          if (std::isfinite(r.grad[i])) EXPECT_NEAR(f.grad[i], r.grad[i], 1e-9 * (1 + std::fabs(r.grad[i]))) << src;
      }
      (void)nabla::scalar::format_trace_table(nabla::scalar::trace_program(p, in));
    } catch (const ProgramError& e) {
      ++rejected;
      EXPECT_LE(e.position(), src.size()) << src;
      EXPECT_NE(std::string(e.what()).find('^'), std::string::npos);
    }
  }
  EXPECT_GT(parsed, 100);
  EXPECT_GT(rejected, 100);
}

}  // namespace
