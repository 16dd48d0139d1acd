// Optimisers, gradient clipping and learning-rate schedules (engine/optim.h). The
// expected values are worked out by hand from torch.optim's update rules:
//   SGD:  d = g + wd·p; buf = d (first step) or μ·buf + (1 − τ)·d;
//         d = d + μ·buf (Nesterov) or buf; p −= lr·d
//   Adam: d = g + wd·p; m = β1·m + (1 − β1)·d; v = β2·v + (1 − β2)·d²;
//         p −= lr/(1 − β1ᵗ) · m / (√v/√(1 − β2ᵗ) + ε), t counted per parameter.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/random.h"

using namespace adx;

namespace {

Tensor param(std::initializer_list<float> values) {
  Tensor p = Tensor::from_data({static_cast<int64_t>(values.size())}, values);
  p.requires_grad_(true);
  return p;
}

void set_grad(Tensor& p, std::initializer_list<float> g) {
  p.set_grad(Tensor::from_data({static_cast<int64_t>(g.size())}, g));
}

void expect_values(const Tensor& t, const std::vector<float>& expected, float tol = 1e-6f) {
  ASSERT_EQ(t.numel(), static_cast<int64_t>(expected.size())) << t.str();
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(t.data()[i], expected[i], tol) << "element " << i << " of " << t.str();
}

// Relative tolerance, for state that holds (1 − β2) = 1 − 0.999f: 0.999 is not a
// float, so it is 0.00099998713 here (torch takes β2 as a double: 0.001).
void expect_relative(const Tensor& t, const std::vector<float>& expected, float rel) {
  ASSERT_EQ(t.numel(), static_cast<int64_t>(expected.size())) << t.str();
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(t.data()[i], expected[i], rel * std::fabs(expected[i]))
        << "element " << i << " of " << t.str();
}

Tensor state_named(Optimizer& opt, const std::string& name) {
  for (auto& [n, t] : opt.state())
    if (n == name) return t;
  return Tensor();
}

}  // namespace

// ---- SGD ----------------------------------------------------------------------------

TEST(SGD, PlainStep) {
  Tensor p = param({1.0f, -2.0f});
  set_grad(p, {0.5f, 1.0f});  // stays fixed: step() does not clear gradients
  SGD opt({p}, {.lr = 0.1f});
  opt.step();
  expect_values(p, {0.95f, -2.1f});
  opt.step();
  expect_values(p, {0.9f, -2.2f});
  opt.step();
  expect_values(p, {0.85f, -2.3f});
  EXPECT_EQ(opt.steps(), 3);
  EXPECT_TRUE(opt.state().empty());  // no momentum, no buffers
}

TEST(SGD, Momentum) {
  Tensor p = param({1.0f, -2.0f});
  set_grad(p, {0.5f, 1.0f});
  SGD opt({p}, {.lr = 0.1f, .momentum = 0.9f});
  // Step 1: buf = g = [0.5, 1] (no damping of the first step).
  opt.step();
  expect_values(state_named(opt, "momentum.0"), {0.5f, 1.0f});
  expect_values(p, {0.95f, -2.1f});
  // Step 2: buf = 0.9·buf + g = [0.95, 1.9].
  opt.step();
  expect_values(state_named(opt, "momentum.0"), {0.95f, 1.9f});
  expect_values(p, {0.855f, -2.29f});
  // Step 3: buf = [1.355, 2.71].
  opt.step();
  expect_values(p, {0.7195f, -2.561f});
}

TEST(SGD, MomentumWithDampening) {
  Tensor p = param({1.0f, -2.0f});
  set_grad(p, {0.5f, 1.0f});
  SGD opt({p}, {.lr = 0.1f, .momentum = 0.9f, .dampening = 0.5f});
  // Step 1: buf = g; step 2: buf = 0.9·g + 0.5·g = [0.7, 1.4];
  // step 3: buf = 0.9·[0.7, 1.4] + 0.5·g = [0.88, 1.76].
  opt.step();
  expect_values(p, {0.95f, -2.1f});
  opt.step();
  expect_values(state_named(opt, "momentum.0"), {0.7f, 1.4f});
  expect_values(p, {0.88f, -2.24f});
  opt.step();
  expect_values(p, {0.792f, -2.416f});
}

