#pragma once
/// The memory behind tensors and graph nodes (internal): 64-byte aligned blocks in power-of-two size
/// classes, recycled through per-thread free lists, so a steady-state training step (or a long chain
/// of tiny ops) allocates from the system only while its peak is still growing.
#include <cstddef>
#include <new>

namespace nabla::detail {

/// A 64-byte aligned block of at least nbytes (never null; throws std::bad_alloc when out of memory).
void* cached_alloc(std::size_t nbytes);
/// Returns a block from cached_alloc(nbytes), from any thread.
void cached_free(void* p, std::size_t nbytes) noexcept;

/// A std allocator over cached_alloc, for allocate_shared of the small objects made per op.
template <class T>
struct CachingAllocator {
  using value_type = T;
  CachingAllocator() = default;
  template <class U>
  CachingAllocator(const CachingAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(cached_alloc(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { cached_free(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const CachingAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace nabla::detail
