// Window sums on the device: average pooling (plain and adaptive) as the separable
// plan of engine/ops/pool.cpp, its adjoint, and LRN's sum over neighbouring channels.
#include "engine/cuda/kernels.h"
#include "engine/cuda/launch.cuh"

namespace adx::cuda::kernels {
namespace {

// The plan's arrays, laid out as kernels.h says.
struct Bounds {
  const int64_t *row_start, *row_end, *col_start, *col_end;
  const int64_t *row_first, *row_last, *col_first, *col_last;
  const float *row_weight, *col_weight;
};

__device__ Bounds bounds_of(const Windows& p) {
  Bounds b;
  b.row_start = p.bounds;
  b.row_end = b.row_start + p.oh;
  b.col_start = b.row_end + p.oh;
  b.col_end = b.col_start + p.ow;
  b.row_first = b.col_end + p.ow;
  b.row_last = b.row_first + p.h;
  b.col_first = b.row_last + p.h;
  b.col_last = b.col_first + p.w;
  b.row_weight = p.weights;
  b.col_weight = p.weights + p.oh;
  return b;
}

__global__ void window_sum_kernel(Windows p, const float* __restrict x, float* __restrict out) {
  const Bounds b = bounds_of(p);
  const int64_t n = p.planes * p.oh * p.ow;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t ox = i % p.ow, oy = (i / p.ow) % p.oh, plane = i / (p.ow * p.oh);
    const float* in = x + plane * p.h * p.w;
    float acc = 0.0f;  // in the CPU's order: rows, then columns
    for (int64_t y = b.row_start[oy]; y < b.row_end[oy]; ++y)
      for (int64_t xx = b.col_start[ox]; xx < b.col_end[ox]; ++xx) acc += in[y * p.w + xx];
    out[i] = acc * b.row_weight[oy] * b.col_weight[ox];
  }
}

__global__ void window_sum_adjoint_kernel(Windows p, const float* __restrict g, float* __restrict out) {
  const Bounds b = bounds_of(p);
  const int64_t n = p.planes * p.h * p.w;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t xx = i % p.w, y = (i / p.w) % p.h, plane = i / (p.w * p.h);
    const float* in = g + plane * p.oh * p.ow;
    float acc = 0.0f;
    // Windows are monotone, so the outputs holding a pixel are a range; the test
    // inside keeps the sum right should a plan ever not be.
    for (int64_t oy = b.row_first[y]; oy <= b.row_last[y]; ++oy) {
      if (y < b.row_start[oy] || y >= b.row_end[oy]) continue;
      for (int64_t ox = b.col_first[xx]; ox <= b.col_last[xx]; ++ox) {
        if (xx < b.col_start[ox] || xx >= b.col_end[ox]) continue;
        acc += in[oy * p.ow + ox] * b.row_weight[oy] * b.col_weight[ox];
      }
    }
    out[i] = acc;
  }
}

// The interpolation plan's arrays, laid out as kernels.h says.
struct Taps {
  const int64_t *row_i0, *row_i1, *col_i0, *col_i1;
  const int64_t *row_first, *row_last, *col_first, *col_last;
  const float *row_w0, *row_w1, *col_w0, *col_w1;
};

__device__ Taps taps_of(const Windows& p) {
  Taps t;
  t.row_i0 = p.bounds;
  t.row_i1 = t.row_i0 + p.oh;
  t.col_i0 = t.row_i1 + p.oh;
  t.col_i1 = t.col_i0 + p.ow;
  t.row_first = t.col_i1 + p.ow;
  t.row_last = t.row_first + p.h;
  t.col_first = t.row_last + p.h;
  t.col_last = t.col_first + p.w;
  t.row_w0 = p.weights;
  t.row_w1 = t.row_w0 + p.oh;
  t.col_w0 = t.row_w1 + p.oh;
  t.col_w1 = t.col_w0 + p.ow;
  return t;
}

