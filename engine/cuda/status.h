// Checking CUDA runtime calls: a failure becomes an adx::Error naming the call and the
// runtime's message, and the runtime's sticky last error is cleared, so that the next
// call does not report it again. For host code (.cpp) of CUDA builds only.
#pragma once

#include <cuda_runtime_api.h>
#include <fmt/format.h>

#include "engine/tensor.h"

namespace adx::cuda {

inline void check(cudaError_t e, const char* call) {
  if (e != cudaSuccess) {
    cudaGetLastError();
    throw Error(fmt::format("CUDA: {} failed: {}", call, cudaGetErrorString(e)));
  }
}

}  // namespace adx::cuda
