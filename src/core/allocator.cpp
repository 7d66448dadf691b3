#include <nabla/core/allocator.h>

#include <bit>
#include <cstdint>
#include <cstdlib>
#include <utility>

namespace nabla::detail {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kCache = false;  // AddressSanitizer must see every free to catch use-after-free
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kCache = false;
#else
constexpr bool kCache = true;
#endif
#else
constexpr bool kCache = true;
#endif

constexpr std::size_t kMinShift = 6;  // 64 bytes, the alignment
constexpr std::size_t kClasses = 40;
// Each thread keeps at most this many bytes of free blocks; beyond it blocks go back to the system.
// A thread that frees what another allocated (a data loader's batches) is bounded by it too.
constexpr std::size_t kMaxCachedBytes = std::size_t{64} << 20;

std::size_t class_of(std::size_t nbytes) {
  return nbytes <= (std::size_t{1} << kMinShift) ? 0 : std::bit_width(nbytes - 1) - kMinShift;
}
std::size_t class_bytes(std::size_t c) { return std::size_t{1} << (c + kMinShift); }

void* system_alloc(std::size_t bytes) {
  void* p = std::aligned_alloc(64, bytes);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

struct FreeBlock {
  FreeBlock* next;
};

// Trivially destructible and initial-exec, so that reaching it is a plain TLS load (not a call per
// access, as thread_locals of a shared library otherwise are), and it can still be read after the
// thread's destructors ran (tensors freed by static destructors at exit then go to the system).
struct ThreadCache {
  FreeBlock* heads[kClasses];
  std::size_t bytes;
  bool armed;  // tl_reaper is registered
  bool gone;   // tl_reaper ran
};
[[gnu::tls_model("initial-exec")]] constinit thread_local ThreadCache tl_cache = {};

// Returns a thread's free blocks to the system when it ends.
struct Reaper {
  bool armed = false;
  ~Reaper() {
    tl_cache.gone = true;
    for (FreeBlock*& head : tl_cache.heads)
      while (head != nullptr) std::free(std::exchange(head, head->next));
    tl_cache.bytes = 0;
  }
};
thread_local Reaper tl_reaper;

}  // namespace

void* cached_alloc(std::size_t nbytes) {
  const std::size_t c = class_of(nbytes);
  if (!kCache || c >= kClasses) return system_alloc(c >= kClasses ? (nbytes + 63) / 64 * 64 : class_bytes(c));
  ThreadCache& cache = tl_cache;
  if (FreeBlock* b = cache.heads[c]) {  // none once the reaper ran
    cache.heads[c] = b->next;
    cache.bytes -= class_bytes(c);
    return b;
  }
  return system_alloc(class_bytes(c));
}

void cached_free(void* p, std::size_t nbytes) noexcept {
  if (p == nullptr) return;
  const std::size_t c = class_of(nbytes);
  ThreadCache& cache = tl_cache;
  if (kCache && c < kClasses && !cache.gone) {
    if (!cache.armed) tl_reaper.armed = cache.armed = true;  // the first use registers the reaper
    if (cache.bytes + class_bytes(c) <= kMaxCachedBytes) {
      cache.heads[c] = new (p) FreeBlock{cache.heads[c]};
      cache.bytes += class_bytes(c);
      return;
    }
  }
  std::free(p);
}

}  // namespace nabla::detail
