// Launchers of the CUDA kernels (engine/cuda/*.cu). Kernel files hold kernels and
// their launchers only; host logic, errors and formatting live in .cpp files (nvcc
// compiles neither fmt's compile-time format strings nor everything the C++ side
// uses). Each launcher queues its work on the current device's default stream and
// returns the launch status.
#pragma once

#ifdef ADX_CUDA_EMULATION
#include "engine/cuda/emu.h"  // the kernels run on the CPU, for tests (emu.h says how)
#else
#include <cuda_runtime_api.h>
#endif

#include <cstdint>

#include "engine/cuda/op_codes.h"

namespace adx::cuda::kernels {

// out[i] = a·x[i] + y[i] for i < n.
cudaError_t saxpy(int n, float a, const float* x, const float* y, float* out);

// out[i] = value for i < n.
cudaError_t fill(int64_t n, float value, float* out);

// Where an operand sits in the output's index space: element (i_0, ..., i_{nd−1}) of
// the output reads operand k at Σ i_d · stride[k][d] (stride 0 along broadcast dims).
constexpr int kMaxDims = 8;
struct Broadcast {
  int nd = 0;
  int64_t shape[kMaxDims] = {};
  int64_t stride[3][kMaxDims] = {};
};

// out[i] = f(x[...]) over n outputs; `index` null when x has the output's shape.
cudaError_t unary(Unary op, float p0, float p1, int64_t n, const float* x, const Broadcast* index,
                  float* out);
// out[i] = f(a[...], b[...]); a scalar operand is passed by value instead (a_value
// when a is null, b_value when b is null), as a CPU scalar tensor is.
cudaError_t binary(Binary op, float p, int64_t n, const float* a, float a_value, const float* b,
                   float b_value, const Broadcast* index, float* out);
// out[i] = c[...] != 0 ? a[...] : b[...]; null a or b: the value instead.
cudaError_t where(int64_t n, const float* c, const float* a, float a_value, const float* b,
                  float b_value, const Broadcast& index, float* out);

// out[i] = x[i]·scale[c] + shift[c], c = (i / inner) % channels: batch norm in eval
// mode in one pass (engine/ops/batch_norm.cpp's channel_affine).
cudaError_t channel_affine(int64_t n, int64_t channels, int64_t inner, const float* x, const float* scale,
                           const float* shift, float* out);

// Sums over the reduced dims: output o (over the kept dims, `kept` sizes and strides
// into x) is Σ over r of x[base(o) + offset(r)] (`reduced` sizes and strides). One
// block per output.
struct Reduction {
  int kept_nd = 0, reduced_nd = 0;
  int64_t kept_shape[kMaxDims] = {}, kept_stride[kMaxDims] = {};
  int64_t reduced_shape[kMaxDims] = {}, reduced_stride[kMaxDims] = {};
  int64_t outputs = 1, reduced_count = 1;
};
cudaError_t sum(const Reduction& r, const float* x, float* out);

// Max pooling of `planes` planes of h×w into oh×ow, windows kh×kw at stride (sh, sw)
// from (−pad_top, −pad_left): values, and (index non-null) each maximum's offset within
// its plane as a float (exact below 2^24), −1 for a window wholly in the padding (value
// 0). NaN wins, and of equal maxima the first in row-major window order, as on the CPU.
struct PoolWindows {
  int64_t planes, h, w, oh, ow, kh, kw, sh, sw, pad_top, pad_left;
};
cudaError_t max_pool_forward(const PoolWindows& p, const float* x, float* values, float* index);
// The gradient of max pooling: out (planes × h × w) at each pixel sums the g of the
// outputs whose maximum it was. Per pixel over the few windows that hold it: no atomics,
// so the sums are deterministic.
cudaError_t max_pool_scatter(const PoolWindows& p, const float* g, const float* index, float* out);
// Its adjoint: out[o] = x[plane(o), index[o]] (0 where the index is −1).
cudaError_t max_pool_gather(const PoolWindows& p, const float* x, const float* index, float* out);

// out[o] = the max (or min) of x along the middle of (outer, size, inner), o over
// (outer, inner); NaN wins, as on the CPU.
cudaError_t extreme_values(int64_t outer, int64_t size, int64_t inner, bool take_max, const float* x, float* out);
// out[i] = index[i] >= 0 ? x[index[i]] : 0 for i < n.
cudaError_t gather(int64_t n, const float* x, const int64_t* index, float* out);
// out[index[i]] += src[i] for i < n with index[i] >= 0 (out zeroed by the caller).
// Atomic adds: the order of adds to one element is not fixed, so where an index
// repeats (index_add, index_select's backward) the last bits of the sum can vary from
// run to run; where every index is distinct (nll) it is exact.
cudaError_t scatter_add(int64_t n, const float* src, const int64_t* index, float* out);

// Strided copy: for every index (i_0, ..., i_{nd−1}) of `index.shape`,
// dst[Σ i_d · index.stride[1][d]] = src[Σ i_d · index.stride[0][d]]. The shape ops'
// copies (permute, slices and their adjoints, concat) are all this one kernel.
cudaError_t strided_copy(int64_t n, const float* src, float* dst, const Broadcast& index);

// Separable window sums over `planes` planes of h×w into oh×ow (average pooling, plain
// and adaptive): out[oy][ox] = wr[oy]·wc[ox]·Σ_{y∈[rs[oy], re[oy]), x∈[cs[ox], ce[ox])} in[y][x].
// `bounds` holds rs, re (oh each), cs, ce (ow each), then for the adjoint the first and
// last output holding each input row (h each) and column (w each); `weights` wr, wc.
struct Windows {
  int64_t planes, h, w, oh, ow;
  const int64_t* bounds;
  const float* weights;
};
cudaError_t window_sum(const Windows& p, const float* x, float* out);
// Its adjoint: out[y][x] = Σ over the outputs whose windows hold (y, x) of their
// weighted g. A gather per pixel: no atomics, deterministic.
cudaError_t window_sum_adjoint(const Windows& p, const float* g, float* out);
// Two-tap separable resampling (upsample, nearest and bilinear): output row o reads
// input rows i0[o] and i1[o] with weights w0[o] and w1[o], and the same along columns.
// `bounds`: row i0, i1 (oh each), column i0, i1 (ow each), then the first and last
// output reading each input row (h each) and column (w each); `weights`: row w0, w1,
// column w0, w1.
cudaError_t interp(const Windows& p, const float* x, float* out);
cudaError_t interp_adjoint(const Windows& p, const float* g, float* out);
// out[b][c][i] = Σ_{k = c−before}^{c+after} x[b][k][i] (clipped to [0, channels)): LRN's sum.
cudaError_t channel_window_sum(int64_t batch, int64_t channels, int64_t inner, int64_t before, int64_t after,
                               const float* x, float* out);

// out[o] = the position j (as a float) of the max (or min) of x along the middle of
// (outer, size, inner), o over (outer, inner); NaN wins and the first of equal extremes,
// as engine/ops/reduce.cpp's arg_extreme.
cudaError_t arg_extreme(int64_t outer, int64_t size, int64_t inner, bool take_max, const float* x, float* out);
// By such positions: out[o] = x[i][index[o]][k] (take), and its adjoint
// out[i][index[o]][k] = g[o] over an `out` of zeros (put: one write per position, so
// no two threads meet).
cudaError_t take_along(int64_t outer, int64_t size, int64_t inner, const float* x, const float* index, float* out);
cudaError_t put_along(int64_t outer, int64_t size, int64_t inner, const float* g, const float* index, float* out);

// Philox4x32-10 words on the device, as engine/random.cpp's Generator draws them: word j
// of the stream is lead[j] for j < lead_count (the words the generator had cached),
// then word (j − lead_count) % 4 of block counter + (j − lead_count) / 4 under `seed`.
struct PhiloxStream {
  uint64_t seed, counter;
  uint32_t lead[4];
  int lead_count;
};
// out[i] = uniform from word i: (word >> 8) · 2^−24, as Generator::uniform.
cudaError_t philox_uniform(int64_t n, const PhiloxStream& s, float* out);
// out[first + 2k], out[first + 2k + 1] = the Box–Muller pair of words 2k, 2k+1 (cos,
// then sin), as Generator::normal; out[0] = spare when first = 1. Writes n values.
cudaError_t philox_normal(int64_t n, const PhiloxStream& s, int first, float spare, float* out);

// One optimiser update of n parameters, fused (formulas of engine/optim.cpp):
// SGD: d = g + wd·w; buf = keep·buf + add·d (buf null: no momentum, step d);
//      w −= lr·(nesterov ? d + μ·buf : buf).
cudaError_t sgd_step(int64_t n, float* w, const float* g, float* buf, float lr, float wd, float momentum,
                     float keep, float add, bool nesterov);
// Adam: d = g + wd·w; m = β1·m + (1 − β1)·d; v = β2·v + (1 − β2)·d²;
//       w −= step_size · m / (√v · inv_sqrt_bias2 + ε).
cudaError_t adam_step(int64_t n, float* w, float* m, float* v, const float* g, float beta1, float beta2,
                      float wd, float eps, float step_size, float inv_sqrt_bias2);

}  // namespace adx::cuda::kernels
