#include "engine/cuda/ops.h"

#include <fmt/format.h>

#include "engine/cpu/broadcast.h"

#ifdef ADX_HAVE_CUDA
#include <algorithm>
#include <climits>

#include "engine/cuda/context.h"
#include "engine/cuda/cublas_api.h"
#include "engine/cuda/kernels.h"
#include "engine/cuda/memory.h"
#include "engine/cuda/plans.h"
#include "engine/cuda/runtime.h"
#include "engine/cuda/status.h"
#endif

namespace adx::cuda {

#ifdef ADX_HAVE_CUDA

static_assert(kernels::kMaxDims == Shape::kMaxDims, "a kernel's index must hold every dim of a Shape");

namespace {

// Makes the tensors' device current and returns it; every tensor must be on that
// CUDA device, except one-element CPU tensors (scalars), which kernels take by value.
int common_device(std::initializer_list<const Tensor*> ts, const char* op) {
  int device = -1;
  for (const Tensor* t : ts) {
    if (!t->defined()) throw Error(fmt::format("{}: undefined tensor argument", op));
    if (t->device().is_cpu()) {
      if (t->dim() == 0) continue;
      throw Error(fmt::format("{}: a tensor on cpu with one on cuda (shape {}): move it with .to()", op,
                              shape_str(t->shape())));
    }
    if (device >= 0 && t->device().index != device)
      throw Error(fmt::format("{}: tensors on cuda:{} and cuda:{}", op, device, t->device().index));
    device = t->device().index;
  }
  if (device < 0) throw Error(fmt::format("{}: no operand is on a CUDA device", op));
  check(cudaSetDevice(device), "cudaSetDevice");
  return device;
}

bool is_host_scalar(const Tensor& t) { return t.device().is_cpu(); }

// For kernels that take no host scalars (optimiser updates, pooling, copies): all on
// one CUDA device.
void require_on_device(std::initializer_list<const Tensor*> ts, const char* op) {
  const Device device = (*ts.begin())->device();
  for (const Tensor* t : ts)
    if (!t->defined() || !t->device().is_cuda() || t->device() != device)
      throw Error(fmt::format("{}: every tensor (for an optimiser: the parameter, its gradient and its state) "
                              "must be on one CUDA device", op));
  check(cudaSetDevice(device.index), "cudaSetDevice");
}

// Operand k's element strides through the output's shape.
void set_strides(kernels::Broadcast& b, int k, const Shape& in, const Shape& out) {
  const Shape strides = cpu::broadcast_strides(in, out);
  for (size_t d = 0; d < out.size(); ++d) b.stride[k][d] = strides[d];
}

kernels::Broadcast broadcast_index(const Shape& out) {
  kernels::Broadcast b;
  b.nd = static_cast<int>(out.size());
  for (size_t d = 0; d < out.size(); ++d) b.shape[d] = out[d];
  return b;
}

}  // namespace

void fill(Tensor& t, float value) {
  common_device({&t}, "fill");
  check(kernels::fill(t.numel(), value, t.data()), "fill kernel launch");
}

Tensor unary(Unary op, const Tensor& x, float p0, float p1) {
  common_device({&x}, "unary op");
  Tensor out = Tensor::empty(x.shape(), x.device());
  check(kernels::unary(op, p0, p1, x.numel(), x.data(), nullptr, out.data()), "unary kernel launch");
  return out;
}

Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  common_device({&x}, "expand");
  Tensor out = Tensor::empty(shape, x.device());
  kernels::Broadcast b = broadcast_index(shape);
  set_strides(b, 0, x.shape(), shape);
  check(kernels::unary(Unary::Identity, 0.0f, 0.0f, out.numel(), x.data(), &b, out.data()),
        "expand kernel launch");
  return out;
}

