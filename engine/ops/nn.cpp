// Composite ops of neural networks: dropout, softmax and the losses.
// They are written in primitives only, so they have no backward rules of their own
// and their second derivatives come for free.
#include <cmath>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops/common.h"
#include "engine/random.h"

namespace adx {
using namespace detail;

Tensor dropout(const Tensor& x, float p, bool training, Generator& gen) {
  if (!(p >= 0.0f && p <= 1.0f)) throw Error(fmt::format("dropout: p = {} is not in [0, 1]", p));
  if (!training || p == 0.0f) return x;
  const float keep_scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  if (x.defined() && x.device().is_cuda()) {
    // The same mask as the CPU's from the same generator state: uniforms drawn on the
    // device from the same Philox stream, kept where ≥ p.
    const Tensor u = Tensor::rand(x.shape(), gen, x.device());
    return mul(x, mul(ge(u, Tensor::scalar(p)), Tensor::scalar(keep_scale)));
  }
  check_cpu(x, "dropout");
  Tensor mask = Tensor::empty(x.shape());
  float* m = mask.data();
  for (int64_t i = 0, n = mask.numel(); i < n; ++i) m[i] = gen.uniform() >= p ? keep_scale : 0.0f;
  return mul(x, mask);
}

Tensor log_softmax(const Tensor& x, int64_t dim) {
  // x − m − log Σ exp(x − m): the shift m (a detached max) changes nothing
  // mathematically and keeps exp from overflowing.
  Tensor m = max(x.detach(), dim, true);
  Tensor shifted = sub(x, m);
  return sub(shifted, log(sum(exp(shifted), {dim}, true)));
}

Tensor softmax(const Tensor& x, int64_t dim) { return exp(log_softmax(x, dim)); }

namespace {

Tensor reduce(const Tensor& loss, Reduction r) {
  switch (r) {
    case Reduction::Mean: return mean(loss);
    case Reduction::Sum: return sum(loss);
    case Reduction::None: return loss;
  }
  return loss;
}

void check_same_shape(const Tensor& a, const Tensor& b, const char* op) {
  if (a.shape() != b.shape())
    throw Error(fmt::format("{}: input {} and target {} differ in shape", op, shape_str(a.shape()),
                            shape_str(b.shape())));
}

}  // namespace

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction) {
  // On a GPU the class index list is built on the host (from a copy of the targets)
  // and the picking is a device gather.
  if (!log_probs.defined() || !log_probs.device().is_cuda()) check_cpu(log_probs, "nll_loss");
  if (!target.defined()) throw Error("nll_loss: undefined target");
  if (!target.device().is_cpu() && target.device() != log_probs.device())
    throw Error(fmt::format("nll_loss: targets on {} for log-probabilities on {}", target.device().str(),
                            log_probs.device().str()));
  check_dims(log_probs, 2, "nll_loss", "input");
  check_dims(target, 1, "nll_loss", "target");
  const int64_t n = log_probs.size(0), classes = log_probs.size(1);
  if (target.size(0) != n)
    throw Error(fmt::format("nll_loss: {} targets for {} rows", target.size(0), n));
  auto index = make_flat_index(static_cast<size_t>(n));
  const Tensor host_target = target.device().is_cpu() ? target : target.to(Device::cpu());
  for (int64_t i = 0; i < n; ++i) {
    const float t = host_target.data()[i];
    if (t < 0.0f || t >= static_cast<float>(classes) || t != std::floor(t))
      throw Error(fmt::format("nll_loss: target {} of row {} is not a class in [0, {})", t, i, classes));
    (*index)[static_cast<size_t>(i)] = i * classes + static_cast<int64_t>(t);
  }
  return reduce(neg(gather(log_probs, index, {n})), reduction);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction) {
  return nll_loss(log_softmax(logits, 1), target, reduction);
}

Tensor mse_loss(const Tensor& x, const Tensor& target, Reduction reduction) {
  check_same_shape(x, target, "mse_loss");
  Tensor d = sub(x, target);
  return reduce(mul(d, d), reduction);
}

Tensor l1_loss(const Tensor& x, const Tensor& target, Reduction reduction) {
  check_same_shape(x, target, "l1_loss");
  return reduce(abs(sub(x, target)), reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        Reduction reduction) {
  check_same_shape(logits, target, "binary_cross_entropy_with_logits");
  // log(1 + eˣ) − x·y, written per sign of x so that exp never overflows and small
  // losses keep their precision: (1 − y)·x + log(1 + e^{−x}) for x ≥ 0, and
  // log(1 + eˣ) − x·y for x < 0. Both branches are smooth, so the gradient at x = 0
  // is σ(0) − y = 0.5 − y (relu(x) + softplus(−|x|) would give −y there, from the
  // kinks of relu and abs) and the second derivative is right as well.
  Tensor xy = mul(logits, target);
  Tensor non_negative = ge(logits, Tensor::scalar(0.0f));
  Tensor upper = add(sub(logits, xy), softplus(neg(logits)));
  Tensor lower = sub(softplus(logits), xy);
  return reduce(where(non_negative, upper, lower), reduction);
}

}  // namespace adx
