// Shape ops: reshape (a free view), permute, slice and its adjoint, concat,
// index_select / index_add, gather / scatter_add. Each pair are each other's backward.
#include <algorithm>
#include <cstring>

#include "engine/autograd.h"
#include "engine/cuda/ops.h"
#include "engine/cpu/parallel.h"
#include "engine/ops.h"
#include "engine/ops/common.h"

namespace adx {
using namespace detail;

namespace {
// Element strides of a contiguous tensor of `shape`.
Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t stride = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= shape[i];
  }
  return strides;
}
}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape_in) {
  // A view on any device: no data is touched.
  if (!x.defined()) throw Error("reshape: undefined tensor argument");
  Shape shape = shape_in;
  int64_t known = 1, infer_at = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer_at >= 0) throw Error("reshape: more than one -1 in " + shape_str(shape_in));
      infer_at = static_cast<int64_t>(i);
    } else if (shape[i] < 0) {
      throw Error("reshape: negative size in " + shape_str(shape_in));
    } else {
      known *= shape[i];
    }
  }
  if (infer_at >= 0) {
    if (known == 0 || x.numel() % known != 0)
      throw Error("reshape: cannot infer -1 reshaping " + shape_str(x.shape()) + " to " +
                  shape_str(shape_in));
    shape[static_cast<size_t>(infer_at)] = x.numel() / known;
  }
  if (shape_numel(shape) != x.numel())
    throw Error("reshape: " + shape_str(x.shape()) + " has " + std::to_string(x.numel()) +
                " elements, " + shape_str(shape) + " needs " + std::to_string(shape_numel(shape)));
  if (shape == x.shape()) return x;
  Tensor out = make_view(x, shape, 0);
  return record(OpKind::Reshape, out, {x}, [](const Tensor& g, Node& n) {
    return Grads{reshape(g, n.input(0).shape())};
  });
}

Tensor permute(const Tensor& x, const Dims& dims) {
  const bool on_cuda = x.defined() && x.device().is_cuda();
  if (!on_cuda) check_cpu(x, "permute");
  const int64_t nd = x.dim();
  if (static_cast<int64_t>(dims.size()) != nd)
    throw Error(fmt::format("permute: {} dims given for a {}-d tensor", dims.size(), nd));
  Dims perm(dims.size()), inverse(dims.size(), -1);
  for (size_t i = 0; i < dims.size(); ++i) {
    perm[i] = normalize_dim(dims[i], nd, "permute");
    if (inverse[static_cast<size_t>(perm[i])] >= 0) throw Error("permute: a dim is repeated");
    inverse[static_cast<size_t>(perm[i])] = static_cast<int64_t>(i);
  }
  Shape shape(dims.size());
  Shape in_strides(dims.size()), src_stride(dims.size());
  int64_t stride = 1;
  for (int64_t i = nd - 1; i >= 0; --i) {
    in_strides[static_cast<size_t>(i)] = stride;
    stride *= x.size(i);
  }
  for (size_t i = 0; i < dims.size(); ++i) {
    shape[i] = x.shape()[static_cast<size_t>(perm[i])];
    src_stride[i] = in_strides[static_cast<size_t>(perm[i])];
  }
  Tensor out = Tensor::empty(shape, x.device());
  if (on_cuda) {
    cuda::strided_copy(x.device().index, shape, x.data(), src_stride, out.data(), contiguous_strides(shape));
  } else if (out.numel() > 0) {
    const float* in = x.data();
    float* o = out.data();
    const int64_t inner = nd ? shape.back() : 1, rows = out.numel() / inner;
    const int64_t inner_stride = nd ? src_stride.back() : 0;
    cpu::parallel_for(0, rows, inner, [&](int64_t row) {
      int64_t rem = row, off = 0;
      for (int64_t d = nd - 2; d >= 0; --d) {
        off += (rem % shape[static_cast<size_t>(d)]) * src_stride[static_cast<size_t>(d)];
        rem /= shape[static_cast<size_t>(d)];
      }
      float* orow = o + row * inner;
      for (int64_t j = 0; j < inner; ++j) orow[j] = in[off + j * inner_stride];
    });
  }
  return record(OpKind::Permute, out, {x}, [inverse](const Tensor& g, Node&) {
    return Grads{permute(g, inverse)};
  });
}

