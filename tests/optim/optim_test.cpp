// Optimizers, schedules and gradient clipping against PyTorch 1.13 (Debian python3-torch).
//
// tests/optim/torch_optim_reference.py builds a fixed float64 problem (a 3-5-1 tanh regression net,
// its data and initial parameters), runs 20 steps of each optimizer configuration, traces the
// learning rate of each schedule and clips fixed gradients; this file rebuilds each in nabla.
//
// Tolerance: |nabla - torch| <= 1e-9 + 1e-9 |torch| per parameter element, stricter than the 1e-6
// that issue 4 asks for. Both sides compute in float64 from bit-identical data, so honest
// differences are rounding in another order of operations (~1e-16 relative per step); 20 steps of
// a well-conditioned problem amplify that by a few orders of magnitude at most. A wrong update
// rule (a missing bias correction, dampening on the first step, decay coupled or not) moves the
// parameters by 1e-4 or more. (Measured: every configuration agrees to better than 1e-13; the
// margin is for a future kernel that sums in another order.)
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <nabla/autograd/grad_mode.h>
#include <nabla/core/error.h>
#include <nabla/ops/arithmetic.h>
#include <nabla/ops/nn.h>
#include <nabla/ops/reduction.h>
#include <nabla/ops/unary.h>
#include <nabla/optim/optim.h>

#include "nn/nn_test_util.h"
#include "nn/torch_reference.h"

namespace {

using nabla::Tensor;
using nlohmann::json;
namespace optim = nabla::optim;

constexpr double kParamTol = 1e-9;  // see the file comment
constexpr double kLrTol = 1e-12;    // learning rates: closed form vs PyTorch's recursive products

const json& reference() {
  static const json j = nabla::test::run_torch_reference("tests/optim/torch_optim_reference.py", "optim");
  return j;
}

// Loads the reference or fails the current test with the script's output.
const json* reference_or_fail() {
  try {
    return &reference();
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
    return nullptr;
  }
}

const std::vector<std::string> kParamNames{"w1", "b1", "w2", "b2"};

// The reference problem in nabla: data and fresh leaves holding the initial parameters.
struct Problem {
  Tensor x, y;
  std::vector<Tensor> params;  // w1, b1, w2, b2

  explicit Problem(const json& p) {
    x = nabla::test::tensor_from_json(p.at("x"));
    y = nabla::test::tensor_from_json(p.at("y"));
    for (const auto& n : kParamNames) params.push_back(nabla::test::tensor_from_json(p.at("init").at(n)).requires_grad_());
  }

