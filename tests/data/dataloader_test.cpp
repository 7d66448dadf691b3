// Dataset, TensorDataset and DataLoader: batching, shuffle determinism, drop_last, the background
// thread, errors from the worker and destruction mid-epoch.
#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include <nabla/core/generator.h>
#include <nabla/data/dataloader.h>

#include "data/test_files.h"

using nabla::Tensor;
using nabla::test::error_of;
namespace data = nabla::data;
using std::int64_t;

namespace {

// n examples: images [n, 2, 3] with image i filled with i + k/10, labels i (int64).
std::shared_ptr<data::TensorDataset> numbered(int64_t n) {
  std::vector<float> img;
  std::vector<int64_t> lab;
  for (int64_t i = 0; i < n; ++i) {
    for (int k = 0; k < 6; ++k) img.push_back(static_cast<float>(i) + static_cast<float>(k) / 10.0f);
    lab.push_back(i);
  }
  return std::make_shared<data::TensorDataset>(
      std::vector<Tensor>{nabla::tensor(img, {n, 2, 3}), nabla::tensor(lab, {n})});
}

std::vector<std::vector<int64_t>> epoch_labels(data::DataLoader& loader) {
  std::vector<std::vector<int64_t>> out;
  for (const auto& batch : loader) out.push_back(batch[1].to_vector<int64_t>());
  return out;
}

}  // namespace

TEST(TensorDataset, RowsAndBatches) {
  auto ds = numbered(5);
  EXPECT_EQ(ds->size(), 5);
  const auto ex = ds->get(3);
  ASSERT_EQ(ex.size(), 2u);
  EXPECT_EQ(ex[0].shape(), (nabla::Shape{2, 3}));
  EXPECT_FLOAT_EQ(ex[0].to_vector<float>()[4], 3.4f);
  EXPECT_EQ(ex[1].item<int64_t>(), 3);
  const auto b = ds->get_batch({4, 0});
  EXPECT_EQ(b[0].shape(), (nabla::Shape{2, 2, 3}));
  EXPECT_TRUE(b[0].is_contiguous());
  EXPECT_FLOAT_EQ(b[0].to_vector<float>()[0], 4.0f);
  EXPECT_FLOAT_EQ(b[0].to_vector<float>()[7], 0.1f);
  EXPECT_EQ(b[1].to_vector<int64_t>(), (std::vector<int64_t>{4, 0}));
}

TEST(TensorDataset, BadArguments) {
  EXPECT_CONTAINS(error_of([] { data::TensorDataset({nabla::zeros({3, 2}), nabla::zeros({4})}); }),
                  "tensor 1 has 4 rows (shape [4]) but tensor 0 has 3 (shape [3, 2])");
  EXPECT_CONTAINS(error_of([] { data::TensorDataset({}); }), "no tensors given");
  auto ds = numbered(3);
  EXPECT_CONTAINS(error_of([&] { ds->get(3); }), "index 3 is out of range (valid: 0 to 2)");
  EXPECT_CONTAINS(error_of([&] { ds->get_batch({0, -1}); }), "index -1 is out of range");
}

TEST(TensorDataset, NonContiguousInputIsCopied) {
  // Rows of a transposed tensor: row i of t() is column i of the original.
  Tensor m = nabla::tensor(std::vector<float>{0, 1, 2, 3, 4, 5}, {2, 3});
  data::TensorDataset ds({m.t()});
  EXPECT_EQ(ds.get_batch({2, 0})[0].to_vector<float>(), (std::vector<float>{2, 5, 0, 3}));
}

TEST(Collate, StacksExamplesOfADatasetWithoutGetBatch) {
  struct Squares : data::Dataset {
    int64_t size() const override { return 4; }
    data::Example get(int64_t i) const override {
      return {nabla::full({2}, static_cast<double>(i * i)), nabla::tensor(std::vector<int64_t>{i}, {})};
    }
  };
  auto ds = std::make_shared<Squares>();
  data::DataLoader loader(ds, data::DataLoaderOptions().batch_size(3));
  std::vector<data::Example> batches;
  for (const auto& b : loader) batches.push_back(b);
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0][0].to_vector<float>(), (std::vector<float>{0, 0, 1, 1, 4, 4}));
  EXPECT_EQ(batches[1][0].shape(), (nabla::Shape{1, 2}));
  EXPECT_EQ(batches[1][1].to_vector<int64_t>(), (std::vector<int64_t>{3}));
  EXPECT_CONTAINS(error_of([] { data::collate({{nabla::zeros({2})}, {nabla::zeros({3})}}); }),
                  "tensor 0 of example 1 is [3] float32, but in example 0 it is [2] float32");
}