TEST(SGD, Nesterov) {
  Tensor p = param({1.0f, -2.0f});
  set_grad(p, {0.5f, 1.0f});
  SGD opt({p}, {.lr = 0.1f, .momentum = 0.9f, .nesterov = true});
  // d = g + 0.9·buf with buf = g, 1.9g, 2.71g: steps of 1.9g, 2.71g, 3.439g.
  opt.step();
  expect_values(p, {0.905f, -2.19f});
  opt.step();
  expect_values(p, {0.7695f, -2.461f});
  opt.step();
  expect_values(p, {0.59755f, -2.8049f}, 2e-6f);
  // Nesterov needs momentum and no dampening.
  Tensor q = param({1.0f});
  EXPECT_THROW(SGD({q}, {.lr = 0.1f, .nesterov = true}), Error);
  EXPECT_THROW(SGD({q}, {.lr = 0.1f, .momentum = 0.9f, .dampening = 0.1f, .nesterov = true}), Error);
}

TEST(SGD, WeightDecay) {
  Tensor p = param({1.0f, -2.0f});
  set_grad(p, {0.5f, 1.0f});
  SGD opt({p}, {.lr = 0.1f, .weight_decay = 0.1f});
  // d = g + 0.1·p: [0.6, 0.8], then [0.594, 0.792], then [0.58806, 0.78408].
  opt.step();
  expect_values(p, {0.94f, -2.08f});
  opt.step();
  expect_values(p, {0.8806f, -2.1592f});
  opt.step();
  expect_values(p, {0.821794f, -2.237608f});
}

TEST(SGD, WeightDecayWithMomentum) {
  Tensor p = param({1.0f, -2.0f});
  set_grad(p, {0.5f, 1.0f});
  SGD opt({p}, {.lr = 0.1f, .momentum = 0.9f, .weight_decay = 0.1f});
  // The buffer accumulates the decayed gradient d = g + 0.1·p of the weights before
  // the update: buf = [0.6, 0.8], then 0.9·buf + [0.594, 0.792] = [1.134, 1.512].
  opt.step();
  expect_values(p, {0.94f, -2.08f});
  opt.step();
  expect_values(state_named(opt, "momentum.0"), {1.134f, 1.512f});
  expect_values(p, {0.8266f, -2.2312f});
}

TEST(SGD, ParametersWithoutGradientAreSkipped) {
  Tensor a = param({1.0f, 2.0f});
  Tensor b = param({3.0f});
  set_grad(a, {1.0f, 1.0f});
  SGD opt({a, b}, {.lr = 0.5f, .momentum = 0.9f, .weight_decay = 0.1f});
  opt.step();
  expect_values(b, {3.0f});  // untouched, even by weight decay
  EXPECT_FALSE(state_named(opt, "momentum.1").defined());
  // a: d = 1 + 0.1·a = [1.1, 1.2]; a −= 0.5·d.
  expect_values(a, {0.45f, 1.4f});
  // zero_grad drops the gradients: the next step changes nothing.
  opt.zero_grad();
  EXPECT_FALSE(a.grad().defined());
  opt.step();
  expect_values(a, {0.45f, 1.4f});
}

// ---- Adam ---------------------------------------------------------------------------

