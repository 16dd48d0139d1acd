// Small helpers shared by the op files (not part of the public API).
#pragma once

#include <fmt/format.h>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/tensor.h"

namespace adx::detail {

using Grads = TensorList;

inline void check_cpu(const Tensor& t, const char* op) {
  if (!t.defined()) throw Error(std::string(op) + ": undefined tensor argument");
  if (!t.device().is_cpu())
    throw Error(std::string(op) + ": no CUDA kernel yet for a tensor on " + t.device().str() +
                " (move it to the CPU with .to(Device::cpu()))");
}

// For ops with a CUDA path: every defined tensor on `device`, or an Error naming op.
inline void check_on(Device device, std::initializer_list<const Tensor*> ts, const char* op) {
  for (const Tensor* t : ts)
    if (t->defined() && t->device() != device)
      throw Error(fmt::format("{}: tensors on {} and {}", op, device.str(), t->device().str()));
}

// Maps a possibly negative dim into [0, ndim) or throws naming the op.
inline int64_t normalize_dim(int64_t dim, int64_t ndim, const char* op) {
  if (dim < -ndim || dim >= ndim)
    throw Error(fmt::format("{}: dim {} out of range for a {}-d tensor", op, dim, ndim));
  return dim < 0 ? dim + ndim : dim;
}

inline void check_dims(const Tensor& t, int64_t ndim, const char* op, const char* what) {
  if (t.dim() != ndim)
    throw Error(fmt::format("{}: {} must be {}-d, got shape {}", op, what, ndim,
                            shape_str(t.shape())));
}

// (outer, size, inner) split of a shape around one dim, for dim-wise kernels.
struct DimSplit {
  int64_t outer = 1, size = 1, inner = 1;
};
inline DimSplit split_at(const Shape& shape, int64_t dim) {
  DimSplit s;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    if (i < dim) s.outer *= shape[static_cast<size_t>(i)];
    else if (i == dim) s.size = shape[static_cast<size_t>(i)];
    else s.inner *= shape[static_cast<size_t>(i)];
  }
  return s;
}

}  // namespace adx::detail
