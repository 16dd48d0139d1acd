// Counts every heap allocation of the adx executable (global operator new), so that
// `adx bench --verbose` can report allocations per step next to tensor-storage ones.
#include <atomic>
#include <cstdlib>
#include <new>

#include "tools/heap_counter.h"

namespace {
std::atomic<uint64_t> g_news{0};
}

uint64_t adx::cli::heap_allocations() { return g_news.load(std::memory_order_relaxed); }

void* operator new(std::size_t size) {
  g_news.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
