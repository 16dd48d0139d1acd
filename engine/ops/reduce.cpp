// Reductions: sum (primitive), expand (its adjoint, primitive); mean, var, max,
// min and sum_to are composed from them and from gather.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "engine/autograd.h"
#include "engine/cuda/ops.h"
#include "engine/cpu/broadcast.h"
#include "engine/cpu/parallel.h"
#include "engine/ops.h"
#include "engine/ops/common.h"

namespace adx {
using namespace detail;

namespace {

Dims normalize_dims(const Dims& dims, int64_t ndim, const char* op) {
  Dims out;
  for (int64_t d : dims) out.push_back(normalize_dim(d, ndim, op));
  std::sort(out.begin(), out.end());
  if (std::adjacent_find(out.begin(), out.end()) != out.end())
    throw Error(std::string(op) + ": a dim is repeated");
  return out;
}

// Σ row[0..n) in double: sums of 10⁵ floats stay exact enough. Eight running sums
// (element j goes to sum j mod 8) break the chain of dependent adds, so the loop runs
// as vector adds instead of one add per cycle of latency.
inline double sum_row(const float* __restrict row, int64_t n) {
  constexpr int64_t kLanes = 8;
  double lane[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int64_t l = 0; l < kLanes; ++l) lane[l] += row[j + l];
  double acc = 0.0;
  for (; j < n; ++j) acc += row[j];
  for (int64_t l = 0; l < kLanes; ++l) acc += lane[l];
  return acc;
}

// Sums one dim of a contiguous tensor, keeping it with size 1.
Tensor sum_one_dim(const Tensor& x, int64_t dim) {
  const DimSplit s = split_at(x.shape(), dim);
  Shape shape = x.shape();
  shape[static_cast<size_t>(dim)] = 1;
  Tensor out = Tensor::empty(shape);
  const float* in = x.data();
  float* o = out.data();
  if (s.inner == 1) {
    const int64_t size = s.size;
    cpu::parallel_for(0, s.outer, size,
                      [in, o, size](int64_t i) { o[i] = static_cast<float>(sum_row(in + i * size, size)); });
    return out;
  }
  cpu::parallel_for(0, s.outer, s.size * s.inner, [&](int64_t i) {
    float* orow = o + i * s.inner;
    std::fill_n(orow, s.inner, 0.0f);
    for (int64_t j = 0; j < s.size; ++j) {
      const float* irow = in + (i * s.size + j) * s.inner;
      for (int64_t k = 0; k < s.inner; ++k) orow[k] += irow[k];
    }
  });
  return out;
}

// Σ over N, H and W of an (N, C, H, W) tensor, kept as (1, C, 1, 1): a convolution's
// bias gradient. One pass, planes added in image order; three passes with two
// intermediate tensors otherwise.
Tensor sum_per_channel(const Tensor& x) {
  const int64_t n = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3);
  Tensor out = Tensor::empty({1, c, 1, 1});
  const float* in = x.data();
  float* o = out.data();
  cpu::parallel_for(0, c, n * hw, [in, o, n, c, hw](int64_t ch) {
    double total = 0.0;
    for (int64_t i = 0; i < n; ++i) total += sum_row(in + (i * c + ch) * hw, hw);
    o[ch] = static_cast<float>(total);
  });
  return out;
}

Shape keepdim_shape(const Shape& in, const Dims& dims) {
  Shape s = in;
  for (int64_t d : dims) s[static_cast<size_t>(d)] = 1;
  return s;
}

Shape dropped_shape(const Shape& in, const Dims& dims) {
  Shape s;
  for (int64_t i = 0; i < static_cast<int64_t>(in.size()); ++i)
    if (!std::binary_search(dims.begin(), dims.end(), i)) s.push_back(in[static_cast<size_t>(i)]);
  return s;
}

// Flat indices (into x) of the max (or min) along dim, laid out in the reduced shape.
FlatIndex arg_extreme(const Tensor& x, int64_t dim, bool take_max) {
  const DimSplit s = split_at(x.shape(), dim);
  if (s.size == 0) throw Error("max/min: reduction over an empty dim");
  auto idx = make_flat_index(static_cast<size_t>(s.outer * s.inner));
  const float* in = x.data();
  cpu::parallel_for(0, s.outer, s.size * s.inner, [&](int64_t i) {
    for (int64_t k = 0; k < s.inner; ++k) {
      int64_t best = (i * s.size) * s.inner + k;
      for (int64_t j = 1; j < s.size; ++j) {
        const int64_t at = (i * s.size + j) * s.inner + k;
        // NaN propagates: a NaN is taken as the extreme, as torch.max does.
        const bool better = take_max ? in[at] > in[best] : in[at] < in[best];
        if (better || (std::isnan(in[at]) && !std::isnan(in[best]))) best = at;
      }
      (*idx)[static_cast<size_t>(i * s.inner + k)] = best;
    }
  });
  return idx;
}

// On a GPU: x at device-side positions along the middle of (outer, size, inner), and
// its adjoint. Each is the other's backward, so max/min differentiate twice there too.
Tensor take_along_dim(const Tensor& x, const Tensor& index, const DimSplit& s);
Tensor put_along_dim(const Tensor& g, const Tensor& index, const DimSplit& s) {
  Tensor out = cuda::put_along(g, index, s.outer, s.size, s.inner);
  return record(OpKind::PutAlongDim, out, {g}, [index, s](const Tensor& gg, Node&) {
    return Grads{take_along_dim(gg, index, s)};
  });
}
Tensor take_along_dim(const Tensor& x, const Tensor& index, const DimSplit& s) {
  Tensor out = cuda::take_along(x, index, s.outer, s.size, s.inner);
  return record(OpKind::TakeAlongDim, out, {x}, [index, s](const Tensor& g, Node& n) {
    return Grads{put_along_dim(g, index, s).reshape(n.input(0).shape())};
  });
}

Tensor extreme(const Tensor& x, int64_t dim, bool keepdim, bool take_max) {
  const char* op = take_max ? "max" : "min";
  const bool on_cuda = x.defined() && x.device().is_cuda();
  if (!on_cuda) check_cpu(x, op);
  dim = normalize_dim(dim, x.dim(), op);
  Shape shape = x.shape();
  if (keepdim) shape[static_cast<size_t>(dim)] = 1;
  else shape.erase(shape.begin() + dim);
  if (on_cuda) {
    const DimSplit s = split_at(x.shape(), dim);
    if (s.size == 0) throw Error(fmt::format("{}: reduction over an empty dim", op));
    // Values only, without history (log-softmax's shift needs no more); with history,
    // the arg-max as a device tensor and the values taken at it.
    if (!any_requires_grad({&x})) return cuda::extreme_values(x, s.outer, s.size, s.inner, take_max).reshape(shape);
    const Tensor index = cuda::arg_extreme(x.detach(), s.outer, s.size, s.inner, take_max);
    return take_along_dim(x, index, s).reshape(shape);
  }
  return gather(x, arg_extreme(x, dim, take_max), shape);
}

}  // namespace

