// Pooling and resampling. Max pooling is a gather at the window maxima; average
// pooling (plain and adaptive) and upsampling (nearest and bilinear) are linear maps
// described by a per-axis plan, each op paired with its adjoint as its backward.
#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <type_traits>
#include <memory>

#include "engine/autograd.h"
#include "engine/cuda/ops.h"
#include "engine/cpu/parallel.h"
#include "engine/ops.h"
#include "engine/ops/common.h"

namespace adx {
using namespace detail;

int64_t pool_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad_before,
                         int64_t pad_after, bool ceil_mode) {
  const int64_t span = in + pad_before + pad_after - kernel;
  if (span < 0) return 0;
  int64_t out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
  // torch: in ceil mode the last window must start inside the input or the left pad.
  if (ceil_mode && (out - 1) * stride >= in + pad_before) --out;
  return out;
}

namespace {

void check_pool(const Tensor& x, const Pool2dOptions& o, const char* op, bool cuda_allowed = false) {
  if (!cuda_allowed || !x.defined() || !x.device().is_cuda()) check_cpu(x, op);
  check_dims(x, 4, op, "input");
  if (o.kernel_h < 1 || o.kernel_w < 1 || o.stride_h < 1 || o.stride_w < 1 || o.pad_top < 0 ||
      o.pad_bottom < 0 || o.pad_left < 0 || o.pad_right < 0)
    throw Error(fmt::format("{}: kernel and stride must be ≥ 1, padding ≥ 0", op));
}

// A separable linear resampling plan: along each axis, output index o reads input
// indices [start, end) (pooling) with weight 1/div, or the taps idx0/idx1 with
// weights wt0/wt1 (interpolation).
struct AxisPlan {
  PoolVector<int64_t> start, end;
  PoolVector<float> weight;  // per output index, multiplies every term of the window
};
struct PoolPlan {
  int64_t h, w;
  AxisPlan rows, cols;
  int64_t oh() const { return static_cast<int64_t>(rows.start.size()); }
  int64_t ow() const { return static_cast<int64_t>(cols.start.size()); }
};
using PoolPlanPtr = std::shared_ptr<const PoolPlan>;

Tensor window_sum(const Tensor& x, PoolPlanPtr plan);
Tensor window_sum_adjoint(const Tensor& g, PoolPlanPtr plan);

// The plan as the CUDA kernels take it.
cuda::WindowPlan device_plan(const PoolPlan& p) {
  return {p.h,
          p.w,
          p.oh(),
          p.ow(),
          p.rows.start.data(),
          p.rows.end.data(),
          p.cols.start.data(),
          p.cols.end.data(),
          p.rows.weight.data(),
          p.cols.weight.data()};
}

// out[oy][ox] = wy·wx·Σ_{y∈rows(oy), x∈cols(ox)} in[y][x]
Tensor window_sum(const Tensor& x, PoolPlanPtr plan) {
  Tensor out;
  if (x.device().is_cuda()) {
    out = cuda::window_sum(x, device_plan(*plan));
  } else {
    const int64_t planes = x.size(0) * x.size(1), h = plan->h, w = plan->w;
    const int64_t oh = plan->oh(), ow = plan->ow();
    out = Tensor::empty({x.size(0), x.size(1), oh, ow});
    const auto& r = plan->rows;
    const auto& c = plan->cols;
    cpu::parallel_for(0, planes, h * w, [&](int64_t p) {
      const float* in = x.data() + p * h * w;
      float* o = out.data() + p * oh * ow;
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          float acc = 0.0f;
          for (int64_t y = r.start[oy]; y < r.end[oy]; ++y)
            for (int64_t xx = c.start[ox]; xx < c.end[ox]; ++xx) acc += in[y * w + xx];
          o[oy * ow + ox] = acc * r.weight[oy] * c.weight[ox];
        }
    });
  }
  return record(OpKind::AvgPool2d, out, {x}, [plan](const Tensor& g, Node&) {
    return Grads{window_sum_adjoint(g, plan)};
  });
}