Tensor transpose(const Tensor& x, int64_t a, int64_t b) {
  Dims dims(static_cast<size_t>(x.dim()));
  for (int64_t i = 0; i < x.dim(); ++i) dims[static_cast<size_t>(i)] = i;
  std::swap(dims[static_cast<size_t>(normalize_dim(a, x.dim(), "transpose"))],
            dims[static_cast<size_t>(normalize_dim(b, x.dim(), "transpose"))]);
  return permute(x, dims);
}

namespace {

// Python-style bounds: negative counts from the end, clamped into [0, size].
std::pair<int64_t, int64_t> clamp_range(int64_t start, int64_t end, int64_t size) {
  if (start < 0) start += size;
  if (end < 0) end += size;
  start = std::clamp<int64_t>(start, 0, size);
  end = std::clamp<int64_t>(end, start, size);
  return {start, end};
}

// Copies elements [start, start+step*count) of dim between a (outer, full, inner)
// tensor and a (outer, count, inner) one; `to_full` picks the direction. On a CUDA
// device (both tensors there) one strided-copy kernel does it.
void strided_copy(Device device, float* full, float* part, const DimSplit& s, int64_t start, int64_t step,
                  int64_t count, bool to_full) {
  if (device.is_cuda()) {
    const Shape shape{s.outer, count, s.inner};
    const Shape full_strides{s.size * s.inner, step * s.inner, 1}, part_strides{count * s.inner, s.inner, 1};
    float* full_at = full + start * s.inner;
    if (to_full) cuda::strided_copy(device.index, shape, part, part_strides, full_at, full_strides);
    else cuda::strided_copy(device.index, shape, full_at, full_strides, part, part_strides);
    return;
  }
  cpu::parallel_for(0, s.outer, count * s.inner, [&](int64_t i) {
    for (int64_t j = 0; j < count; ++j) {
      float* f = full + (i * s.size + start + j * step) * s.inner;
      float* p = part + (i * count + j) * s.inner;
      if (to_full) std::memcpy(f, p, static_cast<size_t>(s.inner) * sizeof(float));
      else std::memcpy(p, f, static_cast<size_t>(s.inner) * sizeof(float));
    }
  });
}

// zeros(full_shape) with g placed at [start : : step] along dim (slice's adjoint).
Tensor slice_backward(const Tensor& g, const Shape& full_shape, int64_t dim, int64_t start,
                      int64_t step) {
  Tensor out = Tensor::zeros(full_shape, g.device());
  const DimSplit s = split_at(full_shape, dim);
  strided_copy(g.device(), out.data(), const_cast<float*>(g.data()), s, start, step, g.size(dim), true);
  const int64_t end = start + step * g.size(dim);
  return record(OpKind::SliceBackward, out, {g}, [dim, start, end, step](const Tensor& gg, Node&) {
    return Grads{slice(gg, dim, start, end, step)};
  });
}

}  // namespace

Tensor slice(const Tensor& x, int64_t dim, int64_t start_in, int64_t end_in, int64_t step) {
  if (!x.defined() || !x.device().is_cuda()) check_cpu(x, "slice");
  dim = normalize_dim(dim, x.dim(), "slice");
  if (step < 1) throw Error(fmt::format("slice: step must be positive, got {}", step));
  const auto [start, end] = clamp_range(start_in, end_in, x.size(dim));
  const int64_t count = (end - start + step - 1) / step;
  Shape shape = x.shape();
  shape[static_cast<size_t>(dim)] = count;
  const DimSplit s = split_at(x.shape(), dim);
  Tensor out;
  if (s.outer == 1 && step == 1) {
    out = make_view(x, shape, start * s.inner);  // contiguous block: free
  } else {
    out = Tensor::empty(shape, x.device());
    strided_copy(x.device(), const_cast<float*>(x.data()), out.data(), s, start, step, count, false);
  }
  return record(OpKind::Slice, out, {x}, [dim, start, step](const Tensor& g, Node& n) {
    return Grads{slice_backward(g, n.input(0).shape(), dim, start, step)};
  });
}