Tensor sum(const Tensor& x, const Dims& dims_in, bool keepdim) {
  const bool on_cuda = x.defined() && x.device().is_cuda();
  if (!on_cuda) check_cpu(x, "sum");
  const Dims dims = normalize_dims(dims_in, x.dim(), "sum");
  Tensor out = x;
  if (dims.empty()) out = x.detach().clone().detach();
  else if (on_cuda) out = cuda::sum_keepdim(x, dims);
  else if (dims == Dims{0, 2, 3} && x.dim() == 4) out = sum_per_channel(x);
  else
    for (auto it = dims.rbegin(); it != dims.rend(); ++it) out = sum_one_dim(out, *it);
  const Shape kept = keepdim_shape(x.shape(), dims);
  out = make_view(out, keepdim ? kept : dropped_shape(x.shape(), dims), 0);
  return record(OpKind::Sum, out, {x}, [kept](const Tensor& g, Node& n) {
    return Grads{expand(reshape(g, kept), n.input(0).shape())};
  });
}

Tensor sum(const Tensor& x) {
  Dims all(static_cast<size_t>(x.dim()));
  for (int64_t i = 0; i < x.dim(); ++i) all[static_cast<size_t>(i)] = i;
  return sum(x, all, false);
}

Tensor expand(const Tensor& x, const Shape& shape) {
  const bool on_cuda = x.defined() && x.device().is_cuda();
  if (!on_cuda) check_cpu(x, "expand");
  if (x.shape() == shape) return x;
  if (cpu::broadcast_shapes(x.shape(), shape, "expand") != shape)
    throw Error("expand: shape " + shape_str(x.shape()) + " cannot be expanded to " +
                shape_str(shape));
  Tensor out;
  if (on_cuda) {
    out = cuda::broadcast_to(x, shape);
  } else {
    out = Tensor::empty(shape);
    cpu::broadcast_map<1>({&x}, out, [](float v) { return v; });
  }
  return record(OpKind::Expand, out, {x}, [](const Tensor& g, Node& n) {
    return Grads{sum_to(g, n.input(0).shape())};
  });
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  const int64_t lead = x.dim() - static_cast<int64_t>(shape.size());
  if (lead < 0) throw Error("sum_to: cannot sum " + shape_str(x.shape()) + " to " + shape_str(shape));
  Dims dims;
  for (int64_t i = 0; i < x.dim(); ++i) {
    if (i < lead) {
      dims.push_back(i);
      continue;
    }
    const int64_t target = shape[static_cast<size_t>(i - lead)];
    if (target == 1 && x.size(i) != 1) dims.push_back(i);
    else if (target != x.size(i))
      throw Error("sum_to: cannot sum " + shape_str(x.shape()) + " to " + shape_str(shape));
  }
  return reshape(sum(x, dims, true), shape);
}

