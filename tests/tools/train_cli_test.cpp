// `nabla train` and `nabla eval` end to end: the binary is run as a user would run it, on small
// synthetic MNIST-layout directories written here (the class of an image is the position of a bright
// block, so it is learnable in an epoch or two), and its output, files, exit codes and signals checked.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nabla/core/tensor.h>
#include <nabla/data/idx.h>
#include <nabla/io/safetensors.h>

#include "common/process.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const std::string kNabla = std::string(NABLA_BINARY_DIR) + "/tools/nabla/nabla";

// ---- files ----

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << p;
}

std::set<std::string> names_in(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

using nabla::test::Child;
using nabla::test::slurp;
using nabla::test::TempDir;
using nabla::test::wait_for;
using Result = nabla::test::ProcessResult;

// ---- IDX and gzip ----

void put_be32(std::string& s, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) s += static_cast<char>((v >> shift) & 0xff);
}

std::string idx_header(std::uint8_t type, const std::vector<std::uint32_t>& dims) {
  std::string s{'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
  for (auto d : dims) put_be32(s, d);
  return s;
}

std::uint32_t crc32(const std::string& data) {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data) c = table[(c ^ b) & 0xff] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

// A gzip member whose deflate stream is made of stored (uncompressed) blocks: valid gzip that any
// inflater reads, written without a compression library.
std::string gzip(const std::string& data) {
  std::string s{'\x1f', '\x8b', '\x08', '\0', '\0', '\0', '\0', '\0', '\0', '\xff'};
  std::size_t pos = 0;
  do {
    const std::size_t len = std::min<std::size_t>(65535, data.size() - pos);
    const bool last = pos + len == data.size();
    s += static_cast<char>(last ? 1 : 0);
    s += static_cast<char>(len & 0xff);
    s += static_cast<char>(len >> 8);
    s += static_cast<char>(~len & 0xff);
    s += static_cast<char>((~len >> 8) & 0xff);
    s.append(data, pos, len);
    pos += len;
  } while (pos < data.size());
  const std::uint32_t crc = crc32(data), size = static_cast<std::uint32_t>(data.size());
  for (int shift = 0; shift < 32; shift += 8) s += static_cast<char>((crc >> shift) & 0xff);
  for (int shift = 0; shift < 32; shift += 8) s += static_cast<char>((size >> shift) & 0xff);
  return s;
}

// Images whose class is the position of a bright 6x6 block (two rows of five places), jittered by a
// pixel, over noise: easy to learn, but not from a single pixel.
struct Split {
  std::string images, labels;  // IDX bytes
};
Split synthetic_split(std::uint32_t n, std::uint32_t seed, std::uint32_t side = 28) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> noise(0, 70), jitter(-1, 1), label(0, 9);
  Split s;
  s.images = idx_header(0x08, {n, side, side});
  s.labels = idx_header(0x08, {n});
  std::vector<unsigned char> img(side * side);
  for (std::uint32_t i = 0; i < n; ++i) {
    const int k = label(gen);
    for (auto& p : img) p = static_cast<unsigned char>(noise(gen));
    const int top = static_cast<int>(side) * (k / 5) / 2 + 4 + jitter(gen);
    const int left = static_cast<int>(side) * (k % 5) / 5 + 1 + jitter(gen);
    for (int r = top; r < top + 6; ++r)
      for (int c = left; c < left + 6; ++c)
        if (r >= 0 && c >= 0 && r < static_cast<int>(side) && c < static_cast<int>(side)) img[r * side + c] = 230;
    s.images.append(reinterpret_cast<const char*>(img.data()), img.size());
    s.labels += static_cast<char>(k);
  }
  return s;
}

// An MNIST-layout directory: train images raw and labels gzipped, test images gzipped and labels raw,
// so both forms are read in every run.
void write_mnist_dir(const fs::path& dir, std::uint32_t train_n, std::uint32_t test_n, std::uint32_t side = 28) {
  fs::create_directories(dir);
  const Split train = synthetic_split(train_n, 1, side), test = synthetic_split(test_n, 2, side);
  write_file(dir / "train-images-idx3-ubyte", train.images);
  write_file(dir / "train-labels-idx1-ubyte.gz", gzip(train.labels));
  write_file(dir / "t10k-images-idx3-ubyte.gz", gzip(test.images));
  write_file(dir / "t10k-labels-idx1-ubyte", test.labels);
}

// Labels 0-3 by the row band of a bright square centred left to right (columns 11-16 of 28, their own
// mirror image): a left-right flip keeps every label, an upside-down one would not.
void write_row_labelled_dir(const fs::path& dir, std::uint32_t train_n, std::uint32_t test_n) {
  fs::create_directories(dir);
  auto split = [](std::uint32_t n, std::uint32_t seed) {
    std::mt19937 gen(seed);
    std::uniform_int_distribution<int> noise(0, 70), jitter(-1, 1), label(0, 3);
    Split s;
    s.images = idx_header(0x08, {n, 28, 28});
    s.labels = idx_header(0x08, {n});
    std::vector<unsigned char> img(28 * 28);
    for (std::uint32_t i = 0; i < n; ++i) {
      const int k = label(gen);
      for (auto& p : img) p = static_cast<unsigned char>(noise(gen));
      const int top = 2 + 6 * k + jitter(gen);
      for (int r = top; r < top + 5; ++r)
        for (int c = 11; c <= 16; ++c) img[r * 28 + c] = 230;
      s.images.append(reinterpret_cast<const char*>(img.data()), img.size());
      s.labels += static_cast<char>(k);
    }
    return s;
  };
  const Split train = split(train_n, 5), test = split(test_n, 6);
  write_file(dir / "train-images-idx3-ubyte", train.images);
  write_file(dir / "train-labels-idx1-ubyte", train.labels);
  write_file(dir / "t10k-images-idx3-ubyte", test.images);
  write_file(dir / "t10k-labels-idx1-ubyte", test.labels);
}

// ---- running the tool ----

Child spawn(const std::vector<std::string>& args, const fs::path& logs) {
  return nabla::test::spawn_program(kNabla, args, logs);
}

// Runs nabla to completion; logs go to a scratch directory of their own.
Result nabla(const std::vector<std::string>& args) {
  static TempDir logs;
  return wait_for(spawn(args, logs.path));
}