Tensor window_sum_adjoint(const Tensor& g, PoolPlanPtr plan) {
  Tensor out;
  if (g.device().is_cuda()) {
    out = cuda::window_sum_adjoint(g, device_plan(*plan));
  } else {
    const int64_t planes = g.size(0) * g.size(1), h = plan->h, w = plan->w;
    const int64_t oh = plan->oh(), ow = plan->ow();
    out = Tensor::zeros({g.size(0), g.size(1), h, w});
    const auto& r = plan->rows;
    const auto& c = plan->cols;
    cpu::parallel_for(0, planes, h * w, [&](int64_t p) {
      const float* in = g.data() + p * oh * ow;
      float* o = out.data() + p * h * w;
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          const float v = in[oy * ow + ox] * r.weight[oy] * c.weight[ox];
          for (int64_t y = r.start[oy]; y < r.end[oy]; ++y)
            for (int64_t xx = c.start[ox]; xx < c.end[ox]; ++xx) o[y * w + xx] += v;
        }
    });
  }
  return record(OpKind::AvgPool2dBackward, out, {g}, [plan](const Tensor& gg, Node&) {
    return Grads{window_sum(gg, plan)};
  });
}

// torch's avg_pool2d windows along one axis, with its divisor rule.
AxisPlan avg_axis(int64_t in, int64_t k, int64_t s, int64_t pad_before, int64_t pad_after,
                  int64_t out, bool count_include_pad, PoolVector<int64_t>& padded_size) {
  AxisPlan a;
  padded_size.clear();
  for (int64_t o = 0; o < out; ++o) {
    const int64_t start = o * s - pad_before;
    const int64_t end = std::min(start + k, in + pad_after);
    padded_size.push_back(end - start);
    a.start.push_back(std::max<int64_t>(start, 0));
    a.end.push_back(std::min(end, in));
    const int64_t count = count_include_pad ? end - start : a.end.back() - a.start.back();
    a.weight.push_back(count > 0 ? 1.0f / static_cast<float>(count) : 0.0f);
  }
  return a;
}


// The window bounds of max pooling: output row oy covers input rows [y_lo, y_hi),
// output column ox input columns [x_lo, x_hi) (clipped to the input). Columns in
// [inner_lo, inner_hi) have their whole window inside the input, kernel_w columns
// starting at ox·SW − pad_left.
struct MaxPoolBounds {
  PoolVector<int64_t> y_lo, y_hi, x_lo, x_hi;
  int64_t inner_lo = 0, inner_hi = 0;
};

MaxPoolBounds max_pool_bounds(int64_t h, int64_t w, int64_t oh, int64_t ow, const Pool2dOptions& o) {
  MaxPoolBounds b;
  for (int64_t oy = 0; oy < oh; ++oy) {
    const int64_t y0 = oy * o.stride_h - o.pad_top;
    b.y_lo.push_back(std::max<int64_t>(y0, 0));
    b.y_hi.push_back(std::min(y0 + o.kernel_h, h));
  }
  b.inner_lo = ow;
  for (int64_t ox = 0; ox < ow; ++ox) {
    const int64_t x0 = ox * o.stride_w - o.pad_left;
    b.x_lo.push_back(std::max<int64_t>(x0, 0));
    b.x_hi.push_back(std::min(x0 + o.kernel_w, w));
    if (x0 >= 0 && x0 + o.kernel_w <= w) {
      b.inner_lo = std::min(b.inner_lo, ox);
      b.inner_hi = ox + 1;
    }
  }
  if (b.inner_hi < b.inner_lo) b.inner_hi = b.inner_lo;
  return b;
}

// v replaces the running maximum m: v is larger, or v is the first NaN (torch's max
// pooling propagates NaN). Of equal maxima the first, in row-major window order, stays.
inline bool replaces(float v, float m) { return (v > m) | ((v != v) & (m == m)); }

// take ? a : b by bit masks. GCC turns a plain ?: on floats into a branch in scalar
// code (a loop's remainder, short rows), and the comparisons of max pooling are as
// unpredictable as the data; masks keep it branch-free and still vectorise.
inline float pick(bool take, float a, float b) {
  const uint32_t mask = 0u - static_cast<uint32_t>(take);
  return std::bit_cast<float>((std::bit_cast<uint32_t>(a) & mask) | (std::bit_cast<uint32_t>(b) & ~mask));
}
template <class Int>
  requires std::is_integral_v<Int>
inline Int pick(bool take, Int a, Int b) {
  const Int mask = static_cast<Int>(-static_cast<Int>(take));
  return (a & mask) | (b & ~mask);
}

