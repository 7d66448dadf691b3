#pragma once
// Helpers for the data and io tests: a temporary directory removed at the end, and byte writers.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <nabla/core/error.h>

namespace nabla::test {

/// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "nabla-test-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  /// dir/name.
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

using Bytes = std::vector<std::uint8_t>;

inline void write_file(const std::string& path, const Bytes& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}
inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
}
inline void append_be32(Bytes& b, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(v >> s));
}
/// An IDX header: 00 00 type ndims, then the sizes big-endian.
inline Bytes idx_header(std::uint8_t type, const std::vector<std::uint32_t>& dims) {
  Bytes b{0, 0, type, static_cast<std::uint8_t>(dims.size())};
  for (auto d : dims) append_be32(b, d);
  return b;
}
/// Gzips `path` into `path.gz` with the system gzip (the original is kept).
inline std::string gzip_file(const std::string& path) {
  const std::string cmd = "gzip -kf '" + path + "'";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("gzip failed: " + cmd);
  return path + ".gz";
}

/// Runs fn and returns the nabla::Error message; fails the test when nothing or something else is thrown.
template <class F>
std::string error_of(F&& fn) {
  try {
    fn();
  } catch (const nabla::Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected nabla::Error, got another exception: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected nabla::Error, nothing was thrown";
  return "";
}

}  // namespace nabla::test

/// Expects `text` to contain `part`, printing both otherwise.
#define EXPECT_CONTAINS(text, part)                                                  \
  do {                                                                               \
    const std::string nabla_text_ = (text);                                          \
    const std::string nabla_part_ = (part);                                          \
    EXPECT_NE(nabla_text_.find(nabla_part_), std::string::npos)                      \
        << "expected to contain: " << nabla_part_ << "\n               got: " << nabla_text_; \
  } while (0)
