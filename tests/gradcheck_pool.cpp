// Gradient checks for pooling, resampling and local response normalisation, first
// and second order. The linear ops (average pooling, upsampling, channel windows) and
// max pooling have a zero second derivative of their own, so their second-order
// checks square the op's output: the gradient then depends on the input through the
// op, and its derivative runs through the backward of the op's backward.
#include <algorithm>

#include "gradcheck.h"

using namespace adx;
using namespace adx::testing;

namespace {

// Pooling and resampling are (piecewise) linear, so central differences are exact up
// to float rounding: a tighter tolerance than the harness default catches a gradient
// that is a few percent off even where the gradients are small (averages of 9 or 12).
const GradcheckOptions kLinear{1e-3, 1e-3, 1e-3, 1234};

// Distinct values in [-1, 1) at least 2/numel apart (a shuffled ramp), requiring grad:
// max pooling has no ties, and no perturbation of ±eps reorders a window.
Tensor distinct(const Shape& shape, uint64_t seed) {
  const int64_t n = shape_numel(shape);
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = -1.0f + 2.0f * static_cast<float>(i) / static_cast<float>(n);
  Generator gen(seed);
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(v[static_cast<size_t>(i)], v[static_cast<size_t>(gen.below(static_cast<uint64_t>(i + 1)))]);
  Tensor t = Tensor::from_data(shape, v);
  t.requires_grad_(true);
  return t;
}

Pool2dOptions pool(int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t top, int64_t bottom,
                   int64_t left, int64_t right, bool ceil_mode = false,
                   bool count_include_pad = true) {
  return {kh, kw, sh, sw, top, bottom, left, right, ceil_mode, count_include_pad};
}

::testing::AssertionResult check_max(const Shape& shape, const Pool2dOptions& o) {
  Fn f = [o](const std::vector<Tensor>& in) { return max_pool2d(in[0], o); };
  return gradcheck(f, {distinct(shape, 7)}, kLinear);
}

::testing::AssertionResult check_avg(const Shape& shape, const Pool2dOptions& o) {
  Fn f = [o](const std::vector<Tensor>& in) { return avg_pool2d(in[0], o); };
  return gradcheck(f, {uniform(shape, -1, 1, 8)}, kLinear);
}

::testing::AssertionResult check_upsample(const Shape& shape, int64_t oh, int64_t ow,
                                          UpsampleMode mode, bool align_corners) {
  Fn f = [=](const std::vector<Tensor>& in) { return upsample(in[0], oh, ow, mode, align_corners); };
  return gradcheck(f, {uniform(shape, -1, 1, 9)}, kLinear);
}

// gradgradcheck of op(x)², so that the second derivative goes through op's backward.
::testing::AssertionResult check_squared_second_order(std::function<Tensor(const Tensor&)> op,
                                                      Tensor x) {
  Fn f = [op](const std::vector<Tensor>& in) {
    Tensor y = op(in[0]);
    return mul(y, y);
  };
  return gradgradcheck(f, {x}, kLinear);
}

}  // namespace

// ---- max_pool2d -------------------------------------------------------------------

TEST(GradcheckMaxPool2d, Kernel2Stride2) {
  EXPECT_TRUE(check_max({2, 3, 6, 6}, Pool2dOptions::make(2, 2)));
}

TEST(GradcheckMaxPool2d, Kernel3Stride2CeilMode) {
  // 6×6 → 3×3, the last window hanging over the edge.
  EXPECT_TRUE(check_max({2, 3, 6, 6}, Pool2dOptions::make(3, 2, 0, true)));
}

TEST(GradcheckMaxPool2d, OverlappingWindowsWithPadding) {
  EXPECT_TRUE(check_max({2, 2, 7, 7}, Pool2dOptions::make(3, 2, 1)));
}

TEST(GradcheckMaxPool2d, AsymmetricPaddingAsMatConvNet) {
  // top 0, bottom 1, left 1, right 0.
  EXPECT_TRUE(check_max({2, 3, 5, 5}, pool(2, 2, 2, 2, 0, 1, 1, 0)));
}

TEST(GradcheckMaxPool2d, NonSquareKernelAndStride) {
  EXPECT_TRUE(check_max({2, 2, 7, 6}, pool(3, 2, 2, 1, 0, 0, 0, 0)));
}

