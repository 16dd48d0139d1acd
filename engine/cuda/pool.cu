// Max pooling on the device: the CUDA twin of engine/ops/pool.cpp's max_pool2d, with
// the arg-max kept on the device for the backward (a scatter, written as a per-pixel
// gather so that it needs no atomics) and its own adjoint (a gather).
#include "engine/cuda/kernels.h"
#include "engine/cuda/launch.cuh"

namespace adx::cuda::kernels {
namespace {

// replaces(v, m): v becomes the maximum (pool.cpp's rule: greater, or the first NaN).
__device__ bool replaces(float v, float m) { return v > m || (v != v && m == m); }

__global__ void forward_kernel(PoolWindows p, const float* __restrict x, float* __restrict values,
                               float* __restrict index) {
  const int64_t n = p.planes * p.oh * p.ow;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t ox = i % p.ow, oy = (i / p.ow) % p.oh, plane = i / (p.ow * p.oh);
    const int64_t y0 = oy * p.sh - p.pad_top, x0 = ox * p.sw - p.pad_left;
    const int64_t y_lo = y0 < 0 ? 0 : y0, x_lo = x0 < 0 ? 0 : x0;
    const int64_t y_hi = y0 + p.kh < p.h ? y0 + p.kh : p.h, x_hi = x0 + p.kw < p.w ? x0 + p.kw : p.w;
    const float* in = x + plane * p.h * p.w;
    int64_t best = (y_lo < y_hi && x_lo < x_hi) ? y_lo * p.w + x_lo : -1;
    float m = best >= 0 ? in[best] : 0.0f;
    for (int64_t y = y_lo; y < y_hi; ++y)
      for (int64_t xx = x_lo; xx < x_hi; ++xx)
        if (replaces(in[y * p.w + xx], m)) {
          m = in[y * p.w + xx];
          best = y * p.w + xx;
        }
    values[i] = m;
    if (index) index[i] = static_cast<float>(best);
  }
}

// First and last output (inclusive) whose window, of size k at stride s from −pad,
// holds input coordinate c, clipped to [0, out).
__device__ void outputs_holding(int64_t c, int64_t k, int64_t s, int64_t pad, int64_t out, int64_t& lo,
                                int64_t& hi) {
  const int64_t from = c + pad - k + 1;  // o·s ≥ from
  lo = from <= 0 ? 0 : (from + s - 1) / s;
  hi = (c + pad) / s;  // o·s ≤ c + pad
  if (hi > out - 1) hi = out - 1;
}

__global__ void scatter_kernel(PoolWindows p, const float* __restrict g, const float* __restrict index,
                               float* __restrict out) {
  const int64_t n = p.planes * p.h * p.w;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t xx = i % p.w, y = (i / p.w) % p.h, plane = i / (p.w * p.h);
    const float here = static_cast<float>(y * p.w + xx);
    int64_t oy_lo, oy_hi, ox_lo, ox_hi;
    outputs_holding(y, p.kh, p.sh, p.pad_top, p.oh, oy_lo, oy_hi);
    outputs_holding(xx, p.kw, p.sw, p.pad_left, p.ow, ox_lo, ox_hi);
    float acc = 0.0f;
    const int64_t base = plane * p.oh * p.ow;
    for (int64_t oy = oy_lo; oy <= oy_hi; ++oy)  // in output order, as the CPU's scatter adds
      for (int64_t ox = ox_lo; ox <= ox_hi; ++ox) {
        const int64_t o = base + oy * p.ow + ox;
        if (index[o] == here) acc += g[o];
      }
    out[i] = acc;
  }
}

__global__ void gather_kernel(PoolWindows p, const float* __restrict x, const float* __restrict index,
                              float* __restrict out) {
  const int64_t n = p.planes * p.oh * p.ow;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t plane = i / (p.ow * p.oh);
    const float at = index[i];
    out[i] = at < 0.0f ? 0.0f : x[plane * p.h * p.w + static_cast<int64_t>(at)];
  }
}

}  // namespace

cudaError_t max_pool_forward(const PoolWindows& p, const float* x, float* values, float* index) {
  const int64_t n = p.planes * p.oh * p.ow;
  if (n > 0) forward_kernel<<<blocks_for(n), kThreads>>>(p, x, values, index);
  return cudaGetLastError();
}

cudaError_t max_pool_scatter(const PoolWindows& p, const float* g, const float* index, float* out) {
  const int64_t n = p.planes * p.h * p.w;
  if (n > 0) scatter_kernel<<<blocks_for(n), kThreads>>>(p, g, index, out);
  return cudaGetLastError();
}

cudaError_t max_pool_gather(const PoolWindows& p, const float* x, const float* index, float* out) {
  const int64_t n = p.planes * p.oh * p.ow;
  if (n > 0) gather_kernel<<<blocks_for(n), kThreads>>>(p, x, index, out);
  return cudaGetLastError();
}

}  // namespace adx::cuda::kernels

