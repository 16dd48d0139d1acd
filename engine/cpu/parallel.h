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

// body(lo, hi) over [0, n) split into one contiguous block per thread, so that the
// body's inner loop is a plain loop the compiler can vectorise.
template <class F>
void parallel_blocks(int64_t n, F&& body) {
  if (n <= 0) return;
  const int threads = omp_get_max_threads();
  if (n < (int64_t{1} << 15) || threads == 1 || omp_in_parallel()) {
    body(int64_t{0}, n);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const int64_t t = omp_get_thread_num(), count = omp_get_num_threads();
    const int64_t lo = n * t / count, hi = n * (t + 1) / count;
    if (lo < hi) body(lo, hi);
  }
}

// Threads used by the engine's kernels (OpenMP's and Eigen's).
void set_num_threads(int threads);
int num_threads();

}  // namespace adx::cpu
