// The host side of the resampling kernels (engine/cuda/window.cu): a plan's index
// arrays and weights, packed in the order the kernels read them (engine/cuda/kernels.h,
// Windows). Host code only, shared by engine/cuda/ops.cpp and the kernels' CPU
// emulation tests (tests/cuda_emulation.cpp).
#pragma once

#include <cstdint>

#include "engine/cuda/ops.h"

namespace adx::cuda {

// For each input coordinate in [0, in), the first and last output whose window
// [start, end) holds it (last < first when none does), appended to `out`: the firsts,
// then the lasts. The windows are monotone, so two pointers walk them once.
// (`end_offset` 1 makes `end` the last coordinate held, as interpolation's i1.)
inline void holding_range(int64_t in, int64_t out_size, const int64_t* start, const int64_t* end, IndexList& out,
                          int64_t end_offset = 0) {
  const size_t first_at = out.size();
  out.resize(first_at + 2 * static_cast<size_t>(in));
  int64_t first = 0, last = -1;
  for (int64_t c = 0; c < in; ++c) {
    while (first < out_size && end[first] + end_offset <= c) ++first;
    while (last + 1 < out_size && start[last + 1] <= c) ++last;
    out[first_at + static_cast<size_t>(c)] = first;
    out[first_at + static_cast<size_t>(in + c)] = last;
  }
}

// Average pooling's plan: rows' starts and ends, columns' starts and ends, then the
// holding ranges of rows and of columns; weights: rows', then columns'.
inline void pack_window_plan(const WindowPlan& plan, IndexList& bounds, PoolVector<float>& weights) {
  bounds.clear();
  bounds.insert(bounds.end(), plan.row_start, plan.row_start + plan.oh);
  bounds.insert(bounds.end(), plan.row_end, plan.row_end + plan.oh);
  bounds.insert(bounds.end(), plan.col_start, plan.col_start + plan.ow);
  bounds.insert(bounds.end(), plan.col_end, plan.col_end + plan.ow);
  holding_range(plan.h, plan.oh, plan.row_start, plan.row_end, bounds);
  holding_range(plan.w, plan.ow, plan.col_start, plan.col_end, bounds);
  weights.assign(plan.row_weight, plan.row_weight + plan.oh);
  weights.insert(weights.end(), plan.col_weight, plan.col_weight + plan.ow);
}

// Interpolation's plan: rows' i0, i1, columns' i0, i1, then the holding ranges;
// weights: rows' w0, w1, columns' w0, w1.
inline void pack_interp_plan(const InterpPlan& plan, IndexList& bounds, PoolVector<float>& weights) {
  bounds.clear();
  for (const int64_t* a : {plan.row_i0, plan.row_i1}) bounds.insert(bounds.end(), a, a + plan.oh);
  for (const int64_t* a : {plan.col_i0, plan.col_i1}) bounds.insert(bounds.end(), a, a + plan.ow);
  holding_range(plan.h, plan.oh, plan.row_i0, plan.row_i1, bounds, 1);
  holding_range(plan.w, plan.ow, plan.col_i0, plan.col_i1, bounds, 1);
  weights.clear();
  for (const float* a : {plan.row_w0, plan.row_w1}) weights.insert(weights.end(), a, a + plan.oh);
  for (const float* a : {plan.col_w0, plan.col_w1}) weights.insert(weights.end(), a, a + plan.ow);
}

}  // namespace adx::cuda
