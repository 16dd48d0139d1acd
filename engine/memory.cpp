#include "engine/memory.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdlib>
#include <mutex>
#include <new>
#include <sanitizer/asan_interface.h>  // no-ops unless built with ASan
#include <string>

namespace adx {
namespace {

// A free block holds the link to the next free block of its size class, so that the
// lists themselves need no memory (a std::vector of free blocks grew on the heap).
struct FreeBlock {
  FreeBlock* next;
};
constexpr size_t kClasses = 4 * 64;  // four per power of two, up to 2^64 bytes

struct Cache {
  std::mutex mutex;
  FreeBlock* free_lists[kClasses] = {};  // by size class, see class_index
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

// The free list of a size class: 4·log2(its power of two) + its quarter.
size_t class_index(size_t class_bytes) {
  const size_t top = std::bit_floor(class_bytes);
  const size_t quarter = top >= 256 ? (class_bytes - top) / (top / 4) : (class_bytes - top) / 64;
  return 4 * static_cast<size_t>(std::countr_zero(top)) + quarter;
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
  for (FreeBlock*& head : c.free_lists) {
    while (head) {
      FreeBlock* next = head->next;
      std::free(head);
      head = next;
    }
  }
  c.cached = 0;
}

namespace detail {

size_t cpu_size_class(size_t bytes) { return size_class(bytes); }

void* cpu_allocate(size_t bytes, size_t& capacity) {
  capacity = size_class(bytes);
  Cache& c = cache();
  {
    std::lock_guard lock(c.mutex);
    ++c.requests;
    c.bytes += bytes;
    c.live += bytes;
    c.peak = std::max(c.peak, c.live);
    if (FreeBlock*& head = c.free_lists[class_index(capacity)]) {
      FreeBlock* block = head;
      head = block->next;
      ASAN_UNPOISON_MEMORY_REGION(block, capacity);
      c.cached -= capacity;
      return block;
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
      FreeBlock*& head = c.free_lists[class_index(capacity)];
      head = new (p) FreeBlock{head};
      // A use after free stays visible to ASan; the link stays readable, for
      // LeakSanitizer to reach the next block.
      ASAN_POISON_MEMORY_REGION(static_cast<char*>(p) + sizeof(FreeBlock), capacity - sizeof(FreeBlock));
      c.cached += capacity;
      return;
    }
  }
  std::free(p);
}

}  // namespace detail
}  // namespace adx
