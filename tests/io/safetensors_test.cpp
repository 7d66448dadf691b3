// safetensors save/load: round trips, atomic writes, every malformed header, and load_into's checks.
#include <cstring>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <nabla/io/safetensors.h>

#include "data/test_files.h"

using nabla::Tensor;
using nabla::test::Bytes;
using nabla::test::error_of;
using nabla::test::TempDir;
namespace io = nabla::io;
namespace fs = std::filesystem;

namespace {

Bytes read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(f)), {});
}

// A file from a header (JSON text) and `data_bytes` bytes of data (values 0, 1, 2, ...).
void write_raw(const std::string& path, const std::string& header, std::size_t data_bytes, std::uint64_t declared = 0) {
  Bytes b(8);
  const std::uint64_t n = declared ? declared : header.size();
  for (int i = 0; i < 8; ++i) b[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(n >> (8 * i));
  b.insert(b.end(), header.begin(), header.end());
  for (std::size_t i = 0; i < data_bytes; ++i) b.push_back(static_cast<std::uint8_t>(i));
  nabla::test::write_file(path, b);
}

std::vector<std::string> dir_entries(const TempDir& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir.path())) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

io::NamedTensors sample() {
  return {{"w", nabla::tensor(std::vector<float>{1.5f, -2.0f, 3.25f, 0.0f, 1e-8f, -7.0f}, {2, 3})},
          {"b", nabla::tensor(std::vector<double>{0.1, 1e300}, {2}, nabla::kFloat64)},
          {"steps", nabla::tensor(std::vector<std::int64_t>{-1, 1LL << 62}, {2})}};
}

}  // namespace

TEST(Safetensors, RoundTripKeepsOrderValuesAndMetadata) {
  TempDir dir;
  const auto path = dir.file("model.safetensors");
  auto tensors = sample();
  tensors.emplace_back("scalar", nabla::tensor(std::vector<double>{2.5}, {}, nabla::kFloat64));
  tensors.emplace_back("empty", nabla::zeros({0, 3}));
  // A non-contiguous view is stored row-major.
  tensors.emplace_back("wt", tensors[0].second.t());
  io::save_safetensors(path, tensors, {{"epoch", "4"}, {"arch", "mlp 784-256-10"}});
  const auto file = io::load_safetensors(path);
  ASSERT_EQ(file.tensors.size(), tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(file.tensors[i].first, tensors[i].first);
    EXPECT_EQ(file.tensors[i].second.shape(), tensors[i].second.shape());
    EXPECT_EQ(file.tensors[i].second.dtype(), tensors[i].second.dtype());
    EXPECT_TRUE(file.tensors[i].second.is_contiguous());
  }
  EXPECT_EQ(file.tensors[0].second.to_vector<float>(), tensors[0].second.to_vector<float>());
  EXPECT_EQ(file.tensors[1].second.to_vector<double>(), (std::vector<double>{0.1, 1e300}));
  EXPECT_EQ(file.tensors[2].second.to_vector<std::int64_t>(), (std::vector<std::int64_t>{-1, 1LL << 62}));
  EXPECT_EQ(file.tensors[3].second.item<double>(), 2.5);
  EXPECT_EQ(file.tensors[5].second.to_vector<float>(), (std::vector<float>{1.5f, 0.0f, -2.0f, 1e-8f, 3.25f, -7.0f}));
  EXPECT_EQ(file.metadata, (io::Metadata{{"arch", "mlp 784-256-10"}, {"epoch", "4"}}));
  EXPECT_EQ(io::load_safetensors_metadata(path).at("epoch"), "4");
  // The layout: header length, a JSON header padded to 8 bytes, then the data.
  const Bytes bytes = read_bytes(path);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[static_cast<std::size_t>(i)];
  EXPECT_EQ(n % 8, 0u);
  const auto header = nlohmann::json::parse(std::string(bytes.begin() + 8, bytes.begin() + 8 + static_cast<long>(n)));
  EXPECT_EQ(header["w"]["dtype"], "F32");
  EXPECT_EQ(header["b"]["dtype"], "F64");
  EXPECT_EQ(header["steps"]["dtype"], "I64");
  EXPECT_EQ(header["w"]["data_offsets"], nlohmann::json::array({0, 24}));
  EXPECT_EQ(header["b"]["data_offsets"], nlohmann::json::array({24, 40}));
  EXPECT_EQ(header["scalar"]["shape"], nlohmann::json::array());
  EXPECT_EQ(bytes.size(), 8 + n + 24 + 16 + 16 + 8 + 0 + 24);
  float first;
  std::memcpy(&first, &bytes[8 + n], 4);
  EXPECT_EQ(first, 1.5f);
}

