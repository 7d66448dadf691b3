// Misuse is an error, never a crash: every public entry point given bad arguments throws
// nabla::Error whose message names the op and shows the offending values. One test per case;
// each pins the op name and the values by substring.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nabla/nabla.h>

namespace {

using nabla::Shape;
using nabla::Tensor;

/// Passes when f throws nabla::Error whose message contains every one of parts.
::testing::AssertionResult throws_with(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
  } catch (const nabla::Error& e) {
    const std::string msg = e.what();
    for (const auto& p : parts)
      if (msg.find(p) == std::string::npos)
        return ::testing::AssertionFailure() << "message lacks \"" << p << "\": " << msg;
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-nabla exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

Tensor f32(const Shape& shape) { return nabla::zeros(shape); }
Tensor leaf(const Shape& shape) { return nabla::ones(shape).requires_grad_(); }
Tensor labels(std::vector<std::int64_t> v) {
  const auto n = static_cast<std::int64_t>(v.size());
  return nabla::tensor(v, {n});
}

}  // namespace

// ---- shape and dtype mismatches ----

TEST(Misuse, AddOfShapesThatDoNotBroadcast) {
  EXPECT_TRUE(throws_with([] { nabla::add(f32({2, 3}), f32({4})); }, {"add", "[2, 3]", "[4]"}));
}

TEST(Misuse, MulOfDifferentDtypes) {
  EXPECT_TRUE(throws_with([] { nabla::mul(f32({2}), nabla::zeros({2}, nabla::kFloat64)); },
                          {"mul", "float32", "float64"}));
}

TEST(Misuse, MatmulInnerDimsDiffer) {
  EXPECT_TRUE(throws_with([] { nabla::matmul(f32({64, 784}), f32({785, 256})); }, {"matmul", "[64, 784]", "[785, 256]", "784 != 785"}));
}

TEST(Misuse, MatmulOfAScalar) {
  EXPECT_TRUE(throws_with([] { nabla::matmul(f32({}), f32({3})); }, {"matmul", "[]"}));
}

TEST(Misuse, LinearWeightDoesNotMatchFeatures) {
  EXPECT_TRUE(throws_with([] { nabla::linear(f32({2, 3}), f32({4, 5})); }, {"linear", "[2, 3]", "[4, 5]"}));
}

TEST(Misuse, MseLossShapesDiffer) {
  EXPECT_TRUE(throws_with([] { nabla::mse_loss(f32({4, 2}), f32({4, 3})); }, {"mse_loss", "[4, 2]", "[4, 3]"}));
}

TEST(Misuse, ReshapeToADifferentElementCount) {
  EXPECT_TRUE(throws_with([] { f32({2, 3}).reshape({4}); }, {"reshape", "[2, 3]", "[4]"}));
}

TEST(Misuse, ViewOfANonContiguousTensor) {
  EXPECT_TRUE(throws_with([] { f32({2, 3}).t().view({6}); }, {"view", "[3, 2]"}));
}

TEST(Misuse, CatOfDifferentShapes) {
  EXPECT_TRUE(throws_with([] { nabla::cat({f32({2, 3}), f32({2, 4})}, 0); }, {"cat", "[2, 3]", "[2, 4]"}));
}

TEST(Misuse, CatOfNothing) {
  EXPECT_TRUE(throws_with([] { nabla::cat({}, 0); }, {"cat"}));
}

TEST(Misuse, Conv2dInputNot4dOr3d) {
  EXPECT_TRUE(throws_with([] { nabla::conv2d(f32({8, 8}), f32({4, 3, 3, 3})); }, {"conv2d", "4-D", "[8, 8]"}));
}

TEST(Misuse, Conv2dChannelsDiffer) {
  EXPECT_TRUE(throws_with([] { nabla::conv2d(f32({1, 2, 8, 8}), f32({4, 3, 3, 3})); }, {"conv2d", "2", "3"}));
}

TEST(Misuse, Conv2dKernelLargerThanInput) {
  EXPECT_TRUE(throws_with([] { nabla::conv2d(f32({1, 1, 2, 2}), f32({1, 1, 3, 3})); }, {"conv2d"}));
}

TEST(Misuse, UnaryOpOnIntegers) {
  EXPECT_TRUE(throws_with([] { nabla::exp(labels({1, 2})); }, {"exp", "int64"}));
}

TEST(Misuse, RequiresGradOnIntegers) {
  EXPECT_TRUE(throws_with([] { labels({1, 2}).requires_grad_(); }, {"requires_grad", "int64"}));
}

TEST(Misuse, CrossEntropyTargetOfWrongDtype) {
  EXPECT_TRUE(throws_with([] { nabla::cross_entropy(f32({2, 3}), f32({2})); }, {"cross_entropy", "float32"}));
}

TEST(Misuse, CrossEntropyBatchSizesDiffer) {
  EXPECT_TRUE(throws_with([] { nabla::cross_entropy(f32({2, 3}), labels({0, 1, 2})); }, {"cross_entropy", "[3]"}));
}

TEST(Misuse, TensorValuesDoNotFillTheShape) {
  EXPECT_TRUE(throws_with([] { nabla::tensor(std::vector<double>{1, 2, 3}, {2, 2}); }, {"tensor", "3", "[2, 2]"}));
}

TEST(Misuse, NegativeShape) {
  EXPECT_TRUE(throws_with([] { nabla::zeros({2, -1}); }, {"-1"}));
}

TEST(Misuse, InPlaceAddOfABroadcastThatWouldGrowTheTensor) {
  EXPECT_TRUE(throws_with([] { f32({3}).add_(f32({2, 3})); }, {"add_", "[3]", "[2, 3]"}));
}

// ---- out-of-range dims and indices ----

TEST(Misuse, SumOverADimOutOfRange) {
  EXPECT_TRUE(throws_with([] { nabla::sum(f32({2, 3}), 2); }, {"sum", "dim 2", "2 dimensions"}));
}

TEST(Misuse, SoftmaxOverANegativeDimOutOfRange) {
  EXPECT_TRUE(throws_with([] { nabla::softmax(f32({2, 3}), -3); }, {"softmax", "-3"}));
}

TEST(Misuse, TransposeDimOutOfRange) {
  EXPECT_TRUE(throws_with([] { f32({2, 3}).transpose(0, 5); }, {"transpose", "5"}));
}

TEST(Misuse, PermuteWithARepeatedDim) {
  EXPECT_TRUE(throws_with([] { f32({2, 3}).permute({0, 0}); }, {"permute"}));
}

TEST(Misuse, SizeOfADimOutOfRange) {
  EXPECT_TRUE(throws_with([] { (void)f32({2, 3}).size(4); }, {"size", "4"}));
}

TEST(Misuse, SelectIndexOutOfRange) {
  EXPECT_TRUE(throws_with([] { f32({2, 3}).select(0, 5); }, {"select", "5"}));
}

TEST(Misuse, SubscriptIndexOutOfRange) {
  EXPECT_TRUE(throws_with([] { f32({2, 3})[-3]; }, {"select", "-3"}));
}

TEST(Misuse, SliceWithStepZero) {
  EXPECT_TRUE(throws_with([] { f32({4}).slice(0, 0, 4, 0); }, {"slice", "0"}));
}

TEST(Misuse, NarrowPastTheEnd) {
  EXPECT_TRUE(throws_with([] { f32({4}).narrow(0, 2, 5); }, {"narrow", "5"}));
}

TEST(Misuse, SqueezeOfADimThatIsNotOne) {
  EXPECT_TRUE(throws_with([] { f32({2, 3}).squeeze(1); }, {"squeeze", "3"}));
}

TEST(Misuse, IndexSelectIndexOutOfRange) {
  EXPECT_TRUE(throws_with([] { nabla::index_select(f32({3, 2}), 0, labels({0, 7})); }, {"index_select", "7"}));
}

TEST(Misuse, GatherIndexOutOfRange) {
  EXPECT_TRUE(throws_with([] { nabla::gather(f32({2, 3}), 1, nabla::tensor(std::vector<std::int64_t>{0, 3}, {2, 1})); },
                          {"gather", "3"}));
}

TEST(Misuse, OneHotLabelOutOfRange) {
  EXPECT_TRUE(throws_with([] { nabla::one_hot(labels({0, 10}), 10); }, {"one_hot", "10"}));
}

TEST(Misuse, CrossEntropyClassOutOfRange) {
  EXPECT_TRUE(throws_with([] { nabla::cross_entropy(f32({2, 3}), labels({0, 3})); }, {"cross_entropy", "3"}));
}

TEST(Misuse, NllLossNegativeClass) {
  EXPECT_TRUE(throws_with([] { nabla::nll_loss(f32({2, 3}), labels({-1, 0})); }, {"nll_loss", "-1"}));
}

// ---- backward and item ----

TEST(Misuse, BackwardOfANonScalarWithoutAGradient) {
  EXPECT_TRUE(throws_with([] { (leaf({2, 3}) * 2.0).backward(); }, {"backward", "[2, 3]", "6"}));
}

TEST(Misuse, BackwardWithAGradientOfTheWrongShape) {
  EXPECT_TRUE(throws_with([] { (leaf({2, 3}) * 2.0).backward(f32({3, 2})); }, {"backward", "[3, 2]", "[2, 3]"}));
}

TEST(Misuse, BackwardOfATensorThatDoesNotRequireGrad) {
  EXPECT_TRUE(throws_with([] { nabla::sum(f32({2})).backward(); }, {"backward", "does not require grad"}));
}

TEST(Misuse, BackwardThroughAFreedGraph) {
  Tensor x = leaf({3});
  Tensor y = nabla::sum(nabla::exp(x));
  y.backward();
  EXPECT_TRUE(throws_with([&] { y.backward(); }, {"sum", "second time", "retain_graph"}));
}

TEST(Misuse, BackwardOfAnUndefinedTensor) {
  EXPECT_TRUE(throws_with([] { Tensor().backward(); }, {"undefined"}));
}

TEST(Misuse, GradWithRespectToAnUnusedInput) {
  Tensor x = leaf({2}), z = leaf({2});
  EXPECT_TRUE(throws_with([&] { nabla::autograd::grad({nabla::sum(x * 2.0)}, {z}); }, {"grad", "input 0", "not used"}));
}

TEST(Misuse, ItemOfAMultiElementTensor) {
  EXPECT_TRUE(throws_with([] { (void)f32({2, 3}).item<float>(); }, {"item", "[2, 3]", "6 elements"}));
}

TEST(Misuse, ItemOfAnEmptyTensor) {
  EXPECT_TRUE(throws_with([] { (void)f32({0}).item<double>(); }, {"item", "[0]", "0 elements"}));
}

TEST(Misuse, DataPtrOfTheWrongType) {
  EXPECT_TRUE(throws_with([] { (void)f32({2}).data_ptr<double>(); }, {"float32", "float64"}));
}

// ---- empty tensors where elements are needed ----

TEST(Misuse, MeanOfAnEmptyTensor) {
  EXPECT_TRUE(throws_with([] { nabla::mean(f32({0, 3})); }, {"mean", "empty", "[0, 3]"}));
}

TEST(Misuse, MaxOfAnEmptyTensor) {
  EXPECT_TRUE(throws_with([] { nabla::max(f32({0})); }, {"max", "empty"}));
}

TEST(Misuse, MinOverAnEmptyDim) {
  EXPECT_TRUE(throws_with([] { nabla::min(f32({2, 0}), 1); }, {"min", "[2, 0]"}));
}

TEST(Misuse, ArgmaxOverAnEmptyDim) {
  EXPECT_TRUE(throws_with([] { nabla::argmax(f32({3, 0}), 1); }, {"argmax", "[3, 0]"}));
}

TEST(Misuse, CrossEntropyOfAnEmptyBatch) {
  EXPECT_TRUE(throws_with([] { nabla::cross_entropy(f32({0, 3}), nabla::zeros({0}, nabla::kInt64)); },
                          {"cross_entropy", "empty", "[0, 3]"}));
}

TEST(Misuse, CrossEntropyWithNoClasses) {
  EXPECT_TRUE(throws_with([] { nabla::cross_entropy(f32({2, 0}), labels({0, 0})); }, {"cross_entropy", "[2, 0]"}));
}

TEST(Misuse, MseLossOfEmptyInputs) {
  EXPECT_TRUE(throws_with([] { nabla::mse_loss(f32({0}), f32({0})); }, {"mse_loss", "empty"}));
}

TEST(Misuse, BceWithLogitsMeanOfEmptyInputs) {
  EXPECT_TRUE(throws_with([] { nabla::binary_cross_entropy_with_logits(f32({0, 2}), f32({0, 2})); },
                          {"binary_cross_entropy_with_logits", "empty", "[0, 2]"}));
}

TEST(Misuse, StackOfNothing) {
  EXPECT_TRUE(throws_with([] { nabla::stack({}); }, {"stack"}));
}

// ---- undefined tensors, one per op family ----

TEST(Misuse, UndefinedToArithmetic) {
  EXPECT_TRUE(throws_with([] { nabla::add(Tensor(), f32({2})); }, {"add", "undefined"}));
  EXPECT_TRUE(throws_with([] { nabla::mul(f32({2}), Tensor()); }, {"mul", "undefined"}));
  EXPECT_TRUE(throws_with([] { Tensor() * 2.0; }, {"undefined"}));
  EXPECT_TRUE(throws_with([] { nabla::where(Tensor(), f32({2}), f32({2})); }, {"where", "undefined"}));
}

TEST(Misuse, UndefinedToUnary) {
  EXPECT_TRUE(throws_with([] { nabla::exp(Tensor()); }, {"exp", "undefined"}));
  EXPECT_TRUE(throws_with([] { nabla::relu(Tensor()); }, {"relu", "undefined"}));
}

TEST(Misuse, UndefinedToReductions) {
  EXPECT_TRUE(throws_with([] { nabla::sum(Tensor()); }, {"sum", "undefined"}));
  EXPECT_TRUE(throws_with([] { nabla::mean(Tensor(), 0); }, {"mean", "undefined"}));
  EXPECT_TRUE(throws_with([] { nabla::softmax(Tensor(), 0); }, {"softmax", "undefined"}));
  EXPECT_TRUE(throws_with([] { nabla::argmax(Tensor(), 0); }, {"argmax", "undefined"}));
}

TEST(Misuse, UndefinedToShapeOps) {
  EXPECT_TRUE(throws_with([] { nabla::reshape(Tensor(), {2}); }, {"reshape", "undefined"}));
  EXPECT_TRUE(throws_with([] { nabla::cat({f32({2}), Tensor()}); }, {"cat", "undefined"}));
  EXPECT_TRUE(throws_with([] { nabla::index_select(f32({2}), 0, Tensor()); }, {"index_select", "undefined"}));
}

TEST(Misuse, UndefinedToLinalgAndNn) {
  EXPECT_TRUE(throws_with([] { nabla::matmul(Tensor(), f32({2, 2})); }, {"matmul", "undefined"}));
  EXPECT_TRUE(throws_with([] { nabla::linear(f32({2, 2}), Tensor()); }, {"linear", "undefined"}));
  EXPECT_TRUE(throws_with([] { nabla::cross_entropy(f32({2, 3}), Tensor()); }, {"cross_entropy", "undefined"}));
  EXPECT_TRUE(throws_with([] { nabla::mse_loss(Tensor(), f32({2})); }, {"mse_loss", "undefined"}));
}

TEST(Misuse, UndefinedToConvAndPooling) {
  EXPECT_TRUE(throws_with([] { nabla::conv2d(Tensor(), f32({1, 1, 1, 1})); }, {"conv2d", "undefined"}));
  EXPECT_TRUE(throws_with([] { nabla::max_pool2d(Tensor(), 2); }, {"max_pool2d", "undefined"}));
  EXPECT_TRUE(throws_with([] { nabla::layer_norm(Tensor(), {2}); }, {"layer_norm", "undefined"}));
}

TEST(Misuse, UndefinedToInPlaceOps) {
  EXPECT_TRUE(throws_with([] { Tensor().add_(1.0); }, {"add_", "undefined"}));
  EXPECT_TRUE(throws_with([] { f32({2}).copy_(Tensor()); }, {"copy_", "undefined"}));
}

TEST(Misuse, UndefinedTensorMetadata) {
  EXPECT_TRUE(throws_with([] { (void)Tensor().shape(); }, {"undefined"}));
  EXPECT_TRUE(throws_with([] { (void)Tensor().item<float>(); }, {"undefined"}));
}

// ---- modules and optimizers ----

TEST(Misuse, OptimizerWithNoParameters) {
  EXPECT_TRUE(throws_with([] { nabla::optim::SGD({}, nabla::optim::SGDOptions(0.1)); }, {"SGD", "empty parameter list"}));
  EXPECT_TRUE(throws_with([] { nabla::optim::Adam({}, nabla::optim::AdamOptions()); }, {"Adam", "empty parameter list"}));
}

TEST(Misuse, OptimizerWithAParameterThatDoesNotRequireGrad) {
  EXPECT_TRUE(throws_with([] { nabla::optim::SGD({f32({2})}, nabla::optim::SGDOptions(0.1)); },
                          {"SGD", "parameter 0", "requires grad"}));
}

TEST(Misuse, OptimizerWithAnUndefinedParameter) {
  EXPECT_TRUE(throws_with([] { nabla::optim::SGD({leaf({2}), Tensor()}, nabla::optim::SGDOptions(0.1)); },
                          {"SGD", "parameter 1"}));
}

TEST(Misuse, OptimizerWithANegativeLearningRate) {
  EXPECT_TRUE(throws_with([] { nabla::optim::SGD({leaf({2})}, nabla::optim::SGDOptions(-0.1)); },
                          {"SGD", "learning rate", "-0.1"}));
}

TEST(Misuse, AdamWithABetaOfOne) {
  EXPECT_TRUE(throws_with([] { nabla::optim::Adam({leaf({2})}, nabla::optim::AdamOptions().betas(0.9, 1.0)); },
                          {"Adam", "betas", "1"}));
}

TEST(Misuse, LoadStateDictWithAWrongShape) {
  nabla::nn::Linear model(3, 2);
  auto state = model.state_dict();
  state[0].second = nabla::zeros({2, 4});
  EXPECT_TRUE(throws_with([&] { model.load_state_dict(state); }, {"load_state_dict", "[2, 4]", "[2, 3]"}));
}

TEST(Misuse, LoadStateDictMissingAndUnexpectedEntries) {
  nabla::nn::Linear model(3, 2);
  auto state = model.state_dict();
  state.pop_back();
  state.emplace_back("extra", f32({1}));
  EXPECT_TRUE(throws_with([&] { model.load_state_dict(state); }, {"load_state_dict", "missing", "unexpected 'extra'"}));
}

TEST(Misuse, LoadStateDictWithAnUndefinedTensor) {
  nabla::nn::Linear model(3, 2);
  auto state = model.state_dict();
  state[0].second = Tensor();
  EXPECT_TRUE(throws_with([&] { model.load_state_dict(state); }, {"load_state_dict", "undefined"}));
}

TEST(Misuse, LinearLayerOfTheWrongWidth) {
  nabla::nn::Linear model(3, 2);
  EXPECT_TRUE(throws_with([&] { model(f32({4, 5})); }, {"linear", "[4, 5]"}));
}

TEST(Misuse, LayerWithZeroFeatures) {
  EXPECT_TRUE(throws_with([] { nabla::nn::Linear(0, 2); }, {"Linear", "0"}));
}

TEST(Misuse, ClipGradNormWithANonPositiveMaximum) {
  EXPECT_TRUE(throws_with([] { nabla::optim::clip_grad_norm_({leaf({2})}, 0.0); }, {"clip_grad_norm_", "0"}));
}

TEST(Misuse, SetNumThreadsOutOfRange) {
  EXPECT_TRUE(throws_with([] { nabla::set_num_threads(0); }, {"set_num_threads", "0"}));
}

TEST(Misuse, RandintWithAnEmptyRange) {
  EXPECT_TRUE(throws_with([] { nabla::randint(5, 5, {2}); }, {"randint", "5"}));
}

TEST(Misuse, EmptyShapeWhoseOtherSizesOverflow) {
  // Found via the IDX fuzzer: no elements, but the strides of the other sizes would overflow int64.
  EXPECT_TRUE(throws_with([] { nabla::zeros({0, std::int64_t{1} << 40, std::int64_t{1} << 40}); },
                          {"tensor", "[0, 1099511627776, 1099511627776]", "too many elements"}));
}
