#include "core/parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include <cblas.h>

#include <nabla/core/error.h>
#include <nabla/core/threads.h>

namespace nabla {
namespace detail {
namespace {

thread_local bool tl_inside_pool = false;

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

// Waits until ready() holds: spins for a short while (a training step hands the pool a job every
// few tens of microseconds, and a futex wake-up costs ~10 µs each way), then sleeps on cv.
// `sleepers` lets the notifier skip the mutex when nobody sleeps; with sequentially consistent
// operations on both sides either the notifier sees the sleeper or the sleeper sees the change.
template <class Ready>
void spin_then_wait(std::mutex& mutex, std::condition_variable& cv, std::atomic<int>& sleepers, Ready ready) {
  constexpr auto kSpin = std::chrono::microseconds(50);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; !ready(); ++i) {
    cpu_relax();
    if ((i & 255) == 255 && std::chrono::steady_clock::now() - start > kSpin) {
      std::unique_lock<std::mutex> lock(mutex);
      sleepers.fetch_add(1);
      cv.wait(lock, ready);
      sleepers.fetch_sub(1);
      return;
    }
  }
}

void notify(std::mutex& mutex, std::condition_variable& cv, const std::atomic<int>& sleepers) {
  if (sleepers.load() == 0) return;
  std::lock_guard<std::mutex> lock(mutex);  // a sleeper is either waiting already or will see the change
  cv.notify_all();
}

// A fixed set of workers. A job is cut into one chunk per thread; the chunks are claimed from one
// atomic word (job id, chunks claimed from the front, chunks claimed from the back), so the caller,
// once done with its own chunk, takes any chunk no worker has started: a worker that is asleep or
// descheduled (the cores are shared) delays nothing but its own chunk. The caller claims from the
// front and the workers from the back, so with two threads each always gets the same half of a
// job: a matrix split by rows stays in the cache of the core that read it last time (a worker
// racing the caller to chunk 0 used to swap the halves at random). Between jobs a worker spins for
// a moment, then sleeps.
// OpenBLAS itself runs single-threaded: nabla splits GEMMs over this pool (kernels/gemm.cpp), so
// one threading model owns the cores.
class ThreadPool {
 public:
  explicit ThreadPool(int threads) { resize(threads); }
  ~ThreadPool() { stop_workers(); }

  // Read without a lock by parallel_for and get_num_threads while another thread may resize.
  int size() const { return size_.load(std::memory_order_relaxed); }

  void resize(int threads) {
    std::lock_guard<std::mutex> run(run_mutex_);
    stop_workers();
    stopping_.store(false);
    const std::uint32_t job = job_of(claim_.load());
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, job] { worker_loop(job); });
    size_.store(threads, std::memory_order_relaxed);
  }

  // Returns false when the pool is busy with another caller's job (the caller then runs inline).
  bool run(std::int64_t n, const std::function<void(std::int64_t, std::int64_t)>& fn) {
    std::unique_lock<std::mutex> run(run_mutex_, std::try_to_lock);
    if (!run.owns_lock()) return false;
    const int parts = std::min(size(), kMaxChunks);
    job_fn_ = &fn;
    job_n_ = n;
    job_parts_ = parts;
    error_ = nullptr;
    completed_.store(0);
    const std::uint32_t job = job_of(claim_.load()) + 1;
    claim_.store(word(job, 0, parts));  // publishes the job to the workers
    notify(mutex_, wake_, sleeping_workers_);
    tl_inside_pool = true;
    while (run_one_chunk(job, false)) {
    }
    tl_inside_pool = false;
    spin_then_wait(mutex_, done_, sleeping_callers_, [&] { return completed_.load() == parts; });
    job_fn_ = nullptr;
    if (error_) std::rethrow_exception(error_);
    return true;
  }

