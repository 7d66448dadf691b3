#include "core/parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <cblas.h>

#include <nabla/core/error.h>
#include <nabla/core/threads.h>

namespace nabla {
namespace detail {
namespace {

thread_local bool tl_inside_pool = false;

// A fixed set of workers woken per job by a generation counter. Workers sleep on a condition
// variable between jobs (no spinning), so they never compete with OpenBLAS's threads for the cores.
class ThreadPool {
 public:
  explicit ThreadPool(int threads) { resize(threads); }
  ~ThreadPool() { stop_workers(); }

  // Read without a lock by parallel_for and get_num_threads while another thread may resize.
  int size() const { return size_.load(std::memory_order_relaxed); }

  void resize(int threads) {
    std::lock_guard<std::mutex> run(run_mutex_);
    stop_workers();
    stopping_ = false;
    // A new worker starts from the current generation, so it neither takes an old, finished job nor
    // misses the next one (run() cannot start a job while run_mutex_ is held here).
    const std::uint64_t generation = generation_;
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i, generation] { worker_loop(i, generation); });
    size_.store(threads, std::memory_order_relaxed);
  }

  // Returns false when the pool is busy with another caller's job (the caller then runs inline).
  bool run(std::int64_t n, const std::function<void(std::int64_t, std::int64_t)>& fn) {
    std::unique_lock<std::mutex> run(run_mutex_, std::try_to_lock);
    if (!run.owns_lock()) return false;
    const int parts = size();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &fn;
      job_n_ = n;
      parts_ = parts;
      pending_ = parts - 1;
      error_ = nullptr;
      ++generation_;
    }
    wake_.notify_all();
    tl_inside_pool = true;
    std::exception_ptr mine;
    try {
      fn(0, n / parts);
    } catch (...) {
      mine = std::current_exception();
    }
    tl_inside_pool = false;
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return pending_ == 0; });
    job_ = nullptr;
    if (mine) std::rethrow_exception(mine);
    if (error_) std::rethrow_exception(error_);
    return true;
  }

 private:
  void worker_loop(int index, std::uint64_t seen) {
    tl_inside_pool = true;
    for (;;) {
      const std::function<void(std::int64_t, std::int64_t)>* job;
      std::int64_t n;
      int parts;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
        if (stopping_) return;
        seen = generation_;
        job = job_;
        n = job_n_;
        parts = parts_;
      }
      std::exception_ptr failure;
      if (index < parts) {
        try {
          (*job)(n * index / parts, n * (index + 1) / parts);
        } catch (...) {
          failure = std::current_exception();
        }
      }
      std::lock_guard<std::mutex> lock(mutex_);
      if (failure && !error_) error_ = failure;
      if (index < parts && --pending_ == 0) done_.notify_one();
    }
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
    size_.store(1, std::memory_order_relaxed);
  }

  std::mutex run_mutex_;  // one job at a time
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  std::atomic<int> size_{1};  // workers_.size() + 1, the caller's thread included
  const std::function<void(std::int64_t, std::int64_t)>* job_ = nullptr;
  std::int64_t job_n_ = 0;
  int parts_ = 1;
  int pending_ = 0;
  std::uint64_t generation_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
};

int default_threads() {
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(std::min(hw, 64u));
}

ThreadPool& pool() {
  static ThreadPool instance(default_threads());
  return instance;
}

}  // namespace

void parallel_for(std::int64_t n, std::int64_t grain,
                  const std::function<void(std::int64_t, std::int64_t)>& fn) {
  if (n <= 0) return;
  if (n < grain || tl_inside_pool || pool().size() == 1 || !pool().run(n, fn)) fn(0, n);
}

}  // namespace detail

void set_num_threads(int n) {
  if (n < 1 || n > 1024) throw Error("set_num_threads: thread count must be in 1..1024, got " + std::to_string(n));
  detail::pool().resize(n);
  openblas_set_num_threads(n);
}

int get_num_threads() { return detail::pool().size(); }

}  // namespace nabla
