// OpenMP helpers for the CPU kernels. Work smaller than `grain` stays on the
// calling thread: spawning threads for a few thousand floats costs more than it saves.
#pragma once

#include <cstdint>
#include <omp.h>

namespace adx::cpu {

template <class F>
void parallel_for(int64_t begin, int64_t end, int64_t grain, F&& body) {
  const int64_t n = end - begin;
  if (n <= 0) return;
  if (n * grain < (int64_t{1} << 15) || omp_get_max_threads() == 1 || omp_in_parallel()) {
    for (int64_t i = begin; i < end; ++i) body(i);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = begin; i < end; ++i) body(i);
}

// Threads used by the engine's kernels (OpenMP's and Eigen's).
void set_num_threads(int threads);
int num_threads();

}  // namespace adx::cpu
