// Winograd convolution: F(4×4, 2×2) for 4×4 kernels at stride 2 with padding 1 (the
// DCGAN / WGAN-GP critic and generator layers), F(2×2, 3×3) for 3×3 kernels at stride
// 1 with padding 1 (ResNet, VGG). See conv_winograd.cpp for the method.
// conv2d_forward, conv2d_backward_data and conv2d_backward_weight dispatch here when
// conv2d_winograd_applies.
#pragma once

#include "engine/cpu/conv.h"

namespace adx::cpu {

// Padding 1, no dilation, one group, at least 16 input channels and output channels a
// multiple of 16, and either a 4×4 kernel at stride 2 with input channels a multiple
// of 8, or a 3×3 kernel at stride 1 with input channels a multiple of 16 and an output
// of at least 2×2 (the transforms run 8 channels at a time and the products 16 outputs
// at a time; with fewer channels the im2col GEMM is as fast). ADX_WINOGRAD=0 in the
// environment turns the path off (read once), for A/B timing or the im2col path's
// rounding.
bool conv2d_winograd_applies(const ConvGeometry& g);

void conv2d_winograd_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias,
                             float* y);
void conv2d_winograd_backward_data(const ConvGeometry& g, const float* y_grad, const float* w,
                                   float* x_grad);
void conv2d_winograd_backward_weight(const ConvGeometry& g, const float* x, const float* y_grad,
                                     float* w_grad);

}  // namespace adx::cpu