  Tensor loss() const {
    const Tensor h = nabla::tanh(nabla::linear(x, params[0], params[1]));
    return nabla::mse_loss(nabla::linear(h, params[2], params[3]), y);
  }
};

// The configurations of torch_optim_reference.py's CONFIGS, with nabla's options.
using Factory = std::function<std::unique_ptr<optim::Optimizer>(std::vector<Tensor>)>;

const std::map<std::string, Factory>& configs() {
  using optim::AdamOptions, optim::RMSpropOptions, optim::SGDOptions;
  auto sgd = [](SGDOptions o) -> Factory { return [o](auto p) { return std::make_unique<optim::SGD>(p, o); }; };
  auto adam = [](AdamOptions o) -> Factory { return [o](auto p) { return std::make_unique<optim::Adam>(p, o); }; };
  auto adamw = [](AdamOptions o) -> Factory { return [o](auto p) { return std::make_unique<optim::AdamW>(p, o); }; };
  auto rms = [](RMSpropOptions o) -> Factory { return [o](auto p) { return std::make_unique<optim::RMSprop>(p, o); }; };
  auto adagrad = [](optim::AdagradOptions o) -> Factory { return [o](auto p) { return std::make_unique<optim::Adagrad>(p, o); }; };
  static const std::map<std::string, Factory> table = {
      {"sgd", sgd(SGDOptions(0.1))},
      {"sgd_momentum", sgd(SGDOptions(0.05).momentum(0.9))},
      {"sgd_nesterov", sgd(SGDOptions(0.05).momentum(0.9).nesterov(true))},
      {"sgd_weight_decay", sgd(SGDOptions(0.1).weight_decay(0.05))},
      {"sgd_dampening", sgd(SGDOptions(0.05).momentum(0.8).dampening(0.3))},
      {"sgd_all", sgd(SGDOptions(0.05).momentum(0.7).weight_decay(0.02).nesterov(true))},
      {"adam", adam(AdamOptions(0.01))},
      {"adam_betas_eps", adam(AdamOptions(0.02).betas(0.8, 0.95).eps(1e-6))},
      {"adam_weight_decay", adam(AdamOptions(0.01).weight_decay(0.1))},
      {"adamw", adamw(AdamOptions(0.01).weight_decay(0.1))},
      {"adamw_default_decay", adamw(AdamOptions(0.01))},  // both default to weight_decay 0.01
      {"rmsprop", rms(RMSpropOptions(0.01))},
      {"rmsprop_momentum", rms(RMSpropOptions(0.01).momentum(0.9))},
      {"rmsprop_centered", rms(RMSpropOptions(0.01).centered(true))},
      {"rmsprop_weight_decay", rms(RMSpropOptions(0.01).weight_decay(0.1))},
      {"rmsprop_all", rms(RMSpropOptions(0.005).alpha(0.9).eps(1e-6).momentum(0.5).centered(true).weight_decay(0.05))},
      {"adagrad", adagrad(optim::AdagradOptions(0.05))},
      {"adagrad_all", adagrad(optim::AdagradOptions(0.05).lr_decay(0.01).weight_decay(0.05).initial_accumulator_value(0.1).eps(1e-8))},
  };
  return table;
}

// `steps` iterations of zero_grad, loss, backward, step; returns the losses seen.
std::vector<double> train(const Problem& problem, optim::Optimizer& opt, int steps) {
  std::vector<double> losses;
  for (int s = 0; s < steps; ++s) {
    opt.zero_grad();
    Tensor loss = problem.loss();
    losses.push_back(loss.item<double>());
    loss.backward();
    opt.step();
  }
  return losses;
}

void expect_params_match(const Problem& problem, const json& want, const std::string& what) {
  for (std::size_t i = 0; i < kParamNames.size(); ++i)
    EXPECT_TRUE(nabla::test::all_close(problem.params[i], want.at("params").at(kParamNames[i]), kParamTol, kParamTol))
        << what << ", parameter " << kParamNames[i];
}

// ---- optimizers ---------------------------------------------------------------------------------

TEST(OptimTorch, EveryReferenceConfigurationIsTested) {
  const json* ref = reference_or_fail();
  if (ref == nullptr) return;
  std::set<std::string> theirs, ours;
  for (const auto& [name, v] : ref->at("optimizers").items()) theirs.insert(name);
  for (const auto& [name, f] : configs()) ours.insert(name);
  EXPECT_EQ(theirs, ours);
  EXPECT_EQ(ref->at("steps").get<int>(), 20);
}

class OptimizerMatchesTorch : public ::testing::TestWithParam<std::string> {};

TEST_P(OptimizerMatchesTorch, TwentySteps) {
  const json* ref = reference_or_fail();
  if (ref == nullptr) return;
  const json& want = ref->at("optimizers").at(GetParam());
  Problem problem(ref->at("problem"));
  auto opt = configs().at(GetParam())(problem.params);
  const auto losses = train(problem, *opt, ref->at("steps").get<int>());
  // The loss trace first (where a divergence starts), then the final parameters.
  const auto want_losses = want.at("losses").get<std::vector<double>>();
  ASSERT_EQ(losses.size(), want_losses.size());
  for (std::size_t s = 0; s < losses.size(); ++s)
    EXPECT_NEAR(losses[s], want_losses[s], kParamTol * (1 + std::abs(want_losses[s]))) << "loss before step " << s;
  expect_params_match(problem, want, GetParam());
  // The problem is one where the optimizer makes progress, so the comparison is not of near-constants.
  EXPECT_LT(want_losses.back(), want_losses.front());
}

// Stopping after 10 steps, moving the state into a fresh optimizer and taking 10 more ends where an
// uninterrupted run does (what `nabla train --resume` relies on).
TEST_P(OptimizerMatchesTorch, StateRoundTripContinuesExactly) {
  const json* ref = reference_or_fail();
  if (ref == nullptr) return;
  Problem problem(ref->at("problem"));
  auto first = configs().at(GetParam())(problem.params);
  train(problem, *first, 10);
  nabla::nn::NamedTensors state;
  for (const auto& [n, t] : first->state()) state.emplace_back(n, t.clone());
  first.reset();
  auto second = configs().at(GetParam())(problem.params);
  second->load_state(state);
  train(problem, *second, 10);
  expect_params_match(problem, ref->at("optimizers").at(GetParam()), GetParam() + " after a state round trip");
}

std::vector<std::string> config_names() {
  std::vector<std::string> out;
  for (const auto& [name, f] : configs()) out.push_back(name);
  return out;
}

INSTANTIATE_TEST_SUITE_P(Configs, OptimizerMatchesTorch, ::testing::ValuesIn(config_names()),
                         [](const auto& info) { return info.param; });

TEST(Optim, ParameterWithoutGradientIsLeftAlone) {
  // As PyTorch: no gradient, no update, and no step counted (Adam's bias correction starts later).
  Tensor a = nabla::tensor({1.0, 2.0}, nabla::kFloat64).requires_grad_();
  Tensor b = nabla::tensor({3.0}, nabla::kFloat64).requires_grad_();
  optim::Adam opt({a, b}, optim::AdamOptions(0.1));
  nabla::sum(a * a).backward();
  opt.step();
  EXPECT_EQ(b.to_vector<double>(), std::vector<double>{3.0});
  EXPECT_EQ(opt.state().front().second.to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 0}));
  // Adam's first step moves every coordinate by lr (m / sqrt(v) = sign(g), bias-corrected).
  EXPECT_NEAR(a.to_vector<double>()[0], 0.9, 1e-7);
  EXPECT_NEAR(a.to_vector<double>()[1], 1.9, 1e-7);
}

