#pragma once
// nabla's own loops run on one small persistent pool; OpenBLAS is set to the same thread count.
#include <cstdint>
#include <functional>

namespace nabla::detail {

/// Calls fn(begin, end) on disjoint chunks covering [0, n), in parallel when n >= grain and more
/// than one thread is set; nested or concurrent calls run inline on the caller's thread.
void parallel_for(std::int64_t n, std::int64_t grain, const std::function<void(std::int64_t, std::int64_t)>& fn);

/// Elements below which an elementwise loop stays on one thread (thread wake-up costs ~10 µs).
inline constexpr std::int64_t kParallelGrain = 32768;

}  // namespace nabla::detail
