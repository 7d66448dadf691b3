// Every example in examples/ is run briefly and its output checked: each one must still build, run and
// learn what it claims to learn.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "common/process.h"

namespace {

struct Result {
  int code = -1;
  std::string out;  // stdout, then stderr
};

// Runs examples/<name> with arguments (split at spaces).
Result run_example(const std::string& name, const std::string& args = "") {
  std::vector<std::string> argv;
  std::istringstream words(args);
  for (std::string w; words >> w;) argv.push_back(w);
  const auto r = nabla::test::run_program(std::string(NABLA_BINARY_DIR) + "/examples/example_" + name, argv);
  return {r.code, r.out + r.err};
}

// The number printed after `label` (e.g. "test accuracy "), or NaN when absent.
double number_after(const std::string& text, const std::string& label) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(label + R"(([-+0-9.eE]+))"))) return std::nan("");
  return std::stod(m[1]);
}

TEST(Examples, Quickstart) {
  const Result r = run_example("quickstart");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("f = (x + y) * z = -12"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("df/dx = -4, df/dy = -4, df/dz = 3"), std::string::npos) << r.out;
}

TEST(Examples, XorLearnsAllFourPoints) {
  const Result r = run_example("xor");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("correct: 4/4"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 xor 1 = 1  predicted 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 xor 1 = 0  predicted 0"), std::string::npos) << r.out;
  EXPECT_LT(number_after(r.out, "step 500  loss "), 0.05) << r.out;
}

TEST(Examples, LogisticRegressionSeparatesSneakersFromAnkleBoots) {
  const Result r = run_example("logistic_regression", "--epochs 2");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("12000 training and 2000 test images"), std::string::npos) << r.out;
  // A constant answer scores 0.5; the linear model reaches about 0.95.
  EXPECT_GT(number_after(r.out, "test accuracy "), 0.9) << r.out;
}

TEST(Examples, TwoLayerNetGradientCheckAndShortRun) {
  const Result r = run_example("two_layer_net", "--epochs 2 --limit 10000");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("784-50-10 (sigmoid), SGD lr 0.1, batch 100, 2 epochs on 10000 training images"),
            std::string::npos)
      << r.out;
  // Backprop against central differences in float64.
  const double error = number_after(r.out, R"(gradient check \(float64, batch 3\): max relative error )");
  EXPECT_LT(error, 1e-6) << r.out;
  for (const char* p : {"W1", "b1", "W2", "b2"})
    EXPECT_NE(r.out.find(std::string("gradient check ") + p), std::string::npos) << p;
  // Chance is 0.1; two short epochs reach about 0.45 (the full default run: see the example's header).
  EXPECT_GT(number_after(r.out, "final test accuracy "), 0.3) << r.out;
}

TEST(Examples, BadArgumentsAreRejected) {
  EXPECT_EQ(run_example("two_layer_net", "--epochs").code, 2);
  EXPECT_EQ(run_example("two_layer_net", "--epochs many").code, 2);
  EXPECT_EQ(run_example("two_layer_net", "--data /no/such/dir").code, 2);
  EXPECT_EQ(run_example("logistic_regression", "--data /no/such/dir").code, 2);
}

}  // namespace