TEST(Optim, Float32ParametersFollowTheFloat64Trajectory) {
  const json* ref = reference_or_fail();
  if (ref == nullptr) return;
  Problem problem(ref->at("problem"));
  problem.x = problem.x.to(nabla::kFloat32);
  problem.y = problem.y.to(nabla::kFloat32);
  for (auto& p : problem.params) p = p.detach().to(nabla::kFloat32).requires_grad_();
  optim::Adam opt(problem.params, optim::AdamOptions(0.01));
  train(problem, opt, 20);
  // float32 rounding (~6e-8 relative per op) over 20 steps: agreement to 1e-4 says the float path
  // runs the same rule; it cannot be held to the float64 tolerance.
  for (std::size_t i = 0; i < kParamNames.size(); ++i)
    EXPECT_TRUE(nabla::test::all_close(problem.params[i], ref->at("optimizers").at("adam").at("params").at(kParamNames[i]),
                                       1e-4, 1e-4))
        << kParamNames[i];
}

TEST(Optim, BadOptionsAreRefusedWithTheirValues) {
  Tensor p = nabla::zeros({2}, nabla::kFloat64).requires_grad_();
  auto message = [](auto&& f) -> std::string {
    try {
      f();
    } catch (const nabla::Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  EXPECT_NE(message([&] { optim::SGD({p}, optim::SGDOptions(-1)); }).find("SGD: learning rate must be non-negative, got -1"),
            std::string::npos);
  EXPECT_NE(message([&] { optim::SGD({p}, optim::SGDOptions(0.1).nesterov(true)); }).find("Nesterov momentum needs momentum > 0"),
            std::string::npos);
  EXPECT_NE(message([&] { optim::Adam({p}, optim::AdamOptions(0.1).betas(0.9, 1.0)); }).find("betas must be in [0, 1), got (0.9, 1)"),
            std::string::npos);
  Tensor not_leaf = p * 2.0;
  EXPECT_NE(message([&] { optim::SGD({not_leaf}, optim::SGDOptions(0.1)); }).find("parameter 0 must be a contiguous leaf"),
            std::string::npos);
  Tensor ints = nabla::zeros({2}, nabla::kInt64);
  EXPECT_NE(message([&] { optim::SGD({p, ints}, optim::SGDOptions(0.1)); }).find("parameter 1"), std::string::npos);
  optim::SGD opt({p}, optim::SGDOptions(0.1));
  EXPECT_NE(message([&] { opt.load_state({{"momentum_buffer.3", nabla::zeros({2}, nabla::kFloat64)}}); })
                .find("unexpected state entry 'momentum_buffer.3'"),
            std::string::npos);
}

// ---- schedules ----------------------------------------------------------------------------------

// Learning rates of a fresh SGD(lr 0.1) and scheduler after 0, 1, ..., steps scheduler steps.
template <class MakeScheduler>
std::vector<double> lr_trace(MakeScheduler make, std::size_t steps) {
  Tensor p = nabla::zeros({1}, nabla::kFloat64).requires_grad_();
  optim::SGD opt({p}, optim::SGDOptions(0.1));
  auto sched = make(opt);
  std::vector<double> lrs{opt.lr()};
  for (std::size_t s = 0; s < steps; ++s) {
    sched.step();
    lrs.push_back(opt.lr());
  }
  return lrs;
}

void expect_trace(const std::vector<double>& got, const json& want_json, const std::string& what) {
  const auto want = want_json.get<std::vector<double>>();
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t s = 0; s < got.size(); ++s)
    EXPECT_NEAR(got[s], want[s], kLrTol * std::abs(want[s])) << what << " after " << s << " steps";
}

TEST(ScheduleTorch, StepLR) {
  const json* ref = reference_or_fail();
  if (ref == nullptr) return;
  const json& want = ref->at("schedules").at("step_lr");
  expect_trace(lr_trace([](auto& o) { return optim::StepLR(o, 3, 0.5); }, want.size() - 1), want, "StepLR(3, 0.5)");
}

TEST(ScheduleTorch, ExponentialLRAndMultiStepLR) {
  const json* ref = reference_or_fail();
  if (ref == nullptr) return;
  const json& e = ref->at("schedules").at("exponential_lr");
  expect_trace(lr_trace([](auto& o) { return optim::ExponentialLR(o, 0.8); }, e.size() - 1), e, "ExponentialLR(0.8)");
  const json& m = ref->at("schedules").at("multistep_lr");
  expect_trace(lr_trace([](auto& o) { return optim::MultiStepLR(o, {2, 5, 6}, 0.3); }, m.size() - 1), m,
               "MultiStepLR({2, 5, 6}, 0.3)");
}

TEST(Schedule, BadArgumentsAreNamed) {
  Tensor p = nabla::tensor({0.0}, nabla::kFloat64).requires_grad_();
  optim::SGD opt({p}, optim::SGDOptions(0.1));
  EXPECT_TRUE(nabla::nntest::throws_error([&] { optim::MultiStepLR(opt, {3, 3}); }, {"MultiStepLR", "increasing", "[3, 3]"}));
  EXPECT_TRUE(nabla::nntest::throws_error([&] { optim::ExponentialLR(opt, 0.0); }, {"ExponentialLR", "gamma", "0"}));
  EXPECT_TRUE(nabla::nntest::throws_error([&] { optim::Adagrad({p}, optim::AdagradOptions(0.1).lr_decay(-1)); },
                                          {"Adagrad", "lr_decay", "-1"}));
}

TEST(ScheduleTorch, CosineAnnealingLR) {
  const json* ref = reference_or_fail();
  if (ref == nullptr) return;
  const json& want = ref->at("schedules").at("cosine");
  expect_trace(lr_trace([](auto& o) { return optim::CosineAnnealingLR(o, 10, 0.001); }, want.size() - 1), want,
               "CosineAnnealingLR(10, 0.001)");
}

TEST(ScheduleTorch, CosineAnnealingLRPastTMaxFollowsTheCosine) {
  // PyTorch's schedule is the cosine for every count (it rises again after T_max), as the formula
  // in optim.h says.
  const json* ref = reference_or_fail();
  if (ref == nullptr) return;
  const json& want = ref->at("schedules").at("cosine_past_t_max");
  expect_trace(lr_trace([](auto& o) { return optim::CosineAnnealingLR(o, 10, 0.001); }, want.size() - 1), want,
               "CosineAnnealingLR(10, 0.001) past t_max");
}

TEST(ScheduleTorch, LinearWarmupIsLinearLR) {
  const json* ref = reference_or_fail();
  if (ref == nullptr) return;
  const json& a = ref->at("schedules").at("linear_warmup");
  expect_trace(lr_trace([](auto& o) { return optim::LinearWarmup(o, 4, 0.25); }, a.size() - 1), a, "LinearWarmup(4, 0.25)");
  const json& b = ref->at("schedules").at("linear_warmup_small");
  expect_trace(lr_trace([](auto& o) { return optim::LinearWarmup(o, 5, 1e-3); }, b.size() - 1), b, "LinearWarmup(5, 1e-3)");
}

TEST(Schedule, DrivesTheOptimizersUpdates) {
  // The learning rate a scheduler sets is the one step() uses: plain SGD moves p by lr * grad.
  Tensor p = nabla::tensor({0.0}, nabla::kFloat64).requires_grad_();
  optim::SGD opt({p}, optim::SGDOptions(1.0));
  optim::StepLR sched(opt, 1, 0.5);
  double expected = 0;
  for (int s = 0; s < 4; ++s) {
    opt.zero_grad();
    nabla::sum(p).backward();  // grad 1
    expected -= opt.lr();
    opt.step();
    sched.step();
  }
  EXPECT_DOUBLE_EQ(p.item<double>(), expected);
  EXPECT_DOUBLE_EQ(expected, -(1.0 + 0.5 + 0.25 + 0.125));
}

TEST(Schedule, BadArgumentsAreRefused) {
  Tensor p = nabla::zeros({1}, nabla::kFloat64).requires_grad_();
  optim::SGD opt({p}, optim::SGDOptions(0.1));
  EXPECT_THROW(optim::StepLR(opt, 0), nabla::Error);
  EXPECT_THROW(optim::CosineAnnealingLR(opt, 0), nabla::Error);
  EXPECT_THROW(optim::LinearWarmup(opt, -1), nabla::Error);
}

// ---- gradient clipping --------------------------------------------------------------------------

TEST(ClipTorch, ClipGradNorm) {
  const json* ref = reference_or_fail();
  if (ref == nullptr) return;
  const json& clip = ref->at("clipping");
  for (const auto& c : clip.at("cases")) {
    const double max_norm = c.at("max_norm").get<double>();
    std::vector<Tensor> params;
    for (const auto& g : clip.at("grads")) {
      Tensor grad = nabla::test::tensor_from_json(g);
      Tensor p = nabla::zeros_like(grad).requires_grad_();
      p.set_grad(grad);
      params.push_back(p);
    }
    const double norm = optim::clip_grad_norm_(params, max_norm);
    EXPECT_NEAR(norm, c.at("norm").get<double>(), 1e-12 * c.at("norm").get<double>()) << "max_norm " << max_norm;
    for (std::size_t i = 0; i < params.size(); ++i)
      EXPECT_TRUE(nabla::test::all_close(params[i].grad(), c.at("clipped")[i], 1e-12, 1e-15))
          << "max_norm " << max_norm << ", gradient " << i;
  }
}

TEST(Clip, SkipsParametersWithoutGradientAndRefusesBadNorms) {
  Tensor a = nabla::zeros({2}, nabla::kFloat64).requires_grad_();
  Tensor b = nabla::zeros({1}, nabla::kFloat64).requires_grad_();
  a.set_grad(nabla::tensor({3.0, 4.0}, nabla::kFloat64));
  EXPECT_DOUBLE_EQ(optim::clip_grad_norm_({a, b}, 1.0), 5.0);
  EXPECT_FALSE(b.grad().defined());
  EXPECT_NEAR(a.grad().to_vector<double>()[0], 0.6, 1e-6);
  EXPECT_THROW(optim::clip_grad_norm_({a}, 0.0), nabla::Error);
}

}  // namespace
