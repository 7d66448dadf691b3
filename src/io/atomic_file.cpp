// Atomic file writes: temporary file, fsync, rename, fsync of the directory.
#include <nabla/io/atomic_file.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include <nabla/core/error.h>
#include <nabla/io/safetensors.h>

namespace nabla::io {
namespace detail {
namespace {
std::atomic<std::int64_t> g_fail_after{-1};
}
void fail_next_save_after_bytes(std::int64_t bytes) { g_fail_after.store(bytes); }
}  // namespace detail

namespace {
std::string errno_text() { return std::strerror(errno); }

void fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;  // the rename is done; a directory that cannot be opened cannot be synced
  ::fsync(fd);
  ::close(fd);
}
}  // namespace

std::string temporary_prefix(const std::string& path) {
  std::string prefix = ".";  // built step by step: GCC 12 warns falsely (-Wrestrict) on "." + string
  prefix += std::filesystem::path(path).filename().string();
  prefix += ".tmp-";
  return prefix;
}

AtomicFile::AtomicFile(const std::string& path, const char* op) : path_(path), op_(op) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  dir_ = parent.empty() ? "." : parent.string();
  std::string tmpl = (std::filesystem::path(dir_) / (temporary_prefix(path) + "XXXXXX")).string();
  fd_ = ::mkstemp(tmpl.data());
  if (fd_ < 0) throw Error(fmt::format("{}: {}: cannot create a temporary file in {}: {}", op_, path, dir_, errno_text()));
  tmp_ = tmpl;
  struct stat st {};
  ::fchmod(fd_, ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0644);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
}

void AtomicFile::write(const void* data, std::size_t n) {
  const auto* p = static_cast<const char*>(data);
  const std::int64_t fail_after = detail::g_fail_after.load();
  if (fail_after >= 0 && written_ + n > static_cast<std::uint64_t>(fail_after)) {  // the testing hook
    write_all(p, static_cast<std::size_t>(fail_after) - written_);
    detail::g_fail_after.store(-1);
    errno = ENOSPC;
    fail("write");
  }
  write_all(p, n);
}

void AtomicFile::commit() {
  if (::fsync(fd_) != 0) fail("fsync");
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("close");
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) fail("rename");
  tmp_.clear();
  fsync_dir(dir_);
}

void AtomicFile::write_all(const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail("write");
    }
    p += w;
    n -= static_cast<std::size_t>(w);
    written_ += static_cast<std::uint64_t>(w);
  }
}

void AtomicFile::fail(const char* what) {
  throw Error(fmt::format("{}: {}: {} failed after {} bytes: {}; the previous file (if any) is unchanged", op_, path_,
                          what, written_, errno_text()));
}

void write_file_atomically(const std::string& path, const std::string& bytes, const char* op) {
  AtomicFile file(path, op);
  file.write(bytes.data(), bytes.size());
  file.commit();
}

}  // namespace nabla::io