TEST(Safetensors, MapOverloadWritesInNameOrder) {
  TempDir dir;
  const auto path = dir.file("m.safetensors");
  std::map<std::string, Tensor> m{{"z", nabla::ones({1})}, {"a", nabla::zeros({2})}};
  io::save_safetensors(path, m);
  const auto file = io::load_safetensors(path);
  EXPECT_EQ(file.tensors[0].first, "a");
  EXPECT_EQ(file.tensors[1].first, "z");
  EXPECT_TRUE(file.metadata.empty());
}

TEST(Safetensors, OverwriteIsAtomicAndKeepsMode) {
  TempDir dir;
  const auto path = dir.file("ckpt.safetensors");
  io::save_safetensors(path, {{"x", nabla::full({3}, 1.0)}});
  fs::permissions(path, fs::perms(0640));
  io::save_safetensors(path, {{"x", nabla::full({3}, 2.0)}});
  EXPECT_EQ(io::load_safetensors(path).tensors[0].second.to_vector<float>(), (std::vector<float>{2, 2, 2}));
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::all, fs::perms(0640));
  EXPECT_EQ(dir_entries(dir), (std::vector<std::string>{"ckpt.safetensors"}));
}

TEST(Safetensors, FailedWriteLeavesPreviousFileAndNoTemporary) {
  TempDir dir;
  const auto path = dir.file("ckpt.safetensors");
  io::save_safetensors(path, sample(), {{"epoch", "1"}});
  const Bytes before = read_bytes(path);
  auto bigger = sample();
  bigger.emplace_back("extra", nabla::ones({1000}));
  // Fail inside the length field, inside the header and inside the data.
  for (std::int64_t at : {0, 5, 40, 300, 2000}) {
    io::detail::fail_next_save_after_bytes(at);
    const auto msg = error_of([&] { io::save_safetensors(path, bigger, {{"epoch", "2"}}); });
    EXPECT_CONTAINS(msg, path);
    EXPECT_CONTAINS(msg, "write failed after " + std::to_string(at) + " bytes");
    EXPECT_CONTAINS(msg, "the previous file (if any) is unchanged");
    EXPECT_EQ(read_bytes(path), before) << "failure at " << at;
    EXPECT_EQ(dir_entries(dir), (std::vector<std::string>{"ckpt.safetensors"}));
  }
  EXPECT_EQ(io::load_safetensors(path).metadata.at("epoch"), "1");
  // The hook is one-shot: the next save succeeds.
  io::save_safetensors(path, bigger, {{"epoch", "2"}});
  EXPECT_EQ(io::load_safetensors(path).tensors.size(), 4u);
  // A failed first save leaves no file at all.
  io::detail::fail_next_save_after_bytes(10);
  error_of([&] { io::save_safetensors(dir.file("new.safetensors"), sample()); });
  EXPECT_FALSE(fs::exists(dir.file("new.safetensors")));
  EXPECT_EQ(dir_entries(dir).size(), 1u);
}

