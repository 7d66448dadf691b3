#pragma once
// nabla's own loops and its GEMMs run on one small persistent pool; OpenBLAS runs single-threaded.
#include <cstdint>
#include <functional>

namespace nabla::detail {

/// Calls fn(begin, end) on disjoint chunks covering [0, n), in parallel when n >= grain and more
/// than one thread is set; nested or concurrent calls run inline on the caller's thread.
void parallel_for(std::int64_t n, std::int64_t grain, const std::function<void(std::int64_t, std::int64_t)>& fn);

/// Threads a parallel_for issued here would use: 1 inside a pool job (nested calls run inline),
/// else the pool's size.
int pool_threads_available();

/// Elements below which an elementwise loop stays on one thread (thread wake-up costs ~10 µs).
inline constexpr std::int64_t kParallelGrain = 32768;

}  // namespace nabla::detail
