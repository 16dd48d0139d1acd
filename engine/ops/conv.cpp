// Convolution as three ops that are each other's backward:
//   conv2d(x, w)                    y = K_w x
//   conv_transpose2d_sized(y, w)    x = K_wᵀ y        (conv2d's input gradient)
//   conv2d_weight_grad(x, gy)       ∂⟨K_w x, gy⟩/∂w   (conv2d's weight gradient)
// All three are bilinear, so the gradient of each is one of the others; this is
// what makes WGAN-GP's second-order pass through a convolutional critic work.
#include "engine/autograd.h"
#include "engine/cpu/conv.h"
#include "engine/cuda/conv.h"
#include "engine/cuda/ops.h"
#include "engine/ops.h"
#include "engine/ops/common.h"

namespace adx {
using namespace detail;

namespace {

// 0 when the dilated kernel does not fit the padded input. (C++ division truncates
// towards zero, so a span of −1 with stride ≥ 2 would otherwise give 1.)
int64_t conv_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil) {
  const int64_t span = in + 2 * pad - dil * (k - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

void check_options(const Conv2dOptions& o, const char* op) {
  if (o.stride_h < 1 || o.stride_w < 1 || o.dilation_h < 1 || o.dilation_w < 1 || o.groups < 1 ||
      o.pad_h < 0 || o.pad_w < 0)
    throw Error(fmt::format("{}: stride, dilation and groups must be ≥ 1 and padding ≥ 0", op));
}

// Geometry of conv2d(x, w) for x (N, C, H, W), w (O, C/groups, KH, KW).
cpu::ConvGeometry conv_geometry(const Shape& x, const Shape& w, const Conv2dOptions& o,
                                const char* op) {
  check_options(o, op);
  if (x.size() != 4 || w.size() != 4)
    throw Error(fmt::format("{}: input {} and weight {} must be 4-D", op, shape_str(x), shape_str(w)));
  if (w[2] < 1 || w[3] < 1)
    throw Error(fmt::format("{}: weight {} has an empty kernel", op, shape_str(w)));
  cpu::ConvGeometry g{x[0], x[1], x[2], x[3], w[0], w[2], w[3], 0, 0, o};
  if (g.c % o.groups || g.o % o.groups || w[1] * o.groups != g.c)
    throw Error(fmt::format("{}: input {} with {} groups does not match weight {}", op,
                            shape_str(x), o.groups, shape_str(w)));
  g.oh = conv_out_size(g.h, g.kh, o.stride_h, o.pad_h, o.dilation_h);
  g.ow = conv_out_size(g.w, g.kw, o.stride_w, o.pad_w, o.dilation_w);
  if (g.oh < 1 || g.ow < 1)
    throw Error(fmt::format("{}: kernel {}×{} does not fit input {} with this padding", op, g.kh,
                            g.kw, shape_str(x)));
  return g;
}

// Where the op runs: the CPU, or the CUDA device all its tensors are on.
Device conv_device(std::initializer_list<const Tensor*> ts, const char* op) {
  if (!cuda::any_on_cuda(ts)) {
    for (const Tensor* t : ts)
      if (t->defined()) check_cpu(*t, op);
    return Device::cpu();
  }
  const Device device = (*ts.begin())->device();
  check_on(device, ts, op);
  return device;
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& opt) {
  if (!x.defined() || !weight.defined()) throw Error("conv2d: undefined tensor argument");
  const Device device = conv_device({&x, &weight, &bias}, "conv2d");
  const cpu::ConvGeometry g = conv_geometry(x.shape(), weight.shape(), opt, "conv2d");
  if (bias.defined() && bias.shape() != Shape{g.o})
    throw Error("conv2d: bias " + shape_str(bias.shape()) + " for " + std::to_string(g.o) +
                " output channels");
  Tensor out = Tensor::empty({g.n, g.o, g.oh, g.ow}, device);
  if (device.is_cuda()) {
    cuda::conv2d_forward(device.index, g, x.data(), weight.data(), out.data());
    if (bias.defined())  // a broadcast add, outside the record: the node below owns the bias
      out = cuda::binary(cuda::Binary::Add, out, bias.detach().reshape({1, g.o, 1, 1}), "conv2d");
  } else {
    cpu::conv2d_forward(g, x.data(), weight.data(), bias.defined() ? bias.data() : nullptr, out.data());
  }
  return record(OpKind::Conv2d, out, {x, weight, bias}, [opt](const Tensor& gy, Node& n) {
    const Tensor& in = n.input(0);
    const Tensor& w = n.input(1);
    return Grads{
        n.needs_grad(0) ? conv_transpose2d_sized(gy, w, opt, in.size(2), in.size(3)) : Tensor(),
        n.needs_grad(1) ? conv2d_weight_grad(in, gy, opt, w.size(2), w.size(3)) : Tensor(),
        n.needs_grad(2) ? sum(gy, {0, 2, 3}) : Tensor()};
  });
}

Tensor conv_transpose2d_sized(const Tensor& x, const Tensor& weight, const Conv2dOptions& opt,
                              int64_t out_h, int64_t out_w) {
  if (!x.defined() || !weight.defined()) throw Error("conv_transpose2d: undefined tensor argument");
  const Device device = conv_device({&x, &weight}, "conv_transpose2d");
  check_dims(x, 4, "conv_transpose2d", "input");
  check_dims(weight, 4, "conv_transpose2d", "weight");
  // Seen from the forward side: a conv2d from (N, C_out, out_h, out_w) to x's shape,
  // whose weight (x's channels, C_out/groups, KH, KW) is this op's weight.
  if (out_h < 1 || out_w < 1)
    throw Error(fmt::format("conv_transpose2d: output size {}×{} must be ≥ 1", out_h, out_w));
  const Shape fwd_in = {x.size(0), weight.size(1) * opt.groups, out_h, out_w};
  const cpu::ConvGeometry g = conv_geometry(fwd_in, weight.shape(), opt, "conv_transpose2d");
  if (g.o != x.size(1) || g.oh != x.size(2) || g.ow != x.size(3))
    throw Error(fmt::format("conv_transpose2d: input {} does not match weight {} and output size "
                            "{}×{}", shape_str(x.shape()), shape_str(weight.shape()), out_h, out_w));
  Tensor out = Tensor::empty(fwd_in, device);
  if (device.is_cuda()) cuda::conv2d_backward_data(device.index, g, x.data(), weight.data(), out.data());
  else cpu::conv2d_backward_data(g, x.data(), weight.data(), out.data());
  return record(OpKind::ConvTranspose2d, out, {x, weight}, [opt](const Tensor& gz, Node& n) {
    const Tensor& in = n.input(0);
    const Tensor& w = n.input(1);
    return Grads{n.needs_grad(0) ? conv2d(gz, w, Tensor(), opt) : Tensor(),
                 n.needs_grad(1) ? conv2d_weight_grad(gz, in, opt, w.size(2), w.size(3)) : Tensor()};
  });
}

Tensor conv2d_weight_grad(const Tensor& x, const Tensor& grad_out, const Conv2dOptions& opt,
                          int64_t kernel_h, int64_t kernel_w) {
  if (!x.defined() || !grad_out.defined()) throw Error("conv2d_weight_grad: undefined tensor argument");
  const Device device = conv_device({&x, &grad_out}, "conv2d_weight_grad");
  check_dims(x, 4, "conv2d_weight_grad", "input");
  check_dims(grad_out, 4, "conv2d_weight_grad", "output gradient");
  check_options(opt, "conv2d_weight_grad");  // before dividing by groups
  const Shape w_shape = {grad_out.size(1), x.size(1) / opt.groups, kernel_h, kernel_w};
  const cpu::ConvGeometry g = conv_geometry(x.shape(), w_shape, opt, "conv2d_weight_grad");
  if (grad_out.shape() != Shape{g.n, g.o, g.oh, g.ow})
    throw Error("conv2d_weight_grad: output gradient " + shape_str(grad_out.shape()) +
                " does not match input " + shape_str(x.shape()));
  Tensor out = Tensor::empty(w_shape, device);
  if (device.is_cuda()) cuda::conv2d_backward_weight(device.index, g, x.data(), grad_out.data(), out.data());
  else cpu::conv2d_backward_weight(g, x.data(), grad_out.data(), out.data());
  return record(OpKind::Conv2dWeightGrad, out, {x, grad_out}, [opt](const Tensor& gw, Node& n) {
    const Tensor& in = n.input(0);
    const Tensor& gy = n.input(1);
    return Grads{n.needs_grad(0) ? conv_transpose2d_sized(gy, gw, opt, in.size(2), in.size(3)) : Tensor(),
                 n.needs_grad(1) ? conv2d(in, gw, Tensor(), opt) : Tensor()};
  });
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                        const Conv2dOptions& opt, int64_t output_padding_h,
                        int64_t output_padding_w) {
  check_dims(x, 4, "conv_transpose2d", "input");
  check_dims(weight, 4, "conv_transpose2d", "weight");
  if (output_padding_h < 0 || output_padding_w < 0 ||
      (output_padding_h >= opt.stride_h && output_padding_h >= opt.dilation_h) ||
      (output_padding_w >= opt.stride_w && output_padding_w >= opt.dilation_w))
    throw Error("conv_transpose2d: output padding must be smaller than stride or dilation");
  check_options(opt, "conv_transpose2d");
  const int64_t out_h = (x.size(2) - 1) * opt.stride_h - 2 * opt.pad_h +
                        opt.dilation_h * (weight.size(2) - 1) + output_padding_h + 1;
  const int64_t out_w = (x.size(3) - 1) * opt.stride_w - 2 * opt.pad_w +
                        opt.dilation_w * (weight.size(3) - 1) + output_padding_w + 1;
  // An output padding of at least the stride (allowed when below the dilation, as in
  // torch) makes a conv2d from the output size give output_padding/stride more rows
  // (columns) than x has. The transposed conv of x with that many zero rows appended
  // is torch's result (the zeros add nothing), and it has the shape the sized op needs.
  Tensor xp = x;
  const int64_t extra_h = output_padding_h / opt.stride_h, extra_w = output_padding_w / opt.stride_w;
  if (extra_h > 0)
    xp = concat({xp, Tensor::zeros({x.size(0), x.size(1), extra_h, xp.size(3)}, x.device())}, 2);
  if (extra_w > 0)
    xp = concat({xp, Tensor::zeros({x.size(0), x.size(1), xp.size(2), extra_w}, x.device())}, 3);
  Tensor y = conv_transpose2d_sized(xp, weight, opt, out_h, out_w);
  if (!bias.defined()) return y;
  if (bias.shape() != Shape{y.size(1)})
    throw Error("conv_transpose2d: bias " + shape_str(bias.shape()) + " for " +
                std::to_string(y.size(1)) + " output channels");
  return add(y, reshape(bias, {1, y.size(1), 1, 1}));
}

}  // namespace adx