// ---- avg_pool2d -------------------------------------------------------------------

TEST(GradcheckAvgPool2d, Kernel2Stride2) {
  EXPECT_TRUE(check_avg({2, 3, 6, 6}, Pool2dOptions::make(2, 2)));
}

TEST(GradcheckAvgPool2d, PaddingCountIncludePad) {
  EXPECT_TRUE(check_avg({2, 3, 5, 5}, pool(3, 3, 2, 2, 1, 1, 1, 1, false, true)));
}

TEST(GradcheckAvgPool2d, PaddingCountExcludePad) {
  EXPECT_TRUE(check_avg({2, 3, 5, 5}, pool(3, 3, 2, 2, 1, 1, 1, 1, false, false)));
}

TEST(GradcheckAvgPool2d, CeilMode) {
  EXPECT_TRUE(check_avg({2, 3, 6, 6}, Pool2dOptions::make(3, 2, 0, true)));
}

TEST(GradcheckAvgPool2d, CeilModePaddingExcludePad) {
  EXPECT_TRUE(check_avg({2, 2, 5, 6}, pool(3, 3, 2, 2, 1, 1, 1, 1, true, false)));
}

TEST(GradcheckAvgPool2d, AsymmetricPadding) {
  EXPECT_TRUE(check_avg({2, 2, 5, 5}, pool(2, 3, 2, 2, 0, 1, 1, 0, false, true)));
}

// ---- adaptive_avg_pool2d ------------------------------------------------------------

TEST(GradcheckAdaptiveAvgPool2d, FiveBySevenToThreeByTwo) {
  Fn f = [](const std::vector<Tensor>& in) { return adaptive_avg_pool2d(in[0], 3, 2); };
  EXPECT_TRUE(gradcheck(f, {uniform({2, 3, 5, 7}, -1, 1, 10)}, kLinear));
}

TEST(GradcheckAdaptiveAvgPool2d, ToOneByOne) {
  Fn f = [](const std::vector<Tensor>& in) { return adaptive_avg_pool2d(in[0], 1, 1); };
  EXPECT_TRUE(gradcheck(f, {uniform({2, 3, 5, 7}, -1, 1, 11)}, kLinear));
}

TEST(GradcheckAdaptiveAvgPool2d, OverlappingWindows) {
  Fn f = [](const std::vector<Tensor>& in) { return adaptive_avg_pool2d(in[0], 4, 5); };
  EXPECT_TRUE(gradcheck(f, {uniform({2, 2, 5, 7}, -1, 1, 12)}, kLinear));
}

// ---- upsample -----------------------------------------------------------------------

TEST(GradcheckUpsample, NearestUp) {
  EXPECT_TRUE(check_upsample({2, 3, 3, 4}, 6, 7, UpsampleMode::Nearest, false));
}

TEST(GradcheckUpsample, NearestDown) {
  EXPECT_TRUE(check_upsample({2, 3, 7, 6}, 3, 4, UpsampleMode::Nearest, false));
}

TEST(GradcheckUpsample, BilinearUp) {
  EXPECT_TRUE(check_upsample({2, 3, 3, 4}, 7, 6, UpsampleMode::Bilinear, false));
}

TEST(GradcheckUpsample, BilinearDown) {
  EXPECT_TRUE(check_upsample({2, 3, 7, 6}, 4, 3, UpsampleMode::Bilinear, false));
}

TEST(GradcheckUpsample, BilinearAlignCornersUp) {
  EXPECT_TRUE(check_upsample({2, 3, 3, 4}, 7, 6, UpsampleMode::Bilinear, true));
}

TEST(GradcheckUpsample, BilinearAlignCornersDown) {
  EXPECT_TRUE(check_upsample({2, 3, 7, 6}, 4, 3, UpsampleMode::Bilinear, true));
}

// ---- channel windows and LRN -----------------------------------------------------------

TEST(GradcheckChannelWindowSum, AsymmetricWindow) {
  Fn f = [](const std::vector<Tensor>& in) { return channel_window_sum(in[0], 2, 1); };
  EXPECT_TRUE(gradcheck(f, {uniform({2, 6, 3, 3}, -1, 1, 13)}, kLinear));
}