Tensor binary(Binary op, const Tensor& a, const Tensor& b, const char* name, float p) {
  const int device = common_device({&a, &b}, name);
  const Shape shape = cpu::broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = Tensor::empty(shape, Device::cuda(device));
  const bool a_host = is_host_scalar(a), b_host = is_host_scalar(b);
  const bool same = (a_host || a.shape() == shape) && (b_host || b.shape() == shape);
  kernels::Broadcast index = broadcast_index(shape);
  if (!a_host) set_strides(index, 0, a.shape(), shape);
  if (!b_host) set_strides(index, 1, b.shape(), shape);
  check(kernels::binary(op, p, out.numel(), a_host ? nullptr : a.data(), a_host ? a.item() : 0.0f,
                        b_host ? nullptr : b.data(), b_host ? b.item() : 0.0f, same ? nullptr : &index,
                        out.data()),
        "binary kernel launch");
  return out;
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  const int device = common_device({&cond, &a, &b}, "where");
  if (is_host_scalar(cond)) throw Error("where: the condition must be on the CUDA device");
  const Shape shape = cpu::broadcast_shapes(cpu::broadcast_shapes(cond.shape(), a.shape(), "where"),
                                            b.shape(), "where");
  Tensor out = Tensor::empty(shape, Device::cuda(device));
  const bool a_host = is_host_scalar(a), b_host = is_host_scalar(b);
  kernels::Broadcast index = broadcast_index(shape);
  set_strides(index, 0, cond.shape(), shape);
  if (!a_host) set_strides(index, 1, a.shape(), shape);
  if (!b_host) set_strides(index, 2, b.shape(), shape);
  check(kernels::where(out.numel(), cond.data(), a_host ? nullptr : a.data(), a_host ? a.item() : 0.0f,
                       b_host ? nullptr : b.data(), b_host ? b.item() : 0.0f, index, out.data()),
        "where kernel launch");
  return out;
}

Tensor channel_affine(const Tensor& x, const Tensor& scale, const Tensor& shift) {
  require_on_device({&x, &scale, &shift}, "batch_norm");
  const int64_t channels = x.size(1), inner = x.numel() / std::max<int64_t>(x.size(0) * channels, 1);
  Tensor out = Tensor::empty(x.shape(), x.device());
  check(kernels::channel_affine(x.numel(), channels, inner, x.data(), scale.data(), shift.data(), out.data()),
        "batch_norm kernel launch");
  return out;
}

Tensor sum_keepdim(const Tensor& x, const Dims& dims) {
  common_device({&x}, "sum");
  kernels::Reduction r;
  Shape out_shape = x.shape();
  int64_t stride = 1;
  for (int64_t d = x.dim() - 1; d >= 0; --d) {  // contiguous strides, last dim fastest
    const bool reduced = std::find(dims.begin(), dims.end(), d) != dims.end();
    const int64_t size = x.size(d);
    if (reduced) {
      r.reduced_shape[r.reduced_nd] = size;
      r.reduced_stride[r.reduced_nd++] = stride;
      r.reduced_count *= size;
      out_shape[static_cast<size_t>(d)] = 1;
    } else {
      r.kept_shape[r.kept_nd] = size;
      r.kept_stride[r.kept_nd++] = stride;
      r.outputs *= size;
    }
    stride *= size;
  }
  // Collected last dim first: put them in order (the kernels walk dims from the last).
  std::reverse(r.reduced_shape, r.reduced_shape + r.reduced_nd);
  std::reverse(r.reduced_stride, r.reduced_stride + r.reduced_nd);
  std::reverse(r.kept_shape, r.kept_shape + r.kept_nd);
  std::reverse(r.kept_stride, r.kept_stride + r.kept_nd);
  Tensor out = Tensor::empty(out_shape, x.device());
  check(kernels::sum(r, x.data(), out.data()), "sum kernel launch");
  return out;
}

namespace {
kernels::PoolWindows windows(const Shape& in, const PoolGeometry& g) {
  return {in[0] * in[1], in[2], in[3], g.oh, g.ow, g.kh, g.kw, g.sh, g.sw, g.pad_top, g.pad_left};
}
}  // namespace