// One output row of max pooling over one plane: the maxima into value[ow] and, when
// index is not null, their offsets within the plane into index[ow] (−1 for a window
// wholly in the padding, whose value is 0). Columns whose window lies inside the input
// run tap by tap across the row, a select per element that the compiler vectorises;
// the few border columns run window by window.
template <bool kIndex>
void max_pool_row(const float* plane, int64_t w, int64_t oy, const MaxPoolBounds& b,
                  const Pool2dOptions& o, float* __restrict value, int32_t* __restrict index) {
  const int64_t y_lo = b.y_lo[static_cast<size_t>(oy)], y_hi = b.y_hi[static_cast<size_t>(oy)];
  const int64_t ow = static_cast<int64_t>(b.x_lo.size()), sw = o.stride_w;
  auto window = [&](int64_t ox) {
    const int64_t x_lo = b.x_lo[static_cast<size_t>(ox)], x_hi = b.x_hi[static_cast<size_t>(ox)];
    int64_t best = (y_lo < y_hi && x_lo < x_hi) ? y_lo * w + x_lo : -1;
    float m = best >= 0 ? plane[best] : 0.0f;
    for (int64_t y = y_lo; y < y_hi; ++y)
      for (int64_t x = x_lo; x < x_hi; ++x)
        if (replaces(plane[y * w + x], m)) {
          m = plane[y * w + x];
          best = y * w + x;
        }
    value[ox] = m;
    if constexpr (kIndex) index[ox] = static_cast<int32_t>(best);
  };
  const int64_t lo = y_lo < y_hi ? b.inner_lo : ow, hi = y_lo < y_hi ? b.inner_hi : ow;
  for (int64_t ox = 0; ox < lo; ++ox) window(ox);
  for (int64_t ox = hi; ox < ow; ++ox) window(ox);
  if (lo >= hi) return;
  const int64_t n = hi - lo, first = y_lo * w + lo * sw - o.pad_left;  // window of column lo
  float* __restrict v_out = value + lo;
  int32_t* __restrict i_out = index + (kIndex ? lo : 0);
  for (int64_t k = 0; k < n; ++k) {
    v_out[k] = plane[first + k * sw];
    if constexpr (kIndex) i_out[k] = static_cast<int32_t>(first + k * sw);
  }
  for (int64_t y = y_lo; y < y_hi; ++y)
    for (int64_t kx = 0; kx < o.kernel_w; ++kx) {
      if (y == y_lo && kx == 0) continue;
      const int64_t at = first + (y - y_lo) * w + kx;
      const float* __restrict in = plane + at;
      auto tap = [&](const int64_t stride) {
        for (int64_t k = 0; k < n; ++k) {
          const float v = in[k * stride];
          const bool take = replaces(v, v_out[k]);
          v_out[k] = pick(take, v, v_out[k]);
          if constexpr (kIndex) i_out[k] = pick(take, static_cast<int32_t>(at + k * stride), i_out[k]);
        }
      };
      if (sw == 2) tap(2);  // a constant stride lets the compiler vectorise
      else tap(sw);
    }
}

// 2×2 windows at stride 2 that tile the input exactly (no padding, even sizes; LeNet's
// pools) run as two flat passes over the whole tensor instead of short rows: first the
// maximum of each horizontal pair (x[2i], x[2i+1]), then of each vertical pair of
// those. Comparing the top pair's winner with the bottom pair's keeps the row-major
// order of the window (first of equal maxima, first NaN), as max_pool_row does.
bool tiles_2x2(const Pool2dOptions& o, int64_t h, int64_t w) {
  return o.kernel_h == 2 && o.kernel_w == 2 && o.stride_h == 2 && o.stride_w == 2 && o.pad_top == 0 &&
         o.pad_bottom == 0 && o.pad_left == 0 && o.pad_right == 0 && h % 2 == 0 && w % 2 == 0;
}

