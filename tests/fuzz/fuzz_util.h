#pragma once
// Shared by the fuzz targets: the readers take a path, so each input is written to a per-process
// temporary file first (one file per target, rewritten on every run).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace nabla::fuzz {

/// Writes data to a temporary file named after the target and returns its path.
inline const std::string& write_temp(const char* name, const std::uint8_t* data, std::size_t size) {
  static const std::string path = [name] {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir && *dir ? dir : "/tmp") + "/nabla-fuzz-" + name + "-" + std::to_string(::getpid());
  }();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

}  // namespace nabla::fuzz