__global__ void interp_kernel(Windows p, const float* __restrict x, float* __restrict out) {
  const Taps t = taps_of(p);
  const int64_t n = p.planes * p.oh * p.ow;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t ox = i % p.ow, oy = (i / p.ow) % p.oh, plane = i / (p.ow * p.oh);
    const float* r0 = x + plane * p.h * p.w + t.row_i0[oy] * p.w;
    const float* r1 = x + plane * p.h * p.w + t.row_i1[oy] * p.w;
    const int64_t c0 = t.col_i0[ox], c1 = t.col_i1[ox];
    // The CPU's expression, term for term.
    out[i] = t.row_w0[oy] * (t.col_w0[ox] * r0[c0] + t.col_w1[ox] * r0[c1]) +
             t.row_w1[oy] * (t.col_w0[ox] * r1[c0] + t.col_w1[ox] * r1[c1]);
  }
}

__global__ void interp_adjoint_kernel(Windows p, const float* __restrict g, float* __restrict out) {
  const Taps t = taps_of(p);
  const int64_t n = p.planes * p.h * p.w;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t xx = i % p.w, y = (i / p.w) % p.h, plane = i / (p.w * p.h);
    const float* in = g + plane * p.oh * p.ow;
    float acc = 0.0f;
    // Every (row tap, column tap) term that lands on (y, x) on its own, zero weights
    // included, as the CPU adds them: 0·g is NaN where g is not finite.
    for (int64_t oy = t.row_first[y]; oy <= t.row_last[y]; ++oy)
      for (int r = 0; r < 2; ++r) {
        if ((r == 0 ? t.row_i0[oy] : t.row_i1[oy]) != y) continue;
        const float wy = r == 0 ? t.row_w0[oy] : t.row_w1[oy];
        for (int64_t ox = t.col_first[xx]; ox <= t.col_last[xx]; ++ox)
          for (int c = 0; c < 2; ++c) {
            if ((c == 0 ? t.col_i0[ox] : t.col_i1[ox]) != xx) continue;
            acc += wy * (c == 0 ? t.col_w0[ox] : t.col_w1[ox]) * in[oy * p.ow + ox];
          }
      }
    out[i] = acc;
  }
}

__global__ void channel_window_kernel(int64_t batch, int64_t channels, int64_t inner, int64_t before,
                                      int64_t after, const float* __restrict x, float* __restrict out) {
  const int64_t n = batch * channels * inner;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t at = i % inner, c = (i / inner) % channels, image = i / (inner * channels);
    const int64_t lo = c - before < 0 ? 0 : c - before;
    const int64_t hi = c + after > channels - 1 ? channels - 1 : c + after;
    float acc = 0.0f;
    for (int64_t k = lo; k <= hi; ++k) acc += x[(image * channels + k) * inner + at];
    out[i] = acc;
  }
}

}  // namespace

cudaError_t window_sum(const Windows& p, const float* x, float* out) {
  const int64_t n = p.planes * p.oh * p.ow;
  if (n > 0) window_sum_kernel<<<blocks_for(n), kThreads>>>(p, x, out);
  return cudaGetLastError();
}

cudaError_t window_sum_adjoint(const Windows& p, const float* g, float* out) {
  const int64_t n = p.planes * p.h * p.w;
  if (n > 0) window_sum_adjoint_kernel<<<blocks_for(n), kThreads>>>(p, g, out);
  return cudaGetLastError();
}

cudaError_t interp(const Windows& p, const float* x, float* out) {
  const int64_t n = p.planes * p.oh * p.ow;
  if (n > 0) interp_kernel<<<blocks_for(n), kThreads>>>(p, x, out);
  return cudaGetLastError();
}

cudaError_t interp_adjoint(const Windows& p, const float* g, float* out) {
  const int64_t n = p.planes * p.h * p.w;
  if (n > 0) interp_adjoint_kernel<<<blocks_for(n), kThreads>>>(p, g, out);
  return cudaGetLastError();
}

cudaError_t channel_window_sum(int64_t batch, int64_t channels, int64_t inner, int64_t before, int64_t after,
                               const float* x, float* out) {
  const int64_t n = batch * channels * inner;
  if (n > 0) channel_window_kernel<<<blocks_for(n), kThreads>>>(batch, channels, inner, before, after, x, out);
  return cudaGetLastError();
}

}  // namespace adx::cuda::kernels