// The options every training run here shares: one thread (deterministic and fair to a shared machine).
std::vector<std::string> train_args(const fs::path& data, std::vector<std::string> more) {
  std::vector<std::string> a{"train", "--data", data.string(), "--threads", "1", "--seed", "3"};
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

// ---- output parsing ----

struct EpochLine {
  int epoch = 0, epochs = 0;
  double train_loss = 0, train_acc = 0, test_loss = 0, test_acc = 0, seconds = 0;
};

std::vector<EpochLine> epoch_lines(const std::string& out) {
  static const std::regex re(
      R"(^epoch (\d+)/(\d+)  train_loss ([0-9.]+)  train_acc ([0-9.]+)%  test_loss ([0-9.]+)  test_acc ([0-9.]+)%  epoch_seconds ([0-9.]+)$)");
  std::vector<EpochLine> lines;
  std::istringstream in(out);
  std::string line;
  std::smatch m;
  while (std::getline(in, line))
    if (std::regex_match(line, m, re))
      lines.push_back({std::stoi(m[1]), std::stoi(m[2]), std::stod(m[3]), std::stod(m[4]) / 100, std::stod(m[5]),
                       std::stod(m[6]) / 100, std::stod(m[7])});
  return lines;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

// ---- checkpoints ----

// The raw bytes of a tensor's elements, row-major.
std::string bytes_of(const nabla::Tensor& t) {
  const nabla::Tensor c = t.contiguous();
  const auto n = static_cast<std::size_t>(c.numel()) * nabla::element_size(c.dtype());
  const void* p = c.dtype() == nabla::kFloat32   ? static_cast<const void*>(c.data_ptr<float>())
                  : c.dtype() == nabla::kFloat64 ? static_cast<const void*>(c.data_ptr<double>())
                                                 : static_cast<const void*>(c.data_ptr<std::int64_t>());
  return std::string(static_cast<const char*>(p), n);
}

// Every tensor of two checkpoints (model and optimizer state) and their generator states agree bit for bit.
void expect_same_checkpoint(const fs::path& a, const fs::path& b) {
  const auto fa = nabla::io::load_safetensors(a.string());
  const auto fb = nabla::io::load_safetensors(b.string());
  ASSERT_EQ(fa.tensors.size(), fb.tensors.size());
  int model_tensors = 0;
  for (std::size_t i = 0; i < fa.tensors.size(); ++i) {
    const auto& [na, ta] = fa.tensors[i];
    const auto& [nb, tb] = fb.tensors[i];
    ASSERT_EQ(na, nb);
    ASSERT_EQ(ta.shape(), tb.shape()) << na;
    ASSERT_EQ(ta.dtype(), tb.dtype()) << na;
    EXPECT_TRUE(bytes_of(ta) == bytes_of(tb)) << na << " differs between " << a << " and " << b;
    model_tensors += na.rfind("model.", 0) == 0;
  }
  EXPECT_GE(model_tensors, 2);
  EXPECT_EQ(fa.metadata.at("epoch"), fb.metadata.at("epoch"));
  EXPECT_EQ(fa.metadata.at("rng"), fb.metadata.at("rng"));
}

// ---- the data sets, made once ----

class TrainCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new TempDir;
    write_mnist_dir(root_->path / "small", 512, 128);
    write_mnist_dir(root_->path / "tiny", 128, 64);
    write_mnist_dir(root_->path / "medium", 3000, 64);
  }
  static void TearDownTestSuite() {
    delete root_;
    root_ = nullptr;
  }
  static fs::path small() { return root_->path / "small"; }
  static fs::path tiny() { return root_->path / "tiny"; }
  static fs::path medium() { return root_->path / "medium"; }

  // A copy of the small data set in the test's own directory, to be damaged.
  fs::path copy_small(const std::string& name) {
    const fs::path d = dir_ / name;
    fs::copy(small(), d);
    return d;
  }

  TempDir dir_;
  static TempDir* root_;
};
TempDir* TrainCli::root_ = nullptr;

// ---- output format ----

TEST_F(TrainCli, EpochLinesMetricsCsvAndPlot) {
  const fs::path csv = dir_ / "metrics.csv", svg = dir_ / "plot.svg";
  const Result r = nabla(train_args(small(), {"--epochs", "3", "--batch", "32", "--hidden", "64", "--metrics",
                                              csv.string(), "--plot", svg.string()}));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_NE(r.out.find("training "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("512 train, 128 test images"), std::string::npos) << r.out;
  // Not a terminal: the progress bar is plain lines with loss, samples/s and ETA.
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(epoch 1/3 batch \d+/16 loss [0-9.]+ \d+ samples/s ETA \d+s)")))
      << r.out;

  const auto epochs = epoch_lines(r.out);
  ASSERT_EQ(epochs.size(), 3u) << r.out;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(epochs[i].epoch, i + 1);
    EXPECT_EQ(epochs[i].epochs, 3);
    EXPECT_GT(epochs[i].train_loss, 0);
    EXPECT_GE(epochs[i].seconds, 0);
  }
  EXPECT_LT(epochs[2].train_loss, epochs[0].train_loss);
  EXPECT_GT(epochs[2].test_acc, 0.5) << "chance is 0.1; the block position is learnable";

  const auto rows = lines_of(slurp(csv));
  ASSERT_EQ(rows.size(), 4u) << slurp(csv);
  EXPECT_EQ(rows[0], "epoch,train_loss,train_acc,test_loss,test_acc,epoch_seconds");
  for (std::size_t i = 1; i < rows.size(); ++i) {
    long long epoch = 0;
    double train_loss = 0, train_acc = 0, test_loss = 0, test_acc = 0, seconds = 0;
    ASSERT_EQ(std::sscanf(rows[i].c_str(), "%lld,%lf,%lf,%lf,%lf,%lf", &epoch, &train_loss, &train_acc, &test_loss,
                          &test_acc, &seconds),
              6)
        << rows[i];
    const EpochLine& e = epochs[i - 1];
    EXPECT_EQ(epoch, static_cast<long long>(i));
    // The CSV holds the figures of the printed line (printed to fewer digits).
    EXPECT_NEAR(train_loss, e.train_loss, 6e-5);
    EXPECT_NEAR(train_acc, e.train_acc, 6e-5);
    EXPECT_NEAR(test_loss, e.test_loss, 6e-5);
    EXPECT_NEAR(test_acc, e.test_acc, 6e-5);
    EXPECT_NEAR(seconds, e.seconds, 6e-3);
    EXPECT_TRUE(train_acc >= 0 && train_acc <= 1 && test_acc >= 0 && test_acc <= 1) << rows[i];
    EXPECT_TRUE(std::isfinite(train_loss) && std::isfinite(test_loss) && train_loss > 0) << rows[i];
  }

  const std::string picture = slurp(svg);
  EXPECT_EQ(picture.rfind("<svg", 0), 0u) << picture.substr(0, 80);
  EXPECT_NE(picture.find("</svg>"), std::string::npos);
  std::size_t polylines = 0;
  for (std::size_t p = picture.find("<polyline"); p != std::string::npos; p = picture.find("<polyline", p + 1)) ++polylines;
  EXPECT_EQ(polylines, 4u) << "train and test lines in the loss and the accuracy panels";
  // Written atomically: no temporary file is left beside the outputs.
  EXPECT_EQ(names_in(dir_.path), (std::set<std::string>{"metrics.csv", "plot.svg"}));
}

