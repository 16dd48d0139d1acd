// Elementwise maps (with broadcasting) and sums on the device: the CUDA twins of
// engine/ops/elementwise.cpp's loops and engine/ops/reduce.cpp's sums. The formulas
// are the CPU lambdas' own, case by case (tests/cuda_ops_test.cpp compares them).
#include "engine/cuda/kernels.h"
#include "engine/cuda/launch.cuh"

namespace adx::cuda::kernels {
namespace {

__device__ float apply(Unary op, float v, float p0, float p1) {
  switch (op) {
    case Unary::Identity: return v;
    case Unary::Neg: return -v;
    case Unary::Pow: return p0 == 2.0f ? v * v : p0 == 0.5f ? sqrtf(v) : powf(v, p0);
    case Unary::Exp: return expf(v);
    case Unary::Log: return logf(v);
    case Unary::Sqrt: return sqrtf(v);
    case Unary::Abs: return fabsf(v);
    case Unary::Sign: return v > 0.0f ? 1.0f : v < 0.0f ? -1.0f : 0.0f;
    case Unary::Relu: return v > 0.0f ? v : 0.0f;
    case Unary::LeakyRelu: return v > 0.0f ? v : p0 * v;
    case Unary::Elu: return v > 0.0f ? v : p0 * expm1f(v);
    case Unary::Sigmoid: {
      if (v >= 0.0f) return 1.0f / (1.0f + expf(-v));  // split by sign: exp never overflows
      const float e = expf(v);
      return e / (1.0f + e);
    }
    case Unary::Tanh: return tanhf(v);
    case Unary::Softplus: {
      const float bx = p0 * v;
      return bx > p1 ? v : (fmaxf(bx, 0.0f) + log1pf(expf(-fabsf(bx)))) / p0;
    }
    case Unary::Clamp: return v < p0 ? p0 : v > p1 ? p1 : v;
    case Unary::InRange: return v >= p0 && v <= p1 ? 1.0f : 0.0f;
  }
  return 0.0f;
}

__device__ float apply(Binary op, float x, float y, float p) {
  switch (op) {
    case Binary::Add: return x + y;
    case Binary::Sub: return x - y;
    case Binary::Mul: return x * y;
    case Binary::Div: return x / y;
    case Binary::Gt: return x > y ? 1.0f : 0.0f;
    case Binary::Lt: return x < y ? 1.0f : 0.0f;
    case Binary::Ge: return x >= y ? 1.0f : 0.0f;
    case Binary::Le: return x <= y ? 1.0f : 0.0f;
    case Binary::Eq: return x == y ? 1.0f : 0.0f;
    case Binary::LeakyReluBackward: return y > 0.0f ? x : p * x;
  }
  return 0.0f;
}

// Offset of output element i in operand k.
__device__ int64_t offset_of(const Broadcast& b, int k, int64_t i) {
  int64_t at = 0;
  for (int d = b.nd - 1; d >= 0; --d) {
    const int64_t c = i % b.shape[d];
    i /= b.shape[d];
    at += c * b.stride[k][d];
  }
  return at;
}

__global__ void fill_kernel(int64_t n, float value, float* out) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    out[i] = value;
}

__global__ void unary_kernel(Unary op, float p0, float p1, int64_t n, const float* __restrict x,
                             Broadcast index, bool broadcast, float* __restrict out) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    out[i] = apply(op, x[broadcast ? offset_of(index, 0, i) : i], p0, p1);
}

__global__ void binary_kernel(Binary op, float p, int64_t n, const float* __restrict a, float a_value,
                              const float* __restrict b, float b_value, Broadcast index, bool broadcast,
                              float* __restrict out) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const float x = a ? a[broadcast ? offset_of(index, 0, i) : i] : a_value;
    const float y = b ? b[broadcast ? offset_of(index, 1, i) : i] : b_value;
    out[i] = apply(op, x, y, p);
  }
}