template <bool kIndex>
void max_pool_2x2(const float* in, int64_t numel, int64_t ow, float* values, int64_t* index) {
  thread_local std::vector<float> pair_max;       // grows only: no allocation per step
  thread_local std::vector<int64_t> pair_at;
  const int64_t pairs = numel / 2;
  if (static_cast<int64_t>(pair_max.size()) < pairs) pair_max.resize(static_cast<size_t>(pairs));
  if (kIndex && static_cast<int64_t>(pair_at.size()) < pairs) pair_at.resize(static_cast<size_t>(pairs));
  float* hm = pair_max.data();
  int64_t* ha = pair_at.data();
  cpu::parallel_blocks(pairs, [=](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const float left = in[2 * i], right = in[2 * i + 1];
      const bool take = replaces(right, left);
      hm[i] = pick(take, right, left);
      if constexpr (kIndex) ha[i] = 2 * i + take;
    }
  });
  const int64_t rows = pairs / ow / 2;  // output rows over all planes
  cpu::parallel_for(0, rows, 4 * ow, [=](int64_t r) {
    const float* __restrict top = hm + 2 * r * ow;
    const float* __restrict bottom = top + ow;
    float* __restrict out = values + r * ow;
    const int64_t* __restrict top_at = ha + 2 * r * ow;
    const int64_t* __restrict bottom_at = top_at + ow;
    int64_t* __restrict out_at = index + r * ow;
    for (int64_t ox = 0; ox < ow; ++ox) {
      const bool take = replaces(bottom[ox], top[ox]);
      out[ox] = pick(take, bottom[ox], top[ox]);
      if constexpr (kIndex) out_at[ox] = pick(take, bottom_at[ox], top_at[ox]);
    }
  });
}

}  // namespace

namespace {

// On a GPU the arg-max stays on the device (a float tensor of plane offsets), and the
// two linear maps it defines are ops of their own, each the other's backward.
Tensor max_pool_scatter_cuda(const Tensor& g, const Tensor& index, const Shape& in_shape,
                             const cuda::PoolGeometry& geo);

Tensor max_pool_gather_cuda(const Tensor& x, const Tensor& index, const cuda::PoolGeometry& geo) {
  Tensor out = cuda::max_pool2d_gather(x, index, geo);
  return record(OpKind::MaxPoolGather, out, {x}, [index, geo](const Tensor& g, Node& n) {
    return Grads{max_pool_scatter_cuda(g, index, n.input(0).shape(), geo)};
  });
}

Tensor max_pool_scatter_cuda(const Tensor& g, const Tensor& index, const Shape& in_shape,
                             const cuda::PoolGeometry& geo) {
  Tensor out = cuda::max_pool2d_scatter(g, index, in_shape, geo);
  return record(OpKind::MaxPoolScatter, out, {g}, [index, geo](const Tensor& gg, Node&) {
    return Grads{max_pool_gather_cuda(gg, index, geo)};
  });
}

// Max pooling's backward on the CPU: the output gradient added at the arg-max
// positions. Every output's arg-max lies in its own (image, channel) plane, so the
// planes run in parallel, each zeroed just before its adds, while it is in cache (the
// generic scatter_add runs serially over the whole tensor). Its backward is the gather
// at the same positions, as scatter_add's is.
Tensor max_pool_scatter_cpu(const Tensor& g, const FlatIndex& index, const Shape& in_shape) {
  check_cpu(g, "max_pool2d backward");
  Tensor out = Tensor::empty(in_shape);
  const int64_t planes = in_shape[0] * in_shape[1], in_plane = in_shape[2] * in_shape[3];
  const int64_t out_plane = planes > 0 ? g.numel() / planes : 0;
  const float* src = g.data();
  float* dst = out.data();
  const int64_t* at = index->data();
  cpu::parallel_for(0, planes, in_plane + out_plane, [&](int64_t p) {
    std::fill_n(dst + p * in_plane, in_plane, 0.0f);
    for (int64_t i = p * out_plane; i < (p + 1) * out_plane; ++i)
      if (at[i] >= 0) dst[at[i]] += src[i];
  });
  return record(OpKind::MaxPoolScatter, out, {g}, [index](const Tensor& gg, Node& n) {
    return Grads{gather(gg, index, n.input(0).shape())};
  });
}

}  // namespace