TEST_F(TrainCli, CnnBatchnormAndDropoutRun) {
  const fs::path ckpt = dir_ / "cnn.safetensors";
  Result r = nabla(train_args(tiny(), {"--model", "cnn", "--epochs", "1", "--batch", "32", "--save", ckpt.string()}));
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(epoch_lines(r.out).size(), 1u) << r.out;
  EXPECT_EQ(nabla::io::load_safetensors(ckpt.string()).metadata.at("model"), "cnn");

  r = nabla(train_args(tiny(), {"--model", "cnn", "--batchnorm", "--dropout", "0.3", "--epochs", "1", "--batch", "32"}));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(epoch_lines(r.out).size(), 1u) << r.out;

  const fs::path mlp = dir_ / "mlp.safetensors";
  r = nabla(train_args(small(), {"--hidden", "64,32", "--batchnorm", "--dropout", "0.2", "--epochs", "2", "--batch",
                                 "32", "--save", mlp.string()}));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto lines = epoch_lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_GT(lines[1].test_acc, 0.3);
  // The checkpoint holds the batch-norm running statistics (buffers) beside the parameters.
  const auto file = nabla::io::load_safetensors(mlp.string());
  int running = 0;
  for (const auto& [name, t] : file.tensors) running += name.find("running_mean") != std::string::npos;
  EXPECT_EQ(running, 2) << "one BatchNorm1d per hidden layer";
  EXPECT_EQ(file.metadata.at("batchnorm"), "1");
}

// ---- resume ----

TEST_F(TrainCli, ResumeGivesTheSameParametersAsAnUninterruptedRun) {
  const fs::path whole = dir_ / "whole.safetensors", parts = dir_ / "parts.safetensors", csv = dir_ / "m.csv";
  const std::vector<std::string> common{"--hidden", "64", "--batch", "32", "--dropout", "0.1"};
  auto with = [&](std::vector<std::string> more) {
    more.insert(more.begin(), common.begin(), common.end());
    return train_args(small(), more);
  };
  Result r = nabla(with({"--epochs", "3", "--save", whole.string()}));
  ASSERT_EQ(r.code, 0) << r.err;
  r = nabla(with({"--epochs", "1", "--save", parts.string()}));
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(epoch_lines(r.out).size(), 1u);
  r = nabla(with({"--epochs", "3", "--resume", parts.string(), "--save", parts.string(), "--metrics", csv.string()}));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto lines = epoch_lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << "epochs 2 and 3 only:\n" << r.out;
  EXPECT_EQ(lines[0].epoch, 2);
  // The metrics of the first run come with the checkpoint.
  EXPECT_EQ(lines_of(slurp(csv)).size(), 4u) << slurp(csv);
  expect_same_checkpoint(whole, parts);
}