TEST(SafetensorsBadInput, SaveArguments) {
  TempDir dir;
  const auto path = dir.file("s.safetensors");
  EXPECT_CONTAINS(error_of([&] { io::save_safetensors(path, {{"a", nabla::ones({1})}, {"a", nabla::ones({1})}}); }),
                  "tensor name 'a' appears twice");
  EXPECT_CONTAINS(error_of([&] { io::save_safetensors(path, {{"", nabla::ones({1})}}); }), "empty name");
  EXPECT_CONTAINS(error_of([&] { io::save_safetensors(path, {{"__metadata__", nabla::ones({1})}}); }), "reserved");
  EXPECT_CONTAINS(error_of([&] { io::save_safetensors(path, {{"u", Tensor()}}); }), "tensor 'u' is undefined");
  EXPECT_CONTAINS(error_of([&] { io::save_safetensors(dir.file("no/such/dir/x.safetensors"), sample()); }),
                  "does not exist");
  EXPECT_CONTAINS(error_of([&] { io::save_safetensors(dir.path().string(), sample()); }), "is a directory");
  EXPECT_TRUE(dir_entries(dir).empty());
}

TEST(SafetensorsBadInput, TooShortAndHugeHeaderLength) {
  TempDir dir;
  const auto path = dir.file("bad.safetensors");
  nabla::test::write_file(path, {1, 2, 3});
  EXPECT_CONTAINS(error_of([&] { io::load_safetensors(path); }),
                  path + ": not a safetensors file: 3 bytes, too short for the 8-byte header length");
  // 2^62: rejected against the file size before anything is allocated.
  write_raw(path, "{}", 0, std::uint64_t{1} << 62);
  EXPECT_CONTAINS(error_of([&] { io::load_safetensors(path); }),
                  path + ": header length 4611686018427387904 exceeds the 2 bytes after the length field");
  write_raw(path, "{}", 0, ~std::uint64_t{0});
  EXPECT_CONTAINS(error_of([&] { io::load_safetensors(path); }), "header length 18446744073709551615 exceeds");
  EXPECT_CONTAINS(error_of([&] { io::load_safetensors(dir.file("missing")); }), dir.file("missing") + ": cannot open");
}

TEST(SafetensorsBadInput, MalformedHeaders) {
  TempDir dir;
  const auto path = dir.file("bad.safetensors");
  struct Case {
    std::string header;
    std::size_t data;
    std::string message;
  };
  const std::vector<Case> cases{
      {"{\"w\": {\"dtype\": \"F32\"", 0, "header is not valid JSON"},
      {"[1, 2]", 0, "header is JSON array (valid: an object of tensors)"},
      {R"({"w": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}})", 4,
       "tensor 'w': dtype \"F16\" is not supported (valid: F32, F64, I64)"},
      {R"({"w": {"shape": [2], "data_offsets": [0, 8]}})", 8, "tensor 'w': missing or non-string \"dtype\""},
      {R"({"w": {"dtype": "F32", "data_offsets": [0, 8]}})", 8, "tensor 'w': missing \"shape\" array"},
      {R"({"w": {"dtype": "F32", "shape": [2, -1], "data_offsets": [0, 8]}})", 8,
       "tensor 'w': shape [2,-1] holds -1 (valid: non-negative integers)"},
      {R"({"w": {"dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]}})", 8, "holds 2.5"},
      {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0]}})", 8, "\"data_offsets\" must be [begin, end]"},
      {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}})", 8, "data_offsets [8, 0] end before they begin"},
      {R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]}})", 8,
       "tensor 'w': data_offsets [0, 12] run past the 8 bytes of data"},
      {R"({"w": {"dtype": "F64", "shape": [2, 3], "data_offsets": [0, 24]}})", 24,
       "tensor 'w': shape [2, 3] of F64 needs 48 bytes but data_offsets [0, 24] hold 24"},
      {R"({"w": {"dtype": "F32", "shape": [4000000000, 4000000000, 4000000000], "data_offsets": [0, 8]}})", 8,
       "needs more than 2^64 bytes"},
      {R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
       12, "tensor 'b' (bytes [4, 12]) overlaps tensor 'a' (bytes [0, 8])"},
      {R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}})",
       12, "bytes [4, 8) of the data belong to no tensor (before tensor 'b')"},
      {R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", 10,
       "the tensors cover 4 bytes but the file holds 10 bytes of data"},
      {R"({"__metadata__": {"epoch": 3}})", 0, "__metadata__ entry 'epoch' is number (valid: a string)"},
      {R"({"__metadata__": [1]})", 0, "__metadata__ is array"},
      {R"({"w": 5})", 0, "tensor 'w': entry is number"},
  };
  for (const auto& c : cases) {
    write_raw(path, c.header, c.data);
    const auto msg = error_of([&] { io::load_safetensors(path); });
    EXPECT_CONTAINS(msg, path + ": ");
    EXPECT_CONTAINS(msg, c.message);
  }
}

