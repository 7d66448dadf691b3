// safetensors save and load. Saving writes a temporary file beside the target, fsyncs it, renames
// it over the target and fsyncs the directory, so a crash leaves either the old or the new file.
// Loading reads and checks the whole header against the file size before it allocates a tensor.
#include <nabla/io/safetensors.h>

#include <nabla/io/atomic_file.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nabla/autograd/grad_mode.h>

namespace nabla::io {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian; nabla assumes a little-endian host");

namespace {

using Json = nlohmann::ordered_json;
constexpr std::uint64_t kMaxHeaderBytes = 100u << 20;  // as the reference implementation

const char* st_dtype(DType d) {
  switch (d) {
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
    case DType::Int64: return "I64";
  }
  return "?";
}

bool parse_dtype(const std::string& s, DType& d) {
  if (s == "F32") d = kFloat32;
  else if (s == "F64") d = kFloat64;
  else if (s == "I64") d = kInt64;
  else return false;
  return true;
}


std::string errno_text() { return std::strerror(errno); }

// ---- writing: through AtomicFile (src/io/atomic_file.cpp) ----

// ---- reading ----

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  std::uint64_t begin, end;
};

struct Header {
  std::vector<Entry> entries;  // in data order
  Metadata metadata;
  std::uint64_t data_start = 0;
};

class ReadFile {
 public:
  explicit ReadFile(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY);
    if (fd_ < 0) throw Error(fmt::format("{}: cannot open: {}", path, errno_text()));
    struct stat st {};
    if (::fstat(fd_, &st) != 0) throw Error(fmt::format("{}: cannot stat: {}", path, errno_text()));
    if (!S_ISREG(st.st_mode)) throw Error(fmt::format("{}: not a regular file", path));
    size_ = static_cast<std::uint64_t>(st.st_size);
  }
  ~ReadFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  std::uint64_t size() const { return size_; }
  void read_at(void* out, std::size_t n, std::uint64_t offset) {
    auto* p = static_cast<char*>(out);
    while (n > 0) {
      const ssize_t r = ::pread(fd_, p, n, static_cast<off_t>(offset));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) throw Error(fmt::format("{}: read error: {}", path_, errno_text()));
      if (r == 0) throw Error(fmt::format("{}: file shrank while reading (at byte {})", path_, offset));
      p += r;
      n -= static_cast<std::size_t>(r);
      offset += static_cast<std::uint64_t>(r);
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

bool as_u64(const Json& j, std::uint64_t& v) {
  if (j.is_number_unsigned()) {
    v = j.get<std::uint64_t>();
    return true;
  }
  if (j.is_number_integer() && j.get<std::int64_t>() >= 0) {
    v = static_cast<std::uint64_t>(j.get<std::int64_t>());
    return true;
  }
  return false;
}

Header read_header(ReadFile& file, const std::string& path) {
  const std::uint64_t size = file.size();
  if (size < 8)
    throw Error(fmt::format("{}: not a safetensors file: {} bytes, too short for the 8-byte header length", path, size));
  unsigned char len_bytes[8];
  file.read_at(len_bytes, 8, 0);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | len_bytes[i];
  if (n > size - 8)
    throw Error(fmt::format("{}: header length {} exceeds the {} bytes after the length field (file of {} bytes)", path, n,
                            size - 8, size));
  if (n > kMaxHeaderBytes)
    throw Error(fmt::format("{}: header length {} exceeds the limit of {} bytes", path, n, kMaxHeaderBytes));
  if (n < 2) throw Error(fmt::format("{}: header length {} is too short for a JSON object (valid: >= 2)", path, n));
  std::string text(static_cast<std::size_t>(n), '\0');
  file.read_at(text.data(), text.size(), 8);
  Json j;
  try {
    j = Json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: header is not valid JSON: {}", path, e.what()));
  }
  if (!j.is_object()) throw Error(fmt::format("{}: header is JSON {} (valid: an object of tensors)", path, j.type_name()));
  Header h;
  h.data_start = 8 + n;
  const std::uint64_t data_size = size - h.data_start;
  for (const auto& [name, v] : j.items()) {
    if (name == "__metadata__") {
      if (!v.is_object()) throw Error(fmt::format("{}: __metadata__ is {} (valid: an object of strings)", path, v.type_name()));
      for (const auto& [k, s] : v.items()) {
        if (!s.is_string())
          throw Error(fmt::format("{}: __metadata__ entry '{}' is {} (valid: a string)", path, k, s.type_name()));
        h.metadata[k] = s.get<std::string>();
      }
      continue;
    }
    const std::string& tensor_name = name;  // a structured binding cannot be captured before clang 16
    const auto bad = [&](const std::string& what) {
      return Error(fmt::format("{}: tensor '{}': {}", path, tensor_name, what));
    };
    if (!v.is_object()) throw bad(fmt::format("entry is {} (valid: an object with dtype, shape, data_offsets)", v.type_name()));
    if (!v.contains("dtype") || !v["dtype"].is_string()) throw bad("missing or non-string \"dtype\"");
    Entry e;
    e.name = name;
    const std::string dt = v["dtype"].get<std::string>();
    if (!parse_dtype(dt, e.dtype)) throw bad(fmt::format("dtype \"{}\" is not supported (valid: F32, F64, I64)", dt));
    if (!v.contains("shape") || !v["shape"].is_array()) throw bad("missing \"shape\" array");
    std::uint64_t count = 1;
    bool overflow = false;
    for (const auto& d : v["shape"]) {
      std::uint64_t s;
      if (!as_u64(d, s) || s > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        throw bad(fmt::format("shape {} holds {} (valid: non-negative integers)", v["shape"].dump(), d.dump()));
      e.shape.push_back(static_cast<std::int64_t>(s));
      if (s != 0 && count > std::numeric_limits<std::uint64_t>::max() / s) overflow = true;
      else count *= s;
    }
    if (!v.contains("data_offsets") || !v["data_offsets"].is_array() || v["data_offsets"].size() != 2 ||
        !as_u64(v["data_offsets"][0], e.begin) || !as_u64(v["data_offsets"][1], e.end))
      throw bad("\"data_offsets\" must be [begin, end] with non-negative integers");
    if (e.begin > e.end) throw bad(fmt::format("data_offsets [{}, {}] end before they begin", e.begin, e.end));
    if (e.end > data_size)
      throw bad(fmt::format("data_offsets [{}, {}] run past the {} bytes of data in the file", e.begin, e.end, data_size));
    const std::uint64_t esize = element_size(e.dtype);
    if (overflow || count > std::numeric_limits<std::uint64_t>::max() / esize || count * esize != e.end - e.begin)
      throw bad(fmt::format("shape {} of {} needs {} bytes but data_offsets [{}, {}] hold {}", shape_to_string(e.shape), dt,
                            overflow ? std::string("more than 2^64") : fmt::format("{}", count * esize), e.begin, e.end,
                            e.end - e.begin));
    h.entries.push_back(std::move(e));
  }
  std::stable_sort(h.entries.begin(), h.entries.end(),
                   [](const Entry& a, const Entry& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  std::uint64_t pos = 0;
  const Entry* prev = nullptr;
  for (const Entry& e : h.entries) {
    if (e.begin < pos)
      throw Error(fmt::format("{}: tensor '{}' (bytes [{}, {}]) overlaps tensor '{}' (bytes [{}, {}])", path, e.name, e.begin,
                              e.end, prev->name, prev->begin, prev->end));
    if (e.begin > pos)
      throw Error(fmt::format("{}: bytes [{}, {}) of the data belong to no tensor (before tensor '{}'); valid files cover "
                              "the data without holes",
                              path, pos, e.begin, e.name));
    pos = e.end;
    prev = &e;
  }
  if (pos != data_size)
    throw Error(fmt::format("{}: the tensors cover {} bytes but the file holds {} bytes of data after the header", path, pos,
                            data_size));
  return h;
}

std::string describe(const Tensor& t) { return fmt::format("{} {}", dtype_name(t.dtype()), t.shape_string()); }
std::string describe(const Entry& e) { return fmt::format("{} {}", dtype_name(e.dtype), shape_to_string(e.shape)); }

}  // namespace

void save_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata) {
  namespace fs = std::filesystem;
  std::set<std::string> seen;
  for (const auto& [name, t] : tensors) {
    if (name.empty()) throw Error(fmt::format("save_safetensors: {}: a tensor has an empty name", path));
    if (name == "__metadata__")
      throw Error(fmt::format("save_safetensors: {}: '__metadata__' is reserved and cannot name a tensor", path));
    if (!seen.insert(name).second) throw Error(fmt::format("save_safetensors: {}: tensor name '{}' appears twice", path, name));
    if (!t.defined()) throw Error(fmt::format("save_safetensors: {}: tensor '{}' is undefined", path, name));
  }
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw Error(fmt::format("save_safetensors: {}: is a directory", path));
  fs::path parent = fs::path(path).parent_path();
  const std::string dir = parent.empty() ? "." : parent.string();
  if (!fs::is_directory(dir, ec))
    throw Error(fmt::format("save_safetensors: {}: directory {} does not exist", path, dir));

  Json header = Json::object();
  if (!metadata.empty()) {
    Json m = Json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    header["__metadata__"] = m;
  }
  std::vector<Tensor> contiguous;
  std::uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    Tensor c = t.detach().contiguous();
    const std::uint64_t bytes = static_cast<std::uint64_t>(c.numel()) * element_size(c.dtype());
    header[name] = {{"dtype", st_dtype(c.dtype())}, {"shape", c.shape()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    contiguous.push_back(c);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // data starts 8-byte aligned
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(static_cast<std::uint64_t>(text.size()) >> (8 * i));

  AtomicFile out(path, "save_safetensors");
  out.write(len, 8);
  out.write(text.data(), text.size());
  for (const Tensor& c : contiguous) {
    const std::size_t bytes = static_cast<std::size_t>(c.numel()) * element_size(c.dtype());
    if (bytes) out.write(c.raw_data(), bytes);
  }
  out.commit();
}

SafetensorsFile load_safetensors(const std::string& path) {
  ReadFile file(path);
  Header h = read_header(file, path);
  SafetensorsFile out;
  out.metadata = std::move(h.metadata);
  for (const Entry& e : h.entries) {
    Tensor t = empty(e.shape, e.dtype);
    if (e.end > e.begin) file.read_at(t.raw_data(), e.end - e.begin, h.data_start + e.begin);
    out.tensors.emplace_back(e.name, t);
  }
  return out;
}

Metadata load_safetensors_metadata(const std::string& path) {
  ReadFile file(path);
  return read_header(file, path).metadata;
}

Metadata load_into(const std::string& path, const NamedTensors& tensors, bool strict) {
  ReadFile file(path);
  Header h = read_header(file, path);
  std::map<std::string, const Entry*> in_file;
  for (const Entry& e : h.entries) in_file[e.name] = &e;
  std::vector<std::string> problems;
  std::set<std::string> expected;
  for (const auto& [name, t] : tensors) {
    if (!expected.insert(name).second) throw Error(fmt::format("load_into: {}: tensor name '{}' is given twice", path, name));
    if (!t.defined()) throw Error(fmt::format("load_into: {}: destination tensor '{}' is undefined", path, name));
    const auto it = in_file.find(name);
    if (it == in_file.end()) {
      problems.push_back(fmt::format("missing: '{}' (expected {})", name, describe(t)));
      continue;
    }
    const Entry& e = *it->second;
    if (e.dtype != t.dtype() || e.shape != t.shape())
      problems.push_back(fmt::format("mismatch: '{}' is {} in the file, expected {}", name, describe(e), describe(t)));
  }
  if (strict)
    for (const Entry& e : h.entries)
      if (!expected.count(e.name)) problems.push_back(fmt::format("unexpected: '{}' ({})", e.name, describe(e)));
  if (!problems.empty()) {
    std::string msg = fmt::format("load_into: {}: the checkpoint does not match ({} problem{}; the file holds {} tensors, "
                                  "{} expected):",
                                  path, problems.size(), problems.size() == 1 ? "" : "s", h.entries.size(), tensors.size());
    for (const auto& p : problems) msg += "\n  " + p;
    throw Error(msg);
  }
  // Read everything first, then copy: a read error leaves the destinations untouched.
  std::vector<Tensor> loaded;
  for (const auto& [name, t] : tensors) {
    const Entry& e = *in_file.at(name);
    Tensor v = empty(e.shape, e.dtype);
    if (e.end > e.begin) file.read_at(v.raw_data(), e.end - e.begin, h.data_start + e.begin);
    loaded.push_back(v);
  }
  NoGradGuard no_grad;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    Tensor dst = tensors[i].second;
    dst.copy_(loaded[i]);
  }
  return h.metadata;
}

}  // namespace nabla::io