Tensor concat(const TensorList& xs, int64_t dim) {
  if (xs.empty()) throw Error("concat: no tensors");
  const Device device = xs[0].defined() ? xs[0].device() : Device::cpu();
  for (const Tensor& t : xs) {
    if (device.is_cpu()) check_cpu(t, "concat");
    else if (!t.defined() || t.device() != device)
      throw Error(fmt::format("concat: tensors on {} and {}", device.str(),
                              t.defined() ? t.device().str() : std::string("(undefined)")));
  }
  dim = normalize_dim(dim, xs[0].dim(), "concat");
  Shape shape = xs[0].shape();
  shape[static_cast<size_t>(dim)] = 0;
  for (const Tensor& t : xs) {
    Shape a = t.shape(), b = xs[0].shape();
    if (a.size() != b.size()) throw Error("concat: tensors differ in rank");
    a[static_cast<size_t>(dim)] = b[static_cast<size_t>(dim)] = 0;
    if (a != b)
      throw Error("concat: shapes " + shape_str(t.shape()) + " and " + shape_str(xs[0].shape()) +
                  " differ outside dim " + std::to_string(dim));
    shape[static_cast<size_t>(dim)] += t.size(dim);
  }
  Tensor out = Tensor::empty(shape, device);
  const DimSplit s = split_at(shape, dim);
  int64_t at = 0;
  PoolVector<int64_t> starts;
  for (const Tensor& t : xs) {
    starts.push_back(at);
    strided_copy(device, out.data(), const_cast<float*>(t.data()), s, at, 1, t.size(dim), true);
    at += t.size(dim);
  }
  return record(OpKind::Concat, out, xs, [dim, starts](const Tensor& g, Node& n) {
    Grads grads(n.inputs().size());
    for (size_t i = 0; i < grads.size(); ++i)
      if (n.needs_grad(i))
        grads[i] = slice(g, dim, starts[i], starts[i] + n.input(i).size(dim));
    return grads;
  });
}

Tensor stack(const TensorList& xs, int64_t dim) {
  if (xs.empty()) throw Error("stack: no tensors");
  if (dim < 0) dim += xs[0].dim() + 1;
  TensorList expanded;
  for (const Tensor& t : xs) expanded.push_back(t.unsqueeze(dim));
  return concat(expanded, dim);
}

namespace {
void check_index(const std::vector<int64_t>& index, int64_t size, const char* op) {
  for (int64_t i : index)
    if (i < 0 || i >= size) throw Error(fmt::format("{}: index {} out of range [0, {})", op, i, size));
}

// The flat element indices that index_select reads, in its output's order: on a GPU
// it is a gather (and index_add a scatter_add) by them.
FlatIndex flat_selection(const DimSplit& s, const std::vector<int64_t>& index) {
  const int64_t count = static_cast<int64_t>(index.size());
  auto flat = make_flat_index(static_cast<size_t>(s.outer * count * s.inner));
  size_t at = 0;
  for (int64_t i = 0; i < s.outer; ++i)
    for (int64_t j = 0; j < count; ++j)
      for (int64_t k = 0; k < s.inner; ++k) (*flat)[at++] = (i * s.size + index[static_cast<size_t>(j)]) * s.inner + k;
  return flat;
}
}  // namespace

Tensor index_select(const Tensor& x, int64_t dim, const std::vector<int64_t>& index) {
  const bool on_cuda = x.defined() && x.device().is_cuda();
  if (!on_cuda) check_cpu(x, "index_select");
  dim = normalize_dim(dim, x.dim(), "index_select");
  check_index(index, x.size(dim), "index_select");
  Shape shape = x.shape();
  shape[static_cast<size_t>(dim)] = static_cast<int64_t>(index.size());
  const DimSplit s = split_at(x.shape(), dim);
  if (on_cuda) return gather(x, flat_selection(s, index), shape);
  Tensor out = Tensor::empty(shape);
  const int64_t count = static_cast<int64_t>(index.size());
  cpu::parallel_for(0, s.outer * count, s.inner, [&](int64_t r) {
    const int64_t i = r / count, j = r % count;
    std::memcpy(out.data() + r * s.inner,
                x.data() + (i * s.size + index[static_cast<size_t>(j)]) * s.inner,
                static_cast<size_t>(s.inner) * sizeof(float));
  });
  return record(OpKind::IndexSelect, out, {x}, [dim, index](const Tensor& g, Node& n) {
    return Grads{index_add(n.input(0).shape(), dim, index, g)};
  });
}