Tensor max_pool2d(const Tensor& x, const Pool2dOptions& o) {
  const bool on_cuda = x.defined() && x.device().is_cuda();
  check_pool(x, o, "max_pool2d", on_cuda);
  const int64_t h = x.size(2), w = x.size(3);
  const int64_t oh = pool_output_size(h, o.kernel_h, o.stride_h, o.pad_top, o.pad_bottom, o.ceil_mode);
  const int64_t ow = pool_output_size(w, o.kernel_w, o.stride_w, o.pad_left, o.pad_right, o.ceil_mode);
  if (oh < 1 || ow < 1)
    throw Error("max_pool2d: window does not fit input " + shape_str(x.shape()));
  if (on_cuda) {
    const cuda::PoolGeometry geo{o.kernel_h, o.kernel_w, o.stride_h, o.stride_w, o.pad_top, o.pad_left, oh, ow};
    if (!any_requires_grad({&x})) return cuda::max_pool2d(x, geo, nullptr);
    Tensor index;
    Tensor out = cuda::max_pool2d(x, geo, &index);
    // The output is the gather of x at the arg-max, computed in the same pass.
    return record(OpKind::MaxPoolGather, out, {x}, [index, geo](const Tensor& g, Node& n) {
      return Grads{max_pool_scatter_cuda(g, index, n.input(0).shape(), geo)};
    });
  }
  if (h * w > std::numeric_limits<int32_t>::max())
    throw Error("max_pool2d: input planes above 2^31 pixels are not supported: " + shape_str(x.shape()));
  const int64_t planes = x.size(0) * x.size(1);
  Tensor out = Tensor::empty({x.size(0), x.size(1), oh, ow});
  const float* in = x.data();
  float* values = out.data();
  // Without autograd the maxima are written directly; with it they are a gather at
  // the arg-max positions, whose backward (max_pool_scatter_cpu) routes the gradient there.
  const bool record_history = any_requires_grad({&x});
  auto index = record_history ? make_flat_index(static_cast<size_t>(out.numel()))
                              : nullptr;
  if (tiles_2x2(o, h, w)) {
    if (index) max_pool_2x2<true>(in, x.numel(), ow, values, index->data());
    else max_pool_2x2<false>(in, x.numel(), ow, values, nullptr);
  } else {
    const MaxPoolBounds bounds = max_pool_bounds(h, w, oh, ow, o);
    int64_t* best_at = index ? index->data() : nullptr;
    cpu::parallel_for(0, planes, h * w, [&](int64_t p) {
      const float* plane = in + p * h * w;
      if (!best_at) {
        for (int64_t oy = 0; oy < oh; ++oy)
          max_pool_row<false>(plane, w, oy, bounds, o, values + (p * oh + oy) * ow, nullptr);
        return;
      }
      thread_local std::vector<int32_t> row_index;  // offsets within the plane
      row_index.resize(static_cast<size_t>(ow));
      const int32_t* __restrict in_plane = row_index.data();
      const int64_t plane_at = p * h * w;
      for (int64_t oy = 0; oy < oh; ++oy) {
        const int64_t at = (p * oh + oy) * ow;
        max_pool_row<true>(plane, w, oy, bounds, o, values + at, row_index.data());
        int64_t* __restrict global = best_at + at;
        for (int64_t ox = 0; ox < ow; ++ox) global[ox] = in_plane[ox] < 0 ? -1 : plane_at + in_plane[ox];
      }
    });
  }
  if (!index) return out;
  // The output is gather(x, index) computed in the same pass; its backward is
  // scatter_add's, done plane by plane.
  return record(OpKind::Gather, out, {x}, [index](const Tensor& g, Node& n) {
    return Grads{max_pool_scatter_cpu(g, index, n.input(0).shape())};
  });
}

Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& o) {
  check_pool(x, o, "avg_pool2d", /*cuda_allowed=*/true);
  const int64_t h = x.size(2), w = x.size(3);
  const int64_t oh = pool_output_size(h, o.kernel_h, o.stride_h, o.pad_top, o.pad_bottom, o.ceil_mode);
  const int64_t ow = pool_output_size(w, o.kernel_w, o.stride_w, o.pad_left, o.pad_right, o.ceil_mode);
  if (oh < 1 || ow < 1)
    throw Error("avg_pool2d: window does not fit input " + shape_str(x.shape()));
  auto plan = make_pooled<PoolPlan>();
  plan->h = h;
  plan->w = w;
  PoolVector<int64_t> ph, pw;
  plan->rows = avg_axis(h, o.kernel_h, o.stride_h, o.pad_top, o.pad_bottom, oh, o.count_include_pad, ph);
  plan->cols = avg_axis(w, o.kernel_w, o.stride_w, o.pad_left, o.pad_right, ow, o.count_include_pad, pw);
  return window_sum(x, plan);
}

Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w) {
  const bool on_cuda = x.defined() && x.device().is_cuda();
  if (!on_cuda) check_cpu(x, "adaptive_avg_pool2d");
  check_dims(x, 4, "adaptive_avg_pool2d", "input");
  if (out_h < 1 || out_w < 1) throw Error("adaptive_avg_pool2d: output size must be ≥ 1");
  // The global pool on a GPU is a mean: one reduction kernel instead of a window per pixel.
  if (on_cuda && out_h == 1 && out_w == 1) return mean(x, {2, 3}, true);
  auto axis = [](int64_t in, int64_t out) {
    AxisPlan a;
    for (int64_t o = 0; o < out; ++o) {
      a.start.push_back(o * in / out);                    // floor(o·in/out)
      a.end.push_back(((o + 1) * in + out - 1) / out);    // ceil((o+1)·in/out)
      a.weight.push_back(1.0f / static_cast<float>(a.end.back() - a.start.back()));
    }
    return a;
  };
  auto plan = make_pooled<PoolPlan>();
  plan->h = x.size(2);
  plan->w = x.size(3);
  plan->rows = axis(x.size(2), out_h);
  plan->cols = axis(x.size(3), out_w);
  return window_sum(x, plan);
}