// Reductions to one element along a dim, and gathers by a flat index: the CUDA twins of
// engine/ops/reduce.cpp's max/min values and engine/ops/shape.cpp's gather/scatter_add.
namespace adx::cuda::kernels {
namespace {

__global__ void extreme_kernel(int64_t outer, int64_t size, int64_t inner, bool take_max,
                               const float* __restrict x, float* __restrict out) {
  const int64_t n = outer * inner;
  for (int64_t o = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; o < n; o += int64_t{gridDim.x} * blockDim.x) {
    const int64_t i = o / inner, k = o % inner;
    float best = x[i * size * inner + k];
    for (int64_t j = 1; j < size; ++j) {
      const float v = x[(i * size + j) * inner + k];
      const bool better = take_max ? v > best : v < best;
      if (better || (v != v && best == best)) best = v;
    }
    out[o] = best;
  }
}

__global__ void arg_extreme_kernel(int64_t outer, int64_t size, int64_t inner, bool take_max,
                                   const float* __restrict x, float* __restrict out) {
  const int64_t n = outer * inner;
  for (int64_t o = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; o < n; o += int64_t{gridDim.x} * blockDim.x) {
    const int64_t i = o / inner, k = o % inner;
    const float* row = x + i * size * inner + k;
    int64_t best = 0;
    for (int64_t j = 1; j < size; ++j) {
      const float v = row[j * inner], b = row[best * inner];
      const bool better = take_max ? v > b : v < b;
      if (better || (v != v && b == b)) best = j;
    }
    out[o] = static_cast<float>(best);
  }
}

__global__ void take_along_kernel(int64_t outer, int64_t size, int64_t inner, const float* __restrict x,
                                  const float* __restrict index, float* __restrict out) {
  const int64_t n = outer * inner;
  for (int64_t o = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; o < n; o += int64_t{gridDim.x} * blockDim.x) {
    const int64_t i = o / inner, k = o % inner;
    out[o] = x[(i * size + static_cast<int64_t>(index[o])) * inner + k];
  }
}

__global__ void put_along_kernel(int64_t outer, int64_t size, int64_t inner, const float* __restrict g,
                                 const float* __restrict index, float* __restrict out) {
  const int64_t n = outer * inner;
  for (int64_t o = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; o < n; o += int64_t{gridDim.x} * blockDim.x) {
    const int64_t i = o / inner, k = o % inner;
    out[(i * size + static_cast<int64_t>(index[o])) * inner + k] = g[o];
  }
}

__global__ void gather_flat_kernel(int64_t n, const float* __restrict x, const int64_t* __restrict index,
                                   float* __restrict out) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    out[i] = index[i] >= 0 ? x[index[i]] : 0.0f;
}

__global__ void scatter_add_kernel(int64_t n, const float* __restrict src, const int64_t* __restrict index,
                                   float* out) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    if (index[i] >= 0) atomicAdd(out + index[i], src[i]);
}

}  // namespace

cudaError_t extreme_values(int64_t outer, int64_t size, int64_t inner, bool take_max, const float* x, float* out) {
  const int64_t n = outer * inner;
  if (n > 0) extreme_kernel<<<blocks_for(n), kThreads>>>(outer, size, inner, take_max, x, out);
  return cudaGetLastError();
}

cudaError_t arg_extreme(int64_t outer, int64_t size, int64_t inner, bool take_max, const float* x, float* out) {
  const int64_t n = outer * inner;
  if (n > 0) arg_extreme_kernel<<<blocks_for(n), kThreads>>>(outer, size, inner, take_max, x, out);
  return cudaGetLastError();
}

cudaError_t take_along(int64_t outer, int64_t size, int64_t inner, const float* x, const float* index, float* out) {
  const int64_t n = outer * inner;
  if (n > 0) take_along_kernel<<<blocks_for(n), kThreads>>>(outer, size, inner, x, index, out);
  return cudaGetLastError();
}

cudaError_t put_along(int64_t outer, int64_t size, int64_t inner, const float* g, const float* index, float* out) {
  const int64_t n = outer * inner;
  if (n > 0) put_along_kernel<<<blocks_for(n), kThreads>>>(outer, size, inner, g, index, out);
  return cudaGetLastError();
}

cudaError_t gather(int64_t n, const float* x, const int64_t* index, float* out) {
  if (n > 0) gather_flat_kernel<<<blocks_for(n), kThreads>>>(n, x, index, out);
  return cudaGetLastError();
}

cudaError_t scatter_add(int64_t n, const float* src, const int64_t* index, float* out) {
  if (n > 0) scatter_add_kernel<<<blocks_for(n), kThreads>>>(n, src, index, out);
  return cudaGetLastError();
}

}  // namespace adx::cuda::kernels
