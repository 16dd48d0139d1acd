// Strided copies on the device: the CUDA twin of the loops in engine/ops/shape.cpp
// (permute, slice and its adjoint, concat). One thread per element, each finding its
// source and destination offsets from its index in the copy's shape.
#include "engine/cuda/kernels.h"
#include "engine/cuda/launch.cuh"

namespace adx::cuda::kernels {
namespace {

__global__ void strided_copy_kernel(int64_t n, const float* __restrict src, float* __restrict dst,
                                    Broadcast index) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    int64_t rest = i, from = 0, to = 0;
    for (int d = index.nd - 1; d >= 0; --d) {
      const int64_t c = rest % index.shape[d];
      rest /= index.shape[d];
      from += c * index.stride[0][d];
      to += c * index.stride[1][d];
    }
    dst[to] = src[from];
  }
}

}  // namespace

cudaError_t strided_copy(int64_t n, const float* src, float* dst, const Broadcast& index) {
  if (n > 0) strided_copy_kernel<<<blocks_for(n), kThreads>>>(n, src, dst, index);
  return cudaGetLastError();
}

}  // namespace adx::cuda::kernels
