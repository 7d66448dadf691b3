// Raw and gzip byte sources for the data readers.
#include "data/file_source.h"

#include <cerrno>
#include <cstring>
#include <sys/stat.h>
#include <vector>

#include <fmt/format.h>
#include <zlib.h>

#include <nabla/core/error.h>

namespace nabla::data::detail {
namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

class RawSource : public ByteSource {
 public:
  RawSource(std::string path, FilePtr file, std::uint64_t size) : path_(std::move(path)), file_(std::move(file)) {
    file_size_ = size;
  }
  std::size_t read(void* out, std::size_t n) override {
    const std::size_t got = std::fread(out, 1, n, file_.get());
    if (got < n && std::ferror(file_.get()))
      throw Error(fmt::format("{}: read error: {}", path_, std::strerror(errno)));
    return got;
  }
  bool compressed() const override { return false; }

 private:
  std::string path_;
  FilePtr file_;
};

class GzipSource : public ByteSource {
 public:
  GzipSource(std::string path, FilePtr file, std::uint64_t size) : path_(std::move(path)), file_(std::move(file)) {
    file_size_ = size;
    std::memset(&zs_, 0, sizeof zs_);
    if (inflateInit2(&zs_, 16 + MAX_WBITS) != Z_OK) throw Error(fmt::format("{}: cannot initialise zlib", path_));
    in_.resize(1 << 16);
  }
  ~GzipSource() override { inflateEnd(&zs_); }

  std::size_t read(void* out, std::size_t n) override {
    std::size_t done = 0;
    auto* dst = static_cast<unsigned char*>(out);
    while (done < n && !finished_) {
      if (zs_.avail_in == 0) {
        const std::size_t got = std::fread(in_.data(), 1, in_.size(), file_.get());
        if (got == 0) {
          if (std::ferror(file_.get())) throw Error(fmt::format("{}: read error: {}", path_, std::strerror(errno)));
          if (member_started_)
            throw Error(fmt::format("{}: truncated gzip file: the compressed stream ends early after {} decompressed bytes",
                                    path_, total_out_));
          finished_ = true;  // clean end after the last member
          break;
        }
        zs_.next_in = in_.data();
        zs_.avail_in = static_cast<uInt>(got);
      }
      const std::size_t want = std::min<std::size_t>(n - done, 1u << 30);
      zs_.next_out = dst + done;
      zs_.avail_out = static_cast<uInt>(want);
      member_started_ = true;
      const int rc = inflate(&zs_, Z_NO_FLUSH);
      const std::size_t produced = want - zs_.avail_out;
      done += produced;
      total_out_ += produced;
      if (rc == Z_STREAM_END) {
        // Another gzip member may follow (concatenated .gz files are valid gzip).
        member_started_ = false;
        inflateReset(&zs_);
      } else if (rc != Z_OK && !(rc == Z_BUF_ERROR && produced == 0 && zs_.avail_in == 0)) {
        throw Error(fmt::format("{}: corrupt gzip data after {} decompressed bytes: {}", path_, total_out_,
                                zs_.msg ? zs_.msg : zError(rc)));
      }
    }
    return done;
  }
  bool compressed() const override { return true; }

 private:
  std::string path_;
  FilePtr file_;
  z_stream zs_;
  std::vector<unsigned char> in_;
  bool finished_ = false;
  bool member_started_ = false;
  std::uint64_t total_out_ = 0;
};

}  // namespace

std::unique_ptr<ByteSource> open_source(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw Error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) throw Error(fmt::format("{}: not a regular file", path));
  FilePtr file(std::fopen(path.c_str(), "rb"));
  if (!file) throw Error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  unsigned char magic[2] = {0, 0};
  const std::size_t got = std::fread(magic, 1, 2, file.get());
  std::rewind(file.get());
  const bool gzip = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (gzip) return std::make_unique<GzipSource>(path, std::move(file), size);
  if (ends_with(path, ".gz"))
    throw Error(fmt::format("{}: named .gz but not a gzip file (starts {}; gzip starts 1f 8b)", path,
                            got == 0 ? "empty" : got == 1 ? fmt::format("{:02x}", magic[0])
                                                          : fmt::format("{:02x} {:02x}", magic[0], magic[1])));
  return std::make_unique<RawSource>(path, std::move(file), size);
}

std::string read_all(const std::string& path, std::uint64_t max_bytes) {
  auto src = open_source(path);
  std::string out;
  std::size_t chunk = 1 << 16;
  for (;;) {
    const std::size_t old = out.size();
    out.resize(old + chunk);
    const std::size_t got = src->read(out.data() + old, chunk);
    out.resize(old + got);
    if (out.size() > max_bytes)
      throw Error(fmt::format("{}: more than {} bytes of data (the reader's limit)", path, max_bytes));
    if (got < chunk) break;
    chunk = std::min<std::size_t>(chunk * 2, 1 << 26);
  }
  return out;
}

}  // namespace nabla::data::detail
