// Finite-difference gradient checks (first and second order) for engine ops.
//
// For a function f of some tensors, gradcheck compares autograd's gradient of
// L = Σ w ⊙ f(inputs) (w fixed random weights) with central differences
// (L(x + ε) − L(x − ε)) / 2ε, L accumulated in double precision. gradgradcheck does
// the same for the scalar H = Σ_i Σ v_i ⊙ ∂L/∂x_i, computed with create_graph=true,
// i.e. it checks the gradient of a gradient, as WGAN-GP's penalty uses it.
// Choose inputs away from kinks (relu at 0, abs at 0, max ties).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <sstream>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/random.h"

namespace adx::testing {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

struct GradcheckOptions {
  double eps = 1e-3;
  double atol = 1e-2;
  double rtol = 1e-2;
  uint64_t seed = 1234;
};

inline double weighted_sum(const Tensor& y, const Tensor& w) {
  double s = 0.0;
  for (int64_t i = 0; i < y.numel(); ++i) s += static_cast<double>(y.data()[i]) * w.data()[i];
  return s;
}

// Compares analytic and numerical gradients of Σ w ⊙ f(inputs) for every input that
// requires grad.
inline ::testing::AssertionResult gradcheck(const Fn& f, std::vector<Tensor> inputs,
                                            const GradcheckOptions& opt = {}) {
  Generator gen(opt.seed);
  Tensor y = f(inputs);
  Tensor w = Tensor::rand(y.shape(), gen);
  for (int64_t i = 0; i < w.numel(); ++i) w.data()[i] = 2.0f * w.data()[i] - 1.0f;
  TensorList wrt;
  for (const Tensor& t : inputs)
    if (t.requires_grad()) wrt.push_back(t);
  if (wrt.empty()) return ::testing::AssertionFailure() << "no input requires grad";
  if (!y.requires_grad()) return ::testing::AssertionFailure() << "output has no history";
  TensorList analytic = grad({sum(mul(y, w))}, wrt, {}, false, true);

  std::ostringstream failures;
  int bad = 0;
  for (size_t k = 0; k < wrt.size(); ++k) {
    Tensor& x = wrt[k];
    for (int64_t i = 0; i < x.numel(); ++i) {
      float* p = x.data() + i;
      const float saved = *p;
      *p = saved + static_cast<float>(opt.eps);
      const double plus = weighted_sum(f(inputs), w);
      *p = saved - static_cast<float>(opt.eps);
      const double minus = weighted_sum(f(inputs), w);
      *p = saved;
      // Divide by the step actually taken in float, not the nominal eps.
      const double step = static_cast<double>(saved + static_cast<float>(opt.eps)) -
                          static_cast<double>(saved - static_cast<float>(opt.eps));
      const double numeric = (plus - minus) / step;
      const double a = analytic[k].defined() ? analytic[k].data()[i] : 0.0;
      if (!(std::fabs(a - numeric) <= opt.atol + opt.rtol * std::fabs(numeric))) {
        if (++bad <= 5)
          failures << "\n  input " << k << " element " << i << ": autograd " << a << ", numeric "
                   << numeric;
      }
    }
  }
  if (bad) return ::testing::AssertionFailure() << bad << " gradient mismatches" << failures.str();
  return ::testing::AssertionSuccess();
}

// Checks second derivatives: the gradient (by autograd, create_graph=true) of
// H = Σ_k Σ v_k ⊙ ∂(Σ w ⊙ f)/∂x_k against finite differences of H.
inline ::testing::AssertionResult gradgradcheck(const Fn& f, std::vector<Tensor> inputs,
                                                const GradcheckOptions& opt = {}) {
  Generator gen(opt.seed + 1);
  Tensor y0 = f(inputs);
  Tensor w = Tensor::rand(y0.shape(), gen);
  for (int64_t i = 0; i < w.numel(); ++i) w.data()[i] = 2.0f * w.data()[i] - 1.0f;
  std::vector<Tensor> vs;
  for (const Tensor& t : inputs) {
    Tensor v = t.requires_grad() ? Tensor::rand(t.shape(), gen) : Tensor();
    if (v.defined())
      for (int64_t i = 0; i < v.numel(); ++i) v.data()[i] = 2.0f * v.data()[i] - 1.0f;
    vs.push_back(v);
  }
  Fn h = [f, w, vs](const std::vector<Tensor>& xs) {
    TensorList wrt;
    std::vector<Tensor> weights;
    for (size_t k = 0; k < xs.size(); ++k)
      if (xs[k].requires_grad()) {
        wrt.push_back(xs[k]);
        weights.push_back(vs[k]);
      }
    TensorList g = grad({sum(mul(f(xs), w))}, wrt, {}, true, true);
    Tensor total = Tensor::scalar(0.0f);
    for (size_t k = 0; k < g.size(); ++k)
      if (g[k].defined()) total = add(total, sum(mul(g[k], weights[k])));
    return total;
  };
  return gradcheck(h, std::move(inputs), opt);
}

// A tensor of the given shape with values uniform in [lo, hi), requiring grad.
inline Tensor uniform(const Shape& shape, float lo, float hi, uint64_t seed, bool requires_grad = true) {
  Generator gen(seed);
  Tensor t = Tensor::rand(shape, gen);
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = lo + (hi - lo) * t.data()[i];
  t.requires_grad_(requires_grad);
  return t;
}

// Values in [lo, hi) whose magnitude is at least `gap` (away from kinks at 0).
inline Tensor away_from_zero(const Shape& shape, float lo, float hi, float gap, uint64_t seed) {
  Tensor t = uniform(shape, lo, hi, seed, false);
  for (int64_t i = 0; i < t.numel(); ++i) {
    float& v = t.data()[i];
    if (std::fabs(v) < gap) v = v < 0 ? -gap - std::fabs(v) : gap + v;
  }
  t.requires_grad_(true);
  return t;
}

}  // namespace adx::testing