Tensor index_add(const Shape& shape, int64_t dim, const std::vector<int64_t>& index,
                 const Tensor& src) {
  const bool on_cuda = src.defined() && src.device().is_cuda();
  if (!on_cuda) check_cpu(src, "index_add");
  dim = normalize_dim(dim, static_cast<int64_t>(shape.size()), "index_add");
  check_index(index, shape[static_cast<size_t>(dim)], "index_add");
  Shape expected = shape;
  expected[static_cast<size_t>(dim)] = static_cast<int64_t>(index.size());
  if (src.shape() != expected)
    throw Error("index_add: source shape " + shape_str(src.shape()) + ", expected " +
                shape_str(expected));
  const DimSplit s = split_at(shape, dim);
  // On a GPU a scatter_add (atomic adds: with repeated indices the order of the adds,
  // and so the last bits of the sum, can vary between runs).
  if (on_cuda) return scatter_add(src, flat_selection(s, index), shape);
  Tensor out = Tensor::zeros(shape);
  const int64_t count = static_cast<int64_t>(index.size());
  // Parallel over the outer dim only: repeated indices then never race.
  cpu::parallel_for(0, s.outer, count * s.inner, [&](int64_t i) {
    for (int64_t j = 0; j < count; ++j) {
      float* o = out.data() + (i * s.size + index[static_cast<size_t>(j)]) * s.inner;
      const float* in = src.data() + (i * count + j) * s.inner;
      for (int64_t k = 0; k < s.inner; ++k) o[k] += in[k];
    }
  });
  return record(OpKind::IndexAdd, out, {src}, [dim, index](const Tensor& g, Node&) {
    return Grads{index_select(g, dim, index)};
  });
}

Tensor gather(const Tensor& x, FlatIndex index, const Shape& shape) {
  const bool on_cuda = x.defined() && x.device().is_cuda();
  if (!on_cuda) check_cpu(x, "gather");
  if (static_cast<int64_t>(index->size()) != shape_numel(shape))
    throw Error(fmt::format("gather: {} indices for shape {}", index->size(), shape_str(shape)));
  const int64_t limit = x.numel();
  for (int64_t i : *index)
    if (i >= limit) throw Error(fmt::format("gather: index {} out of range for {} elements", i, limit));
  Tensor out;
  if (on_cuda) {
    out = cuda::gather(x, *index, shape);
  } else {
    out = Tensor::empty(shape);
    const float* in = x.data();
    float* o = out.data();
    const int64_t* idx = index->data();
    cpu::parallel_for(0, out.numel(), 1, [&](int64_t i) { o[i] = idx[i] >= 0 ? in[idx[i]] : 0.0f; });
  }
  return record(OpKind::Gather, out, {x}, [index](const Tensor& g, Node& n) {
    return Grads{scatter_add(g, index, n.input(0).shape())};
  });
}

Tensor scatter_add(const Tensor& src, FlatIndex index, const Shape& shape) {
  const bool on_cuda = src.defined() && src.device().is_cuda();
  if (!on_cuda) check_cpu(src, "scatter_add");
  if (static_cast<int64_t>(index->size()) != src.numel())
    throw Error(fmt::format("scatter_add: {} indices for {} values", index->size(), src.numel()));
  const int64_t n = shape_numel(shape);
  for (int64_t at : *index)
    if (at >= n) throw Error(fmt::format("scatter_add: index {} out of range for {} elements", at, n));
  Tensor out;
  if (on_cuda) {
    out = cuda::scatter_add(src, *index, shape);
  } else {
    out = Tensor::zeros(shape);
    const float* in = src.data();
    float* o = out.data();
    for (size_t i = 0; i < index->size(); ++i)
      if ((*index)[i] >= 0) o[(*index)[i]] += in[i];
  }
  return record(OpKind::ScatterAdd, out, {src}, [index](const Tensor& g, Node& node) {
    return Grads{gather(g, index, node.input(0).shape())};
  });
}

}  // namespace adx