TEST(DataLoader, BatchesInOrderWithLastPartialBatch) {
  for (bool background : {true, false}) {
    data::DataLoader loader(numbered(10), data::DataLoaderOptions().batch_size(4).background(background));
    EXPECT_EQ(loader.num_batches(), 3);
    std::vector<data::Example> batches;
    for (const auto& b : loader) batches.push_back(b);
    ASSERT_EQ(batches.size(), 3u);
    EXPECT_EQ(batches[0][0].shape(), (nabla::Shape{4, 2, 3}));
    EXPECT_EQ(batches[0][1].dtype(), nabla::kInt64);
    EXPECT_EQ(batches[1][1].to_vector<int64_t>(), (std::vector<int64_t>{4, 5, 6, 7}));
    EXPECT_EQ(batches[2][1].to_vector<int64_t>(), (std::vector<int64_t>{8, 9}));
    EXPECT_FLOAT_EQ(batches[2][0].to_vector<float>()[6 + 5], 9.5f);
  }
}

TEST(DataLoader, DropLast) {
  data::DataLoader loader(numbered(10), data::DataLoaderOptions().batch_size(4).drop_last(true));
  EXPECT_EQ(loader.num_batches(), 2);
  const auto labels = epoch_labels(loader);
  ASSERT_EQ(labels.size(), 2u);
  EXPECT_EQ(labels[1], (std::vector<int64_t>{4, 5, 6, 7}));
  data::DataLoader exact(numbered(8), data::DataLoaderOptions().batch_size(4).drop_last(true));
  EXPECT_EQ(epoch_labels(exact).size(), 2u);
  data::DataLoader too_small(numbered(3), data::DataLoaderOptions().batch_size(4).drop_last(true));
  EXPECT_TRUE(epoch_labels(too_small).empty());
}