Tensor max_pool2d(const Tensor& x, const PoolGeometry& geo, Tensor* index) {
  require_on_device({&x}, "max_pool2d");
  if (x.size(2) * x.size(3) > (int64_t{1} << 24))
    throw Error("max_pool2d: on a GPU, planes above 2^24 pixels are not supported: " + shape_str(x.shape()));
  Tensor out = Tensor::empty({x.size(0), x.size(1), geo.oh, geo.ow}, x.device());
  if (index) *index = Tensor::empty(out.shape(), x.device());
  check(kernels::max_pool_forward(windows(x.shape(), geo), x.data(), out.data(), index ? index->data() : nullptr),
        "max_pool2d kernel launch");
  return out;
}

Tensor max_pool2d_scatter(const Tensor& g, const Tensor& index, const Shape& input_shape, const PoolGeometry& geo) {
  require_on_device({&g, &index}, "max_pool2d backward");
  Tensor out = Tensor::empty(input_shape, g.device());
  check(kernels::max_pool_scatter(windows(input_shape, geo), g.data(), index.data(), out.data()),
        "max_pool2d backward kernel launch");
  return out;
}

Tensor max_pool2d_gather(const Tensor& x, const Tensor& index, const PoolGeometry& geo) {
  require_on_device({&x, &index}, "max_pool2d gather");
  Tensor out = Tensor::empty(index.shape(), x.device());
  check(kernels::max_pool_gather(windows(x.shape(), geo), x.data(), index.data(), out.data()),
        "max_pool2d gather kernel launch");
  return out;
}

Tensor extreme_values(const Tensor& x, int64_t outer, int64_t size, int64_t inner, bool take_max) {
  require_on_device({&x}, take_max ? "max" : "min");
  Tensor out = Tensor::empty({outer * inner}, x.device());
  check(kernels::extreme_values(outer, size, inner, take_max, x.data(), out.data()), "max/min kernel launch");
  return out;
}

namespace {
// Copies the index list into `block` (index.size() int64s; bitwise: the float copy
// routine moves bytes, two floats per index).
const int64_t* copy_index(int device, const IndexList& index, const DeviceBlock& block) {
  if (block.size() > 0)
    copy_host_to_device(device, static_cast<float*>(block.get()), reinterpret_cast<const float*>(index.data()),
                        block.size() / sizeof(float));
  return static_cast<const int64_t*>(block.get());
}
}  // namespace

Tensor gather(const Tensor& x, const IndexList& index, const Shape& shape) {
  require_on_device({&x}, "gather");
  Tensor out = Tensor::empty(shape, x.device());
  const DeviceBlock block(x.device().index, index.size() * sizeof(int64_t));
  const int64_t* on_device = copy_index(x.device().index, index, block);
  check(kernels::gather(static_cast<int64_t>(index.size()), x.data(), on_device, out.data()),
        "gather kernel launch");
  return out;
}

Tensor scatter_add(const Tensor& src, const IndexList& index, const Shape& shape) {
  require_on_device({&src}, "scatter_add");
  Tensor out = Tensor::zeros(shape, src.device());
  const DeviceBlock block(src.device().index, index.size() * sizeof(int64_t));
  const int64_t* on_device = copy_index(src.device().index, index, block);
  check(kernels::scatter_add(static_cast<int64_t>(index.size()), src.data(), on_device, out.data()),
        "scatter_add kernel launch");
  return out;
}

void strided_copy(int device, const Shape& shape, const float* src, const Shape& src_strides, float* dst,
                  const Shape& dst_strides) {
  check(cudaSetDevice(device), "cudaSetDevice");
  kernels::Broadcast index = broadcast_index(shape);
  for (size_t d = 0; d < shape.size(); ++d) {
    index.stride[0][d] = src_strides[d];
    index.stride[1][d] = dst_strides[d];
  }
  check(kernels::strided_copy(shape_numel(shape), src, dst, index), "strided copy kernel launch");
}

