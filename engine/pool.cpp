#include "engine/pool.h"

#include <algorithm>
#include <bit>
#include <mutex>
#include <new>
#include <sanitizer/asan_interface.h>  // no-ops unless built with ASan

#include "engine/memory.h"

namespace adx {
namespace {

// Size classes: 16-byte steps up to 512 bytes, then four per power of two.
constexpr size_t kFineMax = 512;
constexpr size_t kClasses = kFineMax / 16 + 4 * (std::bit_width(detail::kPoolMaxBytes) - std::bit_width(kFineMax)) + 1;

size_t class_bytes(size_t bytes) {
  bytes = std::max<size_t>(bytes, 16);
  const size_t step = std::max<size_t>(std::bit_floor(bytes) / 4, 16);
  return (bytes + step - 1) / step * step;
}

size_t class_index(size_t class_size) {
  if (class_size <= kFineMax) return class_size / 16 - 1;
  const size_t top = std::bit_floor(class_size);
  return kFineMax / 16 + 4 * (std::bit_width(top) - std::bit_width(kFineMax)) +
         (class_size - top) / (top / 4);
}

struct FreeBlock {
  FreeBlock* next;
};

struct Pool {
  std::mutex mutex;
  FreeBlock* free_lists[kClasses] = {};
  PoolStats stats;
};

// Never destroyed: objects freed during static destruction still have a pool.
Pool& pool() {
  static Pool* p = new Pool();
  return *p;
}

}  // namespace

PoolStats pool_stats() {
  Pool& p = pool();
  std::lock_guard lock(p.mutex);
  return p.stats;
}

namespace detail {

void* pool_allocate(size_t bytes) {
  if (bytes > kPoolMaxBytes) {  // index arrays and the like: the tensor data cache
    size_t capacity = 0;
    return cpu_allocate(bytes, capacity);
  }
  const size_t size = class_bytes(bytes);
  Pool& p = pool();
  {
    std::lock_guard lock(p.mutex);
    ++p.stats.requests;
    FreeBlock*& head = p.free_lists[class_index(size)];
    if (head) {
      FreeBlock* block = head;
      head = block->next;
      ASAN_UNPOISON_MEMORY_REGION(block, bytes);
      p.stats.cached_bytes -= size;
      return block;
    }
    ++p.stats.system_allocs;
  }
  void* block = ::operator new(size);
  ASAN_POISON_MEMORY_REGION(static_cast<char*>(block) + bytes, size - bytes);
  return block;
}

void pool_free(void* ptr, size_t bytes) noexcept {
  if (!ptr) return;
  if (bytes > kPoolMaxBytes) {
    cpu_free(ptr, cpu_size_class(bytes), bytes);
    return;
  }
  const size_t size = class_bytes(bytes);
  Pool& p = pool();
  std::lock_guard lock(p.mutex);
  FreeBlock*& head = p.free_lists[class_index(size)];
  ASAN_UNPOISON_MEMORY_REGION(ptr, sizeof(FreeBlock));
  head = new (ptr) FreeBlock{head};
  // Under ASan a pooled block stays unreadable until handed out again, so that a use
  // after free is still reported: all of it but the link, which LeakSanitizer follows
  // (a block it cannot reach would count as leaked).
  ASAN_POISON_MEMORY_REGION(static_cast<char*>(ptr) + sizeof(FreeBlock), size - sizeof(FreeBlock));
  p.stats.cached_bytes += size;
}

}  // namespace detail
}  // namespace adx
