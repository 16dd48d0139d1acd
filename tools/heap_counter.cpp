// Counts every heap allocation of the adx executable (global operator new), so that
// `adx bench --verbose` can report allocations per step next to tensor-storage ones.
#include <atomic>
#include <cstdlib>
#include <execinfo.h>
#include <new>
#include <unistd.h>

#include "tools/heap_counter.h"

namespace {
std::atomic<uint64_t> g_news{0};
std::atomic<bool> g_trace{false};
thread_local bool t_in_trace = false;  // backtrace() may allocate itself

// Writes the caller's stack to stderr (addresses; `addr2line -f -C -e adx` names them).
void trace_allocation() {
  if (t_in_trace) return;
  t_in_trace = true;
  void* frames[16];
  const int n = backtrace(frames, 16);
  static const char kMark[] = "heap allocation:\n";
  if (write(2, kMark, sizeof kMark - 1) > 0) backtrace_symbols_fd(frames, n, 2);
  t_in_trace = false;
}
}

void adx::cli::trace_heap_allocations(bool on) { g_trace.store(on, std::memory_order_relaxed); }

uint64_t adx::cli::heap_allocations() { return g_news.load(std::memory_order_relaxed); }

void* operator new(std::size_t size) {
  g_news.fetch_add(1, std::memory_order_relaxed);
  if (g_trace.load(std::memory_order_relaxed)) trace_allocation();
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