namespace {
// Runs `launch(windows)` with a plan's index arrays and weights copied to the device.
template <class Launch>
void with_arrays(int device, const kernels::Windows& sizes, const IndexList& bounds, const PoolVector<float>& weights,
                 Launch launch) {
  const DeviceBlock index_block(device, bounds.size() * sizeof(int64_t));
  const DeviceBlock weight_block(device, weights.size() * sizeof(float));
  copy_host_to_device(device, static_cast<float*>(weight_block.get()), weights.data(), weights.size());
  kernels::Windows w = sizes;
  w.bounds = copy_index(device, bounds, index_block);
  w.weights = static_cast<const float*>(weight_block.get());
  launch(w);
}

template <class Launch>
void with_windows(int device, int64_t planes, const WindowPlan& plan, Launch launch) {
  IndexList bounds;
  PoolVector<float> weights;
  pack_window_plan(plan, bounds, weights);
  with_arrays(device, {planes, plan.h, plan.w, plan.oh, plan.ow, nullptr, nullptr}, bounds, weights, launch);
}

template <class Launch>
void with_taps(int device, int64_t planes, const InterpPlan& plan, Launch launch) {
  IndexList bounds;
  PoolVector<float> weights;
  pack_interp_plan(plan, bounds, weights);
  with_arrays(device, {planes, plan.h, plan.w, plan.oh, plan.ow, nullptr, nullptr}, bounds, weights, launch);
}
}  // namespace

Tensor window_sum(const Tensor& x, const WindowPlan& plan) {
  require_on_device({&x}, "avg_pool2d");
  Tensor out = Tensor::empty({x.size(0), x.size(1), plan.oh, plan.ow}, x.device());
  with_windows(x.device().index, x.size(0) * x.size(1), plan, [&](const kernels::Windows& w) {
    check(kernels::window_sum(w, x.data(), out.data()), "avg_pool2d kernel launch");
  });
  return out;
}

Tensor window_sum_adjoint(const Tensor& g, const WindowPlan& plan) {
  require_on_device({&g}, "avg_pool2d backward");
  Tensor out = Tensor::empty({g.size(0), g.size(1), plan.h, plan.w}, g.device());
  with_windows(g.device().index, g.size(0) * g.size(1), plan, [&](const kernels::Windows& w) {
    check(kernels::window_sum_adjoint(w, g.data(), out.data()), "avg_pool2d backward kernel launch");
  });
  return out;
}

Tensor interp(const Tensor& x, const InterpPlan& plan) {
  require_on_device({&x}, "upsample");
  Tensor out = Tensor::empty({x.size(0), x.size(1), plan.oh, plan.ow}, x.device());
  with_taps(x.device().index, x.size(0) * x.size(1), plan, [&](const kernels::Windows& w) {
    check(kernels::interp(w, x.data(), out.data()), "upsample kernel launch");
  });
  return out;
}

Tensor interp_adjoint(const Tensor& g, const InterpPlan& plan) {
  require_on_device({&g}, "upsample backward");
  Tensor out = Tensor::empty({g.size(0), g.size(1), plan.h, plan.w}, g.device());
  with_taps(g.device().index, g.size(0) * g.size(1), plan, [&](const kernels::Windows& w) {
    check(kernels::interp_adjoint(w, g.data(), out.data()), "upsample backward kernel launch");
  });
  return out;
}

Tensor channel_window_sum(const Tensor& x, int64_t before, int64_t after) {
  require_on_device({&x}, "channel_window_sum");
  const int64_t n = x.size(0), c = x.size(1), inner = n * c == 0 ? 0 : x.numel() / (n * c);
  Tensor out = Tensor::empty(x.shape(), x.device());
  check(kernels::channel_window_sum(n, c, inner, before, after, x.data(), out.data()),
        "channel_window_sum kernel launch");
  return out;
}

Tensor arg_extreme(const Tensor& x, int64_t outer, int64_t size, int64_t inner, bool take_max) {
  require_on_device({&x}, take_max ? "argmax" : "argmin");
  if (size > (int64_t{1} << 24))
    throw Error(fmt::format("{}: on a GPU, a dim above 2^24 is not supported (size {})", take_max ? "max" : "min", size));
  Tensor out = Tensor::empty({outer * inner}, x.device());
  check(kernels::arg_extreme(outer, size, inner, take_max, x.data(), out.data()), "arg-max kernel launch");
  return out;
}

