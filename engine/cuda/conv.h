// Convolution on the GPU through cuDNN: the three linear maps of engine/cpu/conv.h
// (forward, backward data, backward filter) for the same geometry. The algorithm of
// each (pass, geometry) is chosen once by cuDNN's benchmark (cudnnFind*), restricted
// to deterministic FP32 (FMA) algorithms: no TF32 unless cuda::set_allow_tf32 asks
// for it (engine/cuda/runtime.h), and within a process the same bits every step. (Which algorithm wins the benchmark can differ between processes when
// two are close, and two algorithms round differently.) Workspaces come from the
// caching allocator. Without the CUDA backend
// these throw adx::Error.
#pragma once

#include "engine/cpu/conv.h"

namespace adx::cuda {

// y = conv(x, w), no bias.
void conv2d_forward(int device, const cpu::ConvGeometry& g, const float* x, const float* w, float* y);
// x_grad = convᵀ(y_grad, w).
void conv2d_backward_data(int device, const cpu::ConvGeometry& g, const float* y_grad, const float* w,
                          float* x_grad);
// w_grad = ∂⟨conv(x, w), y_grad⟩/∂w.
void conv2d_backward_weight(int device, const cpu::ConvGeometry& g, const float* x, const float* y_grad,
                            float* w_grad);

}  // namespace adx::cuda
