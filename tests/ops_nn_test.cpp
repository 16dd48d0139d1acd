// Known-value tests of the neural-network composites (engine/ops/nn.cpp). Expected
// numbers are worked out by hand from the definitions (torch.nn.functional's).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/random.h"

using namespace adx;

namespace {

void expect_values(const Tensor& t, const std::vector<float>& expected, float tol = 1e-5f) {
  ASSERT_EQ(t.numel(), static_cast<int64_t>(expected.size())) << t.str();
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(t.data()[i], expected[i], tol) << "element " << i << " of " << t.str();
}

// Per-channel mean and biased variance of an (N, C, ...) tensor, in double.
void channel_stats(const Tensor& y, int64_t c, double& mean_out, double& var_out) {
  const int64_t n = y.size(0), channels = y.size(1), inner = y.numel() / (n * channels);
  double s = 0.0, s2 = 0.0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < inner; ++k) {
      const double v = y.data()[(i * channels + c) * inner + k];
      s += v;
      s2 += v * v;
    }
  const double count = static_cast<double>(n * inner);
  mean_out = s / count;
  var_out = s2 / count - mean_out * mean_out;
}

}  // namespace

// ---- batch norm -------------------------------------------------------------------

TEST(BatchNorm, Training2dKnownValuesAndRunningStats) {
  // Channel 0: {1, 2, 3, 4}, mean 2.5, biased var 1.25, unbiased 5/3.
  // Channel 1: {10, 20, 30, 40}, mean 25, biased var 125, unbiased 500/3.
  Tensor x = Tensor::from_data({4, 2}, {1, 10, 2, 20, 3, 30, 4, 40});
  Tensor rm = Tensor::zeros({2}), rv = Tensor::ones({2});
  Tensor y = batch_norm(x, rm, rv, Tensor(), Tensor(), true, 0.1f, 1e-5f);
  ASSERT_EQ(y.shape(), (Shape{4, 2}));
  // (x − 2.5)/√(1.25 + 1e-5) and (x − 25)/√(125 + 1e-5).
  expect_values(y, {-1.3416354f, -1.3416407f, -0.4472118f, -0.4472136f, 0.4472118f, 0.4472136f,
                    1.3416354f, 1.3416407f});
  // running = 0.9·running + 0.1·batch; the variance is the unbiased one.
  expect_values(rm, {0.25f, 2.5f});
  expect_values(rv, {0.9f + 0.1f * 5.0f / 3.0f, 0.9f + 0.1f * 500.0f / 3.0f}, 1e-4f);
}

TEST(BatchNorm, Training4dNormalisesPerChannel) {
  // x (2, 2, 1, 2): channel 0 holds {1, 3, 5, 7} (mean 4, var 5, unbiased 20/3),
  // channel 1 holds {0, 4, 8, 12} (mean 6, var 20, unbiased 80/3).
  Tensor x = Tensor::from_data({2, 2, 1, 2}, {1, 3, 0, 4, 5, 7, 8, 12});
  Tensor rm = Tensor::zeros({2}), rv = Tensor::ones({2});
  Tensor y = batch_norm(x, rm, rv, Tensor(), Tensor(), true, 0.1f, 1e-5f);
  ASSERT_EQ(y.shape(), x.shape());
  for (int64_t c = 0; c < 2; ++c) {
    double m = 0, v = 0;
    channel_stats(y, c, m, v);
    EXPECT_NEAR(m, 0.0, 1e-5) << "channel " << c;
    EXPECT_NEAR(v, 1.0, 1e-4) << "channel " << c;
  }
  expect_values(y, {-1.3416394f, -0.4472131f, -1.3416405f, -0.4472135f, 0.4472131f, 1.3416394f,
                    0.4472135f, 1.3416405f});
  expect_values(rm, {0.4f, 0.6f});
  expect_values(rv, {0.9f + 0.1f * 20.0f / 3.0f, 0.9f + 0.1f * 80.0f / 3.0f}, 1e-5f);
}

TEST(BatchNorm, TrainingRandomBatchHasZeroMeanUnitVariance) {
  Generator gen(5);
  Tensor x = Tensor::randn({8, 3, 4, 4}, gen);
  for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = 3.0f * x.data()[i] + 2.0f;
  Tensor y = batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), true);
  for (int64_t c = 0; c < 3; ++c) {
    double m = 0, v = 0;
    channel_stats(y, c, m, v);
    EXPECT_NEAR(m, 0.0, 1e-5) << "channel " << c;
    EXPECT_NEAR(v, 1.0, 1e-4) << "channel " << c;
  }
}