Tensor take_along(const Tensor& x, const Tensor& index, int64_t outer, int64_t size, int64_t inner) {
  require_on_device({&x, &index}, "max/min");
  Tensor out = Tensor::empty({outer * inner}, x.device());
  check(kernels::take_along(outer, size, inner, x.data(), index.data(), out.data()), "max/min gather kernel launch");
  return out;
}

Tensor put_along(const Tensor& g, const Tensor& index, int64_t outer, int64_t size, int64_t inner) {
  require_on_device({&g, &index}, "max/min backward");
  Tensor out = Tensor::zeros({outer, size, inner}, g.device());
  check(kernels::put_along(outer, size, inner, g.data(), index.data(), out.data()), "max/min scatter kernel launch");
  return out;
}

namespace {
kernels::PhiloxStream stream_of(const Generator& gen) {
  kernels::PhiloxStream s{gen.seed(), gen.offset(), {}, 0};
  s.lead_count = gen.cached_words(s.lead);
  return s;
}
}  // namespace

void fill_uniform(Tensor& t, Generator& gen) {
  require_on_device({&t}, "rand");
  const int64_t n = t.numel();
  check(kernels::philox_uniform(n, stream_of(gen), t.data()), "rand kernel launch");
  gen.skip(static_cast<uint64_t>(n));
}

void fill_normal(Tensor& t, Generator& gen) {
  require_on_device({&t}, "randn");
  const int64_t n = t.numel();
  if (n == 0) return;
  float spare = 0.0f;
  const int first = gen.take_spare_normal(spare) ? 1 : 0;
  const int64_t pairs = (n - first + 1) / 2;
  check(kernels::philox_normal(n, stream_of(gen), first, spare, t.data()), "randn kernel launch");
  if ((n - first) % 2 == 1) {
    // The last pair's sine is left over: the CPU's normal() keeps it as the spare, and
    // so does drawing that pair again here (its cosine is already on the device).
    gen.skip(static_cast<uint64_t>(2 * (pairs - 1)));
    gen.normal();
  } else {
    gen.skip(static_cast<uint64_t>(2 * pairs));
  }
}

void sgd_update(Tensor& w, const Tensor& g, Tensor& buf, float lr, float wd, float momentum, float keep,
                float add, bool nesterov) {
  if (buf.defined()) require_on_device({&w, &g, &buf}, "SGD");
  else require_on_device({&w, &g}, "SGD");
  check(kernels::sgd_step(w.numel(), w.data(), g.data(), buf.defined() ? buf.data() : nullptr, lr, wd, momentum,
                          keep, add, nesterov),
        "SGD kernel launch");
}

void adam_update(Tensor& w, Tensor& m, Tensor& v, const Tensor& g, float beta1, float beta2, float wd,
                 float eps, float step_size, float inv_sqrt_bias2) {
  require_on_device({&w, &m, &v, &g}, "Adam");
  check(kernels::adam_step(w.numel(), w.data(), m.data(), v.data(), g.data(), beta1, beta2, wd, eps, step_size,
                           inv_sqrt_bias2),
        "Adam kernel launch");
}

