// Winograd F(4×4, 2×2) convolution for 4×4 kernels at stride 2 with padding 1: the
// DCGAN / WGAN-GP critic and generator layers. See conv_winograd.cpp for the method.
// conv2d_forward, conv2d_backward_data and conv2d_backward_weight dispatch here when
// conv2d_winograd_applies.
#pragma once

#include "engine/cpu/conv.h"

namespace adx::cpu {

// 4×4 kernel, stride 2, padding 1, no dilation, one group, input and output channels
// multiples of 8 and at least 16 (the transforms run 8 channels at a time; with fewer
// channels the im2col GEMM is as fast). ADX_WINOGRAD=0 in the environment turns the
// path off (read once), for A/B timing or the im2col path's exact rounding.
bool conv2d_winograd_applies(const ConvGeometry& g);

void conv2d_winograd_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias,
                             float* y);
void conv2d_winograd_backward_data(const ConvGeometry& g, const float* y_grad, const float* w,
                                   float* x_grad);
void conv2d_winograd_backward_weight(const ConvGeometry& g, const float* x, const float* y_grad,
                                     float* w_grad);

}  // namespace adx::cpu
