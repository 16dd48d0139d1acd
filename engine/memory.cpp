#include "engine/memory.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdlib>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

namespace adx {
namespace {

struct Cache {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;  // by size class
  size_t cached = 0;
  size_t limit = 0;
  uint64_t requests = 0, system_allocs = 0, bytes = 0, live = 0, peak = 0;

  Cache() {
    const char* env = std::getenv("ADX_CPU_CACHE_MB");
    limit = (env && *env ? std::stoull(env) : 2048ull) << 20;
  }
};

// Never destroyed: tensors that outlive static destruction may still free into it.
Cache& cache() {
  static Cache* c = new Cache();
  return *c;
}

// Size classes: four per power of two (at most 25 % slack), 64-byte granularity.
size_t size_class(size_t bytes) {
  bytes = std::max<size_t>(bytes, 64);
  const size_t top = std::bit_floor(bytes);
  const size_t step = std::max<size_t>(top / 4, 64);
  return (bytes + step - 1) / step * step;
}

}  // namespace

AllocationStats allocation_stats() {
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  return {c.requests, c.system_allocs, c.bytes, c.live, c.peak, c.cached};
}

void reset_peak_memory() {
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  c.peak = c.live;
}

void release_cached_memory() {
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  for (auto& [size, blocks] : c.free_blocks)
    for (void* p : blocks) std::free(p);
  c.free_blocks.clear();
  c.cached = 0;
}

namespace detail {

void* cpu_allocate(size_t bytes, size_t& capacity) {
  capacity = size_class(bytes);
  Cache& c = cache();
  {
    std::lock_guard lock(c.mutex);
    ++c.requests;
    c.bytes += bytes;
    c.live += bytes;
    c.peak = std::max(c.peak, c.live);
    auto it = c.free_blocks.find(capacity);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.cached -= capacity;
      return p;
    }
    ++c.system_allocs;
  }
  void* p = std::aligned_alloc(64, capacity);
  if (!p) {  // free the cache and try once more before giving up
    release_cached_memory();
    p = std::aligned_alloc(64, capacity);
  }
  if (!p) {
    std::lock_guard lock(c.mutex);
    c.live -= bytes;
    throw std::bad_alloc();
  }
  return p;
}

void cpu_free(void* p, size_t capacity, size_t bytes) {
  Cache& c = cache();
  {
    std::lock_guard lock(c.mutex);
    c.live -= bytes;
    if (c.cached + capacity <= c.limit) {
      c.free_blocks[capacity].push_back(p);
      c.cached += capacity;
      return;
    }
  }
  std::free(p);
}

}  // namespace detail
}  // namespace adx
