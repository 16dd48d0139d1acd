// A pool for the engine's small objects: tensor handles, storages, autograd nodes,
// the lists they hold, and the backward pass's bookkeeping.
//
// A training step creates and destroys the same few hundred of these every time.
// Freed blocks go to a free list for their size class and are handed out again, so
// after the first step the engine stops calling the system allocator (tensor data
// has its own cache, engine/memory.h). Blocks are never returned to the system:
// the pool's size is the most the program ever had alive at once. One lock guards
// the lists; tensors are made on the main thread (and a loader's), not inside the
// parallel kernels, so it is almost never contended.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

namespace adx {

struct PoolStats {
  uint64_t requests = 0;       // blocks handed out since start
  uint64_t system_allocs = 0;  // of those, how many the free lists could not serve
  uint64_t cached_bytes = 0;   // free blocks kept for reuse
};
PoolStats pool_stats();

namespace detail {
// Blocks of up to kPoolMaxBytes come from the pool, larger ones from operator new.
inline constexpr size_t kPoolMaxBytes = 64 * 1024;
void* pool_allocate(size_t bytes);
void pool_free(void* p, size_t bytes) noexcept;
}  // namespace detail

// A standard allocator over the pool, for std::allocate_shared and containers.
template <class T>
struct PoolAllocator {
  using value_type = T;
  PoolAllocator() = default;
  template <class U>
  PoolAllocator(const PoolAllocator<U>&) noexcept {}  // NOLINT: rebinding is implicit

  T* allocate(size_t n) { return static_cast<T*>(detail::pool_allocate(n * sizeof(T))); }
  void deallocate(T* p, size_t n) noexcept { detail::pool_free(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const PoolAllocator<U>&) const noexcept { return true; }
};

template <class T>
using PoolVector = std::vector<T, PoolAllocator<T>>;

template <class K, class V>
using PoolMap = std::unordered_map<K, V, std::hash<K>, std::equal_to<K>,
                                   PoolAllocator<std::pair<const K, V>>>;

template <class T, class... Args>
std::shared_ptr<T> make_pooled(Args&&... args) {
  return std::allocate_shared<T>(PoolAllocator<T>(), std::forward<Args>(args)...);
}

}  // namespace adx
