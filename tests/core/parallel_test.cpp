// The thread pool under concurrent use: ops from several threads while another resizes the pool.
// Run under ThreadSanitizer by scripts/test.sh, which found that the pool's size was read without a
// lock while set_num_threads changed it.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include <nabla/nabla.h>

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
