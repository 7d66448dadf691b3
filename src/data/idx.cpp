// IDX reader. The header is read and checked (magic, type, dimension count, sizes against the
// file) before the data is read, so a file declaring huge dimensions is rejected before any
// allocation. Gzip files are inflated as a stream into a buffer that grows only with real data.
#include <nabla/data/idx.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <type_traits>
#include <memory>
#include <vector>

#include <fmt/format.h>
#include <zlib.h>

#include "data/file_source.h"

namespace nabla::data {
namespace {

struct IdxType {
  std::uint8_t code;
  const char* name;
  std::size_t size;
};
constexpr std::array<IdxType, 6> kIdxTypes{{{0x08, "ubyte", 1},
                                            {0x09, "sbyte", 1},
                                            {0x0B, "short", 2},
                                            {0x0C, "int", 4},
                                            {0x0D, "float", 4},
                                            {0x0E, "double", 8}}};
constexpr std::size_t kMaxDims = 16;

const IdxType* find_type(std::uint8_t code) {
  for (const auto& t : kIdxTypes)
    if (t.code == code) return &t;
  return nullptr;
}

std::uint32_t read_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

struct IdxFile {
  const IdxType* type = nullptr;
  Shape dims;
  std::vector<std::uint8_t> data;  // big-endian elements
};

IdxFile read_idx_file(const std::string& path) {
  auto src = detail::open_source(path);
  std::uint8_t magic[4];
  std::size_t got = src->read(magic, 4);
  if (got < 4)
    throw Error(fmt::format("{}: truncated IDX file: {} bytes{}, but the header needs at least 4 (magic 00 00 TYPE NDIMS)",
                            path, got, src->compressed() ? " after decompression" : ""));
  if (magic[0] != 0 || magic[1] != 0)
    throw Error(fmt::format("{}: not an IDX file: wrong magic {:02x} {:02x} {:02x} {:02x} (valid: 00 00 TYPE NDIMS{})",
                            path, magic[0], magic[1], magic[2], magic[3],
                            magic[0] == 0x1f && magic[1] == 0x8b ? "" : "; a gzip file starts 1f 8b"));
  IdxFile f;
  f.type = find_type(magic[2]);
  if (!f.type)
    throw Error(fmt::format("{}: unknown IDX element type 0x{:02x} (valid: 0x08 ubyte, 0x09 sbyte, 0x0B short, "
                            "0x0C int, 0x0D float, 0x0E double)",
                            path, magic[2]));
  const std::size_t ndims = magic[3];
  if (ndims == 0 || ndims > kMaxDims)
    throw Error(fmt::format("{}: IDX file declares {} dimensions (valid: 1 to {})", path, ndims, kMaxDims));
  std::vector<std::uint8_t> dims_bytes(4 * ndims);
  got = src->read(dims_bytes.data(), dims_bytes.size());
  if (got < dims_bytes.size())
    throw Error(fmt::format("{}: truncated IDX header: {} dimensions need {} bytes of sizes, the file has {}", path,
                            ndims, dims_bytes.size(), got));
  // Element count and byte count with overflow checks (4e9 x 4e9 x ... must not wrap).
  std::uint64_t count = 1;
  // The non-zero sizes alone must multiply to a size nabla can index (strides), even when a zero
  // size makes the data empty: [0, 4e9, 4e9, 4e9] declares no data but no tensor can have that shape.
  std::uint64_t nonzero = 1;
  bool overflow = false, nonzero_overflow = false;
  for (std::size_t i = 0; i < ndims; ++i) {
    const std::uint32_t d = read_be32(&dims_bytes[4 * i]);
    f.dims.push_back(static_cast<std::int64_t>(d));
    if (d != 0 && count > std::numeric_limits<std::uint64_t>::max() / d) overflow = true;
    else count *= d;
    if (d != 0 && nonzero > std::numeric_limits<std::uint64_t>::max() / d) nonzero_overflow = true;
    else nonzero *= std::max<std::uint32_t>(d, 1);
  }
  const std::uint64_t header = 4 + 4 * ndims;
  const std::uint64_t limit = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / 8;
  if (!overflow && count == 0 && (nonzero_overflow || nonzero > limit / f.type->size))
    throw Error(fmt::format("{}: IDX dimensions {} are empty, but their non-zero sizes multiply past 2^60 bytes, "
                            "more than any tensor can index",
                            path, shape_to_string(f.dims)));
  if (overflow || count > limit / f.type->size)
    throw Error(fmt::format("{}: IDX dimensions {} declare more than 2^60 bytes of data; the file is {} bytes", path,
                            shape_to_string(f.dims), src->file_size()));
  const std::uint64_t bytes = count * f.type->size;
  if (!src->compressed()) {
    const std::uint64_t have = src->file_size() - header;
    if (have != bytes)
      throw Error(fmt::format("{}: IDX dimensions {} of {} need {} bytes of data after the {}-byte header, but the "
                              "file has {} ({})",
                              path, shape_to_string(f.dims), f.type->name, bytes, header, have,
                              have < bytes ? "truncated" : "trailing bytes"));
  } else if (bytes > detail::kMaxDeflateRatio * src->file_size() + 1024) {
    throw Error(fmt::format("{}: IDX dimensions {} of {} need {} bytes of data, more than a {}-byte gzip file can hold",
                            path, shape_to_string(f.dims), f.type->name, bytes, src->file_size()));
  }
  // The data: raw files were checked above; gzip streams grow the buffer only as data arrives.
  const std::uint64_t chunk = std::uint64_t{1} << 24;
  while (f.data.size() < bytes) {
    const std::size_t old = f.data.size();
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(bytes - old, std::max<std::uint64_t>(old, chunk)));
    f.data.resize(old + want);
    got = src->read(f.data.data() + old, want);
    if (got < want)
      throw Error(fmt::format("{}: truncated IDX file: dimensions {} of {} need {} bytes of data, the {} has only {}",
                              path, shape_to_string(f.dims), f.type->name, bytes,
                              src->compressed() ? "decompressed stream" : "file", old + got));
  }
  std::uint8_t extra;
  if (src->compressed() && src->read(&extra, 1) != 0)
    throw Error(fmt::format("{}: IDX dimensions {} of {} need {} bytes of data, but the decompressed stream is longer "
                            "(trailing bytes)",
                            path, shape_to_string(f.dims), f.type->name, bytes));
  return f;
}

// A float or double element as T. For int64 output the value must be finite and inside int64's range
// (it is truncated toward zero, like a C++ cast): converting NaN, Inf or 1e300 would be undefined.
template <class T>
T from_floating(double v, std::size_t i, const std::string& path) {
  if constexpr (std::is_integral_v<T>) {
    constexpr double kLimit = 9223372036854775808.0;  // 2^63
    if (!(v >= -kLimit && v < kLimit))
      throw Error(fmt::format("{}: element {} is {}, which int64 cannot hold; read a float IDX file as float32 or "
                              "float64", path, i, v));
  }
  return static_cast<T>(v);
}

template <class T>
void convert(const IdxFile& f, T* out, const std::string& path) {
  const std::uint8_t* p = f.data.data();
  const std::size_t n = f.data.size() / f.type->size;
  switch (f.type->code) {
    case 0x08:
      for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<T>(p[i]);
      break;
    case 0x09:
      for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<T>(static_cast<std::int8_t>(p[i]));
      break;
    case 0x0B:
      for (std::size_t i = 0; i < n; ++i)
        out[i] = static_cast<T>(static_cast<std::int16_t>((std::uint16_t{p[2 * i]} << 8) | p[2 * i + 1]));
      break;
    case 0x0C:
      for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<T>(static_cast<std::int32_t>(read_be32(p + 4 * i)));
      break;
    case 0x0D:
      for (std::size_t i = 0; i < n; ++i) {
        const std::uint32_t u = read_be32(p + 4 * i);
        float v;
        std::memcpy(&v, &u, 4);
        out[i] = from_floating<T>(v, i, path);
      }
      break;
    case 0x0E:
      for (std::size_t i = 0; i < n; ++i) {
        const std::uint64_t u = (std::uint64_t{read_be32(p + 8 * i)} << 32) | read_be32(p + 8 * i + 4);
        double v;
        std::memcpy(&v, &u, 8);
        out[i] = from_floating<T>(v, i, path);
      }
      break;
  }
}

Tensor to_tensor(const IdxFile& f, DType dtype, const std::string& path) {
  Tensor t = empty(f.dims, dtype);
  switch (dtype) {
    case DType::Float32: convert(f, t.data_ptr<float>(), path); break;
    case DType::Float64: convert(f, t.data_ptr<double>(), path); break;
    case DType::Int64: convert(f, t.data_ptr<std::int64_t>(), path); break;
  }
  return t;
}

IdxFile read_ubyte(const std::string& path, std::size_t ndims, const char* what) {
  IdxFile f = read_idx_file(path);
  if (f.type->code != 0x08)
    throw Error(fmt::format("{}: {} file has element type {} (0x{:02x}); valid: ubyte (0x08)", path, what, f.type->name,
                            f.type->code));
  if (f.dims.size() != ndims)
    throw Error(fmt::format("{}: {} file has {} dimensions {}; valid: {} ({})", path, what, f.dims.size(),
                            shape_to_string(f.dims), ndims, ndims == 3 ? "count, rows, cols" : "count"));
  return f;
}

}  // namespace

