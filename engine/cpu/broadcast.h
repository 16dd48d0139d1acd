// NumPy broadcasting for elementwise kernels over contiguous tensors.
#pragma once

#include <array>
#include <cstdint>
#include <fmt/format.h>
#include <type_traits>
#include <vector>

#include "engine/cpu/parallel.h"
#include "engine/tensor.h"

namespace adx::cpu {

// The shape both operands broadcast to, or an Error naming `op`.
inline Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t nd = std::max(a.size(), b.size());
  Shape out(nd);
  for (size_t i = 0; i < nd; ++i) {
    const int64_t da = i < nd - a.size() ? 1 : a[i - (nd - a.size())];
    const int64_t db = i < nd - b.size() ? 1 : b[i - (nd - b.size())];
    if (da != db && da != 1 && db != 1)
      throw Error(fmt::format("{}: shapes {} and {} do not broadcast", op, shape_str(a),
                              shape_str(b)));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// Element strides of `in` seen through shape `out` (0 along broadcast dims).
// (A Shape: one stride per dimension, held inline.)
inline Shape broadcast_strides(const Shape& in, const Shape& out) {
  Shape strides(out.size(), 0);
  int64_t stride = 1;
  for (size_t k = 0; k < in.size(); ++k) {
    const size_t i = in.size() - 1 - k, o = out.size() - 1 - k;
    strides[o] = in[i] == 1 ? 0 : stride;
    stride *= in[i];
  }
  return strides;
}

// out[i] = f(in_0[i'], ..., in_{N-1}[i']) with broadcasting; `out` has shape `out_shape`.
template <size_t N, class F>
void broadcast_map(const std::array<const Tensor*, N>& in, Tensor& out, F&& f) {
  const Shape& shape = out.shape();
  const int64_t total = out.numel();
  float* o = out.data();
  std::array<const float*, N> src;
  bool all_same = true;
  for (size_t k = 0; k < N; ++k) {
    src[k] = in[k]->data();
    all_same &= in[k]->shape() == shape;
  }
  if (all_same) {  // the common case: no index arithmetic
    parallel_blocks(total, [&](int64_t lo, int64_t hi) {
      // A local copy of f: read through the reference, f's captured constants are
      // reloaded every element (the stores might alias them) and the loop stays scalar.
      const std::decay_t<F> fn = f;
      if constexpr (N == 1) {
        const float* __restrict a = src[0];
        float* __restrict out = o;
        for (int64_t i = lo; i < hi; ++i) out[i] = fn(a[i]);
      } else if constexpr (N == 2) {
        const float* __restrict a = src[0];
        const float* __restrict b = src[1];
        float* __restrict out = o;
        for (int64_t i = lo; i < hi; ++i) out[i] = fn(a[i], b[i]);
      } else {
        for (int64_t i = lo; i < hi; ++i) {
          std::array<float, N> v;
          for (size_t k = 0; k < N; ++k) v[k] = src[k][i];
          o[i] = std::apply(fn, v);
        }
      }
    });
    return;
  }
  if (shape.empty() || total == 0) {
    if (total == 1) {
      std::array<float, N> v;
      for (size_t k = 0; k < N; ++k) v[k] = src[k][0];
      o[0] = std::apply(f, v);
    }
    return;
  }
  const size_t nd = shape.size();
  std::array<Shape, N> strides;
  for (size_t k = 0; k < N; ++k) strides[k] = broadcast_strides(in[k]->shape(), shape);
  const int64_t inner = shape[nd - 1];
  const int64_t rows = total / inner;
  parallel_for(0, rows, inner, [&](int64_t row) {
    // Offsets of this row's first element in every input.
    std::array<int64_t, N> off{};
    int64_t rem = row;
    for (size_t d = nd - 1; d-- > 0;) {
      const int64_t c = rem % shape[d];
      rem /= shape[d];
      for (size_t k = 0; k < N; ++k) off[k] += c * strides[k][d];
    }
    float* orow = o + row * inner;
    if constexpr (N == 2) {
      // Binary ops along a row: each operand is contiguous there (stride 1) or one value
      // repeated (stride 0, a bias or a per-row scalar). Spelled out per case so that
      // each loop vectorises; the general loop below reloads its strides every element.
      const std::decay_t<F> fn = f;
      const int64_t sa = strides[0][nd - 1], sb = strides[1][nd - 1];
      const float* __restrict a = src[0] + off[0];
      const float* __restrict b = src[1] + off[1];
      float* __restrict out_row = orow;
      if (sa == 1 && sb == 1) {
        for (int64_t j = 0; j < inner; ++j) out_row[j] = fn(a[j], b[j]);
        return;
      }
      if (sa == 1 && sb == 0) {
        const float bv = b[0];
        for (int64_t j = 0; j < inner; ++j) out_row[j] = fn(a[j], bv);
        return;
      }
      if (sa == 0 && sb == 1) {
        const float av = a[0];
        for (int64_t j = 0; j < inner; ++j) out_row[j] = fn(av, b[j]);
        return;
      }
      // Both of stride 0 (a row of one repeated value) falls through to the general loop.
    }
    for (int64_t j = 0; j < inner; ++j) {
      std::array<float, N> v;
      for (size_t k = 0; k < N; ++k) v[k] = src[k][off[k] + j * strides[k][nd - 1]];
      orow[j] = std::apply(f, v);
    }
  });
}

}  // namespace adx::cpu
