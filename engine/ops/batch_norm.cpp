// Batch normalisation (Ioffe & Szegedy 2015).
//
// Training runs a fused kernel (BatchNormTrain) with the classic closed-form backward
//     dx = γ·σ⁻¹/M · (M·g − Σg − x̂·Σ(g·x̂)),   dγ = Σ(g·x̂),   dβ = Σg.
// When the backward itself is recorded (create_graph), the same formula is written
// in differentiable engine ops instead, so second derivatives stay exact. Evaluation
// mode is a per-channel affine map y = x·scale + shift (ChannelAffine).
#include <cmath>

#include "engine/autograd.h"
#include "engine/cpu/parallel.h"
#include "engine/cuda/ops.h"
#include "engine/ops.h"
#include "engine/ops/common.h"

namespace adx {
using namespace detail;

namespace {

struct Layout {
  int64_t n, c, s;  // x viewed as (N, C, S)
};

Layout layout_of(const Tensor& x) { return {x.size(0), x.size(1), x.numel() / (x.size(0) * x.size(1))}; }

Shape stat_shape(const Tensor& x) {
  Shape s(static_cast<size_t>(x.dim()), 1);
  s[1] = x.size(1);
  return s;
}

Dims reduce_dims(const Tensor& x) {
  Dims dims = {0};
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  return dims;
}

// The closed-form backward in engine ops (for create_graph): with x̂ = (x − μ)σ⁻¹
// from the batch's mean and biased variance,
//   dβ = Σg,  dγ = Σ(g·x̂),  dx = γσ⁻¹/M · (M·g − dβ − x̂·dγ).
// Every term is a differentiable function of x, γ and g; nothing here walks the
// graph above x, so a second-order pass costs one more copy of this formula.
Grads differentiable_backward(const Tensor& g, const Tensor& x, const Tensor& weight, float eps,
                                            const PoolVector<bool>& needs) {
  const Dims dims = reduce_dims(x);
  const Shape s = stat_shape(x);
  const float count = static_cast<float>(x.numel() / x.size(1));
  Tensor centred = sub(x, mean(x, dims, true));
  Tensor inv_std = div(Tensor::scalar(1.0f), sqrt(add(mean(mul(centred, centred), dims, true), Tensor::scalar(eps))));
  Tensor x_hat = mul(centred, inv_std);
  Tensor sum_g = sum(g, dims, true);
  Tensor sum_g_xhat = sum(mul(g, x_hat), dims, true);
  Grads out(3);
  if (needs[0]) {
    Tensor scale = mul(inv_std, Tensor::scalar(1.0f / count));
    if (weight.defined()) scale = mul(scale, reshape(weight, s));
    out[0] = mul(scale, sub(sub(mul(g, Tensor::scalar(count)), sum_g), mul(x_hat, sum_g_xhat)));
  }
  if (needs[1]) out[1] = reshape(sum_g_xhat, {x.size(1)});
  if (needs[2]) out[2] = reshape(sum_g, {x.size(1)});
  return out;
}

// Per-channel mean and 1/√(var + eps), two passes in double precision.
void channel_stats(const Tensor& x, float eps, PoolVector<float>& mean_out,
                   PoolVector<float>& inv_std_out, PoolVector<float>& var_out) {
  const Layout l = layout_of(x);
  mean_out.resize(static_cast<size_t>(l.c));
  inv_std_out.resize(static_cast<size_t>(l.c));
  var_out.resize(static_cast<size_t>(l.c));
  const float* in = x.data();
  const double count = static_cast<double>(l.n * l.s);
  if (l.s == 1) {  // (N, C), as after a linear layer
    // Row by row, all channels side by side, so the loops vectorise across channels;
    // each channel's sums run over n in the same order as below.
    PoolVector<double> mu(static_cast<size_t>(l.c), 0.0), sq(static_cast<size_t>(l.c), 0.0);
    for (int64_t n = 0; n < l.n; ++n)
      for (int64_t c = 0; c < l.c; ++c) mu[c] += in[n * l.c + c];
    for (double& m : mu) m /= count;
    for (int64_t n = 0; n < l.n; ++n)
      for (int64_t c = 0; c < l.c; ++c) {
        const double d = in[n * l.c + c] - mu[c];
        sq[c] += d * d;
      }
    for (int64_t c = 0; c < l.c; ++c) {
      const double var = sq[c] / count;
      mean_out[c] = static_cast<float>(mu[c]);
      var_out[c] = static_cast<float>(var);
      inv_std_out[c] = static_cast<float>(1.0 / std::sqrt(var + eps));
    }
    return;
  }
  cpu::parallel_for(0, l.c, l.n * l.s, [&](int64_t c) {
    double total = 0.0;
    for (int64_t n = 0; n < l.n; ++n) {
      const float* row = in + (n * l.c + c) * l.s;
      for (int64_t i = 0; i < l.s; ++i) total += row[i];
    }
    const double mu = total / count;
    double sq = 0.0;
    for (int64_t n = 0; n < l.n; ++n) {
      const float* row = in + (n * l.c + c) * l.s;
      for (int64_t i = 0; i < l.s; ++i) {
        const double d = row[i] - mu;
        sq += d * d;
      }
    }
    const double var = sq / count;
    mean_out[static_cast<size_t>(c)] = static_cast<float>(mu);
    var_out[static_cast<size_t>(c)] = static_cast<float>(var);
    inv_std_out[static_cast<size_t>(c)] = static_cast<float>(1.0 / std::sqrt(var + eps));
  });
}

// y = x·scale[c] + shift[c]
void channel_affine_kernel(const Tensor& x, const float* scale, const float* shift, Tensor& y) {
  const Layout l = layout_of(x);
  const float* in = x.data();
  float* out = y.data();
  if (l.s == 1) {  // (N, C): one pass per row across the channels (vectorises)
    cpu::parallel_for(0, l.n, l.c, [&](int64_t n) {
      const float* __restrict src = in + n * l.c;
      float* __restrict dst = out + n * l.c;
      for (int64_t c = 0; c < l.c; ++c) dst[c] = src[c] * scale[c] + shift[c];
    });
    return;
  }
  cpu::parallel_for(0, l.n * l.c, l.s, [&](int64_t row) {
    const int64_t c = row % l.c;
    const float a = scale[c], b = shift[c];
    const float* src = in + row * l.s;
    float* dst = out + row * l.s;
    for (int64_t i = 0; i < l.s; ++i) dst[i] = src[i] * a + b;
  });
}

struct SavedStats {
  PoolVector<float> mean, inv_std;
};

// Σg and Σg·(x − μ) per channel, in double precision.
void channel_grad_sums(const float* gd, const float* xd, const Layout& l, const SavedStats& st,
                       PoolVector<float>& sum_g, PoolVector<float>& sum_gx) {
  if (l.s == 1) {  // (N, C): all channels side by side, each summed over n in order
    PoolVector<double> a(static_cast<size_t>(l.c), 0.0), b(a.size(), 0.0);
    for (int64_t n = 0; n < l.n; ++n)
      for (size_t c = 0; c < a.size(); ++c) {
        const int64_t off = n * l.c + static_cast<int64_t>(c);
        a[c] += gd[off];
        b[c] += static_cast<double>(gd[off]) * (xd[off] - st.mean[c]);
      }
    for (size_t c = 0; c < a.size(); ++c) {
      sum_g[c] = static_cast<float>(a[c]);
      sum_gx[c] = static_cast<float>(b[c]);
    }
    return;
  }
  cpu::parallel_for(0, l.c, l.n * l.s, [&](int64_t c) {
    double a = 0.0, b = 0.0;
    const float mu = st.mean[static_cast<size_t>(c)];
    for (int64_t n = 0; n < l.n; ++n) {
      const int64_t off = (n * l.c + c) * l.s;
      for (int64_t i = 0; i < l.s; ++i) {
        a += gd[off + i];
        b += static_cast<double>(gd[off + i]) * (xd[off + i] - mu);
      }
    }
    sum_g[static_cast<size_t>(c)] = static_cast<float>(a);
    sum_gx[static_cast<size_t>(c)] = static_cast<float>(b);  // Σ g·(x − μ)
  });
}

// dx = k·(g − Σg/M − (x − μ)·proj) with k = γσ⁻¹ and proj = σ⁻²·Σg(x − μ)/M, since
// (x − μ)·σ⁻²·Σg(x − μ)/M = x̂·Σ(g·x̂)/M.
struct ChannelGradTerms {
  PoolVector<float> k, mean_g, proj;
};

ChannelGradTerms channel_grad_terms(const PoolVector<float>& sum_g, const PoolVector<float>& sum_gx,
                                    const SavedStats& st, const Tensor& weight, double count) {
  ChannelGradTerms t{PoolVector<float>(sum_g.size()), PoolVector<float>(sum_g.size()),
                     PoolVector<float>(sum_g.size())};
  for (size_t c = 0; c < sum_g.size(); ++c) {
    const float is = st.inv_std[c];
    t.k[c] = (weight.defined() ? weight.data()[c] : 1.0f) * is;
    t.mean_g[c] = static_cast<float>(sum_g[c] / count);
    t.proj[c] = static_cast<float>(sum_gx[c] / count) * is * is;
  }
  return t;
}

void input_grad(const float* gd, const float* xd, const Layout& l, const SavedStats& st,
                const ChannelGradTerms& t, float* out) {
  const float* mu = st.mean.data();
  if (l.s == 1) {  // (N, C): rows across the channels (vectorises)
    for (int64_t n = 0; n < l.n; ++n) {
      const int64_t off = n * l.c;
      for (int64_t c = 0; c < l.c; ++c)
        out[off + c] = t.k[c] * (gd[off + c] - t.mean_g[c] - (xd[off + c] - mu[c]) * t.proj[c]);
    }
    return;
  }
  cpu::parallel_for(0, l.n * l.c, l.s, [&](int64_t row) {
    const size_t c = static_cast<size_t>(row % l.c);
    const float k = t.k[c], mean_g = t.mean_g[c], proj = t.proj[c], m = mu[c];
    const int64_t off = row * l.s;
    for (int64_t i = 0; i < l.s; ++i) out[off + i] = k * (gd[off + i] - mean_g - (xd[off + i] - m) * proj);
  });
}

// The closed-form backward of the fused training forward (no history).
Grads fused_backward(const Tensor& g, const Tensor& x, const Tensor& weight,
                                   const SavedStats& st, const PoolVector<bool>& needs) {
  const Layout l = layout_of(x);
  const double count = static_cast<double>(l.n * l.s);
  PoolVector<float> sum_g(static_cast<size_t>(l.c)), sum_gx(static_cast<size_t>(l.c));
  channel_grad_sums(g.data(), x.data(), l, st, sum_g, sum_gx);
  Tensor dx, dw, db;
  if (needs[0]) {
    dx = Tensor::empty(x.shape());
    input_grad(g.data(), x.data(), l, st, channel_grad_terms(sum_g, sum_gx, st, weight, count), dx.data());
  }
  if (needs[1]) {
    dw = Tensor::empty({l.c});
    for (int64_t c = 0; c < l.c; ++c) dw.data()[c] = sum_gx[static_cast<size_t>(c)] * st.inv_std[static_cast<size_t>(c)];
  }
  if (needs[2]) db = Tensor::from_data({l.c}, std::span<const float>(sum_g));
  return {dx, dw, db};
}

Tensor batch_norm_train(const Tensor& x, Tensor& running_mean, Tensor& running_var,
                        const Tensor& weight, const Tensor& bias, float momentum, float eps) {
  const Layout l = layout_of(x);
  const int64_t count = l.n * l.s;
  if (count < 2) throw Error("batch_norm: training needs more than one value per channel");
  auto st = make_pooled<SavedStats>();
  PoolVector<float> var;
  channel_stats(x, eps, st->mean, st->inv_std, var);
  if (running_mean.defined() && running_var.defined()) {
    // Running statistics use the unbiased variance (torch's convention).
    const float unbias = static_cast<float>(count) / static_cast<float>(count - 1);
    float* rm = running_mean.data();
    float* rv = running_var.data();
    for (int64_t c = 0; c < l.c; ++c) {
      rm[c] = (1.0f - momentum) * rm[c] + momentum * st->mean[static_cast<size_t>(c)];
      rv[c] = (1.0f - momentum) * rv[c] + momentum * var[static_cast<size_t>(c)] * unbias;
    }
    running_mean.bump_version();
    running_var.bump_version();
  }
  // y = x·(γσ⁻¹) + (β − μγσ⁻¹)
  PoolVector<float> scale(static_cast<size_t>(l.c)), shift(static_cast<size_t>(l.c));
  for (size_t c = 0; c < scale.size(); ++c) {
    const float gamma = weight.defined() ? weight.data()[c] : 1.0f;
    const float beta = bias.defined() ? bias.data()[c] : 0.0f;
    scale[c] = gamma * st->inv_std[c];
    shift[c] = beta - st->mean[c] * scale[c];
  }
  Tensor y = Tensor::empty(x.shape());
  channel_affine_kernel(x, scale.data(), shift.data(), y);
  return record(OpKind::BatchNormTrain, y, {x, weight, bias}, [st, eps](const Tensor& g, Node& n) {
    PoolVector<bool> needs = {n.needs_grad(0), n.needs_grad(1), n.needs_grad(2)};
    if (!GradMode::enabled()) return fused_backward(g, n.input(0), n.input(1), *st, needs);
    // Recording the backward (create_graph): the same closed form, written in
    // differentiable ops of x, γ and g, so that it can be differentiated again.
    return differentiable_backward(g, n.input(0), n.input(1), eps, needs);
  });
}

// y = x·scale[c] + shift[c]; the backward is written in ops (eval-mode batch norm
// is rarely differentiated: feature extraction runs it forward only).
Tensor channel_affine(const Tensor& x, const Tensor& scale, const Tensor& shift) {
  Tensor y;
  if (x.device().is_cuda()) {
    y = cuda::channel_affine(x, scale, shift);
  } else {
    y = Tensor::empty(x.shape());
    channel_affine_kernel(x, scale.data(), shift.data(), y);
  }
  return record(OpKind::ChannelAffine, y, {x, scale, shift}, [](const Tensor& g, Node& n) {
    const Tensor& in = n.input(0);
    const Shape s = stat_shape(in);
    const Dims dims = reduce_dims(in);
    return Grads{
        n.needs_grad(0) ? mul(g, reshape(n.input(1), s)) : Tensor(),
        n.needs_grad(1) ? sum(mul(g, in), dims) : Tensor(),
        n.needs_grad(2) ? sum(g, dims) : Tensor()};
  });
}

}  // namespace

namespace {

// Batch norm on a GPU, composed of engine ops (no cuDNN yet): the textbook formula, so
// autograd differentiates it (twice as well) and every op has its CUDA kernel. The
// running statistics take the batch's mean and unbiased variance, as on the CPU.
Tensor batch_norm_composed(const Tensor& x, Tensor& running_mean, Tensor& running_var, const Tensor& weight,
                           const Tensor& bias, bool training, float momentum, float eps) {
  const Shape s = stat_shape(x);
  Tensor scale, shift;  // y = x·scale + shift, per channel
  if (training) {
    const Dims dims = reduce_dims(x);
    const int64_t count = x.numel() / x.size(1);
    if (count < 2) throw Error("batch_norm: training needs more than one value per channel");
    const Tensor mu = mean(x, dims, true);
    const Tensor centred = sub(x, mu);
    const Tensor var = mean(mul(centred, centred), dims, true);
    if (running_mean.defined() && running_var.defined()) {
      NoGradGuard no_grad;
      const float unbias = static_cast<float>(count) / static_cast<float>(count - 1);
      running_mean.copy_(add(mul(running_mean, Tensor::scalar(1.0f - momentum)),
                             mul(reshape(mu.detach(), {x.size(1)}), Tensor::scalar(momentum))));
      running_var.copy_(add(mul(running_var, Tensor::scalar(1.0f - momentum)),
                            mul(reshape(var.detach(), {x.size(1)}), Tensor::scalar(momentum * unbias))));
    }
    Tensor y = div(centred, sqrt(add(var, Tensor::scalar(eps))));
    if (weight.defined()) y = mul(y, reshape(weight, s));
    if (bias.defined()) y = add(y, reshape(bias, s));
    return y;
  }
  scale = div(Tensor::scalar(1.0f), sqrt(add(running_var, Tensor::scalar(eps))));
  if (weight.defined()) scale = mul(scale, weight);
  shift = neg(mul(running_mean, scale));
  if (bias.defined()) shift = add(shift, bias);
  return channel_affine(x, scale, shift);  // one kernel; its backward is made of ops
}

}  // namespace

Tensor batch_norm(const Tensor& x, Tensor running_mean, Tensor running_var, const Tensor& weight,
                  const Tensor& bias, bool training, float momentum, float eps) {
  const bool on_cuda = x.defined() && x.device().is_cuda();
  if (!on_cuda) check_cpu(x, "batch_norm");
  if (x.dim() < 2) throw Error("batch_norm: input must be (N, C, ...), got " + shape_str(x.shape()));
  const int64_t channels = x.size(1);
  auto check_param = [&](const Tensor& t, const char* what) {
    if (t.defined() && on_cuda) check_on(x.device(), {&t}, "batch_norm");
    else if (t.defined()) check_cpu(t, "batch_norm");
    if (t.defined() && t.shape() != Shape{channels})
      throw Error(fmt::format("batch_norm: {} has shape {}, expected [{}]", what,
                              shape_str(t.shape()), channels));
  };
  check_param(running_mean, "running_mean");
  check_param(running_var, "running_var");
  check_param(weight, "weight");
  check_param(bias, "bias");
  if (x.numel() == 0) {
    if (training) throw Error("batch_norm: training needs more than one value per channel (empty batch)");
    return Tensor::empty(x.shape(), x.device());
  }
  if (on_cuda) {
    if (!training && (!running_mean.defined() || !running_var.defined()))
      throw Error("batch_norm: eval mode needs running_mean and running_var");
    return batch_norm_composed(x, running_mean, running_var, weight, bias, training, momentum, eps);
  }
  if (training) return batch_norm_train(x, running_mean, running_var, weight, bias, momentum, eps);
  if (!running_mean.defined() || !running_var.defined())
    throw Error("batch_norm: eval mode needs running_mean and running_var");
  // scale = γ/√(σ²_run + ε), shift = β − μ_run·scale: C-sized ops, differentiable.
  Tensor scale = div(Tensor::scalar(1.0f), sqrt(add(running_var, Tensor::scalar(eps))));
  if (weight.defined()) scale = mul(scale, weight);
  Tensor shift = neg(mul(running_mean, scale));
  if (bias.defined()) shift = add(shift, bias);
  return channel_affine(x, scale, shift);
}

}  // namespace adx
