// The CUDA twins of the engine's ops, on tensors: engine/ops/*.cpp call these when
// their inputs live on a CUDA device, and wrap the result in the same autograd
// record as on the CPU (backward formulas are ops, so they run on the device too).
// In a build without the CUDA backend every function throws adx::Error saying so.
#pragma once

#include "engine/cuda/op_codes.h"
#include "engine/ops.h"
#include "engine/random.h"
#include "engine/tensor.h"

namespace adx::cuda {

// Sets every element of a CUDA tensor.
void fill(Tensor& t, float value);

// f(x) elementwise, on x's device.
Tensor unary(Unary op, const Tensor& x, float p0 = 0.0f, float p1 = 0.0f);
// x broadcast to `shape` (expand).
Tensor broadcast_to(const Tensor& x, const Shape& shape);
// f(a, b) with broadcasting. One operand may be a one-element CPU tensor (a scalar
// such as Tensor::scalar(2.0f)), which is passed to the kernel by value.
Tensor binary(Binary op, const Tensor& a, const Tensor& b, const char* name, float p = 0.0f);
// cond != 0 ? a : b with broadcasting; a or b may be CPU scalars.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
// x·scale[c] + shift[c] over the channel dim 1 of x (N, C, ...); scale and shift (C).
Tensor channel_affine(const Tensor& x, const Tensor& scale, const Tensor& shift);
// Σ over `dims` (sorted, distinct), kept as size-1 dims.
Tensor sum_keepdim(const Tensor& x, const Dims& dims);

// Max pooling of (N, C, H, W) into (N, C, oh, ow) with the windows of engine/ops/pool.cpp:
// kh×kw at stride (sh, sw) from (−pad_top, −pad_left). The arg-max of each output is a
// float tensor of offsets within its plane (−1 for a window wholly in the padding).
struct PoolGeometry {
  int64_t kh, kw, sh, sw, pad_top, pad_left, oh, ow;
};
// values (and, when `index` is not null, the arg-max) of x.
Tensor max_pool2d(const Tensor& x, const PoolGeometry& geo, Tensor* index);
// The gradient: zeros of `input_shape` with each g added at its output's arg-max.
Tensor max_pool2d_scatter(const Tensor& g, const Tensor& index, const Shape& input_shape, const PoolGeometry& geo);
// Its adjoint: x at each output's arg-max.
Tensor max_pool2d_gather(const Tensor& x, const Tensor& index, const PoolGeometry& geo);

// The max (or min) values of x along the middle dim of its (outer, size, inner) split,
// shaped (outer·inner): no arg-max, no history.
Tensor extreme_values(const Tensor& x, int64_t outer, int64_t size, int64_t inner, bool take_max);
// gather and scatter_add (engine/ops.h) of a CUDA tensor by a host index list, which
// is copied to the device for the kernel.
Tensor gather(const Tensor& x, const IndexList& index, const Shape& shape);
Tensor scatter_add(const Tensor& src, const IndexList& index, const Shape& shape);

// Copies between two strided views on `device`: for every index i of `shape`,
// dst[Σ i_d·dst_strides[d]] = src[Σ i_d·src_strides[d]] (pointers at the views' first
// elements). permute, slice, slice's adjoint and concat are this copy.
void strided_copy(int device, const Shape& shape, const float* src, const Shape& src_strides, float* dst,
                  const Shape& dst_strides);

// A separable window plan (engine/ops/pool.cpp's average pooling, plain and adaptive):
// output row o sums input rows [row_start[o], row_end[o]) with weight row_weight[o], and
// the same along columns. Starts and ends must be non-decreasing in o.
struct WindowPlan {
  int64_t h, w, oh, ow;
  const int64_t *row_start, *row_end, *col_start, *col_end;
  const float *row_weight, *col_weight;
};
// (N, C, h, w) → (N, C, oh, ow), and its adjoint (N, C, oh, ow) → (N, C, h, w).
Tensor window_sum(const Tensor& x, const WindowPlan& plan);
Tensor window_sum_adjoint(const Tensor& g, const WindowPlan& plan);
// A two-tap separable resampling plan (engine/ops/pool.cpp's upsample): output row o
// is w0[o]·row i0[o] + w1[o]·row i1[o], and the same along columns; i0 ≤ i1, both
// non-decreasing in o.
struct InterpPlan {
  int64_t h, w, oh, ow;
  const int64_t *row_i0, *row_i1, *col_i0, *col_i1;
  const float *row_w0, *row_w1, *col_w0, *col_w1;
};
Tensor interp(const Tensor& x, const InterpPlan& plan);
Tensor interp_adjoint(const Tensor& g, const InterpPlan& plan);
// Σ over channels [c − before, c + after] for each channel c of (N, C, ...): LRN's sum.
Tensor channel_window_sum(const Tensor& x, int64_t before, int64_t after);
// The position of the max (or min) along the middle of (outer, size, inner), as
// floats, shaped (outer·inner).
Tensor arg_extreme(const Tensor& x, int64_t outer, int64_t size, int64_t inner, bool take_max);
// x at those positions, shaped (outer·inner), and its adjoint: zeros of
// (outer, size, inner) with g at the positions.
Tensor take_along(const Tensor& x, const Tensor& index, int64_t outer, int64_t size, int64_t inner);
Tensor put_along(const Tensor& g, const Tensor& index, int64_t outer, int64_t size, int64_t inner);
// Fill a CUDA tensor with the generator's next uniform [0, 1) or N(0, 1) values: the
// same values, and the same generator state after, as the CPU's loop of uniform() or
// normal() calls.
void fill_uniform(Tensor& t, Generator& gen);
void fill_normal(Tensor& t, Generator& gen);

// Row-major C = α·op(A)·op(B) + β·C on `device`, through cuBLAS (FP32 math).
void gemm(int device, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
          const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// Fused optimiser updates of one CUDA parameter w with gradient g (engine/optim.cpp
// has the formulas; kernels.h the arguments). buf is undefined without momentum.
void sgd_update(Tensor& w, const Tensor& g, Tensor& buf, float lr, float wd, float momentum, float keep,
                float add, bool nesterov);
void adam_update(Tensor& w, Tensor& m, Tensor& v, const Tensor& g, float beta1, float beta2, float wd,
                 float eps, float step_size, float inv_sqrt_bias2);

// True when any of the tensors lives on a CUDA device (undefined ones are skipped).
inline bool any_on_cuda(std::initializer_list<const Tensor*> ts) {
  for (const Tensor* t : ts)
    if (t->defined() && t->device().is_cuda()) return true;
  return false;
}

}  // namespace adx::cuda