void gemm(int device, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
          const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {  // C = β·C; cuBLAS wants leading dims ≥ 1 even then (it reads no A or B)
    lda = std::max<int64_t>(lda, 1);
    ldb = std::max<int64_t>(ldb, 1);
  }
  for (int64_t v : {m, n, k, lda, ldb, ldc})
    if (v > INT_MAX) throw Error(fmt::format("matmul: dimension {} is too large for cuBLAS", v));
  check(cudaSetDevice(device), "cudaSetDevice");
  const CublasApi& blas = cublas_api();
  auto handle = static_cast<cublasHandle_t>(Context::get(device).cublas());
  const cublasStatus_t mode =
      blas.set_math_mode(handle, allow_tf32() ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH);
  if (mode != CUBLAS_STATUS_SUCCESS)
    throw Error(fmt::format("cuBLAS: cublasSetMathMode failed: {}", blas.status_name(mode)));
  // Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ, and a row-major
  // buffer read column-major is the transpose: so B and A swap places, flags unchanged.
  const cublasStatus_t s =
      blas.sgemm(handle, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                 static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), &alpha, b,
                 static_cast<int>(ldb), a, static_cast<int>(lda), &beta, c, static_cast<int>(ldc));
  if (s != CUBLAS_STATUS_SUCCESS)
    throw Error(fmt::format("cuBLAS: cublasSgemm failed: {} ({})", blas.status_name(s), blas.status_string(s)));
}

#else  // no CUDA backend

namespace {
[[noreturn]] void not_built(const char* op) {
  throw Error(fmt::format("{}: this adx was built without the CUDA backend (-DADX_CUDA=OFF or no toolkit)", op));
}
}  // namespace

void fill(Tensor&, float) { not_built("fill"); }
Tensor unary(Unary, const Tensor&, float, float) { not_built("unary op"); }
Tensor broadcast_to(const Tensor&, const Shape&) { not_built("expand"); }
Tensor binary(Binary, const Tensor&, const Tensor&, const char* name, float) { not_built(name); }
Tensor where(const Tensor&, const Tensor&, const Tensor&) { not_built("where"); }
Tensor sum_keepdim(const Tensor&, const Dims&) { not_built("sum"); }
Tensor channel_affine(const Tensor&, const Tensor&, const Tensor&) { not_built("batch_norm"); }
void sgd_update(Tensor&, const Tensor&, Tensor&, float, float, float, float, float, bool) { not_built("SGD"); }
Tensor max_pool2d(const Tensor&, const PoolGeometry&, Tensor*) { not_built("max_pool2d"); }
Tensor extreme_values(const Tensor&, int64_t, int64_t, int64_t, bool) { not_built("max"); }
Tensor gather(const Tensor&, const IndexList&, const Shape&) { not_built("gather"); }
Tensor scatter_add(const Tensor&, const IndexList&, const Shape&) { not_built("scatter_add"); }
Tensor max_pool2d_scatter(const Tensor&, const Tensor&, const Shape&, const PoolGeometry&) {
  not_built("max_pool2d");
}
Tensor max_pool2d_gather(const Tensor&, const Tensor&, const PoolGeometry&) { not_built("max_pool2d"); }
void adam_update(Tensor&, Tensor&, Tensor&, const Tensor&, float, float, float, float, float, float) {
  not_built("Adam");
}
void strided_copy(int, const Shape&, const float*, const Shape&, float*, const Shape&) { not_built("copy"); }
Tensor window_sum(const Tensor&, const WindowPlan&) { not_built("avg_pool2d"); }
Tensor window_sum_adjoint(const Tensor&, const WindowPlan&) { not_built("avg_pool2d"); }
Tensor channel_window_sum(const Tensor&, int64_t, int64_t) { not_built("channel_window_sum"); }
Tensor interp(const Tensor&, const InterpPlan&) { not_built("upsample"); }
Tensor interp_adjoint(const Tensor&, const InterpPlan&) { not_built("upsample"); }
Tensor arg_extreme(const Tensor&, int64_t, int64_t, int64_t, bool) { not_built("argmax"); }
Tensor take_along(const Tensor&, const Tensor&, int64_t, int64_t, int64_t) { not_built("max"); }
Tensor put_along(const Tensor&, const Tensor&, int64_t, int64_t, int64_t) { not_built("max"); }
void fill_uniform(Tensor&, Generator&) { not_built("rand"); }
void fill_normal(Tensor&, Generator&) { not_built("randn"); }
void gemm(int, bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t,
          float, float*, int64_t) {
  not_built("matmul");
}

#endif

}  // namespace adx::cuda
