// `nabla grad` end to end: the binary is run as a user would, and its output checked exactly.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/process.h"

namespace {

using nabla::test::slurp;
using Result = nabla::test::ProcessResult;

Result nabla(const std::vector<std::string>& args) {
  return nabla::test::run_program(std::string(NABLA_BINARY_DIR) + "/tools/nabla/nabla", args);
}

const std::vector<std::string> kShop{"grad", "p = apple * n; total = p * tax", "apple=100", "n=2", "tax=1.1"};

std::vector<std::string> with(std::vector<std::string> base, const std::vector<std::string>& options) {
  base.insert(base.begin() + 1, options.begin(), options.end());
  return base;
}

TEST(GradCli, ShopExample) {
  const Result r = nabla(kShop);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "total = 220\n∂total/∂apple = 2.2\n∂total/∂n = 110\n∂total/∂tax = 200\n");
  EXPECT_EQ(r.err, "");
}

TEST(GradCli, JsonIsExactAndInCommandLineOrder) {
  const Result r = nabla({"grad", "--json", "p = apple * n; total = p * tax", "tax=1.1", "apple=100", "n=2"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"value\": 220.00000000000003, \"grad\": {\"tax\": 200.0, \"apple\": 2.2, \"n\": 110.00000000000001}}\n");
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_NEAR(j["value"].get<double>(), 220.0, 1e-12);
  EXPECT_NEAR(j["grad"]["apple"].get<double>(), 2.2, 1e-12);
}

TEST(GradCli, ModesAgree) {
  for (const std::string mode : {"reverse", "forward", "numeric"}) {
    const Result r = nabla(with(kShop, {"--json", "--mode", mode}));
    ASSERT_EQ(r.code, 0) << mode << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_NEAR(j["grad"]["apple"].get<double>(), 2.2, 1e-6) << mode;
    EXPECT_NEAR(j["grad"]["n"].get<double>(), 110.0, 1e-6) << mode;
    EXPECT_NEAR(j["grad"]["tax"].get<double>(), 200.0, 1e-6) << mode;
  }
  EXPECT_EQ(nabla(with(kShop, {"--mode", "sideways"})).code, 2);
}

TEST(GradCli, Table) {
  const Result r = nabla(with(kShop, {"--table"}));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("id  node   op     inputs    value  local grads  upstream  downstream\n"
                       "0   apple  input  -         100    -            2.2       -\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("2   p      mul    apple, n  200    2, 100       1.1       2.2, 110\n"), std::string::npos) << r.out;
}

TEST(GradCli, CaretErrorsExitTwoAndEvaluateNothing) {
  const Result syntax = nabla({"grad", "p = apple * (n; total = p * tax", "apple=100", "n=2", "tax=1.1"});
  EXPECT_EQ(syntax.code, 2);
  EXPECT_EQ(syntax.out, "");
  EXPECT_EQ(syntax.err,
            "nabla grad: error: expected ')' to close the '(' at column 13, found ';' (column 15)\n"
            "  p = apple * (n; total = p * tax\n"
            "                ^\n");
  const Result missing = nabla({"grad", "p = apple * n; total = p * tax", "apple=100", "n=2"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_EQ(missing.out, "");
  EXPECT_EQ(missing.err,
            "nabla grad: error: no value for input 'tax'; pass tax=VALUE (column 28)\n"
            "  p = apple * n; total = p * tax\n"
            "                             ^\n");
  const Result unknown = nabla({"grad", "y = x * 2", "x=1", "z=3"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_NE(unknown.err.find("unknown name 'z'"), std::string::npos) << unknown.err;
  const Result function = nabla({"grad", "y = sinn(x)", "x=1"});
  EXPECT_EQ(function.code, 2);
  EXPECT_NE(function.err.find("unknown function 'sinn'"), std::string::npos);
  EXPECT_NE(function.err.find("\n  y = sinn(x)\n      ^\n"), std::string::npos) << function.err;
  // Usage errors of the tool itself also exit 2.
  EXPECT_EQ(nabla({"grad"}).code, 2);
  EXPECT_EQ(nabla({"grad", "--bogus", "y = x", "x=1"}).code, 2);
}

TEST(GradCli, NanAndInfNameTheNode) {
  const Result r = nabla({"grad", "a = x - 2; y = log(a) * 3", "x=1"});
  EXPECT_EQ(r.code, 0);
  // log's derivative 1/a is finite at a = -1, so the gradient is too; the value is NaN.
  EXPECT_EQ(r.out, "y = nan\n∂y/∂x = -3\n");
  EXPECT_EQ(r.err,
            "nabla grad: warning: node %3 'log(a)' (log) is nan from finite arguments a = -1 (column 16)\n"
            "  a = x - 2; y = log(a) * 3\n"
            "                 ^\n");
  const Result g = nabla({"grad", "y = sqrt(x)", "x=0"});
  EXPECT_NE(g.err.find("the gradient became inf at node y 'sqrt(x)' (sqrt)"), std::string::npos) << g.err;
}

TEST(GradCli, GraphFilesAndMermaid) {
  const auto dir = std::filesystem::temp_directory_path() / ("nabla_cli_graph_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  for (const std::string ext : {"svg", "png", "dot"}) {
    const auto file = dir / ("shop." + ext);
    const Result r = nabla(with(kShop, {"--graph", file.string()}));
    ASSERT_EQ(r.code, 0) << r.err;
    const std::string content = slurp(file);
    if (ext == "svg") {
      EXPECT_NE(content.find("<svg"), std::string::npos);
      EXPECT_NE(content.find("total = mul"), std::string::npos);
      EXPECT_NE(content.find("grad 2.2"), std::string::npos);
    } else if (ext == "png") {
      ASSERT_GT(content.size(), 8u);
      EXPECT_EQ(content.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
    } else {
      EXPECT_EQ(content.rfind("digraph nabla {", 0), 0u);
    }
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    EXPECT_EQ(entry.path().string().find(".tmp-"), std::string::npos) << entry.path();
  const Result bad = nabla(with(kShop, {"--graph", (dir / "nope" / "x.svg").string()}));
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("nabla grad: write_graph"), std::string::npos) << bad.err;
  std::filesystem::remove_all(dir);

  const Result m = nabla(with(kShop, {"--mermaid"}));
  EXPECT_EQ(m.code, 0);
  EXPECT_NE(m.out.find("\n```mermaid\ngraph LR\n  n0[\"apple<br/>value 100<br/>grad 2.2\"]\n"), std::string::npos) << m.out;
  EXPECT_NE(m.out.find("  n4 -.->|\"200\"| n3\n"), std::string::npos) << m.out;
  EXPECT_EQ(m.out.substr(m.out.size() - 4), "```\n");
}

}  // namespace