TEST(SafetensorsBadInput, TruncatedFile) {
  TempDir dir;
  const auto path = dir.file("t.safetensors");
  io::save_safetensors(path, sample());
  Bytes b = read_bytes(path);
  b.erase(b.end() - 3, b.end());  // not resize(size - 3): GCC 12 then warns of a huge memset
  nabla::test::write_file(path, b);
  EXPECT_CONTAINS(error_of([&] { io::load_safetensors(path); }), "tensor 'steps': data_offsets [40, 56] run past the 53 bytes");
}

TEST(LoadInto, CopiesIntoParametersThatRequireGrad) {
  TempDir dir;
  const auto path = dir.file("p.safetensors");
  io::save_safetensors(path, sample(), {{"epoch", "7"}});
  Tensor w = nabla::zeros({2, 3}).requires_grad_();
  Tensor b = nabla::zeros({2}, nabla::kFloat64);
  Tensor steps = nabla::zeros({2}, nabla::kInt64);
  const auto meta = io::load_into(path, {{"steps", steps}, {"w", w}, {"b", b}});
  EXPECT_EQ(meta.at("epoch"), "7");
  EXPECT_EQ(w.to_vector<float>(), sample()[0].second.to_vector<float>());
  EXPECT_TRUE(w.requires_grad());
  EXPECT_TRUE(w.is_leaf());
  EXPECT_EQ(b.to_vector<double>()[1], 1e300);
  EXPECT_EQ(steps.to_vector<std::int64_t>()[1], 1LL << 62);
  // Not strict: the file may hold more.
  Tensor only_w = nabla::zeros({2, 3});
  io::load_into(path, {{"w", only_w}}, false);
  EXPECT_EQ(only_w.to_vector<float>()[2], 3.25f);
}

TEST(LoadInto, ReportsEveryMismatchAtOnceAndChangesNothing) {
  TempDir dir;
  const auto path = dir.file("other_arch.safetensors");
  io::save_safetensors(path, sample());
  Tensor w = nabla::full({3, 2}, 9.0);                 // shape differs
  Tensor b = nabla::full({2}, 9.0);                    // dtype differs (file: float64)
  Tensor gamma = nabla::full({4}, 9.0);                // not in the file
  const auto msg = error_of([&] { io::load_into(path, {{"w", w}, {"b", b}, {"gamma", gamma}}); });
  EXPECT_CONTAINS(msg, "load_into: " + path + ": the checkpoint does not match (4 problems; the file holds 3 tensors, 3 expected):");
  EXPECT_CONTAINS(msg, "mismatch: 'w' is float32 [2, 3] in the file, expected float32 [3, 2]");
  EXPECT_CONTAINS(msg, "mismatch: 'b' is float64 [2] in the file, expected float32 [2]");
  EXPECT_CONTAINS(msg, "missing: 'gamma' (expected float32 [4])");
  EXPECT_CONTAINS(msg, "unexpected: 'steps' (int64 [2])");
  for (const Tensor& t : {w, b, gamma})
    for (float v : t.to_vector<float>()) EXPECT_EQ(v, 9.0f);
  EXPECT_CONTAINS(error_of([&] { io::load_into(path, {{"w", w}, {"w", w}}); }), "tensor name 'w' is given twice");
}