 private:
  static constexpr int kMaxChunks = 0xFFFF;
  // Chunks [0, front) and [back, parts) are claimed; those in between are free.
  static std::uint64_t word(std::uint32_t job, int front, int back) {
    return (std::uint64_t{job} << 32) | (static_cast<std::uint64_t>(front) << 16) | static_cast<std::uint64_t>(back);
  }
  static std::uint32_t job_of(std::uint64_t w) { return static_cast<std::uint32_t>(w >> 32); }
  static int front_of(std::uint64_t w) { return static_cast<int>((w >> 16) & 0xFFFF); }
  static int back_of(std::uint64_t w) { return static_cast<int>(w & 0xFFFF); }

  // Claims (from the front or the back) and runs one chunk of job `job`; false when it has none left
  // (or a newer job started).
  bool run_one_chunk(std::uint32_t job, bool from_back) {
    std::uint64_t w = claim_.load();
    int chunk = 0;
    do {
      if (job_of(w) != job || front_of(w) >= back_of(w)) return false;
      chunk = from_back ? back_of(w) - 1 : front_of(w);
    } while (!claim_.compare_exchange_weak(w, from_back ? w - 1 : w + (std::uint64_t{1} << 16)));
    // The claim keeps the job alive: run() returns only after every chunk has completed, so
    // job_fn_, job_n_ and job_parts_ (written before the claim word announced the job) are this job's.
    const int parts = job_parts_;
    const std::int64_t n = job_n_;
    try {
      (*job_fn_)(n * chunk / parts, n * (chunk + 1) / parts);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex_);
      if (!error_) error_ = std::current_exception();
    }
    if (completed_.fetch_add(1) + 1 == parts) notify(mutex_, done_, sleeping_callers_);
    return true;
  }

  void worker_loop(std::uint32_t seen) {
    tl_inside_pool = true;
    for (;;) {
      spin_then_wait(mutex_, wake_, sleeping_workers_, [&] { return stopping_.load() || job_of(claim_.load()) != seen; });
      if (stopping_.load()) return;
      seen = job_of(claim_.load());
      while (run_one_chunk(seen, true)) {
      }
    }
  }

  void stop_workers() {
    stopping_.store(true);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      wake_.notify_all();
    }
    for (auto& w : workers_) w.join();
    workers_.clear();
    size_.store(1, std::memory_order_relaxed);
  }

  std::mutex run_mutex_;  // one job at a time
  std::mutex mutex_;      // only for sleeping and waking
  std::mutex error_mutex_;
  std::condition_variable wake_, done_;
  std::atomic<int> sleeping_workers_{0}, sleeping_callers_{0};
  std::vector<std::thread> workers_;
  std::atomic<int> size_{1};  // workers_.size() + 1, the caller's thread included
  // The job: written by run() before claim_ announces it, read by whoever claims one of its chunks.
  const std::function<void(std::int64_t, std::int64_t)>* job_fn_ = nullptr;
  std::int64_t job_n_ = 0;
  int job_parts_ = 0;
  std::atomic<std::uint64_t> claim_{0};  // job id (32 bits) | front (16) | back (16)
  std::atomic<int> completed_{0};        // chunks of the current job finished
  std::atomic<bool> stopping_{false};
  std::exception_ptr error_;  // the first failure, under error_mutex_
};

int default_threads() {
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(std::min(hw, 64u));
}

int start_threads() {
  openblas_set_num_threads(1);  // before any GEMM: nabla's pool does the splitting
  return default_threads();
}

ThreadPool& pool() {
  static ThreadPool instance(start_threads());
  return instance;
}

}  // namespace

int pool_threads_available() { return tl_inside_pool ? 1 : pool().size(); }

void parallel_for(std::int64_t n, std::int64_t grain,
                  const std::function<void(std::int64_t, std::int64_t)>& fn) {
  if (n <= 0) return;
  if (n < grain || tl_inside_pool || pool().size() == 1 || !pool().run(n, fn)) fn(0, n);
}

}  // namespace detail

void set_num_threads(int n) {
  if (n < 1 || n > 1024) throw Error("set_num_threads: thread count must be in 1..1024, got " + std::to_string(n));
  detail::pool().resize(n);
}

int get_num_threads() { return detail::pool().size(); }

}  // namespace nabla