__global__ void where_kernel(int64_t n, const float* __restrict c, const float* __restrict a, float a_value,
                             const float* __restrict b, float b_value, Broadcast index, float* __restrict out) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const bool take_a = c[offset_of(index, 0, i)] != 0.0f;
    out[i] = take_a ? (a ? a[offset_of(index, 1, i)] : a_value) : (b ? b[offset_of(index, 2, i)] : b_value);
  }
}

__global__ void channel_affine_kernel(int64_t n, int64_t channels, int64_t inner, const float* __restrict x,
                                      const float* __restrict scale, const float* __restrict shift,
                                      float* __restrict out) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t c = (i / inner) % channels;
    out[i] = x[i] * scale[c] + shift[c];
  }
}

// One block per output: each thread sums a strided share of the reduced elements,
// then the block adds the threads' sums in shared memory.
__global__ void sum_kernel(Reduction r, const float* __restrict x, float* __restrict out) {
  __shared__ float partial[kThreads];
  for (int64_t o = blockIdx.x; o < r.outputs; o += gridDim.x) {
    int64_t base = 0, rest = o;
    for (int d = r.kept_nd - 1; d >= 0; --d) {
      base += (rest % r.kept_shape[d]) * r.kept_stride[d];
      rest /= r.kept_shape[d];
    }
    float acc = 0.0f;
    for (int64_t j = threadIdx.x; j < r.reduced_count; j += blockDim.x) {
      int64_t at = base, k = j;
      for (int d = r.reduced_nd - 1; d >= 0; --d) {
        at += (k % r.reduced_shape[d]) * r.reduced_stride[d];
        k /= r.reduced_shape[d];
      }
      acc += x[at];
    }
    partial[threadIdx.x] = acc;
    __syncthreads();
    for (unsigned width = blockDim.x / 2; width > 0; width /= 2) {
      if (threadIdx.x < width) partial[threadIdx.x] += partial[threadIdx.x + width];
      __syncthreads();
    }
    if (threadIdx.x == 0) out[o] = partial[0];
    __syncthreads();
  }
}

}  // namespace

cudaError_t fill(int64_t n, float value, float* out) {
  if (n > 0) fill_kernel<<<blocks_for(n), kThreads>>>(n, value, out);
  return cudaGetLastError();
}

cudaError_t unary(Unary op, float p0, float p1, int64_t n, const float* x, const Broadcast* index, float* out) {
  if (n > 0)
    unary_kernel<<<blocks_for(n), kThreads>>>(op, p0, p1, n, x, index ? *index : Broadcast{}, index != nullptr,
                                              out);
  return cudaGetLastError();
}

cudaError_t binary(Binary op, float p, int64_t n, const float* a, float a_value, const float* b, float b_value,
                   const Broadcast* index, float* out) {
  if (n > 0)
    binary_kernel<<<blocks_for(n), kThreads>>>(op, p, n, a, a_value, b, b_value, index ? *index : Broadcast{},
                                               index != nullptr, out);
  return cudaGetLastError();
}

cudaError_t where(int64_t n, const float* c, const float* a, float a_value, const float* b, float b_value,
                  const Broadcast& index, float* out) {
  if (n > 0) where_kernel<<<blocks_for(n), kThreads>>>(n, c, a, a_value, b, b_value, index, out);
  return cudaGetLastError();
}

cudaError_t sum(const Reduction& r, const float* x, float* out) {
  if (r.outputs > 0) {
    const int64_t grid = r.outputs < 65535 ? r.outputs : 65535;
    sum_kernel<<<static_cast<unsigned>(grid), kThreads>>>(r, x, out);
  }
  return cudaGetLastError();
}

cudaError_t channel_affine(int64_t n, int64_t channels, int64_t inner, const float* x, const float* scale,
                           const float* shift, float* out) {
  if (n > 0) channel_affine_kernel<<<blocks_for(n), kThreads>>>(n, channels, inner, x, scale, shift, out);
  return cudaGetLastError();
}

}  // namespace adx::cuda::kernels