Tensor read_idx(const std::string& path, DType dtype) { return to_tensor(read_idx_file(path), dtype, path); }

Tensor read_idx_images(const std::string& path, bool scale) {
  IdxFile f = read_ubyte(path, 3, "images");
  Tensor t = empty(f.dims, kFloat32);
  float* out = t.data_ptr<float>();
  // Divided (not multiplied by 1/255) so values equal PyTorch's img.float().div(255) bit for bit.
  const float k = scale ? 255.0f : 1.0f;
  for (std::size_t i = 0; i < f.data.size(); ++i) out[i] = static_cast<float>(f.data[i]) / k;
  return t;
}

Tensor read_idx_labels(const std::string& path) { return to_tensor(read_ubyte(path, 1, "labels"), kInt64, path); }

std::string default_mnist_dir() { return "/usr/share/datasets/fashion-mnist"; }

std::string find_mnist_file(const std::string& dir, const std::string& name) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error(fmt::format("{}: data directory does not exist (expected a directory holding {}, "
                            "train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each raw or .gz; "
                            "the default, {}, comes with Debian's dataset-fashion-mnist)",
                            dir, "train-images-idx3-ubyte", default_mnist_dir()));
  const fs::path raw = fs::path(dir) / name;
  if (fs::is_regular_file(raw, ec)) return raw.string();
  const fs::path gz = fs::path(dir) / (name + ".gz");
  if (fs::is_regular_file(gz, ec)) return gz.string();
  throw Error(fmt::format("{}: missing data file: neither {} nor {} exists", dir, raw.string(), gz.string()));
}