TEST(DataLoader, ShuffleIsSeededAndIndependentOfTheGlobalGenerator) {
  auto opts = data::DataLoaderOptions().batch_size(7).shuffle(true).seed(42);
  data::DataLoader a(numbered(50), opts);
  nabla::manual_seed(1);
  const auto a0 = epoch_labels(a);
  const auto a1 = epoch_labels(a);
  data::DataLoader b(numbered(50), opts);
  nabla::manual_seed(999);
  (void)nabla::randn({100});  // the global generator's state does not matter
  EXPECT_EQ(epoch_labels(b), a0);
  EXPECT_EQ(epoch_labels(b), a1);
  EXPECT_NE(a0, a1);  // each epoch has its own order
  // Every epoch is a permutation.
  std::multiset<int64_t> seen;
  for (const auto& batch : a0) seen.insert(batch.begin(), batch.end());
  ASSERT_EQ(seen.size(), 50u);
  EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), 50u);
  EXPECT_NE(a0[0], (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
  // Resuming at epoch 1 gives epoch 1's order; a foreground loader gives the same order.
  data::DataLoader resumed(numbered(50), opts.background(false));
  resumed.set_epoch(1);
  EXPECT_EQ(epoch_labels(resumed), a1);
  EXPECT_EQ(resumed.epoch(), 2);
  // Another seed, another order.
  data::DataLoader c(numbered(50), data::DataLoaderOptions().batch_size(7).shuffle(true).seed(43));
  EXPECT_NE(epoch_labels(c), a0);
}

TEST(DataLoader, ShuffledBatchesCarryMatchingImagesAndLabels) {
  data::DataLoader loader(numbered(20), data::DataLoaderOptions().batch_size(6).shuffle(true).seed(7));
  for (const auto& b : loader) {
    const auto imgs = b[0].to_vector<float>();
    const auto labs = b[1].to_vector<int64_t>();
    for (std::size_t i = 0; i < labs.size(); ++i)
      for (int k = 0; k < 6; ++k)
        EXPECT_FLOAT_EQ(imgs[i * 6 + k], static_cast<float>(labs[i]) + static_cast<float>(k) / 10.0f);
  }
}

namespace {
// Records which threads prepare batches and how many were made; optionally slow or failing.
struct Probe : data::Dataset {
  int64_t n = 100;
  int64_t fail_at_batch = -1;
  std::chrono::milliseconds delay{0};
  mutable std::atomic<int> batches{0};
  mutable std::mutex mutex;
  mutable std::set<std::thread::id> threads;
  int64_t size() const override { return n; }
  data::Example get(int64_t i) const override { return {nabla::full({1}, static_cast<double>(i))}; }
  data::Example get_batch(const std::vector<int64_t>& idx) const override {
    {
      std::lock_guard lock(mutex);
      threads.insert(std::this_thread::get_id());
    }
    const int b = batches++;
    if (b == fail_at_batch) throw nabla::Error("probe: batch " + std::to_string(b) + " is broken");
    std::this_thread::sleep_for(delay);
    return Dataset::get_batch(idx);
  }
};
}  // namespace

TEST(DataLoader, BackgroundThreadPreparesABoundedNumberAhead) {
  auto probe = std::make_shared<Probe>();
  data::DataLoader loader(probe, data::DataLoaderOptions().batch_size(10).prefetch(2));
  loader.start_epoch();
  auto first = loader.next();
  ASSERT_TRUE(first);
  EXPECT_EQ((*first)[0].to_vector<float>()[9], 9.0f);
  // The worker fills the queue (2 batches) and then waits: 3 made in all, no more.
  for (int i = 0; i < 200 && probe->batches < 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(probe->batches.load(), 3);
  {
    std::lock_guard lock(probe->mutex);
    EXPECT_EQ(probe->threads.count(std::this_thread::get_id()), 0u);  // never on the consumer's thread
  }
  int count = 1;
  while (loader.next()) ++count;
  EXPECT_EQ(count, 10);
  EXPECT_EQ(probe->batches.load(), 10);
  EXPECT_FALSE(loader.next());  // stays at the end until a new epoch
}

TEST(DataLoader, WorkerErrorsReachTheConsumer) {
  auto probe = std::make_shared<Probe>();
  probe->fail_at_batch = 3;
  for (bool background : {true, false}) {
    probe->batches = 0;
    data::DataLoader loader(probe, data::DataLoaderOptions().batch_size(10).background(background));
    int got = 0;
    const auto msg = error_of([&] {
      for (const auto& b : loader) {
        (void)b;
        ++got;
      }
    });
    EXPECT_EQ(got, 3);
    EXPECT_EQ(msg, "probe: batch 3 is broken");
    EXPECT_FALSE(loader.next());
    // The loader stays usable: the next epoch runs (the probe fails only once).
    int next_epoch = 0;
    for (const auto& b : loader) next_epoch += static_cast<int>(b[0].numel());
    EXPECT_EQ(next_epoch, 100);
  }
}

TEST(DataLoader, DestroyedMidEpochStopsTheWorker) {
  auto probe = std::make_shared<Probe>();
  probe->n = 100000;
  probe->delay = std::chrono::milliseconds(2);
  const auto start = std::chrono::steady_clock::now();
  {
    data::DataLoader loader(probe, data::DataLoaderOptions().batch_size(10));
    auto it = loader.begin();
    ++it;
    ++it;
    EXPECT_EQ(probe.use_count(), 2);  // the loader shares the dataset
  }  // destroyed with 9,997 batches to go
  {
    data::DataLoader never_started(probe, data::DataLoaderOptions().batch_size(10));
  }
  {
    data::DataLoader started_not_consumed(probe, data::DataLoaderOptions().batch_size(10));
    started_not_consumed.start_epoch();
    started_not_consumed.start_epoch();  // restarting mid-epoch stops the old worker too
  }
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 2.0);
  EXPECT_LT(probe->batches.load(), 20);
  EXPECT_EQ(probe.use_count(), 1);
}

TEST(DataLoader, BadOptions) {
  EXPECT_CONTAINS(error_of([] { data::DataLoader(numbered(3), data::DataLoaderOptions().batch_size(0)); }),
                  "batch_size is 0 (valid: >= 1)");
  EXPECT_CONTAINS(error_of([] { data::DataLoader(numbered(3), data::DataLoaderOptions().prefetch(0)); }),
                  "prefetch is 0");
  EXPECT_CONTAINS(error_of([] { data::DataLoader(nullptr); }), "dataset is null");
}

TEST(DataLoader, MnistShapedBatches) {
  // images [N, 784] float32 and labels int64 [N], as the trainer asks.
  const int64_t n = 130;
  auto ds = std::make_shared<data::TensorDataset>(
      std::vector<Tensor>{nabla::rand({n, 784}), nabla::randint(0, 10, {n})});
  data::DataLoader loader(ds, data::DataLoaderOptions().batch_size(64).shuffle(true).seed(3));
  std::vector<nabla::Shape> shapes;
  for (const auto& b : loader) {
    shapes.push_back(b[0].shape());
    EXPECT_EQ(b[1].shape(), (nabla::Shape{b[0].size(0)}));
    EXPECT_EQ(b[1].dtype(), nabla::kInt64);
  }
  EXPECT_EQ(shapes, (std::vector<nabla::Shape>{{64, 784}, {64, 784}, {2, 784}}));
}
