// IDX reader and MNIST directory loader: real Fashion-MNIST files and every kind of bad input.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include <gtest/gtest.h>

#include <nabla/data/idx.h>

#include "data/test_files.h"

using nabla::Error;
using nabla::test::Bytes;
using nabla::test::error_of;
using nabla::test::idx_header;
using nabla::test::TempDir;
using nabla::test::write_file;
namespace data = nabla::data;

namespace {

// 2 images of 2x3 pixels with values 0, 51, 102, ..., and their labels.
Bytes small_images() {
  Bytes b = idx_header(0x08, {2, 2, 3});
  for (int i = 0; i < 12; ++i) b.push_back(static_cast<std::uint8_t>(i * 51 % 256));
  return b;
}
Bytes small_labels(std::vector<std::uint8_t> labels) {
  Bytes b = idx_header(0x08, {static_cast<std::uint32_t>(labels.size())});
  b.insert(b.end(), labels.begin(), labels.end());
  return b;
}

}  // namespace

TEST(Idx, ReadsImagesRawAndScaled) {
  TempDir dir;
  const auto path = dir.file("img-idx3-ubyte");
  write_file(path, small_images());
  const auto raw = data::read_idx_images(path, false);
  EXPECT_EQ(raw.shape(), (nabla::Shape{2, 2, 3}));
  EXPECT_EQ(raw.dtype(), nabla::kFloat32);
  const auto v = raw.to_vector<float>();
  for (int i = 0; i < 12; ++i) EXPECT_EQ(v[i], static_cast<float>(i * 51 % 256)) << i;
  const auto scaled = data::read_idx_images(path).to_vector<float>();
  EXPECT_FLOAT_EQ(scaled[5], 255.0f / 255.0f);
  EXPECT_FLOAT_EQ(scaled[1], 51.0f / 255.0f);
  EXPECT_EQ(scaled[0], 0.0f);
}

TEST(Idx, GzipGivesTheSameValues) {
  TempDir dir;
  const auto path = dir.file("img-idx3-ubyte");
  write_file(path, small_images());
  const auto gz = nabla::test::gzip_file(path);
  EXPECT_EQ(data::read_idx_images(gz, false).to_vector<float>(), data::read_idx_images(path, false).to_vector<float>());
  // A gzip file without the .gz suffix is recognised by its magic bytes.
  std::filesystem::rename(gz, dir.file("renamed"));
  EXPECT_EQ(data::read_idx_images(dir.file("renamed"), false).to_vector<float>(),
            data::read_idx_images(path, false).to_vector<float>());
}

TEST(Idx, ReadsLabels) {
  TempDir dir;
  const auto path = dir.file("lab-idx1-ubyte");
  write_file(path, small_labels({7, 0, 9, 3}));
  const auto l = data::read_idx_labels(path);
  EXPECT_EQ(l.dtype(), nabla::kInt64);
  EXPECT_EQ(l.to_vector<std::int64_t>(), (std::vector<std::int64_t>{7, 0, 9, 3}));
}

TEST(Idx, ReadsOtherElementTypesBigEndian) {
  TempDir dir;
  Bytes b = idx_header(0x0C, {3});  // int32
  nabla::test::append_be32(b, static_cast<std::uint32_t>(-5));
  nabla::test::append_be32(b, 70000);
  nabla::test::append_be32(b, 0);
  write_file(dir.file("ints"), b);
  EXPECT_EQ(data::read_idx(dir.file("ints"), nabla::kInt64).to_vector<std::int64_t>(),
            (std::vector<std::int64_t>{-5, 70000, 0}));
  Bytes f = idx_header(0x0D, {1, 2});  // float32
  for (float x : {1.5f, -0.25f}) {
    std::uint32_t u;
    std::memcpy(&u, &x, 4);
    nabla::test::append_be32(f, u);
  }
  write_file(dir.file("floats"), f);
  const auto t = data::read_idx(dir.file("floats"), nabla::kFloat64);
  EXPECT_EQ(t.shape(), (nabla::Shape{1, 2}));
  EXPECT_EQ(t.to_vector<double>(), (std::vector<double>{1.5, -0.25}));
  Bytes s = idx_header(0x09, {2});  // sbyte
  s.push_back(0xff);
  s.push_back(0x7f);
  write_file(dir.file("sbytes"), s);
  EXPECT_EQ(data::read_idx(dir.file("sbytes")).to_vector<float>(), (std::vector<float>{-1.0f, 127.0f}));
}