Tensor mean(const Tensor& x, const Dims& dims, bool keepdim) {
  int64_t count = 1;
  for (int64_t d : dims) count *= x.size(d);
  if (count == 0) throw Error("mean: reduction over an empty dim");
  return mul(sum(x, dims, keepdim), Tensor::scalar(1.0f / static_cast<float>(count)));
}

Tensor mean(const Tensor& x) {
  if (x.numel() == 0) throw Error("mean: empty tensor");
  return mul(sum(x), Tensor::scalar(1.0f / static_cast<float>(x.numel())));
}

Tensor var(const Tensor& x, const Dims& dims, bool unbiased, bool keepdim) {
  int64_t count = 1;
  for (int64_t d : dims) count *= x.size(d);
  const int64_t denom = count - (unbiased ? 1 : 0);
  if (denom <= 0) throw Error(fmt::format("var: {} elements are too few", count));
  Tensor centred = sub(x, mean(x, dims, true));
  return mul(sum(mul(centred, centred), dims, keepdim),
             Tensor::scalar(1.0f / static_cast<float>(denom)));
}

Tensor max(const Tensor& x, int64_t dim, bool keepdim) { return extreme(x, dim, keepdim, true); }
Tensor min(const Tensor& x, int64_t dim, bool keepdim) { return extreme(x, dim, keepdim, false); }
Tensor max(const Tensor& x) {
  if (x.numel() == 0) throw Error("max: empty tensor");
  return reshape(max(reshape(x, {-1}), 0, false), {});
}
Tensor min(const Tensor& x) {
  if (x.numel() == 0) throw Error("min: empty tensor");
  return reshape(min(reshape(x, {-1}), 0, false), {});
}

Tensor argmax(const Tensor& x, int64_t dim) {
  const bool on_cuda = x.defined() && x.device().is_cuda();
  if (!on_cuda) check_cpu(x, "argmax");
  dim = normalize_dim(dim, x.dim(), "argmax");
  const DimSplit s = split_at(x.shape(), dim);
  Shape shape = x.shape();
  shape.erase(shape.begin() + dim);
  if (on_cuda) {
    if (s.size == 0) throw Error("argmax: reduction over an empty dim");
    return cuda::arg_extreme(x.detach(), s.outer, s.size, s.inner, true).reshape(shape);
  }
  FlatIndex flat = arg_extreme(x, dim, true);
  Tensor out = Tensor::empty(shape);
  for (size_t i = 0; i < flat->size(); ++i)
    out.data()[i] = static_cast<float>(((*flat)[i] / s.inner) % s.size);
  return out;
}

}  // namespace adx
