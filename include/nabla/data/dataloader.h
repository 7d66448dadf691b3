#pragma once
/// DataLoader: batches of a Dataset, optionally shuffled with a seed, prepared by a background thread.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <nabla/data/dataset.h>

namespace nabla::data {

/// Options of a DataLoader, settable in a chain: DataLoaderOptions().batch_size(64).shuffle(true).
struct DataLoaderOptions {
  std::int64_t batch_size_ = 64;
  bool shuffle_ = false;
  std::uint64_t seed_ = 0;
  bool drop_last_ = false;
  bool background_ = true;
  std::int64_t prefetch_ = 2;

  /// Examples per batch (>= 1).
  DataLoaderOptions& batch_size(std::int64_t v) { batch_size_ = v; return *this; }
  /// Visit examples in a random order each epoch.
  DataLoaderOptions& shuffle(bool v) { shuffle_ = v; return *this; }
  /// Seed of the loader's own generator (the global generator is not touched).
  DataLoaderOptions& seed(std::uint64_t v) { seed_ = v; return *this; }
  /// Drop the last batch when it is smaller than batch_size.
  DataLoaderOptions& drop_last(bool v) { drop_last_ = v; return *this; }
  /// Prepare batches on a background thread (false: on the caller's thread, when asked).
  DataLoaderOptions& background(bool v) { background_ = v; return *this; }
  /// Batches the background thread may prepare ahead (1 or 2).
  DataLoaderOptions& prefetch(std::int64_t v) { prefetch_ = v; return *this; }
};

/// Iterates over a dataset in batches. Each begin() starts a new epoch; with shuffle, epoch e's order
/// is a function of (seed, e) only, so set_epoch() resumes an interrupted run exactly. An exception
/// thrown while preparing a batch is rethrown to the consumer. Destroying the loader mid-epoch stops
/// and joins the background thread.
class DataLoader {
 public:
  class Iterator;

  /// A loader over `dataset` (shared: the background thread reads it).
  DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options = {});
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  /// Batches per epoch.
  std::int64_t num_batches() const;
  /// The dataset's size.
  std::int64_t num_examples() const { return dataset_->size(); }
  /// The options.
  const DataLoaderOptions& options() const { return options_; }
  /// Number of the next epoch begin()/start_epoch() will run (0 at first).
  std::int64_t epoch() const { return next_epoch_; }
  /// Makes the next epoch number `epoch` (its shuffle order is fixed by seed and epoch).
  void set_epoch(std::int64_t epoch);
  /// The example order of epoch `epoch` (identity without shuffle).
  std::vector<std::int64_t> epoch_order(std::int64_t epoch) const;

  /// Starts the next epoch (stopping any unfinished one).
  void start_epoch();
  /// The next batch of the current epoch, or nothing at its end (and before any start_epoch()).
  std::optional<Example> next();
  /// Starts the next epoch and returns an iterator over its batches.
  Iterator begin();
  /// The end of the current epoch.
  std::default_sentinel_t end() { return {}; }

  /// Input iterator over the batches of the current epoch.
  class Iterator {
   public:
    using value_type = Example;
    using difference_type = std::ptrdiff_t;
    Iterator() = default;
    /// The current batch.
    const Example& operator*() const { return *batch_; }
    /// The current batch.
    const Example* operator->() const { return &*batch_; }
    /// Advances to the next batch.
    Iterator& operator++();
    /// Advances to the next batch.
    void operator++(int) { ++*this; }
    /// True at the end of the epoch.
    friend bool operator==(const Iterator& it, std::default_sentinel_t) { return !it.batch_.has_value(); }

   private:
    friend class DataLoader;
    explicit Iterator(DataLoader* loader);
    DataLoader* loader_ = nullptr;
    std::optional<Example> batch_;
  };

 private:
  struct Item {
    std::optional<Example> batch;  // empty with no error: end of epoch
    std::exception_ptr error;
  };
  void stop_worker();
  void worker_loop(std::vector<std::int64_t> order);
  std::vector<std::int64_t> batch_indices(const std::vector<std::int64_t>& order, std::int64_t b) const;

  std::shared_ptr<const Dataset> dataset_;
  DataLoaderOptions options_;
  std::int64_t next_epoch_ = 0;

  // Current epoch.
  std::vector<std::int64_t> order_;
  std::int64_t next_batch_ = 0;  // foreground mode only
  bool active_ = false;

  // Background mode.
  std::thread worker_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stop_ = false;
};

}  // namespace nabla::data