TEST(GradcheckChannelWindowSum, ForwardOnlyWindow) {
  Fn f = [](const std::vector<Tensor>& in) { return channel_window_sum(in[0], 0, 3); };
  EXPECT_TRUE(gradcheck(f, {uniform({2, 5, 2, 3}, -1, 1, 14)}, kLinear));
}

TEST(GradcheckLocalResponseNorm, Size5AlphaPerSize) {
  Fn f = [](const std::vector<Tensor>& in) {
    return local_response_norm(in[0], 5, 0.5f, 0.75f, 1.0f, true);
  };
  EXPECT_TRUE(gradcheck(f, {uniform({2, 7, 3, 3}, -2, 2, 15)}));
}

TEST(GradcheckLocalResponseNorm, Size5AlphaNotPerSize) {
  Fn f = [](const std::vector<Tensor>& in) {
    return local_response_norm(in[0], 5, 0.5f, 0.75f, 2.0f, false);
  };
  EXPECT_TRUE(gradcheck(f, {uniform({2, 7, 3, 3}, -2, 2, 16)}));
}

TEST(GradcheckLocalResponseNorm, EvenSize) {
  Fn f = [](const std::vector<Tensor>& in) {
    return local_response_norm(in[0], 4, 1.0f, 0.6f, 1.5f, true);
  };
  EXPECT_TRUE(gradcheck(f, {uniform({2, 5, 3, 2}, -2, 2, 17)}));
}

// ---- second order ------------------------------------------------------------------

TEST(GradcheckMaxPool2d, SecondOrder) {
  const Pool2dOptions o = Pool2dOptions::make(3, 2, 0, true);
  EXPECT_TRUE(check_squared_second_order([o](const Tensor& x) { return max_pool2d(x, o); },
                                         distinct({2, 2, 6, 6}, 18)));
}

TEST(GradcheckAvgPool2d, SecondOrder) {
  const Pool2dOptions o = pool(3, 3, 2, 2, 1, 1, 1, 1, true, false);
  EXPECT_TRUE(check_squared_second_order([o](const Tensor& x) { return avg_pool2d(x, o); },
                                         uniform({2, 2, 5, 6}, -1, 1, 19)));
}

TEST(GradcheckAdaptiveAvgPool2d, SecondOrder) {
  EXPECT_TRUE(check_squared_second_order([](const Tensor& x) { return adaptive_avg_pool2d(x, 3, 2); },
                                         uniform({2, 2, 5, 7}, -1, 1, 20)));
}

TEST(GradcheckUpsample, SecondOrderBilinear) {
  EXPECT_TRUE(check_squared_second_order(
      [](const Tensor& x) { return upsample(x, 7, 5, UpsampleMode::Bilinear, false); },
      uniform({2, 2, 3, 4}, -1, 1, 21)));
}

TEST(GradcheckUpsample, SecondOrderBilinearAlignCorners) {
  EXPECT_TRUE(check_squared_second_order(
      [](const Tensor& x) { return upsample(x, 3, 6, UpsampleMode::Bilinear, true); },
      uniform({2, 2, 5, 4}, -1, 1, 22)));
}

TEST(GradcheckChannelWindowSum, SecondOrder) {
  EXPECT_TRUE(check_squared_second_order([](const Tensor& x) { return channel_window_sum(x, 2, 1); },
                                         uniform({2, 5, 2, 2}, -1, 1, 23)));
}

TEST(GradcheckLocalResponseNorm, SecondOrder) {
  Fn f = [](const std::vector<Tensor>& in) {
    return local_response_norm(in[0], 5, 0.5f, 0.75f, 1.0f, true);
  };
  EXPECT_TRUE(gradgradcheck(f, {uniform({2, 6, 2, 3}, -2, 2, 24)}));
}

TEST(GradcheckLocalResponseNorm, SecondOrderAlphaNotPerSize) {
  Fn f = [](const std::vector<Tensor>& in) {
    return local_response_norm(in[0], 5, 0.5f, 0.75f, 2.0f, false);
  };
  EXPECT_TRUE(gradgradcheck(f, {uniform({2, 6, 2, 3}, -2, 2, 25)}));
}