TEST(Adam, TwoStepsWithBiasCorrection) {
  Tensor p = param({1.0f, -2.0f});
  Adam opt({p}, {.lr = 0.1f});
  // Step 1, g = [0.5, 1]: m = 0.1·g, v = 0.001·g²; bias-corrected m̂ = g, v̂ = g², so
  // the step is lr·g/(|g| + ε) ≈ 0.1 per element.
  set_grad(p, {0.5f, 1.0f});
  opt.step();
  expect_values(state_named(opt, "exp_avg.0"), {0.05f, 0.1f});
  expect_relative(state_named(opt, "exp_avg_sq.0"), {0.00025f, 0.001f}, 5e-5f);
  expect_values(state_named(opt, "step.0"), {1.0f});
  expect_values(p, {0.9f, -2.1f});
  // Step 2, g = [−1, 2]: m = [−0.055, 0.29], v = [0.00124975, 0.004999];
  // p −= 0.1/0.19 · m / (√v/√0.001999 + 1e-8).
  set_grad(p, {-1.0f, 2.0f});
  opt.step();
  expect_values(state_named(opt, "exp_avg.0"), {-0.055f, 0.29f});
  expect_relative(state_named(opt, "exp_avg_sq.0"), {0.00124975f, 0.004999f}, 5e-5f);
  expect_values(state_named(opt, "step.0"), {2.0f});
  expect_values(p, {0.93661035f, -2.19651820f}, 2e-6f);
}

TEST(Adam, WeightDecay) {
  Tensor p = param({1.0f, -2.0f});
  Adam opt({p}, {.lr = 0.1f, .weight_decay = 0.1f});
  // d = g + 0.1·p: step 1 d = [0.6, 0.8], step 2 d = [−1 + 0.09, 2 − 0.21].
  set_grad(p, {0.5f, 1.0f});
  opt.step();
  expect_values(state_named(opt, "exp_avg.0"), {0.06f, 0.08f});
  expect_values(p, {0.9f, -2.1f});
  set_grad(p, {-1.0f, 2.0f});
  opt.step();
  expect_values(state_named(opt, "exp_avg.0"), {-0.037f, 0.251f});
  expect_values(p, {0.92526352f, -2.19527201f}, 2e-6f);
}

TEST(Adam, ParametersWithoutGradientAreSkipped) {
  Tensor a = param({1.0f});
  Tensor b = param({5.0f, 6.0f});
  Adam opt({a, b}, {.lr = 0.1f});
  set_grad(a, {2.0f});
  opt.step();
  expect_values(b, {5.0f, 6.0f});
  EXPECT_FALSE(state_named(opt, "exp_avg.1").defined());
  // b's first update comes at the optimiser's second step; as in torch (whose step
  // count is per parameter) it is a first step for b: lr·g/(|g| + ε) = lr·sign(g).
  set_grad(b, {-4.0f, 0.5f});
  opt.step();
  expect_values(b, {5.1f, 5.9f}, 1e-6f);
  // a had its second step: with g = 2 both times, m̂ = 2 and v̂ = 4, a step of 0.1 again.
  expect_values(a, {0.8f}, 1e-6f);
  expect_values(state_named(opt, "step.0"), {2.0f});
  expect_values(state_named(opt, "step.1"), {1.0f});
  EXPECT_EQ(opt.steps(), 2);
}

TEST(Adam, BadBetasThrow) {
  Tensor p = param({1.0f});
  EXPECT_THROW(Adam({p}, {.beta1 = 1.0f}), Error);
  EXPECT_THROW(Adam({p}, {.beta2 = -0.1f}), Error);
  EXPECT_THROW(Adam({p}, {.lr = -1.0f}), Error);
}

// ---- construction ---------------------------------------------------------------------

TEST(Optimizer, NonLeafParameterThrows) {
  Tensor leaf = param({1.0f, 2.0f});
  Tensor non_leaf = mul(leaf, Tensor::scalar(2.0f));
  ASSERT_FALSE(non_leaf.is_leaf());
  EXPECT_THROW(SGD({leaf, non_leaf}, {.lr = 0.1f}), Error);
  EXPECT_THROW(Adam({non_leaf}, {}), Error);
  EXPECT_THROW(SGD({Tensor()}, {.lr = 0.1f}), Error);
  EXPECT_THROW(SGD({leaf}, {.lr = -0.1f}), Error);
  EXPECT_NO_THROW(SGD({leaf}, {.lr = 0.1f}));
}

// ---- gradient clipping ------------------------------------------------------------------

