#include "engine/cpu/parallel.h"

#include <Eigen/Core>

namespace adx::cpu {

void set_num_threads(int threads) {
  if (threads < 1) threads = 1;
  omp_set_num_threads(threads);
  Eigen::setNbThreads(threads);
}

int num_threads() { return omp_get_max_threads(); }

}  // namespace adx::cpu
