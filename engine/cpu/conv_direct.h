// Direct (im2col-free) convolution for stride-1 layers with few input channels; see
// conv_direct.cpp. conv2d_forward and conv2d_backward_weight dispatch here when
// conv2d_direct_applies; the input gradient always takes the im2col path.
#pragma once

#include "engine/cpu/conv.h"

namespace adx::cpu {

// The direct path is taken for stride 1, groups 1, at most 3 input channels and at
// most 8 output channels (one register block). Measured on 2 threads, batch 64, against
// im2col + GEMM (forward / weight gradient, ms): LeNet's 1→6 5×5 0.28/0.38 → 0.14/0.26.
// With more output channels the GEMM wins: 3→32 5×5 on 32×32 2.8/3.3 → 2.0/5.1,
// 1→64 3×3 on 28×28 0.50/0.69 → 0.67/1.08.
constexpr int64_t kMaxDirectChannels = 3;

bool conv2d_direct_applies(const ConvGeometry& g);
void conv2d_direct_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias,
                           float* y);
void conv2d_direct_backward_weight(const ConvGeometry& g, const float* x, const float* y_grad,
                                   float* w_grad);

}  // namespace adx::cpu
