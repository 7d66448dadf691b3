// safetensors interop: nabla -> Python (json + struct, compared with torch tensors) and Python -> nabla.
// The script is tests/io/safetensors_interop.py, run with Debian's /usr/bin/python3 (which has torch).
#include <cstdio>
#include <filesystem>

#include <gtest/gtest.h>

#include <nabla/io/safetensors.h>

#include "data/test_files.h"

using nabla::Tensor;
namespace io = nabla::io;

namespace {

const char* kPython = "/usr/bin/python3";

// The formulas of safetensors_interop.py.
Tensor make(const nabla::Shape& shape, nabla::DType dtype, std::int64_t salt) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  if (dtype == nabla::kInt64) {
    std::vector<std::int64_t> v;
    for (std::int64_t i = 0; i < n; ++i) v.push_back(i * 1234567891 - 5000000000 + salt);
    return nabla::tensor(v, shape);
  }
  std::vector<double> v;
  for (std::int64_t i = 0; i < n; ++i) v.push_back(static_cast<double>((i * 37 + salt) % 101) / 7.0 - 3.0);
  return nabla::tensor(v, shape, nabla::kFloat64).to(dtype);
}

// Runs the script; returns its exit status and output.
int run_python(const std::string& args, std::string& output) {
  const std::string cmd = std::string(kPython) + " " + NABLA_SOURCE_DIR + "/tests/io/safetensors_interop.py " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) output.append(buf, n);
  return ::pclose(p);
}

bool have_torch() {
  if (!std::filesystem::exists(kPython)) return false;
  return std::system((std::string(kPython) + " -c 'import torch' >/dev/null 2>&1").c_str()) == 0;
}

}  // namespace

TEST(SafetensorsInterop, PythonReadsNablaFile) {
  ASSERT_TRUE(have_torch()) << kPython << " with torch is not available (scripts/install-deps.sh test installs python3-torch)";
  nabla::test::TempDir dir;
  const auto path = dir.file("from_nabla.safetensors");
  io::NamedTensors tensors{
      {"layer1.weight", make({3, 4}, nabla::kFloat32, 1)},
      {"layer1.bias", make({4}, nabla::kFloat32, 2)},
      {"stats.double", make({2, 3, 2}, nabla::kFloat64, 3)},
      {"counts", make({5}, nabla::kInt64, 4)},
      {"scalar", make({}, nabla::kFloat64, 5)},
      {"empty", make({0, 3}, nabla::kFloat32, 6)},
  };
  io::save_safetensors(path, tensors, {{"format", "pt"}, {"epoch", "3"}, {"note", "written by nabla"}});
  std::string out;
  const int rc = run_python("check " + path, out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_CONTAINS(out, "OK 6 tensors");
}

TEST(SafetensorsInterop, NablaReadsPythonFile) {
  ASSERT_TRUE(have_torch()) << kPython << " with torch is not available (scripts/install-deps.sh test installs python3-torch)";
  nabla::test::TempDir dir;
  const auto path = dir.file("from_torch.safetensors");
  std::string out;
  ASSERT_EQ(run_python("write " + path, out), 0) << out;
  const auto file = io::load_safetensors(path);
  EXPECT_EQ(file.metadata.at("kind"), "python");
  EXPECT_EQ(file.metadata.at("framework").rfind("torch 1.13", 0), 0u) << file.metadata.at("framework");
  // Returned in data order (the script wrote the data in reverse).
  ASSERT_EQ(file.tensors.size(), 4u);
  EXPECT_EQ(file.tensors[0].first, "d.scalar");
  EXPECT_EQ(file.tensors[3].first, "b.big_ints");
  std::map<std::string, Tensor> got(file.tensors.begin(), file.tensors.end());
  const Tensor w = got.at("a.weight_t");
  EXPECT_EQ(w.shape(), (nabla::Shape{3, 4}));
  EXPECT_EQ(w.dtype(), nabla::kFloat32);
  EXPECT_EQ(w.to_vector<float>(), make({4, 3}, nabla::kFloat32, 11).t().contiguous().to_vector<float>());
  EXPECT_EQ(got.at("b.big_ints").to_vector<std::int64_t>(), make({2, 2}, nabla::kInt64, 12).to_vector<std::int64_t>());
  EXPECT_EQ(got.at("b.big_ints").to_vector<std::int64_t>()[3], 3 * 1234567891LL - 5000000000LL + 12);
  EXPECT_EQ(got.at("c.f64").to_vector<double>(), make({3}, nabla::kFloat64, 13).to_vector<double>());
  EXPECT_EQ(got.at("d.scalar").shape(), nabla::Shape{});
  EXPECT_EQ(got.at("d.scalar").item<float>(), make({}, nabla::kFloat32, 14).item<float>());
  // load_into a model-shaped list of tensors.
  Tensor dst_w = nabla::zeros({3, 4}).requires_grad_();
  Tensor dst_s = nabla::zeros({});
  Tensor dst_i = nabla::zeros({2, 2}, nabla::kInt64);
  Tensor dst_d = nabla::zeros({3}, nabla::kFloat64);
  io::load_into(path, {{"a.weight_t", dst_w}, {"d.scalar", dst_s}, {"b.big_ints", dst_i}, {"c.f64", dst_d}});
  EXPECT_EQ(dst_w.to_vector<float>(), w.to_vector<float>());
  EXPECT_TRUE(dst_w.requires_grad());
}
