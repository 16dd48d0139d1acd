#include "engine/memory.h"

#include <atomic>

namespace adx {
namespace {
std::atomic<uint64_t> g_count{0}, g_bytes{0}, g_live{0}, g_peak{0};
}  // namespace

AllocationStats allocation_stats() {
  return {g_count.load(), g_bytes.load(), g_live.load(), g_peak.load()};
}

namespace detail {
void note_allocation(uint64_t bytes) {
  g_count.fetch_add(1, std::memory_order_relaxed);
  g_bytes.fetch_add(bytes, std::memory_order_relaxed);
  const uint64_t live = g_live.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  uint64_t peak = g_peak.load(std::memory_order_relaxed);
  while (live > peak && !g_peak.compare_exchange_weak(peak, live, std::memory_order_relaxed)) {
  }
}
void note_free(uint64_t bytes) { g_live.fetch_sub(bytes, std::memory_order_relaxed); }
}  // namespace detail

}  // namespace adx