TEST(ClipGradNorm, ScalesOnlyAboveMaxNorm) {
  Tensor a = param({0.0f, 0.0f});
  Tensor b = param({0.0f});
  Tensor c = param({0.0f});  // no gradient: ignored
  set_grad(a, {3.0f, 4.0f});
  set_grad(b, {12.0f});
  // Joint norm √(9 + 16 + 144) = 13 ≤ 26: unchanged.
  EXPECT_NEAR(clip_grad_norm({a, b, c}, 26.0f), 13.0f, 1e-6f);
  expect_values(a.grad(), {3.0f, 4.0f});
  expect_values(b.grad(), {12.0f});
  // 13 > 6.5: scaled by 6.5/13 = 0.5; the norm before clipping is returned.
  EXPECT_NEAR(clip_grad_norm({a, b, c}, 6.5f), 13.0f, 1e-6f);
  expect_values(a.grad(), {1.5f, 2.0f}, 1e-6f);
  expect_values(b.grad(), {6.0f}, 1e-6f);
  EXPECT_FALSE(c.grad().defined());
  // Now the norm is 6.5.
  EXPECT_NEAR(clip_grad_norm({a, b, c}, 100.0f), 6.5f, 1e-6f);
  // No gradients at all: norm 0.
  EXPECT_EQ(clip_grad_norm({c}, 1.0f), 0.0f);
}

// ---- learning-rate schedules ---------------------------------------------------------------

TEST(LRSchedule, StepLR) {
  Tensor p = param({1.0f});
  SGD opt({p}, {.lr = 1.0f});
  StepLR sched(opt, /*step_size=*/2, /*gamma=*/0.5f);
  EXPECT_FLOAT_EQ(opt.lr(), 1.0f);
  const std::vector<float> expected = {1.0f, 0.5f, 0.5f, 0.25f, 0.25f, 0.125f, 0.125f};
  for (size_t e = 0; e < expected.size(); ++e) {
    sched.step();
    EXPECT_EQ(sched.epoch(), static_cast<int64_t>(e + 1));
    EXPECT_FLOAT_EQ(opt.lr(), expected[e]) << "after epoch " << e + 1;
  }
  EXPECT_THROW(StepLR(opt, 0), Error);
}

TEST(LRSchedule, MultiStepLR) {
  Tensor p = param({1.0f});
  Adam opt({p}, {.lr = 0.1f});
  MultiStepLR sched(opt, {2, 5}, 0.1f);
  const std::vector<float> expected = {0.1f, 0.01f, 0.01f, 0.01f, 0.001f, 0.001f, 0.001f};
  for (size_t e = 0; e < expected.size(); ++e) {
    sched.step();
    EXPECT_NEAR(opt.lr(), expected[e], expected[e] * 1e-5f) << "after epoch " << e + 1;
  }
  EXPECT_THROW(MultiStepLR(opt, {5, 2}), Error);
}

// ---- end to end -----------------------------------------------------------------------------

TEST(Adam, FitsALine) {
  // y = 3x + 1 on 32 points in [−1, 1] with a 1 → 1 linear layer.
  Generator gen(11);
  Tensor x = Tensor::rand({32, 1}, gen);
  Tensor y = Tensor::empty({32, 1});
  for (int64_t i = 0; i < 32; ++i) {
    x.data()[i] = 2.0f * x.data()[i] - 1.0f;
    y.data()[i] = 3.0f * x.data()[i] + 1.0f;
  }
  Tensor w = Tensor::zeros({1, 1});
  Tensor b = Tensor::zeros({1});
  w.requires_grad_(true);
  b.requires_grad_(true);
  Adam opt({w, b}, {.lr = 0.05f});
  float loss_value = 0.0f;
  for (int step = 0; step < 600; ++step) {
    opt.zero_grad();
    Tensor loss = mse_loss(linear(x, w, b), y);
    loss_value = loss.item();
    backward(loss);
    opt.step();
  }
  EXPECT_LT(loss_value, 1e-3f);
  EXPECT_NEAR(w.item(), 3.0f, 0.05f);
  EXPECT_NEAR(b.item(), 1.0f, 0.05f);
}