MnistData load_mnist(const std::string& dir, Split split, const MnistOptions& options) {
  if (options.num_classes < 1) throw Error(fmt::format("load_mnist: num_classes is {} (valid: >= 1)", options.num_classes));
  const std::string prefix = split == Split::Train ? "train" : "t10k";
  const std::string images_path = find_mnist_file(dir, prefix + "-images-idx3-ubyte");
  const std::string labels_path = find_mnist_file(dir, prefix + "-labels-idx1-ubyte");
  // Labels first: they are small, so a mismatch is found before the images are read.
  Tensor labels = read_idx_labels(labels_path);
  const std::int64_t n = labels.size(0);
  const std::int64_t* l = labels.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i)
    if (l[i] < 0 || l[i] >= options.num_classes)
      throw Error(fmt::format("{}: label {} at index {} is outside the model's classes (valid: 0 to {})", labels_path,
                              l[i], i, options.num_classes - 1));
  Tensor images = read_idx_images(images_path, options.scale);
  if (images.size(0) != n)
    throw Error(fmt::format("{} holds {} images but {} holds {} labels (the counts must agree)", images_path,
                            images.size(0), labels_path, n));
  const std::int64_t rows = images.size(1), cols = images.size(2);
  switch (options.layout) {
    case ImageLayout::Flat: images = images.reshape({n, rows * cols}); break;
    case ImageLayout::Grid: break;
    case ImageLayout::Channels: images = images.reshape({n, 1, rows, cols}); break;
  }
  return {images, labels};
}

}  // namespace nabla::data