TEST(IdxBadInput, TruncatedHeader) {
  TempDir dir;
  const auto path = dir.file("short");
  write_file(path, {0, 0, 8});
  auto msg = error_of([&] { data::read_idx(path); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "truncated");
  Bytes b = idx_header(0x08, {2, 2, 3});
  b.resize(9);  // the sizes are cut
  write_file(path, b);
  msg = error_of([&] { data::read_idx(path); });
  EXPECT_CONTAINS(msg, "truncated IDX header");
  EXPECT_CONTAINS(msg, "need 12 bytes");
}

TEST(IdxBadInput, TruncatedData) {
  TempDir dir;
  const auto path = dir.file("trunc-idx3-ubyte");
  Bytes b = small_images();
  b.resize(b.size() - 2);
  write_file(path, b);
  const auto msg = error_of([&] { data::read_idx_images(path); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "[2, 2, 3]");
  EXPECT_CONTAINS(msg, "need 12 bytes");
  EXPECT_CONTAINS(msg, "has 10");
  EXPECT_CONTAINS(msg, "truncated");
  // The same, gzipped: found while inflating.
  const auto gz = nabla::test::gzip_file(path);
  const auto gz_msg = error_of([&] { data::read_idx_images(gz); });
  EXPECT_CONTAINS(gz_msg, gz);
  EXPECT_CONTAINS(gz_msg, "has only 10");
}

TEST(IdxBadInput, TrailingBytes) {
  TempDir dir;
  const auto path = dir.file("long");
  Bytes b = small_images();
  b.push_back(1);
  write_file(path, b);
  auto msg = error_of([&] { data::read_idx_images(path); });
  EXPECT_CONTAINS(msg, "has 13");
  EXPECT_CONTAINS(msg, "trailing");
  msg = error_of([&] { data::read_idx_images(nabla::test::gzip_file(path)); });
  EXPECT_CONTAINS(msg, "trailing");
}

TEST(IdxBadInput, WrongMagic) {
  TempDir dir;
  const auto path = dir.file("text.idx");
  nabla::test::write_text(path, "hello, world\n");
  const auto msg = error_of([&] { data::read_idx(path); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "wrong magic 68 65 6c 6c");
  EXPECT_CONTAINS(msg, "valid: 00 00 TYPE NDIMS");
}

TEST(IdxBadInput, UnknownTypeAndDimensionCount) {
  TempDir dir;
  const auto path = dir.file("f");
  write_file(path, {0, 0, 0x07, 1, 0, 0, 0, 0});
  auto msg = error_of([&] { data::read_idx(path); });
  EXPECT_CONTAINS(msg, "unknown IDX element type 0x07");
  EXPECT_CONTAINS(msg, "0x08 ubyte");
  write_file(path, {0, 0, 0x08, 0});
  msg = error_of([&] { data::read_idx(path); });
  EXPECT_CONTAINS(msg, "declares 0 dimensions (valid: 1 to 16)");
}

TEST(IdxBadInput, MistypedFiles) {
  TempDir dir;
  // A labels file where images are expected, and the reverse.
  write_file(dir.file("labels"), small_labels({1, 2}));
  write_file(dir.file("images"), small_images());
  auto msg = error_of([&] { data::read_idx_images(dir.file("labels")); });
  EXPECT_CONTAINS(msg, dir.file("labels"));
  EXPECT_CONTAINS(msg, "images file has 1 dimensions [2]; valid: 3");
  msg = error_of([&] { data::read_idx_labels(dir.file("images")); });
  EXPECT_CONTAINS(msg, "labels file has 3 dimensions [2, 2, 3]; valid: 1");
  // Images stored as int32 instead of ubyte.
  Bytes b = idx_header(0x0C, {1, 1, 1});
  nabla::test::append_be32(b, 5);
  write_file(dir.file("ints"), b);
  msg = error_of([&] { data::read_idx_images(dir.file("ints")); });
  EXPECT_CONTAINS(msg, "element type int (0x0c); valid: ubyte (0x08)");
}

TEST(IdxBadInput, HugeDimensionsRejectedBeforeAllocation) {
  TempDir dir;
  const auto path = dir.file("huge-idx3-ubyte");
  // 4e9 x 4e9 x 1 bytes: 1.6e19 bytes, which no allocation could satisfy (it would throw bad_alloc,
  // not nabla::Error, if the reader tried).
  write_file(path, idx_header(0x08, {4000000000u, 4000000000u, 1}));
  auto msg = error_of([&] { data::read_idx_images(path); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "[4000000000, 4000000000, 1]");
  EXPECT_CONTAINS(msg, "more than 2^60 bytes");
  // Overflowing 64 bits: 4e9^3 doubles.
  write_file(path, idx_header(0x0E, {4000000000u, 4000000000u, 4000000000u}));
  msg = error_of([&] { data::read_idx(path); });
  EXPECT_CONTAINS(msg, "more than 2^60 bytes");
  // Plausible but still far larger than the file: checked against the file size.
  write_file(path, idx_header(0x08, {1000000000u, 28, 28}));
  msg = error_of([&] { data::read_idx_images(path); });
  EXPECT_CONTAINS(msg, "need 784000000000 bytes");
  EXPECT_CONTAINS(msg, "has 0");
  // Gzip: the declared size is bounded by the deflate ratio of the compressed size.
  const auto gz = nabla::test::gzip_file(path);
  msg = error_of([&] { data::read_idx_images(gz); });
  EXPECT_CONTAINS(msg, gz);
  EXPECT_CONTAINS(msg, "more than a");
  EXPECT_CONTAINS(msg, "gzip file can hold");
}

TEST(IdxBadInput, GzNameButNotGzip) {
  TempDir dir;
  const auto path = dir.file("train-images-idx3-ubyte.gz");
  write_file(path, small_images());
  const auto msg = error_of([&] { data::read_idx_images(path); });
  EXPECT_CONTAINS(msg, path);
  EXPECT_CONTAINS(msg, "not a gzip file (starts 00 00; gzip starts 1f 8b)");
}

TEST(IdxBadInput, CorruptAndTruncatedGzip) {
  TempDir dir;
  const auto path = dir.file("img");
  Bytes big = idx_header(0x08, {100, 28, 28});
  for (int i = 0; i < 100 * 784; ++i) big.push_back(static_cast<std::uint8_t>((i * 7919) % 251));
  write_file(path, big);
  const auto gz = nabla::test::gzip_file(path);
  std::ifstream in(gz, std::ios::binary);
  Bytes bytes((std::istreambuf_iterator<char>(in)), {});
  // Cut in half: the stream ends early.
  Bytes half(bytes.begin(), bytes.begin() + static_cast<long>(bytes.size() / 2));
  write_file(gz, half);
  auto msg = error_of([&] { data::read_idx_images(gz); });
  EXPECT_CONTAINS(msg, gz);
  EXPECT_CONTAINS(msg, "truncated gzip file");
  // Garbage in the deflate data.
  for (std::size_t i = 20; i < 60; ++i) bytes[i] = 0xff;
  write_file(gz, bytes);
  msg = error_of([&] { data::read_idx_images(gz); });
  EXPECT_CONTAINS(msg, gz);
  EXPECT_CONTAINS(msg, "corrupt gzip data");
}

TEST(IdxBadInput, MissingFile) {
  const auto msg = error_of([&] { data::read_idx("/nonexistent/nabla/file"); });
  EXPECT_CONTAINS(msg, "/nonexistent/nabla/file: cannot open");
}

// ---- MNIST-layout directories ----

namespace {
void write_mnist(const TempDir& dir, const std::string& prefix, const Bytes& images, const Bytes& labels) {
  write_file(dir.file(prefix + "-images-idx3-ubyte"), images);
  write_file(dir.file(prefix + "-labels-idx1-ubyte"), labels);
}
}  // namespace

TEST(Mnist, LoadsSmallDirectoryInEveryLayout) {
  TempDir dir;
  write_mnist(dir, "train", small_images(), small_labels({4, 9}));
  write_mnist(dir, "t10k", small_images(), small_labels({0, 1}));
  // The test split gzipped (the originals removed): raw and .gz mix freely.
  for (const char* f : {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) {
    nabla::test::gzip_file(dir.file(f));
    std::filesystem::remove(dir.file(f));
  }
  const auto flat = data::load_mnist(dir.path().string(), data::Split::Train);
  EXPECT_EQ(flat.images.shape(), (nabla::Shape{2, 6}));
  EXPECT_FLOAT_EQ(flat.images.to_vector<float>()[5], 1.0f);
  EXPECT_EQ(flat.labels.to_vector<std::int64_t>(), (std::vector<std::int64_t>{4, 9}));
  data::MnistOptions grid;
  grid.layout = data::ImageLayout::Grid;
  grid.scale = false;
  EXPECT_EQ(data::load_mnist(dir.path().string(), data::Split::Train, grid).images.shape(), (nabla::Shape{2, 2, 3}));
  data::MnistOptions chan;
  chan.layout = data::ImageLayout::Channels;
  const auto test = data::load_mnist(dir.path().string(), data::Split::Test, chan);
  EXPECT_EQ(test.images.shape(), (nabla::Shape{2, 1, 2, 3}));
  EXPECT_EQ(test.labels.to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 1}));
  EXPECT_EQ(data::find_mnist_file(dir.path().string(), "t10k-labels-idx1-ubyte"),
            dir.file("t10k-labels-idx1-ubyte.gz"));
}

TEST(MnistBadInput, LabelCountDiffersFromImageCount) {
  TempDir dir;
  write_mnist(dir, "train", small_images(), small_labels({1, 2, 3}));
  const auto msg = error_of([&] { data::load_mnist(dir.path().string(), data::Split::Train); });
  EXPECT_CONTAINS(msg, dir.file("train-images-idx3-ubyte") + " holds 2 images");
  EXPECT_CONTAINS(msg, dir.file("train-labels-idx1-ubyte") + " holds 3 labels");
}

TEST(MnistBadInput, LabelOutsideClasses) {
  TempDir dir;
  write_mnist(dir, "train", small_images(), small_labels({1, 10}));
  auto msg = error_of([&] { data::load_mnist(dir.path().string(), data::Split::Train); });
  EXPECT_CONTAINS(msg, dir.file("train-labels-idx1-ubyte"));
  EXPECT_CONTAINS(msg, "label 10 at index 1 is outside the model's classes (valid: 0 to 9)");
  data::MnistOptions eleven;
  eleven.num_classes = 11;
  EXPECT_EQ(data::load_mnist(dir.path().string(), data::Split::Train, eleven).labels.to_vector<std::int64_t>()[1], 10);
}

TEST(MnistBadInput, MissingDirectoryAndFiles) {
  auto msg = error_of([&] { data::load_mnist("/nonexistent/nabla-data", data::Split::Train); });
  EXPECT_CONTAINS(msg, "/nonexistent/nabla-data: data directory does not exist");
  EXPECT_CONTAINS(msg, "train-images-idx3-ubyte");
  TempDir dir;
  write_file(dir.file("train-images-idx3-ubyte"), small_images());
  msg = error_of([&] { data::load_mnist(dir.path().string(), data::Split::Train); });
  EXPECT_CONTAINS(msg, "missing data file: neither " + dir.file("train-labels-idx1-ubyte") + " nor " +
                           dir.file("train-labels-idx1-ubyte.gz") + " exists");
}

// ---- the real data set ----

namespace {
bool have_fashion_mnist() {
  return std::filesystem::exists(data::default_mnist_dir() + "/train-images-idx3-ubyte.gz") ||
         std::filesystem::exists(data::default_mnist_dir() + "/train-images-idx3-ubyte");
}
double sum_of(const nabla::Tensor& t) {
  const float* p = t.data_ptr<float>();
  double s = 0;
  for (std::int64_t i = 0; i < t.numel(); ++i) s += p[i];
  return s;
}
}  // namespace

// Reference numbers computed once with numpy from the .gz files of Debian's dataset-fashion-mnist:
//   x = np.frombuffer(gzip.open(f).read(), np.uint8, offset=16); x.astype(np.uint64).sum(); x[14*28+14]
TEST(FashionMnist, TrainSplit) {
  ASSERT_TRUE(have_fashion_mnist()) << "dataset-fashion-mnist is not installed (scripts/install-deps.sh installs it)";
  data::MnistOptions raw;
  raw.scale = false;
  const auto d = data::load_mnist(data::default_mnist_dir(), data::Split::Train, raw);
  ASSERT_EQ(d.images.shape(), (nabla::Shape{60000, 784}));
  ASSERT_EQ(d.labels.shape(), (nabla::Shape{60000}));
  EXPECT_EQ(sum_of(d.images), 3431114169.0);
  EXPECT_EQ(d.images.data_ptr<float>()[14 * 28 + 14], 217.0f);
  const auto labels = d.labels.to_vector<std::int64_t>();
  EXPECT_EQ(std::vector<std::int64_t>(labels.begin(), labels.begin() + 10),
            (std::vector<std::int64_t>{9, 0, 0, 3, 0, 2, 7, 2, 5, 5}));
  std::vector<int> counts(10, 0);
  for (auto l : labels) {
    ASSERT_GE(l, 0);
    ASSERT_LE(l, 9);
    ++counts[static_cast<std::size_t>(l)];
  }
  EXPECT_EQ(counts, std::vector<int>(10, 6000));
}

TEST(FashionMnist, TestSplitScaled) {
  ASSERT_TRUE(have_fashion_mnist()) << "dataset-fashion-mnist is not installed (scripts/install-deps.sh installs it)";
  data::MnistOptions opts;
  opts.layout = data::ImageLayout::Channels;
  const auto d = data::load_mnist(data::default_mnist_dir(), data::Split::Test, opts);
  ASSERT_EQ(d.images.shape(), (nabla::Shape{10000, 1, 28, 28}));
  ASSERT_EQ(d.labels.numel(), 10000);
  // Mean pixel 73.14656658163265 / 255 in [0, 1].
  EXPECT_NEAR(sum_of(d.images) / 7840000.0, 73.14656658163265 / 255.0, 1e-6);
  float lo = 1, hi = 0;
  for (std::int64_t i = 0; i < d.images.numel(); ++i) {
    lo = std::min(lo, d.images.data_ptr<float>()[i]);
    hi = std::max(hi, d.images.data_ptr<float>()[i]);
  }
  EXPECT_EQ(lo, 0.0f);
  EXPECT_EQ(hi, 1.0f);
  EXPECT_EQ(d.images.data_ptr<float>()[14 * 28 + 14], 110.0f / 255.0f);
  std::int64_t label_sum = 0;
  for (auto l : d.labels.to_vector<std::int64_t>()) label_sum += l;
  EXPECT_EQ(label_sum, 45000);
}

// Found by tests/fuzz/idx_fuzz.cpp: a float file read as int64 converted NaN with a cast (undefined
// behaviour). Non-finite and out-of-range values are now errors; in-range values truncate toward zero.
TEST(IdxBadInput, FloatElementsInt64CannotHold) {
  TempDir dir;
  const auto float_file = [&](const std::string& name, std::vector<float> values) {
    Bytes b = idx_header(0x0D, {static_cast<std::uint32_t>(values.size())});
    for (float x : values) {
      std::uint32_t u;
      std::memcpy(&u, &x, 4);
      nabla::test::append_be32(b, u);
    }
    write_file(dir.file(name), b);
    return dir.file(name);
  };
  const std::string nan_file = float_file("nan", {1.5f, std::numeric_limits<float>::quiet_NaN()});
  EXPECT_CONTAINS(error_of([&] { data::read_idx(nan_file, nabla::kInt64); }), "element 1 is nan, which int64 cannot hold");
  const std::string inf_file = float_file("inf", {-std::numeric_limits<float>::infinity()});
  EXPECT_CONTAINS(error_of([&] { data::read_idx(inf_file, nabla::kInt64); }), "element 0 is -inf");
  const std::string big_file = float_file("big", {0.0f, 9223372036854775808.0f});  // 2^63
  EXPECT_CONTAINS(error_of([&] { data::read_idx(big_file, nabla::kInt64); }), "element 1 is 9.223372036854776e+18");
  EXPECT_EQ(data::read_idx(float_file("ok", {2.75f, -3.5f}), nabla::kInt64).to_vector<std::int64_t>(),
            (std::vector<std::int64_t>{2, -3}));
  // The same files still read as floating point.
  EXPECT_TRUE(std::isnan(data::read_idx(nan_file, nabla::kFloat64).to_vector<double>()[1]));
}

// Found by tests/fuzz/idx_fuzz.cpp: dimensions with a zero declare no data, so the size checks passed,
// but the other sizes multiplied past int64 when the tensor's strides were computed (signed overflow).
TEST(IdxBadInput, EmptyDimensionsWhoseOtherSizesOverflow) {
  TempDir dir;
  write_file(dir.file("zero"), idx_header(0x08, {0, 4000000000u, 4000000000u, 4000000000u}));
  const std::string msg = error_of([&] { data::read_idx(dir.file("zero")); });
  EXPECT_CONTAINS(msg, "zero");
  EXPECT_CONTAINS(msg, "IDX dimensions [0, 4000000000, 4000000000, 4000000000] are empty");
  // An empty file of a reasonable shape still reads.
  write_file(dir.file("empty"), idx_header(0x08, {0, 28, 28}));
  EXPECT_EQ(data::read_idx(dir.file("empty")).shape(), (nabla::Shape{0, 28, 28}));
}
