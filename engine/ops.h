// The engine's ops: every function here works with autograd. Primitives (see
// op_kind.h) have a backward rule next to their forward in engine/ops/*.cpp;
// composites are written in primitives and need none.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "engine/pool.h"
#include "engine/tensor.h"

namespace adx {

class Generator;

// ---- elementwise (binary ops broadcast like NumPy) ---------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor neg(const Tensor& x);
Tensor pow(const Tensor& x, float exponent);
Tensor pow(const Tensor& x, const Tensor& exponent);  // exp(e·log x), for x > 0
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, float negative_slope = 0.01f);
Tensor elu(const Tensor& x, float alpha = 1.0f);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor softplus(const Tensor& x, float beta = 1.0f, float threshold = 20.0f);
constexpr float kInf = std::numeric_limits<float>::infinity();
Tensor clamp(const Tensor& x, float lo = -kInf, float hi = kInf);
// cond is a 0/1 tensor (no gradient); all three broadcast together.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// Comparisons give 0/1 tensors without history.
Tensor gt(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, const Tensor& b);

// ---- reductions --------------------------------------------------------------
// A list of dimension indices, held inline like a Shape (no heap memory per call).
using Dims = Shape;
Tensor sum(const Tensor& x);  // all elements, 0-d result
Tensor sum(const Tensor& x, const Dims& dims, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const Dims& dims, bool keepdim = false);
// Variance; unbiased divides by n−1 as torch.var does by default.
Tensor var(const Tensor& x, const Dims& dims, bool unbiased = true,
           bool keepdim = false);
Tensor max(const Tensor& x);  // all elements
Tensor max(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor min(const Tensor& x);
Tensor min(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& x, int64_t dim);  // indices as floats, no history
// Sums `x` down to `shape` (the adjoint of expand); shape must broadcast to x's.
Tensor sum_to(const Tensor& x, const Shape& shape);

// ---- shape -------------------------------------------------------------------
Tensor reshape(const Tensor& x, const Shape& shape);  // one dim may be -1
Tensor expand(const Tensor& x, const Shape& shape);   // broadcast to shape
Tensor permute(const Tensor& x, const Dims& dims);
Tensor transpose(const Tensor& x, int64_t a, int64_t b);
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
Tensor concat(const TensorList& xs, int64_t dim);
Tensor stack(const TensorList& xs, int64_t dim);
Tensor index_select(const Tensor& x, int64_t dim, const std::vector<int64_t>& index);
// zeros(shape) with src added at `index` along dim (the adjoint of index_select).
Tensor index_add(const Shape& shape, int64_t dim, const std::vector<int64_t>& index,
                 const Tensor& src);
// out.flat[i] = x.flat[index[i]]; out has `shape`. A negative index reads 0.
using IndexList = PoolVector<int64_t>;
using FlatIndex = std::shared_ptr<const IndexList>;
// A zero-filled index of n entries, from the pool (engine/pool.h).
inline std::shared_ptr<IndexList> make_flat_index(size_t n) { return make_pooled<IndexList>(n); }
Tensor gather(const Tensor& x, FlatIndex index, const Shape& shape);
// zeros(shape) with out.flat[index[i]] += src.flat[i] (the adjoint of gather).
Tensor scatter_add(const Tensor& src, FlatIndex index, const Shape& shape);

// ---- linear algebra ----------------------------------------------------------
// op(a) @ op(b), op = transpose of the last two dims when the flag is set.
// 2-D × 2-D, 3-D × 3-D with equal batch, or 3-D × 2-D (a not transposed).
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false,
              bool transpose_b = false);
// x (..., in) · weightᵀ (out, in) + bias (out), as torch.nn.functional.linear.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());
// ‖a_i − b_j‖² for rows a (n, d) and b (m, d): an (n, m) matrix.
Tensor pairwise_sq_dist(const Tensor& a, const Tensor& b);

// ---- convolution -------------------------------------------------------------
struct Conv2dOptions {
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t groups = 1;
  static Conv2dOptions make(int64_t stride, int64_t pad, int64_t dilation = 1,
                            int64_t groups = 1) {
    return {stride, stride, pad, pad, dilation, dilation, groups};
  }
};
// x (N, C, H, W), weight (O, C/groups, kh, kw), bias (O) or undefined.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
              const Conv2dOptions& opt = {});