TEST(BatchNorm, TrainingAffine) {
  // The 4-D example above, then y = weight·x̂ + bias per channel.
  Tensor x = Tensor::from_data({2, 2, 1, 2}, {1, 3, 0, 4, 5, 7, 8, 12});
  Tensor w = Tensor::from_data({2}, {2.0f, -1.0f});
  Tensor b = Tensor::from_data({2}, {0.5f, 1.0f});
  Tensor y = batch_norm(x, Tensor(), Tensor(), w, b, true);
  const float a = 1.3416394f, c = 0.4472131f, a1 = 1.3416405f, c1 = 0.4472135f;
  expect_values(y, {-2 * a + 0.5f, -2 * c + 0.5f, a1 + 1, c1 + 1, 2 * c + 0.5f, 2 * a + 0.5f,
                    -c1 + 1, -a1 + 1});
  // Weight only, bias only.
  Tensor yw = batch_norm(x, Tensor(), Tensor(), w, Tensor(), true);
  expect_values(yw, {-2 * a, -2 * c, a1, c1, 2 * c, 2 * a, -c1, -a1});
  Tensor yb = batch_norm(x, Tensor(), Tensor(), Tensor(), b, true);
  expect_values(yb, {-a + 0.5f, -c + 0.5f, -a1 + 1, -c1 + 1, c + 0.5f, a + 0.5f, c1 + 1, a1 + 1});
}

TEST(BatchNorm, EvalUsesRunningStats) {
  Tensor x = Tensor::from_data({2, 2}, {1, 2, 3, 4});
  Tensor rm = Tensor::from_data({2}, {1.0f, 2.0f});
  Tensor rv = Tensor::from_data({2}, {4.0f, 0.25f});
  // (x − rm)/√(rv + 1e-5): channel 0 {0, 2/√4.00001}, channel 1 {0, 2/√0.25001}.
  Tensor y = batch_norm(x, rm, rv, Tensor(), Tensor(), false);
  expect_values(y, {0.0f, 0.0f, 0.99999875f, 3.99992f});
  // Eval mode leaves the running statistics alone.
  expect_values(rm, {1.0f, 2.0f});
  expect_values(rv, {4.0f, 0.25f});
  // Affine on: y = w·x̂ + b.
  Tensor w = Tensor::from_data({2}, {3.0f, 2.0f});
  Tensor b = Tensor::from_data({2}, {1.0f, -1.0f});
  Tensor ya = batch_norm(x, rm, rv, w, b, false);
  expect_values(ya, {1.0f, -1.0f, 3.9999962f, 6.99984f}, 2e-5f);
}

TEST(BatchNorm, EvalOn4dBroadcastsPerChannel) {
  Tensor x = Tensor::full({1, 2, 2, 1}, 3.0f);
  Tensor rm = Tensor::from_data({2}, {1.0f, 3.0f});
  Tensor rv = Tensor::from_data({2}, {1.0f, 9.0f});
  Tensor y = batch_norm(x, rm, rv, Tensor(), Tensor(), false, 0.1f, 0.0f);
  expect_values(y, {2.0f, 2.0f, 0.0f, 0.0f});
}

