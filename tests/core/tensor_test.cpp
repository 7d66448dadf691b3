// Tensor basics: creation, metadata, views sharing storage, read-out, printing, seeding, threads.
#include <gtest/gtest.h>

#include <cstdint>
#include <sstream>

#include <nabla/nabla.h>

using nabla::Tensor;

TEST(Tensor, CreationAndMetadata) {
  Tensor t = nabla::tensor(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3}, nabla::kFloat64);
  EXPECT_EQ(t.shape(), (nabla::Shape{2, 3}));
  EXPECT_EQ(t.strides(), (nabla::Shape{3, 1}));
  EXPECT_EQ(t.dim(), 2);
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.dtype(), nabla::kFloat64);
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(t.to_vector<double>(), (std::vector<double>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(nabla::zeros({2, 2}).dtype(), nabla::kFloat32);
  EXPECT_EQ(nabla::ones({3}).to_vector<float>(), (std::vector<float>{1, 1, 1}));
  EXPECT_EQ(nabla::full({2}, 7.5, nabla::kFloat64).to_vector<double>(), (std::vector<double>{7.5, 7.5}));
  EXPECT_EQ(nabla::arange(0, 1, 0.25, nabla::kFloat64).to_vector<double>(), (std::vector<double>{0, 0.25, 0.5, 0.75}));
  EXPECT_EQ(nabla::eye(2).to_vector<float>(), (std::vector<float>{1, 0, 0, 1}));
}

TEST(Tensor, StorageIs64ByteAligned) {
  for (int n : {1, 3, 17, 1000}) {
    Tensor t = nabla::empty({n}, nabla::kFloat32);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data_ptr<float>()) % 64, 0u);
  }
}