// Runs `nabla train args`, sends SIGINT as soon as the first progress line shows that an epoch is
// under way, and waits for the exit.
Result interrupt_mid_epoch(const std::vector<std::string>& args, const fs::path& cwd) {
  const Child c = spawn(args, cwd);
  if (c.pid <= 0) return Result{-1, 0, "", "spawn failed"};
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (slurp(c.out).find(" batch ") == std::string::npos && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ::kill(c.pid, SIGINT);
  return wait_for(c);
}

// Also with a cosine schedule and flips, whose rate and draws must come back mid-epoch.
TEST_F(TrainCli, SigintWritesACheckpointAndResumesExactly) {
  const fs::path whole = dir_ / "whole.safetensors", ckpt = dir_ / "interrupted.safetensors";
  const std::vector<std::string> common{"--hidden", "256,128", "--batch",    "16",     "--dropout", "0.1",
                                        "--epochs", "2",       "--schedule", "cosine", "--augment", "flip"};
  auto with = [&](std::vector<std::string> more) {
    more.insert(more.begin(), common.begin(), common.end());
    return train_args(medium(), more);
  };
  const Result r = interrupt_mid_epoch(with({"--save", ckpt.string()}), dir_.path);
  ASSERT_EQ(r.code, 130) << r.out << r.err;
  EXPECT_NE(r.out.find("interrupted in epoch 1 after batch"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("checkpoint written to " + ckpt.string()), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--resume " + ckpt.string()), std::string::npos) << r.out;
  const auto meta = nabla::io::load_safetensors(ckpt.string()).metadata;
  EXPECT_EQ(meta.at("epoch"), "0");
  EXPECT_GT(std::stoll(meta.at("batches_done")), 0) << "stopped mid-epoch";
  EXPECT_LT(std::stoll(meta.at("batches_done")), 188);
  // 3000 images in batches of 16: 188 steps per epoch, 376 in all; the last step taken was batches_done - 1.
  const double done = static_cast<double>(std::stoll(meta.at("batches_done")));
  EXPECT_NEAR(std::stod(meta.at("last_lr")), 0.01 * (1 + std::cos(M_PI * (done - 1) / 376)) / 2, 1e-15);

  Result resumed = nabla(with({"--resume", ckpt.string(), "--save", ckpt.string()}));
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_EQ(epoch_lines(resumed.out).size(), 2u) << resumed.out;
  Result uninterrupted = nabla(with({"--save", whole.string()}));
  ASSERT_EQ(uninterrupted.code, 0) << uninterrupted.err;
  expect_same_checkpoint(whole, ckpt);
  EXPECT_EQ(names_in(dir_.path), (std::set<std::string>{"whole.safetensors", "interrupted.safetensors"}));
}

TEST_F(TrainCli, SigintWithoutSaveSaysNothingWasWritten) {
  const Result r = interrupt_mid_epoch(train_args(medium(), {"--hidden", "256,128", "--batch", "16", "--epochs", "1"}), dir_.path);
  EXPECT_EQ(r.code, 130) << r.out << r.err;
  EXPECT_NE(r.out.find("no --save given, so nothing was written"), std::string::npos) << r.out;
}

// SIGKILL at random moments and in the middle of checkpoint writes (issue 7, point 7): the checkpoint
// on disk is always a whole, valid one (the previous or the new), and resuming from whatever is there
// ends with the parameters of an uninterrupted run, bit for bit.
TEST_F(TrainCli, SigkillNeverCorruptsTheCheckpoint) {
  const fs::path ref_dir = dir_ / "reference", run_dir = dir_ / "killed", logs = dir_ / "logs";
  fs::create_directories(ref_dir);
  fs::create_directories(run_dir);
  fs::create_directories(logs);
  const fs::path whole = ref_dir / "model.safetensors", ckpt = run_dir / "model.safetensors";
  const int kEpochs = 8;
  // A wide model makes each checkpoint ~15 MB, so a write takes long enough to be hit.
  const std::vector<std::string> common{"--hidden", "1024,1024", "--batch", "64", "--dropout", "0.1",
                                        "--epochs", std::to_string(kEpochs)};
  auto with = [&](std::vector<std::string> more) {
    more.insert(more.begin(), common.begin(), common.end());
    return train_args(small(), more);
  };
  const auto start = Clock::now();
  const Result reference = nabla(with({"--save", whole.string()}));
  ASSERT_EQ(reference.code, 0) << reference.err;
  const double run_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const auto expected = nabla::io::load_safetensors(whole.string());

  // Starts (or resumes) the killed run; returns it running.
  auto launch = [&] {
    std::vector<std::string> more{"--save", ckpt.string(), "--metrics", (run_dir / "metrics.csv").string()};
    if (fs::exists(ckpt)) more.insert(more.end(), {"--resume", ckpt.string()});
    return spawn(with(more), logs);
  };
  // After each kill: the file there (if any) is a complete checkpoint from an epoch's end, no older
  // than the last one seen, with every tensor of the reference's names, shapes and dtypes.
  long long last_epoch = 0;
  auto check_checkpoint = [&](const char* when) {
    if (!fs::exists(ckpt)) {
      EXPECT_EQ(last_epoch, 0) << when << ": the checkpoint disappeared";
      return;
    }
    nabla::io::SafetensorsFile f;
    try {
      f = nabla::io::load_safetensors(ckpt.string());
    } catch (const std::exception& e) {
      FAIL() << when << ": checkpoint does not load: " << e.what();
    }
    ASSERT_EQ(f.tensors.size(), expected.tensors.size()) << when;
    for (std::size_t i = 0; i < f.tensors.size(); ++i) {
      EXPECT_EQ(f.tensors[i].first, expected.tensors[i].first) << when;
      EXPECT_EQ(f.tensors[i].second.shape(), expected.tensors[i].second.shape()) << when;
      EXPECT_EQ(f.tensors[i].second.dtype(), expected.tensors[i].second.dtype()) << when;
    }
    const long long epoch = std::stoll(f.metadata.at("epoch"));
    EXPECT_EQ(f.metadata.at("batches_done"), "0") << when;
    EXPECT_GE(epoch, last_epoch) << when;
    EXPECT_LE(epoch, kEpochs) << when;
    last_epoch = epoch;
  };

  int mid_write_kills = 0, over_previous = 0;
  // In the middle of a write: killed as soon as inotify reports the temporary file's creation, at the
  // run's first write or (every other attempt) its second, so that some kills hit the replacement of an
  // existing checkpoint. A kill counts as mid-write when its temporary file is still there afterwards.
  for (int attempt = 0; attempt < 4; ++attempt) {
    const int watch = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    ASSERT_GE(watch, 0);
    ASSERT_GE(::inotify_add_watch(watch, run_dir.c_str(), IN_CREATE), 0);
    const Child c = launch();
    ASSERT_GT(c.pid, 0);
    const int target = attempt % 2 == 0 ? 2 : 1;
    int writes = 0;
    std::string writing;
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (writing.empty() && Clock::now() < deadline) {
      pollfd p{watch, POLLIN, 0};
      if (::poll(&p, 1, 20) > 0) {
        alignas(inotify_event) char buf[4096];
        const ssize_t n = ::read(watch, buf, sizeof buf);
        for (ssize_t off = 0; off < n;) {
          const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
          off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
          if (ev->len == 0 || std::string(ev->name).rfind(".model.safetensors.tmp-", 0) != 0) continue;
          if (++writes == target) {
            ::kill(c.pid, SIGKILL);
            writing = ev->name;
            break;
          }
        }
        continue;
      }
      siginfo_t info{};
      if (::waitid(P_PID, static_cast<id_t>(c.pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == c.pid)
        break;  // finished without being caught (the run had one epoch left)
    }
    ::kill(c.pid, SIGKILL);
    ::close(watch);
    const bool had_previous = fs::exists(ckpt);
    const Result r = wait_for(c);
    if (!writing.empty()) {
      EXPECT_EQ(r.signal, SIGKILL) << r.out << r.err;
      const bool mid_write = r.signal == SIGKILL && fs::exists(run_dir / writing);
      mid_write_kills += mid_write;
      over_previous += mid_write && had_previous;
    }
    check_checkpoint("after a kill during a checkpoint write");
  }
  EXPECT_GE(mid_write_kills, 2) << "kills did not land during writes";
  EXPECT_GE(over_previous, 1) << "no kill landed during the replacement of an existing checkpoint";
  std::printf("[          ] %d kills landed during a checkpoint write, %d of them over an existing checkpoint\n",
              mid_write_kills, over_previous);

  // Random moments.
  std::mt19937 gen(20261127);  // fixed, so a failure repeats
  std::uniform_real_distribution<double> when(0.05, std::max(0.2, run_seconds / 3));
  for (int attempt = 0; attempt < 3; ++attempt) {
    const Child c = launch();
    ASSERT_GT(c.pid, 0);
    std::this_thread::sleep_for(std::chrono::duration<double>(when(gen)));
    ::kill(c.pid, SIGKILL);
    wait_for(c);
    check_checkpoint("after a kill at a random moment");
  }

  // Resume to the end: the parameters of the uninterrupted run, and nothing but the checkpoint left.
  const Result finish = wait_for(launch());
  ASSERT_EQ(finish.code, 0) << finish.err;
  expect_same_checkpoint(whole, ckpt);
  EXPECT_EQ(names_in(run_dir), (std::set<std::string>{"model.safetensors", "metrics.csv"})) << "stray temporary files";
  // The metrics CSV, also rewritten atomically each epoch, ends whole: the header and one row per epoch.
  const auto rows = lines_of(slurp(run_dir / "metrics.csv"));
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(kEpochs + 1));
  for (int e = 1; e <= kEpochs; ++e) EXPECT_EQ(rows[e].rfind(std::to_string(e) + ",", 0), 0u) << rows[e];
}

// ---- bad input ----

// Exit code 2 and one message from the command that names `what` in its first line (a list of
// mismatched tensors may follow); no training started.
void expect_rejected(const Result& r, const std::string& what) {
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  const std::string first = r.err.substr(0, r.err.find('\n'));
  EXPECT_NE(first.find(what), std::string::npos) << "message should name " << what << ":\n" << r.err;
  EXPECT_TRUE(r.err.rfind("nabla train: ", 0) == 0 || r.err.rfind("nabla eval: ", 0) == 0) << r.err;
  EXPECT_EQ(r.err.find("nabla train: ", 1), std::string::npos) << "one message:\n" << r.err;
  EXPECT_EQ(r.out.find("epoch 1/"), std::string::npos) << r.out;
}

TEST_F(TrainCli, MissingDataDirectory) {
  const std::string missing = (dir_ / "no-such-dir").string();
  const Result r = nabla(train_args(missing, {"--epochs", "1"}));
  expect_rejected(r, missing);
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
}

TEST_F(TrainCli, MissingDataFile) {
  const fs::path d = copy_small("data");
  fs::remove(d / "t10k-labels-idx1-ubyte");
  expect_rejected(nabla(train_args(d, {"--epochs", "1"})), "t10k-labels-idx1-ubyte");
}

TEST_F(TrainCli, TruncatedIdx) {
  const fs::path d = copy_small("data");
  const fs::path f = d / "train-images-idx3-ubyte";
  fs::resize_file(f, fs::file_size(f) / 2);
  const Result r = nabla(train_args(d, {"--epochs", "1"}));
  expect_rejected(r, f.string());
  EXPECT_NE(r.err.find("truncated"), std::string::npos) << r.err;
}

TEST_F(TrainCli, TruncatedGzip) {
  const fs::path d = copy_small("data");
  const fs::path f = d / "t10k-images-idx3-ubyte.gz";
  fs::resize_file(f, fs::file_size(f) - 5000);
  expect_rejected(nabla(train_args(d, {"--epochs", "1"})), f.string());
}

TEST_F(TrainCli, WrongMagic) {
  const fs::path d = copy_small("data");
  const fs::path f = d / "t10k-labels-idx1-ubyte";
  std::string bytes = slurp(f);
  bytes[0] = 'P';
  bytes[1] = 'K';
  write_file(f, bytes);
  const Result r = nabla(train_args(d, {"--epochs", "1"}));
  expect_rejected(r, f.string());
  EXPECT_NE(r.err.find("magic"), std::string::npos) << r.err;

  // A valid IDX header of the wrong kind: an images file where the labels belong.
  write_file(f, slurp(d / "train-images-idx3-ubyte"));
  expect_rejected(nabla(train_args(d, {"--epochs", "1"})), f.string());
}

TEST_F(TrainCli, DimensionsThatDisagreeWithTheFileSize) {
  const fs::path d = copy_small("data");
  const fs::path f = d / "train-images-idx3-ubyte";
  // 4e9 x 4e9 x 28 declared in a small file: refused before any allocation.
  std::string bytes = idx_header(0x08, {4000000000u, 4000000000u, 28}) + std::string(1000, '\0');
  write_file(f, bytes);
  const auto start = Clock::now();
  const Result r = nabla(train_args(d, {"--epochs", "1"}));
  expect_rejected(r, f.string());
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 10.0);
}

TEST_F(TrainCli, LabelCountDiffersFromImageCount) {
  const fs::path d = copy_small("data");
  const Split s = synthetic_split(500, 9);
  fs::remove(d / "train-labels-idx1-ubyte.gz");
  write_file(d / "train-labels-idx1-ubyte", s.labels);
  const Result r = nabla(train_args(d, {"--epochs", "1"}));
  expect_rejected(r, (d / "train-labels-idx1-ubyte").string());
  EXPECT_NE(r.err.find("512"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("500"), std::string::npos) << r.err;
}

TEST_F(TrainCli, LabelOutsideTheClasses) {
  const fs::path d = copy_small("data");
  std::string labels = slurp(d / "t10k-labels-idx1-ubyte");
  labels[8 + 17] = 12;
  write_file(d / "t10k-labels-idx1-ubyte", labels);
  const Result r = nabla(train_args(d, {"--epochs", "1"}));
  expect_rejected(r, (d / "t10k-labels-idx1-ubyte").string());
  EXPECT_NE(r.err.find("12"), std::string::npos) << r.err;
}

TEST_F(TrainCli, GzFileThatIsNotGzip) {
  const fs::path d = copy_small("data");
  const fs::path f = d / "train-labels-idx1-ubyte.gz";
  write_file(f, "this is plain text, not gzip\n");
  expect_rejected(nabla(train_args(d, {"--epochs", "1"})), f.string());
}

TEST_F(TrainCli, CheckpointOfAnotherArchitecture) {
  const fs::path ckpt = dir_ / "h32.safetensors";
  ASSERT_EQ(nabla(train_args(tiny(), {"--hidden", "32", "--epochs", "1", "--save", ckpt.string()})).code, 0);
  const std::string before = slurp(ckpt);

  Result r = nabla(train_args(tiny(), {"--hidden", "64", "--epochs", "2", "--resume", ckpt.string()}));
  expect_rejected(r, ckpt.string());
  EXPECT_NE(r.err.find("hidden 32"), std::string::npos) << r.err;
  r = nabla(train_args(tiny(), {"--model", "cnn", "--epochs", "2", "--resume", ckpt.string(), "--save", ckpt.string()}));
  expect_rejected(r, ckpt.string());
  r = nabla(train_args(tiny(), {"--hidden", "32", "--optimizer", "adam", "--epochs", "2", "--resume", ckpt.string()}));
  expect_rejected(r, ckpt.string());
  r = nabla(train_args(tiny(), {"--hidden", "32", "--batchnorm", "--epochs", "2", "--resume", ckpt.string()}));
  expect_rejected(r, ckpt.string());
  EXPECT_EQ(slurp(ckpt), before) << "a refused resume must not touch the checkpoint";

  // Not a training checkpoint at all, and a file that is not safetensors.
  const fs::path plain = dir_ / "plain.safetensors", text = dir_ / "text.safetensors";
  nabla::io::save_safetensors(plain.string(), nabla::io::NamedTensors{{"w", nabla::zeros({2, 2})}});
  write_file(text, "hello");
  expect_rejected(nabla(train_args(tiny(), {"--epochs", "1", "--resume", plain.string()})), plain.string());
  expect_rejected(nabla(train_args(tiny(), {"--epochs", "1", "--resume", text.string()})), text.string());
  expect_rejected(nabla(train_args(tiny(), {"--epochs", "1", "--resume", (dir_ / "missing").string()})),
                  (dir_ / "missing").string());
}

TEST_F(TrainCli, EvalRejectsAMismatchedCheckpoint) {
  const fs::path ckpt = dir_ / "h32.safetensors";
  ASSERT_EQ(nabla(train_args(tiny(), {"--hidden", "32", "--epochs", "1", "--save", ckpt.string()})).code, 0);
  auto file = nabla::io::load_safetensors(ckpt.string());

  // Metadata that says hidden 64 over tensors of hidden 32: another architecture than the tensors'.
  const fs::path lying = dir_ / "lying.safetensors";
  auto meta = file.metadata;
  meta["hidden"] = "64";
  nabla::io::save_safetensors(lying.string(), file.tensors, meta);
  Result r = nabla({"eval", "--checkpoint", lying.string(), "--data", tiny().string()});
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find(lying.string()), std::string::npos) << r.err;

  // A model for 784 pixels against 14x14 images.
  const fs::path small_images = dir_ / "14x14";
  write_mnist_dir(small_images, 64, 32, 14);
  r = nabla({"eval", "--checkpoint", ckpt.string(), "--data", small_images.string()});
  EXPECT_EQ(r.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("196 pixels"), std::string::npos) << r.err;

  const fs::path plain = dir_ / "plain.safetensors";
  nabla::io::save_safetensors(plain.string(), nabla::io::NamedTensors{{"w", nabla::zeros({2, 2})}});
  r = nabla({"eval", "--checkpoint", plain.string(), "--data", tiny().string()});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find(plain.string()), std::string::npos) << r.err;
  r = nabla({"eval", "--checkpoint", (dir_ / "missing").string(), "--data", tiny().string()});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find((dir_ / "missing").string()), std::string::npos) << r.err;
  r = nabla({"eval", "--checkpoint", ckpt.string(), "--data", (dir_ / "nowhere").string()});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find((dir_ / "nowhere").string()), std::string::npos) << r.err;
}