// ---- upsampling -------------------------------------------------------------------

namespace {

struct InterpAxis {
  PoolVector<int64_t> i0, i1;
  PoolVector<float> w0, w1;
};
struct InterpPlan {
  int64_t h, w;
  InterpAxis rows, cols;
};
using InterpPlanPtr = std::shared_ptr<const InterpPlan>;

InterpAxis interp_axis(int64_t in, int64_t out, UpsampleMode mode, bool align_corners) {
  InterpAxis a;
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  for (int64_t o = 0; o < out; ++o) {
    if (mode == UpsampleMode::Nearest) {
      // torch's legacy 'nearest': src = floor(dst · in/out).
      const int64_t src = std::min<int64_t>(static_cast<int64_t>(std::floor(o * static_cast<float>(scale))), in - 1);
      a.i0.push_back(src);
      a.i1.push_back(src);
      a.w0.push_back(1.0f);
      a.w1.push_back(0.0f);
      continue;
    }
    double src;
    if (align_corners) src = out > 1 ? o * static_cast<double>(in - 1) / static_cast<double>(out - 1) : 0.0;
    else src = std::max((o + 0.5) * scale - 0.5, 0.0);
    const int64_t i0 = std::min<int64_t>(static_cast<int64_t>(src), in - 1);
    const int64_t i1 = i0 < in - 1 ? i0 + 1 : i0;
    const float l1 = static_cast<float>(src - static_cast<double>(i0));
    a.i0.push_back(i0);
    a.i1.push_back(i1);
    a.w0.push_back(1.0f - l1);
    a.w1.push_back(l1);
  }
  return a;
}

Tensor interp(const Tensor& x, InterpPlanPtr plan, int64_t oh, int64_t ow);
Tensor interp_adjoint(const Tensor& g, InterpPlanPtr plan);

// The plan as the CUDA kernels take it.
cuda::InterpPlan device_plan(const InterpPlan& p, int64_t oh, int64_t ow) {
  return {p.h,          p.w,          oh,           ow,           p.rows.i0.data(), p.rows.i1.data(),
          p.cols.i0.data(), p.cols.i1.data(), p.rows.w0.data(), p.rows.w1.data(), p.cols.w0.data(),
          p.cols.w1.data()};
}

Tensor interp(const Tensor& x, InterpPlanPtr plan, int64_t oh, int64_t ow) {
  const int64_t planes = x.size(0) * x.size(1), h = plan->h, w = plan->w;
  const auto& r = plan->rows;
  const auto& c = plan->cols;
  Tensor out;
  if (x.device().is_cuda()) out = cuda::interp(x, device_plan(*plan, oh, ow));
  else out = Tensor::empty({x.size(0), x.size(1), oh, ow});
  if (x.device().is_cpu()) cpu::parallel_for(0, planes, oh * ow, [&](int64_t p) {
    const float* in = x.data() + p * h * w;
    float* o = out.data() + p * oh * ow;
    for (int64_t oy = 0; oy < oh; ++oy) {
      const float* r0 = in + r.i0[oy] * w;
      const float* r1 = in + r.i1[oy] * w;
      for (int64_t ox = 0; ox < ow; ++ox)
        o[oy * ow + ox] = r.w0[oy] * (c.w0[ox] * r0[c.i0[ox]] + c.w1[ox] * r0[c.i1[ox]]) +
                          r.w1[oy] * (c.w0[ox] * r1[c.i0[ox]] + c.w1[ox] * r1[c.i1[ox]]);
    }
  });
  return record(OpKind::Upsample, out, {x}, [plan](const Tensor& g, Node&) {
    return Grads{interp_adjoint(g, plan)};
  });
}

Tensor interp_adjoint(const Tensor& g, InterpPlanPtr plan) {
  const int64_t planes = g.size(0) * g.size(1), h = plan->h, w = plan->w;
  const int64_t oh = g.size(2), ow = g.size(3);
  const auto& r = plan->rows;
  const auto& c = plan->cols;
  Tensor out;
  if (g.device().is_cuda()) out = cuda::interp_adjoint(g, device_plan(*plan, oh, ow));
  else out = Tensor::zeros({g.size(0), g.size(1), h, w});
  if (g.device().is_cpu()) cpu::parallel_for(0, planes, oh * ow, [&](int64_t p) {
    const float* in = g.data() + p * oh * ow;
    float* o = out.data() + p * h * w;
    for (int64_t oy = 0; oy < oh; ++oy) {
      float* r0 = o + r.i0[oy] * w;
      float* r1 = o + r.i1[oy] * w;
      for (int64_t ox = 0; ox < ow; ++ox) {
        const float v = in[oy * ow + ox];
        r0[c.i0[ox]] += r.w0[oy] * c.w0[ox] * v;
        r0[c.i1[ox]] += r.w0[oy] * c.w1[ox] * v;
        r1[c.i0[ox]] += r.w1[oy] * c.w0[ox] * v;
        r1[c.i1[ox]] += r.w1[oy] * c.w1[ox] * v;
      }
    }
  });
  return record(OpKind::UpsampleBackward, out, {g}, [plan, oh, ow](const Tensor& gg, Node&) {
    return Grads{interp(gg, plan, oh, ow)};
  });
}

}  // namespace