TEST(Tensor, ViewsShareStorage) {
  Tensor t = nabla::arange(12, nabla::kFloat64).reshape({3, 4});
  Tensor tr = t.transpose(0, 1);
  EXPECT_TRUE(tr.is_alias_of(t));
  EXPECT_FALSE(tr.is_contiguous());
  EXPECT_EQ(tr.shape(), (nabla::Shape{4, 3}));
  EXPECT_EQ(tr.to_vector<double>(), (std::vector<double>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  Tensor s = t.slice(1, 1, 4, 2);
  EXPECT_TRUE(s.is_alias_of(t));
  EXPECT_EQ(s.to_vector<double>(), (std::vector<double>{1, 3, 5, 7, 9, 11}));
  Tensor e = nabla::tensor({1.0, 2.0}).reshape({2, 1}).expand({2, 3});
  EXPECT_EQ(e.strides(), (nabla::Shape{1, 0}));
  EXPECT_EQ(e.to_vector<float>(), (std::vector<float>{1, 1, 1, 2, 2, 2}));
  EXPECT_EQ(t.permute({1, 0}).to_vector<double>(), tr.to_vector<double>());
  EXPECT_EQ(t[2].to_vector<double>(), (std::vector<double>{8, 9, 10, 11}));
  EXPECT_EQ(t.narrow(0, 1, 1).shape(), (nabla::Shape{1, 4}));
  // Reshaping a non-contiguous tensor copies; view refuses.
  Tensor r = tr.reshape({12});
  EXPECT_FALSE(r.is_alias_of(t));
  EXPECT_EQ(r.to_vector<double>(), tr.to_vector<double>());
  EXPECT_THROW(tr.view({12}), nabla::Error);
  EXPECT_TRUE(t.view({2, 6}).is_alias_of(t));
  EXPECT_EQ(t.reshape({-1, 6}).shape(), (nabla::Shape{2, 6}));
  EXPECT_TRUE(tr.contiguous().is_contiguous());
}

TEST(Tensor, ItemNeedsExactlyOneElement) {
  EXPECT_DOUBLE_EQ(nabla::full({1, 1}, 3.0).item<double>(), 3.0);
  try {
    nabla::zeros({2, 3}).item<double>();
    FAIL() << "expected an error";
  } catch (const nabla::Error& e) {
    EXPECT_NE(std::string(e.what()).find("item: tensor of shape [2, 3] has 6 elements"), std::string::npos) << e.what();
  }
}

TEST(Tensor, BadCreationArgumentsAreErrors) {
  EXPECT_THROW(nabla::tensor(std::vector<double>{1, 2, 3}, {2, 2}), nabla::Error);
  EXPECT_THROW(nabla::zeros({-1, 2}), nabla::Error);
  EXPECT_THROW(nabla::zeros({1LL << 40, 1LL << 40}), nabla::Error);
  EXPECT_THROW(nabla::arange(0, 10, 0), nabla::Error);
  EXPECT_THROW(nabla::arange(0, 10, -1), nabla::Error);
  EXPECT_THROW(nabla::randn({2}, nabla::kInt64), nabla::Error);
  EXPECT_THROW(nabla::set_num_threads(0), nabla::Error);
  EXPECT_THROW(Tensor().shape(), nabla::Error);
  EXPECT_THROW(nabla::zeros({2}).data_ptr<double>(), nabla::Error);
}

TEST(Tensor, PrintsValuesShapeAndDtype) {
  std::ostringstream os;
  os << nabla::tensor(std::vector<double>{1, 2, 3, 4}, {2, 2}, nabla::kFloat32);
  EXPECT_EQ(os.str(), "tensor([[1.0000, 2.0000],\n        [3.0000, 4.0000]], shape=[2, 2], dtype=float32)");
  std::ostringstream big;
  big << nabla::arange(100, nabla::kInt64);
  EXPECT_NE(big.str().find("0, 1, 2, ..., 97, 98, 99"), std::string::npos) << big.str();
}

TEST(Tensor, ManualSeedRepeatsRandomNumbers) {
  nabla::manual_seed(42);
  auto a = nabla::randn({5}, nabla::kFloat64).to_vector<double>();
  auto u = nabla::rand({5}).to_vector<float>();
  nabla::manual_seed(42);
  EXPECT_EQ(nabla::randn({5}, nabla::kFloat64).to_vector<double>(), a);
  EXPECT_EQ(nabla::rand({5}).to_vector<float>(), u);
  for (float v : u) {
    EXPECT_GE(v, 0.0f);
    EXPECT_LT(v, 1.0f);
  }
  auto p = nabla::randperm(10).to_vector<std::int64_t>();
  std::sort(p.begin(), p.end());
  for (int i = 0; i < 10; ++i) EXPECT_EQ(p[i], i);
}

TEST(Tensor, ThreadCountDoesNotChangeElementwiseResults) {
  nabla::manual_seed(3);
  Tensor a = nabla::randn({300, 700}), b = nabla::randn({700});
  nabla::set_num_threads(1);
  auto one = nabla::exp(a * b + 1.0).to_vector<float>();
  auto s1 = nabla::sum(a, 0).to_vector<float>();
  nabla::set_num_threads(2);
  EXPECT_EQ(nabla::get_num_threads(), 2);
  EXPECT_EQ(nabla::exp(a * b + 1.0).to_vector<float>(), one);
  EXPECT_EQ(nabla::sum(a, 0).to_vector<float>(), s1);
}

TEST(Tensor, DtypeConversion) {
  Tensor t = nabla::tensor({1.5, -2.5});
  EXPECT_EQ(t.to(nabla::kFloat64).to_vector<double>(), (std::vector<double>{1.5, -2.5}));
  EXPECT_EQ(t.to(nabla::kInt64).to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, -2}));
}

TEST(Tensor, ResizingThePoolBetweenJobsNeitherHangsNorReusesAFinishedJob) {
  // Workers created by set_num_threads must start at the pool's current job generation.
  Tensor a = nabla::ones({400, 400});
  for (int i = 0; i < 200; ++i) {
    nabla::set_num_threads(1 + i % 2);
    EXPECT_FLOAT_EQ(nabla::sum(a * 2.0).item<float>(), 320000.0f);
  }
  nabla::set_num_threads(2);
}
