#pragma once
// A byte stream over a file, raw or gzip (detected by its first two bytes, 1f 8b). A file named
// *.gz that does not start like gzip is refused. Errors name the file.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

namespace nabla::data::detail {

/// Deflate cannot expand data by more than about 1032:1, so a gzip file of n bytes holds at most
/// kMaxDeflateRatio * n bytes: a bound for rejecting declared sizes before allocating.
inline constexpr std::uint64_t kMaxDeflateRatio = 1032;

/// Sequential reader of a file's (decompressed) bytes.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  /// Reads up to n bytes; fewer only at the end of the data. Throws nabla::Error on I/O or gzip errors.
  virtual std::size_t read(void* out, std::size_t n) = 0;
  /// True for a gzip file.
  virtual bool compressed() const = 0;
  /// Size of the file on disk.
  std::uint64_t file_size() const { return file_size_; }

 protected:
  std::uint64_t file_size_ = 0;
};

/// Opens path for reading (raw or gzip).
std::unique_ptr<ByteSource> open_source(const std::string& path);

/// The whole (decompressed) contents of a file, refusing more than max_bytes.
std::string read_all(const std::string& path, std::uint64_t max_bytes);

}  // namespace nabla::data::detail
