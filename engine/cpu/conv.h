// CPU convolution kernels: im2col + GEMM per image and group. These are the three
// linear maps of a convolution; the ops in engine/ops/conv.cpp wire them together
// so that each one's backward is one of the others.
#pragma once

#include <cstdint>

#include "engine/ops.h"

namespace adx::cpu {

// The geometry of one convolution, seen from the forward (conv2d) side:
// input (N, C, H, W) → output (N, O, OH, OW) with weight (O, C/groups, KH, KW).
struct ConvGeometry {
  int64_t n, c, h, w;
  int64_t o, kh, kw;
  int64_t oh, ow;
  Conv2dOptions opt;
  int64_t c_group() const { return c / opt.groups; }
  int64_t o_group() const { return o / opt.groups; }
  int64_t col_rows() const { return c_group() * kh * kw; }
  int64_t col_cols() const { return oh * ow; }
};

// y = conv(x, w) (+ bias, when not null).
void conv2d_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias,
                    float* y);
// x_grad = convᵀ(y_grad, w): the adjoint of conv2d_forward in x.
void conv2d_backward_data(const ConvGeometry& g, const float* y_grad, const float* w,
                          float* x_grad);
// w_grad = the adjoint of conv2d_forward in w, given x and y_grad.
void conv2d_backward_weight(const ConvGeometry& g, const float* x, const float* y_grad,
                            float* w_grad);

}  // namespace adx::cpu