TEST_F(TrainCli, MaxMemoryTooSmall) {
  const Result r = nabla(train_args(small(), {"--epochs", "1", "--max-memory", "1M"}));
  expect_rejected(r, "--max-memory");
  EXPECT_NE(r.err.find("budget"), std::string::npos) << r.err;
  expect_rejected(nabla(train_args(small(), {"--epochs", "1", "--max-memory", "lots"})), "--max-memory");
  // A budget that fits runs.
  EXPECT_EQ(nabla(train_args(tiny(), {"--epochs", "1", "--hidden", "16", "--max-memory", "2G"})).code, 0);
}

TEST_F(TrainCli, DetectAnomalyNamesTheFirstOpThatOverflows) {
  // A learning rate of 1e30 blows the weights up within a few steps.
  const std::vector<std::string> diverge{"--epochs", "1", "--hidden", "16", "--lr", "1e30", "--momentum", "0"};
  auto with_anomaly = diverge;
  with_anomaly.push_back("--detect-anomaly");
  const Result r = nabla(train_args(tiny(), with_anomaly));
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.err.find("anomaly: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("was created at:"), std::string::npos) << r.err;
  // Without the flag the same run goes on (its loss is NaN) and nothing is checked.
  const Result plain = nabla(train_args(tiny(), diverge));
  EXPECT_EQ(plain.code, 0) << plain.err;
  EXPECT_EQ(plain.err.find("anomaly"), std::string::npos) << plain.err;
  // A healthy run under the flag completes normally.
  EXPECT_EQ(nabla(train_args(tiny(), {"--epochs", "1", "--hidden", "16", "--detect-anomaly"})).code, 0);
}

TEST_F(TrainCli, NonsenseOptions) {
  const std::vector<std::vector<std::string>> cases{
      {"--epochs", "abc"},   {"--epochs", "0"},        {"--batch", "-1"},      {"--model", "rnn"},
      {"--hidden", "0,-3"},  {"--hidden", "64,,32"},   {"--optimizer", "lbfgs"}, {"--lr", "0"},
      {"--lr", "nan"},       {"--dropout", "1.5"},     {"--threads", "-2"},    {"--frobnicate"},
      {"--augment", "rotate"}, {"--schedule", "linear"},
      {"--save", (dir_ / "no-dir" / "x.safetensors").string()},
      {"--metrics", dir_.path.string()},
  };
  for (const auto& c : cases) {
    const Result r = nabla(train_args(tiny(), c));
    EXPECT_EQ(r.code, 2) << c[0] << " " << (c.size() > 1 ? c[1] : "") << "\n" << r.out << r.err;
    EXPECT_FALSE(r.err.empty()) << c[0];
    EXPECT_EQ(r.out.find("epoch 1/"), std::string::npos) << c[0];
  }
  const Result augment = nabla(train_args(tiny(), {"--augment", "rotate"}));
  EXPECT_NE(augment.err.find("--augment: \"rotate\" is not one of none, flip"), std::string::npos) << augment.err;
  const Result schedule = nabla(train_args(tiny(), {"--schedule", "linear"}));
  EXPECT_NE(schedule.err.find("--schedule: \"linear\" is not one of constant, cosine"), std::string::npos)
      << schedule.err;
  EXPECT_EQ(nabla({"train", "extra-positional"}).code, 2);
  EXPECT_EQ(nabla({"eval"}).code, 2) << "--checkpoint is required";
}

TEST_F(TrainCli, AFailedRunLeavesTheUsersFilesAlone) {
  const fs::path save = dir_ / "mine.safetensors", csv = dir_ / "mine.csv", svg = dir_ / "mine.svg";
  write_file(save, "my precious checkpoint");
  write_file(csv, "my precious metrics\n");
  write_file(svg, "<svg>mine</svg>");
  const fs::path bad = copy_small("bad");
  write_file(bad / "train-labels-idx1-ubyte.gz", "not gzip");
  const std::vector<std::string> outputs{"--save", save.string(), "--metrics", csv.string(), "--plot", svg.string()};
  auto with = [&](const fs::path& data, std::vector<std::string> more) {
    more.insert(more.end(), outputs.begin(), outputs.end());
    return train_args(data, more);
  };
  expect_rejected(nabla(with(bad, {"--epochs", "1"})), "train-labels-idx1-ubyte.gz");
  expect_rejected(nabla(with(small(), {"--epochs", "1", "--resume", save.string()})), save.string());
  EXPECT_EQ(nabla(with(small(), {"--epochs", "1", "--model", "rnn"})).code, 2);
  EXPECT_EQ(slurp(save), "my precious checkpoint");
  EXPECT_EQ(slurp(csv), "my precious metrics\n");
  EXPECT_EQ(slurp(svg), "<svg>mine</svg>");
  EXPECT_EQ(names_in(dir_.path), (std::set<std::string>{"bad", "mine.safetensors", "mine.csv", "mine.svg"}));
}

// ---- input standardisation ----

// The training images' mean and population std, computed here from the files, not by nabla's Standardize.
std::pair<double, double> pixel_moments(const fs::path& dir) {
  const auto train = nabla::data::load_mnist(dir.string(), nabla::data::Split::Train);
  const std::vector<double> v = train.images.to_vector<double>();
  double s = 0, q = 0;
  for (double x : v) s += x;
  const double m = s / static_cast<double>(v.size());
  for (double x : v) q += (x - m) * (x - m);
  return {m, std::sqrt(q / static_cast<double>(v.size()))};
}

TEST_F(TrainCli, InputsAreStandardisedWithTheTrainingSetsStatistics) {
  const fs::path standard = dir_ / "standard.safetensors", raw = dir_ / "raw.safetensors";
  const std::vector<std::string> common{"--hidden", "32", "--batch", "32"};
  auto with = [&](std::vector<std::string> more) {
    more.insert(more.begin(), common.begin(), common.end());
    return train_args(small(), more);
  };
  Result r = nabla(with({"--epochs", "1", "--save", standard.string()}));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto meta = nabla::io::load_safetensors(standard.string()).metadata;
  const auto [mean, sd] = pixel_moments(small());
  EXPECT_NEAR(std::stod(meta.at("input_mean")), mean, 1e-12 * std::max(1.0, mean));
  EXPECT_NEAR(std::stod(meta.at("input_std")), sd, 1e-12);

  r = nabla(with({"--epochs", "1", "--raw-pixels", "--save", raw.string()}));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto trained_raw = epoch_lines(r.out);
  ASSERT_EQ(trained_raw.size(), 1u);
  auto raw_file = nabla::io::load_safetensors(raw.string());
  EXPECT_EQ(raw_file.metadata.at("input_mean"), "0");
  EXPECT_EQ(raw_file.metadata.at("input_std"), "1");

  // eval applies the checkpoint's own values: a raw-pixel model is evaluated on raw pixels ...
  std::smatch m;
  r = nabla({"eval", "--checkpoint", raw.string(), "--data", small().string()});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(accuracy ([0-9.]+)%)"))) << r.out;
  EXPECT_NEAR(std::stod(m[1]) / 100, trained_raw[0].test_acc, 1e-4);
  // ... and so is one from before standardisation existed (no input_mean / input_std at all).
  const fs::path old = dir_ / "old.safetensors";
  auto old_meta = raw_file.metadata;
  old_meta.erase("input_mean");
  old_meta.erase("input_std");
  nabla::io::save_safetensors(old.string(), raw_file.tensors, old_meta);
  r = nabla({"eval", "--checkpoint", old.string(), "--data", small().string()});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(accuracy ([0-9.]+)%)"))) << r.out;
  EXPECT_NEAR(std::stod(m[1]) / 100, trained_raw[0].test_acc, 1e-4);

  // Resuming must standardise as the first run did.
  r = nabla(with({"--epochs", "2", "--raw-pixels", "--resume", standard.string()}));
  expect_rejected(r, standard.string());
  EXPECT_NE(r.err.find("trained on pixels standardised with mean"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("this run on raw pixels (--raw-pixels)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("resume without --raw-pixels"), std::string::npos) << r.err;
  r = nabla(with({"--epochs", "2", "--resume", raw.string()}));
  expect_rejected(r, raw.string());
  EXPECT_NE(r.err.find("trained on raw pixels (--raw-pixels), this run on pixels standardised"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("resume with --raw-pixels"), std::string::npos) << r.err;

  // A checkpoint whose std cannot scale anything.
  const fs::path broken = dir_ / "broken.safetensors";
  auto broken_meta = raw_file.metadata;
  broken_meta["input_std"] = "0";
  nabla::io::save_safetensors(broken.string(), raw_file.tensors, broken_meta);
  r = nabla({"eval", "--checkpoint", broken.string(), "--data", small().string()});
  expect_rejected(r, broken.string());
  EXPECT_NE(r.err.find("input_std 0"), std::string::npos) << r.err;
  // A std that is a positive double but 0 in float32, the models' dtype.
  broken_meta["input_std"] = "1e-300";
  nabla::io::save_safetensors(broken.string(), raw_file.tensors, broken_meta);
  r = nabla({"eval", "--checkpoint", broken.string(), "--data", small().string()});
  expect_rejected(r, broken.string());
  EXPECT_NE(r.err.find("representable as float32"), std::string::npos) << r.err;
  // Values that do not parse whole, and one key without the other.
  broken_meta["input_std"] = "0.35abc";
  nabla::io::save_safetensors(broken.string(), raw_file.tensors, broken_meta);
  r = nabla({"eval", "--checkpoint", broken.string(), "--data", small().string()});
  expect_rejected(r, broken.string());
  EXPECT_NE(r.err.find("input_std \"0.35abc\"; valid: a finite number"), std::string::npos) << r.err;
  broken_meta.erase("input_std");
  nabla::io::save_safetensors(broken.string(), raw_file.tensors, broken_meta);
  r = nabla({"eval", "--checkpoint", broken.string(), "--data", small().string()});
  expect_rejected(r, broken.string());
  EXPECT_NE(r.err.find("input_mean but not input_std"), std::string::npos) << r.err;

  // A training set whose pixels are all equal cannot be standardised: the error names the file and the way out.
  const fs::path flat = dir_ / "flat";
  write_mnist_dir(flat, 64, 32);
  write_file(flat / "train-images-idx3-ubyte", idx_header(0x08, {64, 28, 28}) + std::string(64 * 28 * 28, '\x07'));
  r = nabla(train_args(flat, {"--epochs", "1"}));
  expect_rejected(r, (flat / "train-images-idx3-ubyte").string());
  EXPECT_NE(r.err.find("--raw-pixels"), std::string::npos) << r.err;
  EXPECT_EQ(nabla(train_args(flat, {"--epochs", "1", "--raw-pixels", "--hidden", "8"})).code, 0);
}

// ---- augmentation and schedules ----

// --augment flip mirrors training images left to right. The synthetic labels here are the position of
// a bright square in a grid of 2 rows and 5 columns, so a mirrored image of column 0 or 1 looks like
// column 4 or 3: training on mirrored images teaches wrong labels and test accuracy (test images are
// never flipped) falls well below that of the same run without flips.
TEST_F(TrainCli, AugmentFlipMirrorsTrainingImagesAndResumesExactly) {
  auto with = [&](const std::string& epochs, std::vector<std::string> more) {
    const std::vector<std::string> common{"--hidden", "64", "--batch", "32", "--epochs", epochs};
    more.insert(more.begin(), common.begin(), common.end());
    return train_args(small(), more);
  };
  const fs::path none = dir_ / "none.safetensors", flip = dir_ / "flip.safetensors";
  Result r = nabla(with("6", {"--save", none.string()}));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto plain = epoch_lines(r.out);
  r = nabla(with("6", {"--augment", "flip", "--save", flip.string()}));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto flipped = epoch_lines(r.out);
  ASSERT_EQ(plain.size(), 6u);
  ASSERT_EQ(flipped.size(), 6u);
  EXPECT_GT(plain.back().test_acc, 0.9) << r.out;
  EXPECT_LT(flipped.back().test_acc, plain.back().test_acc - 0.15) << r.out;
  EXPECT_EQ(nabla::io::load_safetensors(none.string()).metadata.at("augment"), "none") << "the default";
  EXPECT_EQ(nabla::io::load_safetensors(flip.string()).metadata.at("augment"), "flip");

  // The CNN's [N, 1, 28, 28] batches are flipped too: its parameters after one epoch differ with flips.
  const fs::path cnn_plain = dir_ / "cnn-plain.safetensors", cnn_flip = dir_ / "cnn-flip.safetensors";
  for (const auto& [path, augment] : {std::pair{cnn_plain, "none"}, {cnn_flip, "flip"}}) {
    r = nabla(train_args(tiny(), {"--model", "cnn", "--epochs", "1", "--batch", "32", "--augment", augment, "--save",
                                  path.string()}));
    ASSERT_EQ(r.code, 0) << r.err;
  }
  const auto cp = nabla::io::load_safetensors(cnn_plain.string()), cf = nabla::io::load_safetensors(cnn_flip.string());
  ASSERT_EQ(cp.tensors[0].first, cf.tensors[0].first);
  EXPECT_FALSE(bytes_of(cp.tensors[0].second) == bytes_of(cf.tensors[0].second)) << cp.tensors[0].first;

  // Labels by row alone: mirrored left to right, every training image keeps its label, so flips cost
  // nothing (an upside-down flip would swap the bands); both the MLP's flat and the CNN's [N, 1, 28, 28]
  // batches are mirrored as rows.
  const fs::path rows = dir_ / "rows";
  write_row_labelled_dir(rows, 512, 128);
  for (const std::vector<std::string>& model :
       {std::vector<std::string>{"--hidden", "64", "--epochs", "6"}, {"--model", "cnn", "--epochs", "3"}}) {
    std::vector<std::string> args{"--batch", "32", "--augment", "flip"};
    args.insert(args.end(), model.begin(), model.end());
    r = nabla(train_args(rows, args));
    ASSERT_EQ(r.code, 0) << r.err;
    const auto lines = epoch_lines(r.out);
    ASSERT_FALSE(lines.empty()) << r.out;
    EXPECT_GT(lines.back().test_acc, 0.95) << model[0] << "\n" << r.out;
  }

  // The flips are drawn per (seed, epoch, batch): resuming repeats the uninterrupted run exactly.
  const fs::path parts = dir_ / "parts.safetensors";
  r = nabla(with("2", {"--augment", "flip", "--save", parts.string()}));
  ASSERT_EQ(r.code, 0) << r.err;
  r = nabla(with("6", {"--augment", "flip", "--resume", parts.string(), "--save", parts.string()}));
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(epoch_lines(r.out).size(), 4u) << r.out;
  expect_same_checkpoint(flip, parts);

  // Resuming with other augmentation is refused, naming both and the fix.
  r = nabla(with("7", {"--resume", flip.string()}));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.err.find("trained with --augment flip, this run asks for --augment none; resume with --augment flip"),
            std::string::npos)
      << r.err;
  // A checkpoint from before --augment (no such key) was trained without it.
  auto file = nabla::io::load_safetensors(none.string());
  file.metadata.erase("augment");
  const fs::path old = dir_ / "old.safetensors";
  nabla::io::save_safetensors(old.string(), file.tensors, file.metadata);
  r = nabla(with("7", {"--augment", "flip", "--resume", old.string()}));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.err.find("trained with --augment none"), std::string::npos) << r.err;
  r = nabla(with("7", {"--resume", old.string()}));
  EXPECT_EQ(r.code, 0) << r.err;
}

// --schedule cosine anneals the rate from --lr to 0 over the run: the default for the CNN, opt-in for
// the MLP; a cosine run resumes only with the --epochs it was planned for.
TEST_F(TrainCli, CosineScheduleIsTheCnnsDefaultAndSpansTheRun) {
  const fs::path cnn = dir_ / "cnn.safetensors", constant = dir_ / "constant.safetensors";
  Result r = nabla(train_args(tiny(), {"--model", "cnn", "--epochs", "1", "--batch", "32", "--save", cnn.string()}));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto meta = nabla::io::load_safetensors(cnn.string()).metadata;
  EXPECT_EQ(meta.at("schedule"), "cosine");
  EXPECT_EQ(meta.at("augment"), "none");
  EXPECT_EQ(meta.at("lr"), "0.01") << "the rate it anneals from";
  r = nabla(train_args(tiny(), {"--model", "cnn", "--epochs", "1", "--batch", "32", "--schedule", "constant", "--save",
                                constant.string()}));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto a = nabla::io::load_safetensors(cnn.string()), b = nabla::io::load_safetensors(constant.string());
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  ASSERT_EQ(a.tensors[0].first, b.tensors[0].first);
  EXPECT_FALSE(bytes_of(a.tensors[0].second) == bytes_of(b.tensors[0].second)) << "the schedule changes the steps";

  const fs::path mlp = dir_ / "mlp.safetensors";
  auto with = [&](const std::string& epochs, std::vector<std::string> more) {
    const std::vector<std::string> common{"--hidden", "32", "--batch", "32", "--epochs", epochs};
    more.insert(more.begin(), common.begin(), common.end());
    return train_args(small(), more);
  };
  r = nabla(with("2", {"--save", mlp.string()}));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nabla::io::load_safetensors(mlp.string()).metadata.at("schedule"), "constant") << "the MLP's default";
  EXPECT_EQ(nabla::io::load_safetensors(mlp.string()).metadata.at("last_lr"), "0.01");
  r = nabla(with("3", {"--schedule", "cosine", "--resume", mlp.string()}));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.err.find("trained with --schedule constant, this run asks for --schedule cosine; resume with --schedule "
                       "constant"),
            std::string::npos)
      << r.err;

  r = nabla(with("2", {"--schedule", "cosine", "--save", mlp.string()}));
  ASSERT_EQ(r.code, 0) << r.err;
  // 512 images in batches of 32: 16 steps per epoch, 32 in all; the last, step 31, at 0.01 (1 + cos(31π/32)) / 2.
  EXPECT_NEAR(std::stod(nabla::io::load_safetensors(mlp.string()).metadata.at("last_lr")),
              0.01 * (1 + std::cos(M_PI * 31 / 32)) / 2, 1e-15);
  r = nabla(with("2", {"--schedule", "cosine", "--lr", "0.02", "--resume", mlp.string()}));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.err.find("run of --lr 0.01 with --schedule cosine"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("resume with --lr 0.01"), std::string::npos) << r.err;
  r = nabla(with("4", {"--schedule", "cosine", "--resume", mlp.string()}));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.err.find("run of --epochs 2 with --schedule cosine"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("resume with --epochs 2"), std::string::npos) << r.err;
  r = nabla(with("2", {"--schedule", "cosine", "--resume", mlp.string()}));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(epoch_lines(r.out).empty()) << "both epochs were done:\n" << r.out;
}

// ---- eval ----

TEST_F(TrainCli, EvalPrintsAccuracyAndConfusionMatrix) {
  const fs::path ckpt = dir_ / "model.safetensors";
  const Result t = nabla(train_args(small(), {"--hidden", "64", "--batch", "32", "--epochs", "2", "--save", ckpt.string()}));
  ASSERT_EQ(t.code, 0) << t.err;
  const auto trained = epoch_lines(t.out);
  ASSERT_EQ(trained.size(), 2u);

  const Result r = nabla({"eval", "--checkpoint", ckpt.string(), "--data", small().string()});
  ASSERT_EQ(r.code, 0) << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(128 test images, loss ([0-9.]+), accuracy ([0-9.]+)%)")))
      << r.out;
  const double accuracy = std::stod(m[2]) / 100;
  EXPECT_NEAR(accuracy, trained[1].test_acc, 1e-4) << "the same model on the same test set";
  EXPECT_NEAR(std::stod(m[1]), trained[1].test_loss, 2e-4);

  const auto lines = lines_of(r.out);
  const auto header = std::find(lines.begin(), lines.end(), "confusion matrix (rows: true class, columns: predicted class)");
  ASSERT_NE(header, lines.end()) << r.out;
  ASSERT_GE(lines.end() - header, 12) << r.out;
  {
    std::istringstream columns(*(header + 1));
    int j = 0, v = 0;
    while (columns >> v) EXPECT_EQ(v, j++);
    EXPECT_EQ(j, 10) << *(header + 1);
  }
  long long total = 0, diagonal = 0;
  for (int i = 0; i < 10; ++i) {
    std::istringstream row(*(header + 2 + i));
    long long label = -1, v = 0;
    row >> label;
    EXPECT_EQ(label, i);
    int j = 0;
    for (; row >> v; ++j) {
      EXPECT_GE(v, 0);
      total += v;
      if (j == i) diagonal += v;
    }
    EXPECT_EQ(j, 10) << *(header + 2 + i);
  }
  EXPECT_EQ(total, 128);
  EXPECT_NEAR(static_cast<double>(diagonal) / 128.0, accuracy, 1e-4);
}

}  // namespace
