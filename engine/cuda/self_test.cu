// The first kernel, used by cuda::self_test() to prove that the code compiled for
// sm_80/sm_90 (plus PTX) loads and runs on the device.
#include "engine/cuda/kernels.h"

namespace adx::cuda::kernels {
namespace {

__global__ void saxpy_kernel(int n, float a, const float* x, const float* y, float* out) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = a * x[i] + y[i];
}

}  // namespace

cudaError_t saxpy(int n, float a, const float* x, const float* y, float* out) {
  saxpy_kernel<<<(n + 255) / 256, 256>>>(n, a, x, y, out);
  return cudaGetLastError();
}

}  // namespace adx::cuda::kernels