// x (N, C, H, W), weight (C, O/groups, kh, kw) as torch's ConvTranspose2d.
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
                        const Conv2dOptions& opt = {}, int64_t output_padding_h = 0,
                        int64_t output_padding_w = 0);
// The two halves of conv2d's backward, exposed because they are ops with rules of
// their own (needed for second-order gradients):
// conv2d's input gradient, with the output size given explicitly.
Tensor conv_transpose2d_sized(const Tensor& x, const Tensor& weight, const Conv2dOptions& opt,
                              int64_t out_h, int64_t out_w);
// conv2d's weight gradient: d(conv2d(x, w))/dw contracted with grad_out.
Tensor conv2d_weight_grad(const Tensor& x, const Tensor& grad_out, const Conv2dOptions& opt,
                          int64_t kernel_h, int64_t kernel_w);

// ---- pooling and resampling --------------------------------------------------
struct Pool2dOptions {
  int64_t kernel_h = 2, kernel_w = 2;
  int64_t stride_h = 2, stride_w = 2;
  // Asymmetric padding, as MatConvNet pads: top, bottom, left, right.
  int64_t pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
  bool ceil_mode = false;
  bool count_include_pad = true;  // avg_pool2d only, torch's default
  static Pool2dOptions make(int64_t kernel, int64_t stride = -1, int64_t pad = 0,
                            bool ceil_mode = false) {
    if (stride < 0) stride = kernel;
    return {kernel, kernel, stride, stride, pad, pad, pad, pad, ceil_mode, true};
  }
};
Tensor max_pool2d(const Tensor& x, const Pool2dOptions& opt);
Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& opt);
Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w);
// Output size of a pooling window along one axis (torch's rule for ceil mode: the
// last window must start inside the input or its left padding).
int64_t pool_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad_before,
                         int64_t pad_after, bool ceil_mode);
enum class UpsampleMode { Nearest, Bilinear };
Tensor upsample(const Tensor& x, int64_t out_h, int64_t out_w, UpsampleMode mode,
                bool align_corners = false);
// Sum over a window of channels [c − before, c + after], zero outside (LRN's core).
Tensor channel_window_sum(const Tensor& x, int64_t before, int64_t after);
// Local response normalisation across channels, as torch's LocalResponseNorm:
// x / (k + alpha/size · Σ_window x²)^beta. With alpha_per_size = false the sum is not
// divided by size (MatConvNet's and the AlexNet paper's form).
Tensor local_response_norm(const Tensor& x, int64_t size, float alpha = 1e-4f,
                           float beta = 0.75f, float k = 1.0f, bool alpha_per_size = true);

// ---- normalisation, regularisation -------------------------------------------
// x (N, C) or (N, C, H, W). In training, normalises with the batch statistics and
// updates running_mean/var in place (unbiased variance, torch's momentum
// convention); in eval, uses them. weight/bias may be undefined (affine off).
Tensor batch_norm(const Tensor& x, Tensor running_mean, Tensor running_var,
                  const Tensor& weight, const Tensor& bias, bool training,
                  float momentum = 0.1f, float eps = 1e-5f);
Tensor dropout(const Tensor& x, float p, bool training, Generator& gen);

// ---- softmax and losses ------------------------------------------------------
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);
enum class Reduction { Mean, Sum, None };
// target: class indices (as floats) of shape (N).
Tensor nll_loss(const Tensor& log_probs, const Tensor& target,
                Reduction reduction = Reduction::Mean);
Tensor cross_entropy(const Tensor& logits, const Tensor& target,
                     Reduction reduction = Reduction::Mean);
Tensor mse_loss(const Tensor& x, const Tensor& target, Reduction reduction = Reduction::Mean);
Tensor l1_loss(const Tensor& x, const Tensor& target, Reduction reduction = Reduction::Mean);
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        Reduction reduction = Reduction::Mean);

}  // namespace adx