TEST(BatchNorm, BadArgumentsThrow) {
  Tensor x = Tensor::ones({4, 3});
  // Eval mode needs running statistics.
  EXPECT_THROW(batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), false), Error);
  // Parameter shapes must be (C).
  EXPECT_THROW(batch_norm(x, Tensor(), Tensor(), Tensor::ones({2}), Tensor(), true), Error);
  // Training needs more than one value per channel; 1-D input is not (N, C).
  EXPECT_THROW(batch_norm(Tensor::ones({1, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true), Error);
  EXPECT_THROW(batch_norm(Tensor::ones({3}), Tensor(), Tensor(), Tensor(), Tensor(), true), Error);
}

// ---- softmax, log_softmax ---------------------------------------------------------

TEST(Softmax, KnownValuesAndRowsSumToOne) {
  Tensor y = softmax(Tensor::from_data({1, 3}, {1, 2, 3}), 1);
  expect_values(y, {0.09003057f, 0.24472847f, 0.66524096f});

  Generator gen(3);
  Tensor x = Tensor::randn({4, 5}, gen);
  Tensor s1 = softmax(x, 1);
  for (int64_t i = 0; i < 4; ++i) {
    double row = 0;
    for (int64_t j = 0; j < 5; ++j) row += s1.at({i, j});
    EXPECT_NEAR(row, 1.0, 1e-5) << "row " << i;
  }
  Tensor s0 = softmax(x, 0);
  for (int64_t j = 0; j < 5; ++j) {
    double col = 0;
    for (int64_t i = 0; i < 4; ++i) col += s0.at({i, j});
    EXPECT_NEAR(col, 1.0, 1e-5) << "column " << j;
  }
  // A shift of the inputs does not change softmax.
  Tensor shifted = softmax(add(x, Tensor::scalar(50.0f)), 1);
  for (int64_t i = 0; i < x.numel(); ++i) EXPECT_NEAR(shifted.data()[i], s1.data()[i], 1e-5f);
}

TEST(Softmax, LargeInputsStayFinite) {
  Tensor y = softmax(Tensor::from_data({2, 2}, {1000, 0, -1000, 0}), 1);
  expect_values(y, {1.0f, 0.0f, 0.0f, 1.0f});
}

TEST(LogSoftmax, KnownValuesAndStability) {
  // log softmax([1, 2, 3]) = x − log(e + e² + e³) = x − 3.4076059.
  expect_values(log_softmax(Tensor::from_data({1, 3}, {1, 2, 3}), 1),
                {-2.4076059f, -1.4076059f, -0.4076059f});
  // Over dim 0 of a column.
  expect_values(log_softmax(Tensor::from_data({3, 1}, {1, 2, 3}), 0),
                {-2.4076059f, -1.4076059f, -0.4076059f});
  // [1000, 0] would overflow exp without the shift.
  Tensor y = log_softmax(Tensor::from_data({2, 2}, {1000, 0, 0, -1000}), 1);
  for (int64_t i = 0; i < 4; ++i) EXPECT_TRUE(std::isfinite(y.data()[i])) << y.str();
  expect_values(y, {0.0f, -1000.0f, 0.0f, -1000.0f});
  // Its gradient (softmax − one-hot weights) is finite too.
  Tensor x = Tensor::from_data({1, 2}, {1000, 0});
  x.requires_grad_(true);
  backward(sum(mul(log_softmax(x, 1), Tensor::from_data({1, 2}, {1, 0}))));
  expect_values(x.grad(), {0.0f, 0.0f});
}

TEST(LogSoftmax, NegativeDimCountsFromTheEnd) {
  Tensor x = Tensor::from_data({2, 3}, {1, 2, 3, 0, 0, 0});
  Tensor a = log_softmax(x, -1), b = log_softmax(x, 1);
  for (int64_t i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(a.data()[i], b.data()[i]);
}

// ---- classification losses --------------------------------------------------------

TEST(CrossEntropy, KnownValues2x3) {
  // Row 0: logits [1, 2, 3], class 2: −log 0.66524096 = 0.40760596.
  // Row 1: logits [0, 0, 0], class 0: log 3 = 1.09861229.
  Tensor logits = Tensor::from_data({2, 3}, {1, 2, 3, 0, 0, 0});
  Tensor target = Tensor::from_data({2}, {2, 0});
  EXPECT_NEAR(cross_entropy(logits, target).item(), 0.75310913f, 1e-5f);
  EXPECT_NEAR(cross_entropy(logits, target, Reduction::Sum).item(), 1.50621825f, 1e-5f);
  Tensor none = cross_entropy(logits, target, Reduction::None);
  ASSERT_EQ(none.shape(), (Shape{2}));
  expect_values(none, {0.40760596f, 1.09861229f});
}

TEST(CrossEntropy, GradientIsSoftmaxMinusOneHot) {
  Tensor logits = Tensor::from_data({2, 3}, {1, 2, 3, 0, 0, 0});
  logits.requires_grad_(true);
  backward(cross_entropy(logits, Tensor::from_data({2}, {2, 0})));
  // (softmax − one_hot)/N.
  const float third = 1.0f / 3.0f;
  expect_values(logits.grad(), {0.09003057f / 2, 0.24472847f / 2, (0.66524096f - 1) / 2,
                                (third - 1) / 2, third / 2, third / 2});
}

TEST(CrossEntropy, TargetOutOfRangeThrows) {
  Tensor logits = Tensor::zeros({2, 3});
  EXPECT_THROW(cross_entropy(logits, Tensor::from_data({2}, {0, 3})), Error);
  EXPECT_THROW(cross_entropy(logits, Tensor::from_data({2}, {-1, 0})), Error);
  EXPECT_THROW(cross_entropy(logits, Tensor::from_data({2}, {0.5f, 1})), Error);
  EXPECT_THROW(cross_entropy(logits, Tensor::from_data({2}, {0, std::nanf("")})), Error);
  // One target per row.
  EXPECT_THROW(cross_entropy(logits, Tensor::from_data({3}, {0, 1, 2})), Error);
  EXPECT_NO_THROW(cross_entropy(logits, Tensor::from_data({2}, {0, 2})));
}

TEST(NllLoss, PicksTheTargetLogProbability) {
  Tensor lp = Tensor::from_data({2, 2}, {-1.0f, -2.0f, -0.5f, -3.0f});
  Tensor target = Tensor::from_data({2}, {1, 0});
  EXPECT_FLOAT_EQ(nll_loss(lp, target).item(), 1.25f);
  EXPECT_FLOAT_EQ(nll_loss(lp, target, Reduction::Sum).item(), 2.5f);
  expect_values(nll_loss(lp, target, Reduction::None), {2.0f, 0.5f});
  EXPECT_THROW(nll_loss(lp, Tensor::from_data({2}, {1, 2})), Error);
}

// ---- regression losses --------------------------------------------------------------

TEST(MseLoss, KnownValues) {
  // d = [1, 0, −2], d² = [1, 0, 4].
  Tensor x = Tensor::from_data({3}, {1, 2, 3});
  Tensor t = Tensor::from_data({3}, {0, 2, 5});
  EXPECT_NEAR(mse_loss(x, t).item(), 5.0f / 3.0f, 1e-6f);
  EXPECT_FLOAT_EQ(mse_loss(x, t, Reduction::Sum).item(), 5.0f);
  expect_values(mse_loss(x, t, Reduction::None), {1, 0, 4});
  EXPECT_THROW(mse_loss(x, Tensor::zeros({4})), Error);
}

TEST(L1Loss, KnownValues) {
  Tensor x = Tensor::from_data({3}, {1, 2, 3});
  Tensor t = Tensor::from_data({3}, {0, 2, 5});
  EXPECT_FLOAT_EQ(l1_loss(x, t).item(), 1.0f);
  EXPECT_FLOAT_EQ(l1_loss(x, t, Reduction::Sum).item(), 3.0f);
  expect_values(l1_loss(x, t, Reduction::None), {1, 0, 2});
  EXPECT_THROW(l1_loss(x, Tensor::zeros({3, 1})), Error);
}

TEST(BceWithLogits, KnownValues) {
  // loss = log(1 + eˣ) − x·y: x = 0, y = 1: log 2; x = 2, y = 0: log(1 + e²);
  // x = −1, y = 0.5: log(1 + e⁻¹) + 0.5.
  Tensor x = Tensor::from_data({3}, {0, 2, -1});
  Tensor y = Tensor::from_data({3}, {1, 0, 0.5f});
  expect_values(binary_cross_entropy_with_logits(x, y, Reduction::None),
                {0.69314718f, 2.12692801f, 0.81326169f});
  EXPECT_NEAR(binary_cross_entropy_with_logits(x, y).item(), 1.21111229f, 1e-5f);
  EXPECT_NEAR(binary_cross_entropy_with_logits(x, y, Reduction::Sum).item(), 3.63333688f, 1e-5f);
  EXPECT_THROW(binary_cross_entropy_with_logits(x, Tensor::zeros({2})), Error);
}

TEST(BceWithLogits, LargeLogitsStayFinite) {
  // Right with confidence: loss ≈ 0; wrong with confidence: loss ≈ 100.
  Tensor x = Tensor::from_data({4}, {100, -100, 100, -100});
  x.requires_grad_(true);
  Tensor y = Tensor::from_data({4}, {1, 0, 0, 1});
  Tensor loss = binary_cross_entropy_with_logits(x, y, Reduction::None);
  expect_values(loss, {0.0f, 0.0f, 100.0f, 100.0f});
  backward(sum(loss));
  // d/dx = σ(x) − y.
  expect_values(x.grad(), {0.0f, 0.0f, 1.0f, -1.0f});
  // Small losses keep their precision: log(1 + e⁻¹⁵) ≈ 3.059e-7, not 0.
  Tensor small = binary_cross_entropy_with_logits(Tensor::from_data({2}, {15, -15}),
                                                  Tensor::from_data({2}, {1, 0}), Reduction::None);
  expect_values(small, {3.0590232e-7f, 3.0590232e-7f}, 1e-10f);
}

TEST(BceWithLogits, GradientAtZeroLogitIsHalfMinusTarget) {
  // d/dx [log(1 + eˣ) − x·y] = σ(x) − y, which is 0.5 − y at x = 0 (a zero-initialised
  // output layer gives exactly that logit).
  Tensor x = Tensor::zeros({3});
  x.requires_grad_(true);
  Tensor y = Tensor::from_data({3}, {1.0f, 0.25f, 0.0f});
  backward(binary_cross_entropy_with_logits(x, y, Reduction::Sum));
  expect_values(x.grad(), {-0.5f, 0.25f, 0.5f});
}

// ---- dropout ------------------------------------------------------------------------

TEST(Dropout, ZeroProbabilityAndEvalAreIdentity) {
  Generator gen(1);
  Tensor x = Tensor::from_data({2, 3}, {1, -2, 3, -4, 5, -6});
  expect_values(dropout(x, 0.0f, true, gen), {1, -2, 3, -4, 5, -6});
  expect_values(dropout(x, 0.5f, false, gen), {1, -2, 3, -4, 5, -6});
  expect_values(dropout(x, 0.9f, false, gen), {1, -2, 3, -4, 5, -6});
}

TEST(Dropout, TrainingDropsAboutHalfAndScalesTheRest) {
  Generator gen(2);
  Tensor x = Tensor::full({100, 100}, 1.5f);
  Tensor y = dropout(x, 0.5f, true, gen);
  int64_t zeros = 0;
  for (int64_t i = 0; i < y.numel(); ++i) {
    const float v = y.data()[i];
    if (v == 0.0f)
      ++zeros;
    else
      EXPECT_FLOAT_EQ(v, 3.0f) << "element " << i;  // kept values scaled by 1/(1 − p) = 2
  }
  EXPECT_GT(zeros, 4700);
  EXPECT_LT(zeros, 5300);
  // p = 0.2: about a fifth dropped, the rest scaled by 1.25.
  Tensor z = dropout(Tensor::ones({100, 100}), 0.2f, true, gen);
  int64_t dropped = 0;
  for (int64_t i = 0; i < z.numel(); ++i) {
    if (z.data()[i] == 0.0f)
      ++dropped;
    else
      EXPECT_FLOAT_EQ(z.data()[i], 1.25f);
  }
  EXPECT_GT(dropped, 1800);
  EXPECT_LT(dropped, 2200);
}

TEST(Dropout, SameSeedSameMaskAndGradientFollowsIt) {
  Tensor x = Tensor::ones({50});
  x.requires_grad_(true);
  Generator g1(9), g2(9);
  Tensor a = dropout(x, 0.5f, true, g1);
  Tensor b = dropout(x, 0.5f, true, g2);
  for (int64_t i = 0; i < 50; ++i) EXPECT_EQ(a.data()[i], b.data()[i]);
  backward(sum(a));
  // The gradient is the mask itself: 2 where kept, 0 where dropped.
  for (int64_t i = 0; i < 50; ++i) EXPECT_EQ(x.grad().data()[i], a.data()[i]);
}

TEST(Dropout, ProbabilityOneDropsEverything) {
  Generator gen(4);
  Tensor y = dropout(Tensor::ones({10}), 1.0f, true, gen);
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(y.data()[i], 0.0f);
}

TEST(Dropout, ProbabilityOutsideUnitIntervalThrows) {
  Generator gen(5);
  Tensor x = Tensor::ones({4});
  EXPECT_THROW(dropout(x, -0.1f, true, gen), Error);
  EXPECT_THROW(dropout(x, 1.5f, true, gen), Error);
  EXPECT_THROW(dropout(x, 1.5f, false, gen), Error);
  EXPECT_THROW(dropout(x, std::numeric_limits<float>::quiet_NaN(), true, gen), Error);
}
