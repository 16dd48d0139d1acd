// Tensor storage on the CPU comes from a caching allocator: freed blocks are kept
// in size classes and handed out again, so that a training loop, whose every step
// asks for the same sizes, stops calling the system allocator after its first step
// (and stops paying for page faults on fresh memory). The cache holds at most
// $ADX_CPU_CACHE_MB megabytes (default 2048) of free blocks.
#pragma once

#include <cstddef>
#include <cstdint>

namespace adx {

struct AllocationStats {
  uint64_t requests = 0;        // storages created since start
  uint64_t system_allocs = 0;   // of those, how many the cache could not serve
  uint64_t bytes = 0;           // bytes requested in total
  uint64_t live_bytes = 0;      // bytes held by live storages
  uint64_t peak_live_bytes = 0;
  uint64_t cached_bytes = 0;    // free blocks kept for reuse
};

AllocationStats allocation_stats();
// Starts a new peak: peak_live_bytes becomes live_bytes (per-run peaks in a grid).
void reset_peak_memory();
// Returns every cached free block to the system.
void release_cached_memory();

namespace detail {
// 64-byte aligned memory for `bytes` bytes; `capacity` receives the block's size class.
void* cpu_allocate(size_t bytes, size_t& capacity);
void cpu_free(void* p, size_t capacity, size_t bytes);
// The block size cpu_allocate gives for `bytes` (what cpu_free wants as capacity).
size_t cpu_size_class(size_t bytes);
}  // namespace detail

}  // namespace adx
