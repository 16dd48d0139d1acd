#pragma once

#include <cstdint>

namespace adx::cli {
// Heap allocations through operator new since the program started.
uint64_t heap_allocations();
// While on, every heap allocation writes its call stack to stderr.
void trace_heap_allocations(bool on);
}  // namespace adx::cli
