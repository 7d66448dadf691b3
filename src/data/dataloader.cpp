// DataLoader. Epoch e's order comes from a private mt19937_64 seeded by (seed, e) only, so it does
// not depend on the global generator or on earlier epochs. The background thread fills a queue of
// at most `prefetch` batches; the consumer pops them; errors travel through the queue.
#include <nabla/data/dataloader.h>

#include <numeric>
#include <random>

#include <fmt/format.h>

namespace nabla::data {
namespace {

// Uniform integer on [0, bound) by rejection, independent of the standard library's distributions.
std::uint64_t uniform_below(std::mt19937_64& rng, std::uint64_t bound) {
  const std::uint64_t threshold = (0 - bound) % bound;
  for (;;) {
    const std::uint64_t r = rng();
    if (r >= threshold) return r % bound;
  }
}

}  // namespace

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(options) {
  if (!dataset_) throw Error("DataLoader: dataset is null");
  if (options_.batch_size_ < 1)
    throw Error(fmt::format("DataLoader: batch_size is {} (valid: >= 1)", options_.batch_size_));
  if (options_.prefetch_ < 1 || options_.prefetch_ > 64)
    throw Error(fmt::format("DataLoader: prefetch is {} (valid: 1 to 64)", options_.prefetch_));
}

DataLoader::~DataLoader() { stop_worker(); }

std::int64_t DataLoader::num_batches() const {
  const std::int64_t n = dataset_->size(), b = options_.batch_size_;
  return options_.drop_last_ ? n / b : (n + b - 1) / b;
}

void DataLoader::set_epoch(std::int64_t epoch) {
  if (epoch < 0) throw Error(fmt::format("DataLoader::set_epoch: epoch is {} (valid: >= 0)", epoch));
  next_epoch_ = epoch;
}

std::vector<std::int64_t> DataLoader::epoch_order(std::int64_t epoch) const {
  std::vector<std::int64_t> order(static_cast<std::size_t>(dataset_->size()));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  if (!options_.shuffle_) return order;
  const auto seed = options_.seed_;
  const auto e = static_cast<std::uint64_t>(epoch);
  std::seed_seq seq{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
                    static_cast<std::uint32_t>(e), static_cast<std::uint32_t>(e >> 32)};
  std::mt19937_64 rng(seq);
  for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[uniform_below(rng, i)]);
  return order;
}

std::vector<std::int64_t> DataLoader::batch_indices(const std::vector<std::int64_t>& order, std::int64_t b) const {
  const std::int64_t n = static_cast<std::int64_t>(order.size());
  const std::int64_t start = b * options_.batch_size_;
  const std::int64_t end = std::min(n, start + options_.batch_size_);
  return {order.begin() + start, order.begin() + end};
}

void DataLoader::start_epoch() {
  stop_worker();
  order_ = epoch_order(next_epoch_++);
  next_batch_ = 0;
  active_ = true;
  if (options_.background_) {
    {
      std::lock_guard lock(mutex_);
      queue_.clear();
      stop_ = false;
    }
    worker_ = std::thread(&DataLoader::worker_loop, this, order_);
  }
}

void DataLoader::worker_loop(std::vector<std::int64_t> order) {
  const std::int64_t nb = num_batches();
  for (std::int64_t b = 0; b < nb; ++b) {
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stop_ || static_cast<std::int64_t>(queue_.size()) < options_.prefetch_; });
      if (stop_) return;
    }
    Item item;
    try {
      item.batch = dataset_->get_batch(batch_indices(order, b));
    } catch (...) {
      item.error = std::current_exception();
    }
    const bool failed = item.error != nullptr;
    {
      std::lock_guard lock(mutex_);
      if (stop_) return;
      queue_.push_back(std::move(item));
    }
    cv_.notify_all();
    if (failed) return;
  }
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(Item{});  // end of epoch
  }
  cv_.notify_all();
}

void DataLoader::stop_worker() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  std::lock_guard lock(mutex_);
  queue_.clear();
}

std::optional<Example> DataLoader::next() {
  if (!active_) return std::nullopt;
  if (!options_.background_) {
    if (next_batch_ >= num_batches()) {
      active_ = false;
      return std::nullopt;
    }
    try {
      return dataset_->get_batch(batch_indices(order_, next_batch_++));
    } catch (...) {
      active_ = false;
      throw;
    }
  }
  Item item;
  {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return !queue_.empty(); });
    item = std::move(queue_.front());
    queue_.pop_front();
  }
  cv_.notify_all();
  if (item.error || !item.batch) {
    active_ = false;
    stop_worker();
    if (item.error) std::rethrow_exception(item.error);
    return std::nullopt;
  }
  return std::move(item.batch);
}

DataLoader::Iterator DataLoader::begin() {
  start_epoch();
  return Iterator(this);
}

DataLoader::Iterator::Iterator(DataLoader* loader) : loader_(loader), batch_(loader->next()) {}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  batch_ = loader_->next();
  return *this;
}

}  // namespace nabla::data