Tensor upsample(const Tensor& x, int64_t out_h, int64_t out_w, UpsampleMode mode,
                bool align_corners) {
  if (!x.defined() || !x.device().is_cuda()) check_cpu(x, "upsample");
  check_dims(x, 4, "upsample", "input");
  if (out_h < 1 || out_w < 1) throw Error("upsample: output size must be ≥ 1");
  auto plan = make_pooled<InterpPlan>();
  plan->h = x.size(2);
  plan->w = x.size(3);
  plan->rows = interp_axis(x.size(2), out_h, mode, align_corners);
  plan->cols = interp_axis(x.size(3), out_w, mode, align_corners);
  return interp(x, plan, out_h, out_w);
}

// ---- local response normalisation --------------------------------------------------

Tensor channel_window_sum(const Tensor& x, int64_t before, int64_t after) {
  const bool on_cuda = x.defined() && x.device().is_cuda();
  if (!on_cuda) check_cpu(x, "channel_window_sum");
  if (x.dim() < 2) throw Error("channel_window_sum: input must have a channel dim (N, C, ...)");
  if (before < 0 || after < 0) throw Error("channel_window_sum: window extents must be ≥ 0");
  Tensor out;
  if (on_cuda) {
    out = cuda::channel_window_sum(x, before, after);
  } else {
    const int64_t n = x.size(0), c = x.size(1), inner = x.numel() / std::max<int64_t>(n * c, 1);
    out = Tensor::zeros(x.shape());
    cpu::parallel_for(0, n * c, inner * (before + after + 1), [&](int64_t nc) {
      const int64_t b = nc / c, ch = nc % c;
      float* o = out.data() + nc * inner;
      for (int64_t k = std::max<int64_t>(ch - before, 0); k <= std::min(ch + after, c - 1); ++k) {
        const float* in = x.data() + (b * c + k) * inner;
        for (int64_t i = 0; i < inner; ++i) o[i] += in[i];
      }
    });
  }
  // Adjoint: the window mirrored.
  return record(OpKind::ChannelWindowSum, out, {x}, [before, after](const Tensor& g, Node&) {
    return Grads{channel_window_sum(g, after, before)};
  });
}

Tensor local_response_norm(const Tensor& x, int64_t size, float alpha, float beta, float k,
                           bool alpha_per_size) {
  if (size < 1) throw Error("local_response_norm: size must be ≥ 1");
  // torch pads size/2 channels before and (size−1)/2 after.
  Tensor window = channel_window_sum(mul(x, x), size / 2, (size - 1) / 2);
  const float scale = alpha_per_size ? alpha / static_cast<float>(size) : alpha;
  Tensor denom = pow(add(mul(window, Tensor::scalar(scale)), Tensor::scalar(k)), beta);
  return div(x, denom);
}

}  // namespace adx
