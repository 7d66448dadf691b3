// The thread pool under concurrent use: ops from several threads while another resizes the pool.
// Run under ThreadSanitizer by scripts/test.sh, which found that the pool's size was read without a
// lock while set_num_threads changed it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <nabla/nabla.h>

#include "core/parallel.h"

TEST(ThreadPool, OpsFromTwoThreadsWhileAThirdResizesThePool) {
  const int saved = nabla::get_num_threads();
  nabla::manual_seed(3);
  const nabla::Tensor x = nabla::randn({200, 500});  // above the parallel grain: split across the pool
  const std::vector<float> want = nabla::exp(x).to_vector<float>();
  const double want_sum = nabla::sum(x, 1).to_vector<float>()[7];
  std::atomic<bool> done{false};
  std::atomic<int> mismatches{0};
  std::vector<std::thread> users;
  for (int u = 0; u < 2; ++u)
    users.emplace_back([&] {
      for (int i = 0; i < 40; ++i) {
        if (nabla::exp(x).to_vector<float>() != want) ++mismatches;
        if (nabla::sum(x, 1).to_vector<float>()[7] != want_sum) ++mismatches;
        (void)nabla::get_num_threads();
      }
    });
  std::thread resizer([&] {
    for (int i = 0; !done.load(); i = (i + 1) % 3) nabla::set_num_threads(1 + i);
  });
  for (auto& t : users) t.join();
  done = true;
  resizer.join();
  nabla::set_num_threads(saved);
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(nabla::get_num_threads(), saved);
}

// parallel_for itself (src/core/parallel.h): every index exactly once, for many job sizes in a row
// (chunks are claimed from one atomic word per job, by the caller as well as the workers).
TEST(ParallelFor, EveryIndexExactlyOnceAcrossManyJobs) {
  const int saved = nabla::get_num_threads();
  for (const int threads : {2, 3}) {
    nabla::set_num_threads(threads);
    for (const std::int64_t n : {1, 2, 3, 17, 1000, 100000}) {
      std::vector<std::atomic<int>> visits(static_cast<std::size_t>(n));
      for (int job = 0; job < 200; ++job)
        nabla::detail::parallel_for(n, 1, [&](std::int64_t b, std::int64_t e) {
          for (std::int64_t i = b; i < e; ++i) visits[static_cast<std::size_t>(i)].fetch_add(1);
        });
      for (std::int64_t i = 0; i < n; ++i) ASSERT_EQ(visits[static_cast<std::size_t>(i)].load(), 200) << n << " " << i;
    }
  }
  nabla::set_num_threads(saved);
}

// A chunk that is slow (its thread busy or descheduled) does not stop the job from completing, and
// nested calls from inside a chunk run inline.
TEST(ParallelFor, SlowChunkAndNestedCalls) {
  const int saved = nabla::get_num_threads();
  nabla::set_num_threads(2);
  std::atomic<std::int64_t> total{0};
  nabla::detail::parallel_for(2, 1, [&](std::int64_t b, std::int64_t e) {
    if (b == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    for (std::int64_t i = b; i < e; ++i)
      nabla::detail::parallel_for(1000, 1, [&](std::int64_t b2, std::int64_t e2) { total += e2 - b2; });
  });
  EXPECT_EQ(total.load(), 2000);
  nabla::set_num_threads(saved);
}

// An exception thrown by any chunk reaches the caller, and the pool keeps working afterwards.
TEST(ParallelFor, ExceptionFromAnyChunkReachesTheCaller) {
  const int saved = nabla::get_num_threads();
  nabla::set_num_threads(2);
  for (const std::int64_t bad : {0, 99}) {
    EXPECT_THROW(nabla::detail::parallel_for(100, 1,
                                             [&](std::int64_t b, std::int64_t e) {
                                               if (b <= bad && bad < e) throw nabla::Error("chunk failed");
                                             }),
                 nabla::Error);
    std::atomic<std::int64_t> count{0};
    nabla::detail::parallel_for(100, 1, [&](std::int64_t b, std::int64_t e) { count += e - b; });
    EXPECT_EQ(count.load(), 100);
  }
  nabla::set_num_threads(saved);
}
