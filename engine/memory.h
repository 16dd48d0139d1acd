// Counters of the engine's tensor-storage allocations, for `adx bench --verbose`
// and the tests that check a steady-state step allocates nothing.
#pragma once

#include <cstdint>

namespace adx {

struct AllocationStats {
  uint64_t count = 0;  // storages allocated since start
  uint64_t bytes = 0;  // their total size
  uint64_t live_bytes = 0;
  uint64_t peak_live_bytes = 0;
};

AllocationStats allocation_stats();

namespace detail {
void note_allocation(uint64_t bytes);
void note_free(uint64_t bytes);
}  // namespace detail

}  // namespace adx
