// Launchers of the CUDA kernels (engine/cuda/*.cu). Kernel files hold kernels and
// their launchers only; host logic, errors and formatting live in .cpp files (nvcc
// compiles neither fmt's compile-time format strings nor everything the C++ side
// uses). Each launcher returns the launch status.
#pragma once

#include <cuda_runtime_api.h>

namespace adx::cuda::kernels {

// out[i] = a·x[i] + y[i] for i < n, on the current stream.
cudaError_t saxpy(int n, float a, const float* x, const float* y, float* out);

}  // namespace adx::cuda::kernels
