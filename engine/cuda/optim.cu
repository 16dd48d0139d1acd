// The optimisers' updates on the device, one fused pass per parameter: the CUDA twins
// of the loops in engine/optim.cpp (same formulas, same order of operations).
#include "engine/cuda/kernels.h"
#include "engine/cuda/launch.cuh"

namespace adx::cuda::kernels {
namespace {

__global__ void sgd_kernel(int64_t n, float* __restrict w, const float* __restrict g, float* __restrict buf,
                           float lr, float wd, float momentum, float keep, float add, bool nesterov) {
  for (int64_t k = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; k < n; k += int64_t{gridDim.x} * blockDim.x) {
    const float d = g[k] + wd * w[k];
    if (!buf) {
      w[k] -= lr * d;
      continue;
    }
    buf[k] = keep * buf[k] + add * d;
    w[k] -= lr * (nesterov ? d + momentum * buf[k] : buf[k]);
  }
}

__global__ void adam_kernel(int64_t n, float* __restrict w, float* __restrict m, float* __restrict v,
                            const float* __restrict g, float beta1, float beta2, float wd, float eps,
                            float step_size, float inv_sqrt_bias2) {
  for (int64_t k = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; k < n; k += int64_t{gridDim.x} * blockDim.x) {
    const float d = g[k] + wd * w[k];
    m[k] = beta1 * m[k] + (1.0f - beta1) * d;
    v[k] = beta2 * v[k] + (1.0f - beta2) * d * d;
    w[k] -= step_size * m[k] / (sqrtf(v[k]) * inv_sqrt_bias2 + eps);
  }
}

}  // namespace

cudaError_t sgd_step(int64_t n, float* w, const float* g, float* buf, float lr, float wd, float momentum,
                     float keep, float add, bool nesterov) {
  if (n > 0) sgd_kernel<<<blocks_for(n), kThreads>>>(n, w, g, buf, lr, wd, momentum, keep, add, nesterov);
  return cudaGetLastError();
}

cudaError_t adam_step(int64_t n, float* w, float* m, float* v, const float* g, float beta1, float beta2,
                      float wd, float eps, float step_size, float inv_sqrt_bias2) {
  if (n > 0)
    adam_kernel<<<blocks_for(n), kThreads>>>(n, w, m, v, g, beta1, beta2, wd, eps, step_size, inv_sqrt_bias2);
  return cudaGetLastError();
}

}  // namespace adx::cuda::kernels
