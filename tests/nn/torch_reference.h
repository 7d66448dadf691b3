#pragma once
// Runs a PyTorch reference script (Debian python3-torch, /usr/bin/python3 or $NABLA_TORCH_PYTHON)
// once, caches its JSON under the build tree and hands it to the tests.
//
// The cache (NABLA_BINARY_DIR/torch_reference/<name>.json) is regenerated when missing or older
// than the script. The script writes to a file private to this process which is then renamed into
// place, so tests run in parallel by ctest never read a half-written file.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <nabla/core/tensor.h>

namespace nabla::test {

/// The interpreter that has torch.
inline std::string torch_python() {
  const char* env = std::getenv("NABLA_TORCH_PYTHON");
  return env != nullptr && *env != '\0' ? env : "/usr/bin/python3";
}

/// Runs NABLA_SOURCE_DIR/<script> (if its cached output is stale) and parses the JSON it writes.
/// Throws std::runtime_error with the script's output when it fails.
inline nlohmann::json run_torch_reference(const std::string& script, const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path src = fs::path(NABLA_SOURCE_DIR) / script;
  const fs::path dir = fs::path(NABLA_BINARY_DIR) / "torch_reference";
  const fs::path out = dir / (name + ".json");
  std::error_code ec;
  fs::create_directories(dir, ec);
  const bool fresh = fs::exists(out, ec) && fs::last_write_time(out, ec) >= fs::last_write_time(src, ec);
  if (!fresh) {
    const fs::path tmp = dir / (name + ".json.tmp." + std::to_string(::getpid()));
    const std::string cmd = torch_python() + " '" + src.string() + "' '" + tmp.string() + "' 2>&1";
    std::FILE* pipe = ::popen(cmd.c_str(), "r");
    if (pipe == nullptr) throw std::runtime_error("cannot run: " + cmd);
    std::string output;
    char buf[512];
    while (std::fgets(buf, sizeof buf, pipe) != nullptr) output += buf;
    const int rc = ::pclose(pipe);
    if (rc != 0) {
      fs::remove(tmp, ec);
      throw std::runtime_error("the PyTorch reference failed (" + cmd + ", status " + std::to_string(rc) +
                               "); it needs Debian's python3-torch:\n" + output);
    }
    fs::rename(tmp, out);
  }
  std::ifstream in(out);
  return nlohmann::json::parse(in);
}

/// A tensor from {"shape": [...], "values": [...]} (float64 unless dtype says otherwise).
inline Tensor tensor_from_json(const nlohmann::json& j, DType dtype = kFloat64) {
  const auto shape = j.at("shape").get<Shape>();
  if (dtype == kInt64) return tensor(j.at("values").get<std::vector<std::int64_t>>(), shape);
  return tensor(j.at("values").get<std::vector<double>>(), shape, dtype);
}

/// Elementwise |got - want| <= atol + rtol * |want|, with the worst element in the message.
inline ::testing::AssertionResult all_close(const Tensor& got, const nlohmann::json& want, double rtol, double atol) {
  const auto g = got.to_vector<double>();
  const auto w = want.at("values").get<std::vector<double>>();
  if (got.shape() != want.at("shape").get<Shape>())
    return ::testing::AssertionFailure() << "shape " << got.shape_string() << " != " << want.at("shape").dump();
  for (std::size_t i = 0; i < g.size(); ++i)
    if (!(std::abs(g[i] - w[i]) <= atol + rtol * std::abs(w[i])))
      return ::testing::AssertionFailure() << "element " << i << ": nabla " << g[i] << ", torch " << w[i]
                                           << " (difference " << std::abs(g[i] - w[i]) << ")";
  return ::testing::AssertionSuccess();
}

}  // namespace nabla::test
