#pragma once

#include <cstdint>

namespace adx::cli {
// Heap allocations through operator new since the program started.
uint64_t heap_allocations();
}  // namespace adx::cli
