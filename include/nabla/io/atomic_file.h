#pragma once
/// Writing a file so that a crash leaves either the old or the new content, never a mix.
#include <cstddef>
#include <cstdint>
#include <string>

namespace nabla::io {

/// A file written beside its target as ".<name>.tmp-XXXXXX" and renamed over it by commit(), after an
/// fsync of the file and followed by one of the directory. Destroyed without commit() (an error, an
/// exception), it removes the temporary file and leaves the target untouched. The target keeps its
/// permission bits (0644 for a new file). Errors name `op` and the target and say that the previous
/// file is unchanged.
class AtomicFile {
 public:
  AtomicFile(const std::string& path, const char* op);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  /// Appends n bytes.
  void write(const void* data, std::size_t n);
  /// Makes the content the target's: fsync, rename, fsync of the directory.
  void commit();

 private:
  void write_all(const char* p, std::size_t n);
  [[noreturn]] void fail(const char* what);
  std::string path_, dir_, tmp_;
  const char* op_;
  int fd_ = -1;
  std::uint64_t written_ = 0;
};

/// Writes `bytes` to path with an AtomicFile.
void write_file_atomically(const std::string& path, const std::string& bytes, const char* op = "write");

/// The prefix of the temporary names AtomicFile makes for `path` (".<name>.tmp-"), so a program can
/// remove what a killed predecessor left behind.
std::string temporary_prefix(const std::string& path);

}  // namespace nabla::io
