// Known values for convolution, pooling, resampling and LRN, worked out by hand (the
// comments show the arithmetic) following torch's definitions, plus the adjoint
// identities between the convolution ops and the errors the ops must raise.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/autograd.h"
#include "engine/cpu/conv_winograd.h"
#include "engine/cpu/parallel.h"
#include "engine/ops.h"
#include "engine/random.h"

using namespace adx;

namespace {

// x (1, 1, h, w) = 1, 2, 3, ... row by row.
Tensor ramp(int64_t h, int64_t w) {
  return Tensor::arange(1.0f, static_cast<float>(h * w) + 1.0f).reshape({1, 1, h, w});
}

::testing::AssertionResult values_are(const Tensor& t, const Shape& shape,
                                      const std::vector<float>& expected, float tol = 1e-5f) {
  if (t.shape() != shape)
    return ::testing::AssertionFailure()
           << "shape " << shape_str(t.shape()) << ", expected " << shape_str(shape);
  const std::vector<float> got = t.to_vector();
  if (got.size() != expected.size())
    return ::testing::AssertionFailure() << got.size() << " values, expected " << expected.size();
  for (size_t i = 0; i < got.size(); ++i)
    if (!(std::fabs(got[i] - expected[i]) <= tol * std::max(1.0f, std::fabs(expected[i]))))
      return ::testing::AssertionFailure()
             << "element " << i << " is " << got[i] << ", expected " << expected[i] << " in "
             << t.str();
  return ::testing::AssertionSuccess();
}

Tensor randn(const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  return Tensor::randn(shape, gen);
}

double dot(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  double s = 0.0;
  for (int64_t i = 0; i < a.numel(); ++i) s += static_cast<double>(a.data()[i]) * b.data()[i];
  return s;
}

Conv2dOptions opts(int64_t stride_h, int64_t stride_w, int64_t pad_h, int64_t pad_w,
                   int64_t dilation_h = 1, int64_t dilation_w = 1, int64_t groups = 1) {
  return {stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, groups};
}

Pool2dOptions pool(int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t top, int64_t bottom,
                   int64_t left, int64_t right, bool ceil_mode = false,
                   bool count_include_pad = true) {
  return {kh, kw, sh, sw, top, bottom, left, right, ceil_mode, count_include_pad};
}

}  // namespace

// ---- conv2d -------------------------------------------------------------------------

// x = [[1,2,3],[4,5,6],[7,8,9]] in the tests below.
TEST(Conv2d, OnesKernelGivesWindowSums) {
  Tensor y = conv2d(ramp(3, 3), Tensor::ones({1, 1, 2, 2}));
  // 1+2+4+5, 2+3+5+6, 4+5+7+8, 5+6+8+9
  EXPECT_TRUE(values_are(y, {1, 1, 2, 2}, {12, 16, 24, 28}));
}

TEST(Conv2d, KernelIsNotFlipped) {
  // Cross-correlation as torch: y[0][0] = 1·1 + 2·2 + 3·4 + 4·5 = 37.
  Tensor w = Tensor::from_data({1, 1, 2, 2}, {1, 2, 3, 4});
  EXPECT_TRUE(values_are(conv2d(ramp(3, 3), w), {1, 1, 2, 2}, {37, 47, 67, 77}));
}

TEST(Conv2d, Bias) {
  Tensor y = conv2d(ramp(3, 3), Tensor::ones({2, 1, 2, 2}), Tensor::from_data({2}, {10, -1}));
  EXPECT_TRUE(values_are(y, {1, 2, 2, 2}, {22, 26, 34, 38, 11, 15, 23, 27}));
}

TEST(Conv2d, Padding1Stride2) {
  // Windows of the zero-padded 5×5 input start at rows/cols −1 and 1:
  // {1}, {2,3}, {4,7}, {5,6,8,9}.
  Tensor y = conv2d(ramp(3, 3), Tensor::ones({1, 1, 2, 2}), Tensor(), Conv2dOptions::make(2, 1));
  EXPECT_TRUE(values_are(y, {1, 1, 2, 2}, {1, 5, 11, 28}));
}

TEST(Conv2d, Dilation2) {
  // A 2×2 kernel dilated by 2 reads the four corners: 1·1 + 2·3 + 3·7 + 4·9.
  Tensor w = Tensor::from_data({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor y = conv2d(ramp(3, 3), w, Tensor(), Conv2dOptions::make(1, 0, 2));
  EXPECT_TRUE(values_are(y, {1, 1, 1, 1}, {64}));
}

TEST(Conv2d, NonSquareKernel) {
  // Kernel (1, 2) = [1, 10]: y[i][j] = x[i][j] + 10·x[i][j+1].
  Tensor w = Tensor::from_data({1, 1, 1, 2}, {1, 10});
  EXPECT_TRUE(values_are(conv2d(ramp(3, 3), w), {1, 1, 3, 2}, {21, 32, 54, 65, 87, 98}));
}

TEST(Conv2d, AsymmetricStrideAndPadding) {
  // 1×1 kernel, stride (2, 1), padding (0, 1): rows 0 and 2, a zero column each side.
  Tensor y = conv2d(ramp(3, 3), Tensor::ones({1, 1, 1, 1}), Tensor(), opts(2, 1, 0, 1));
  EXPECT_TRUE(values_are(y, {1, 1, 2, 5}, {0, 1, 2, 3, 0, 0, 7, 8, 9, 0}));
}

TEST(Conv2d, Groups) {
  // Two groups of one channel: channel 0 scaled by 2, channel 1 by 3, no mixing.
  Tensor x = Tensor::from_data({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  Tensor w = Tensor::from_data({2, 1, 1, 1}, {2, 3});
  Conv2dOptions o;
  o.groups = 2;
  EXPECT_TRUE(values_are(conv2d(x, w, Tensor(), o), {1, 2, 2, 2}, {2, 4, 6, 8, 15, 18, 21, 24}));
  // Without groups a (1, 2, 1, 1) kernel mixes the channels: 2·x0 + 3·x1.
  Tensor w1 = Tensor::from_data({1, 2, 1, 1}, {2, 3});
  EXPECT_TRUE(values_are(conv2d(x, w1), {1, 1, 2, 2}, {17, 22, 27, 32}));
}

TEST(Conv2d, GroupsWithTwoOutputsPerGroup) {
  // 4 input channels in 2 groups, 4 outputs: outputs 0,1 read channels 0,1; outputs
  // 2,3 read channels 2,3. Channel c of x is the constant c + 1.
  Tensor x = Tensor::zeros({1, 4, 1, 1});
  for (int c = 0; c < 4; ++c) x.data()[c] = static_cast<float>(c + 1);
  Tensor w = Tensor::from_data({4, 2, 1, 1}, {1, 0, 0, 1, 1, 1, 1, -1});
  Conv2dOptions o;
  o.groups = 2;
  // [x0, x1, x2 + x3, x2 − x3] = [1, 2, 7, −1]
  EXPECT_TRUE(values_are(conv2d(x, w, Tensor(), o), {1, 4, 1, 1}, {1, 2, 7, -1}));
  // Each output channel gets its own bias, in both groups.
  EXPECT_TRUE(values_are(conv2d(x, w, Tensor::from_data({4}, {10, 20, 30, 40}), o), {1, 4, 1, 1},
                         {11, 22, 37, 39}));
}

// A direct six-loop convolution, the definition itself, in double: y = conv(x, w) + b
// and, for an output gradient gy, the two adjoints.
struct DirectConv {
  std::vector<double> y, x_grad, w_grad;
};
DirectConv direct_conv(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& gy,
                       const Conv2dOptions& o) {
  const int64_t n = x.size(0), ch = x.size(1), h = x.size(2), wd = x.size(3);
  const int64_t oc = w.size(0), cg = w.size(1), kh = w.size(2), kw = w.size(3);
  const int64_t oh = gy.size(2), ow = gy.size(3), og = oc / o.groups;
  DirectConv d{std::vector<double>(static_cast<size_t>(gy.numel())), std::vector<double>(static_cast<size_t>(x.numel())),
               std::vector<double>(static_cast<size_t>(w.numel()))};
  std::vector<double>&ref = d.y, &gx = d.x_grad, &gw = d.w_grad;
  for (int64_t ni = 0; ni < n; ++ni)
    for (int64_t oi = 0; oi < oc; ++oi)
      for (int64_t yy = 0; yy < oh; ++yy)
        for (int64_t xx = 0; xx < ow; ++xx) {
          const int64_t out_at = ((ni * oc + oi) * oh + yy) * ow + xx;
          double acc = b.data()[oi];
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t i = 0; i < kh; ++i)
              for (int64_t j = 0; j < kw; ++j) {
                const int64_t iy = yy * o.stride_h - o.pad_h + i * o.dilation_h;
                const int64_t ix = xx * o.stride_w - o.pad_w + j * o.dilation_w;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                const int64_t in_c = (oi / og) * cg + ci;
                const int64_t x_at = ((ni * ch + in_c) * h + iy) * wd + ix;
                const int64_t w_at = ((oi * cg + ci) * kh + i) * kw + j;
                acc += static_cast<double>(x.data()[x_at]) * w.data()[w_at];
                gx[static_cast<size_t>(x_at)] += static_cast<double>(gy.data()[out_at]) * w.data()[w_at];
                gw[static_cast<size_t>(w_at)] += static_cast<double>(gy.data()[out_at]) * x.data()[x_at];
              }
          ref[static_cast<size_t>(out_at)] = acc;
        }
  return d;
}

// A direct six-loop convolution, the definition itself, against the im2col + GEMM
// kernels: small cases run image by image, the large one runs the images in parallel.
TEST(Conv2d, MatchesDirectLoops) {
  struct Case {
    Shape x, w;
    Conv2dOptions o;
  };
  const std::vector<Case> cases = {
      {{2, 3, 5, 5}, {4, 3, 3, 3}, {}},
      {{3, 4, 7, 6}, {6, 2, 3, 2}, opts(2, 1, 1, 2, 2, 1, 2)},
      {{4, 8, 16, 15}, {8, 4, 3, 3}, opts(1, 1, 1, 1, 1, 2, 2)},  // ≥ 2^17 multiply-adds
      {{5, 8, 16, 15}, {9, 8, 3, 3}, opts(1, 1, 1, 1)},           // 2 + 3 images per thread, chunks of ≤ 2
      {{2, 6, 14, 14}, {5, 6, 5, 5}, {}},                         // narrow stride-1 rows (LeNet)
      {{3, 2, 9, 8}, {4, 2, 4, 4}, opts(2, 2, 1, 1)},             // stride 2 with padding (DCGAN)
      {{2, 3, 1, 1}, {4, 3, 3, 3}, opts(1, 1, 1, 1)},             // eight taps read only padding
      {{2, 3, 2, 3}, {4, 3, 3, 3}, opts(2, 2, 1, 1)},             // some taps read only padding
      {{1, 3, 23, 21}, {4, 3, 11, 11}, opts(4, 4, 2, 2)},         // VGG-F's first layer, smaller
      {{2, 2, 11, 13}, {3, 2, 3, 2}, opts(3, 2, 2, 3, 2, 3)},     // stride, dilation, wide padding
      {{9, 5, 14, 14}, {6, 5, 4, 4}, opts(2, 2, 1, 1)},           // the WGAN-GP critic's second layer: 7-wide rows
      {{3, 2, 6, 7}, {3, 2, 3, 3}, opts(1, 1, 2, 1, 2, 1)},       // short rows with dilation: up to 9 readers a pixel
      {{3, 4, 5, 5}, {6, 2, 3, 3}, opts(2, 2, 1, 1, 1, 1, 2)},    // short rows in two groups
      {{4, 3, 6, 6}, {5, 3, 1, 1}, opts(2, 2, 0, 0)},             // 1×1 stride 2: odd pixels read by no tap
      // The direct path (stride 1, at most 3 input and 8 output channels): LeNet's first
      // layer, a one-pixel tail after a whole vector, unequal padding, and 9 outputs
      // (one past the direct path) beside it.
      {{4, 1, 28, 28}, {6, 1, 5, 5}, opts(1, 1, 2, 2)},
      {{3, 2, 9, 9}, {7, 2, 3, 3}, opts(1, 1, 1, 1)},
      {{5, 3, 4, 20}, {8, 3, 2, 4}, opts(1, 1, 0, 2)},
      {{5, 3, 4, 20}, {9, 3, 2, 4}, opts(1, 1, 0, 2)},
  };
  const int saved_threads = cpu::num_threads();
  cpu::set_num_threads(2);
  uint64_t seed = 200;
  for (const Case& c : cases) {
    const Conv2dOptions& o = c.o;
    Tensor x = randn(c.x, seed++), w = randn(c.w, seed++), b = randn({c.w[0]}, seed++);
    Tensor y = conv2d(x, w, b, o);
    const int64_t n = c.x[0], h = c.x[2], wd = c.x[3];
    const int64_t oc = c.w[0], kh = c.w[2], kw = c.w[3];
    ASSERT_EQ(y.shape(), (Shape{n, oc, (h + 2 * o.pad_h - o.dilation_h * (kh - 1) - 1) / o.stride_h + 1,
                                (wd + 2 * o.pad_w - o.dilation_w * (kw - 1) - 1) / o.stride_w + 1}));
    // Reference forward, and the two adjoints for a random output gradient gy.
    Tensor gy = randn(y.shape(), seed++);
    const DirectConv d = direct_conv(x, w, b, gy, o);
    const std::vector<double>&ref = d.y, &gx = d.x_grad, &gw = d.w_grad;
    auto as_float = [](const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); };
    EXPECT_TRUE(values_are(y, y.shape(), as_float(ref), 1e-4f)) << shape_str(c.x);
    EXPECT_TRUE(values_are(conv_transpose2d_sized(gy, w, o, h, wd), x.shape(), as_float(gx), 1e-4f))
        << shape_str(c.x);
    EXPECT_TRUE(values_are(conv2d_weight_grad(x, gy, o, kh, kw), w.shape(), as_float(gw), 1e-4f))
        << shape_str(c.x);
  }
  cpu::set_num_threads(saved_threads);
}

// The Winograd paths (conv_winograd.cpp: F(4×4, 2×2) for 4×4 kernels at stride 2,
// F(2×2, 3×3) for 3×3 kernels at stride 1, both with padding 1) against the direct
// loops. Their transforms add terms larger than the result, so the error is bounded
// against the tensor's largest value rather than element by element: measured
// 0.7–7e-6 of it here for F(4×4, 2×2) and 1–4e-7 for F(2×2, 3×3), bound 2e-5 (the
// im2col path's, with ADX_WINOGRAD=0: 0.5–5e-7).
// Cases: the critic's second layer (smaller batch); odd and uneven sizes whose last
// tiles hang over the map; several tiles a side; 1×1 and 2×2 outputs; a single image
// (the products threaded instead of the images); ResNet's and VGG-F's 3×3 layers.
TEST(Conv2d, WinogradMatchesDirectLoops) {
  struct Case {
    Shape x, w;
    int64_t stride;
  };
  const std::vector<Case> cases = {
      {{5, 64, 14, 14}, {128, 64, 4, 4}, 2}, {{2, 24, 9, 11}, {16, 24, 4, 4}, 2}, {{3, 16, 28, 28}, {16, 16, 4, 4}, 2},
      {{3, 16, 2, 2}, {16, 16, 4, 4}, 2},    {{1, 16, 5, 3}, {32, 16, 4, 4}, 2},    {{3, 64, 8, 8}, {64, 64, 3, 3}, 1},
      {{2, 32, 5, 7}, {16, 32, 3, 3}, 1},    {{5, 16, 2, 2}, {32, 16, 3, 3}, 1},    {{1, 16, 13, 13}, {16, 16, 3, 3}, 1},
      {{3, 16, 3, 2}, {16, 16, 3, 3}, 1},
  };
  const int saved_threads = cpu::num_threads();
  cpu::set_num_threads(2);
  uint64_t seed = 300;
  // max |got − want| / max |want|
  auto error = [](const Tensor& got, const std::vector<double>& want) {
    const std::vector<float> g = got.to_vector();
    double worst = 0, scale = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      worst = std::max(worst, std::fabs(g[i] - want[i]));
      scale = std::max(scale, std::fabs(want[i]));
    }
    return worst / scale;
  };
  for (const Case& c : cases) {
    const Conv2dOptions o = Conv2dOptions::make(c.stride, 1);
    const int64_t k = c.w[2];
    Tensor x = randn(c.x, seed++), w = randn(c.w, seed++), b = randn({c.w[0]}, seed++);
    const cpu::ConvGeometry g{c.x[0], c.x[1], c.x[2], c.x[3], c.w[0], k, k, (c.x[2] + 2 - k) / c.stride + 1,
                              (c.x[3] + 2 - k) / c.stride + 1, o};
    ASSERT_TRUE(cpu::conv2d_winograd_applies(g)) << shape_str(c.x) << " " << shape_str(c.w);
    Tensor y = conv2d(x, w, b, o);
    ASSERT_EQ(y.shape(), (Shape{g.n, g.o, g.oh, g.ow}));
    Tensor gy = randn(y.shape(), seed++);
    const DirectConv d = direct_conv(x, w, b, gy, o);
    EXPECT_LT(error(y, d.y), 2e-5) << shape_str(c.x) << " " << shape_str(c.w);
    EXPECT_LT(error(conv_transpose2d_sized(gy, w, o, c.x[2], c.x[3]), d.x_grad), 2e-5) << shape_str(c.x);
    EXPECT_LT(error(conv2d_weight_grad(x, gy, o, k, k), d.w_grad), 2e-5) << shape_str(c.x);
  }
  // Left to the im2col path: 1-pixel outputs of the 3×3 kernel, channels that are not
  // multiples of 16 (3×3) or 8 (4×4), other strides and paddings, groups.
  auto applies = [](Shape x, Shape w, Conv2dOptions o) {
    const int64_t oh = (x[2] + 2 * o.pad_h - w[2]) / o.stride_h + 1, ow = (x[3] + 2 * o.pad_w - w[3]) / o.stride_w + 1;
    return cpu::conv2d_winograd_applies({x[0], x[1], x[2], x[3], w[0], w[2], w[3], oh, ow, o});
  };
  EXPECT_FALSE(applies({2, 64, 1, 1}, {64, 64, 3, 3}, Conv2dOptions::make(1, 1)));
  EXPECT_FALSE(applies({2, 24, 8, 8}, {32, 24, 3, 3}, Conv2dOptions::make(1, 1)));
  EXPECT_FALSE(applies({2, 12, 8, 8}, {32, 12, 4, 4}, Conv2dOptions::make(2, 1)));
  EXPECT_FALSE(applies({2, 16, 8, 8}, {16, 16, 3, 3}, Conv2dOptions::make(2, 1)));
  EXPECT_FALSE(applies({2, 16, 8, 8}, {16, 16, 3, 3}, Conv2dOptions::make(1, 0)));
  cpu::set_num_threads(saved_threads);
}

// An inf in the last input column reaches only the taps that read it from a valid
// output position; every other tap's weight gradient stays finite. The direct path's
// last vector reads past the row end, and must not turn 0 · inf into NaN there.
TEST(Conv2d, WeightGradientOfAnInfPixelStaysInItsTaps) {
  Tensor x = randn({2, 1, 28, 28}, 400);
  std::vector<float> v = x.to_vector();
  v[5 * 28 + 27] = INFINITY;  // image 0, row 5, last column
  x = Tensor::from_data(x.shape(), v);
  const Conv2dOptions o = opts(1, 1, 2, 2);
  const Tensor gy = randn({2, 6, 28, 28}, 401);
  const std::vector<float> gw = conv2d_weight_grad(x, gy, o, 5, 5).to_vector();
  for (int64_t oc = 0; oc < 6; ++oc)
    for (int64_t i = 0; i < 5; ++i)
      for (int64_t j = 0; j < 5; ++j) {
        // Tap (i, j) reads column 27 from output column 27 + 2 − j, valid for j ≥ 2,
        // and row 5 from output row 5 + 2 − i, always valid here.
        const float g = gw[static_cast<size_t>((oc * 5 + i) * 5 + j)];
        if (j < 2) EXPECT_TRUE(std::isfinite(g)) << "tap " << i << "," << j << ": " << g;
        else EXPECT_FALSE(std::isfinite(g)) << "tap " << i << "," << j;
      }
}

TEST(Conv2d, OutputSizes) {
  Tensor x = Tensor::zeros({2, 3, 7, 6});
  EXPECT_EQ(conv2d(x, Tensor::zeros({5, 3, 3, 3})).shape(), (Shape{2, 5, 5, 4}));
  // (7 + 2 − 2·2 − 1)/2 + 1 = 3, (6 + 2 − 2 − 1)/1 + 1 = 6
  EXPECT_EQ(conv2d(x, Tensor::zeros({5, 3, 3, 2}), Tensor(), opts(2, 1, 1, 1, 2, 2)).shape(),
            (Shape{2, 5, 3, 6}));
  // Stride 2 where the last window is dropped: (6 − 3)/2 + 1 = 2.
  EXPECT_EQ(conv2d(x, Tensor::zeros({1, 3, 3, 3}), Tensor(), Conv2dOptions::make(2, 0)).shape(),
            (Shape{2, 1, 3, 2}));
}

// ---- conv_transpose2d -----------------------------------------------------------------

TEST(ConvTranspose2d, StampsTheKernel) {
  // Each input value adds value · kernel at its position: overlapping 2×2 stamps.
  Tensor x = Tensor::from_data({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor y = conv_transpose2d(x, Tensor::ones({1, 1, 2, 2}));
  EXPECT_TRUE(values_are(y, {1, 1, 3, 3}, {1, 3, 2, 4, 10, 6, 3, 7, 4}));
}

TEST(ConvTranspose2d, Stride2TilesTheKernel) {
  Tensor x = Tensor::from_data({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor w = Tensor::from_data({1, 1, 2, 2}, {1, 10, 100, 1000});
  Tensor y = conv_transpose2d(x, w, Tensor(), Conv2dOptions::make(2, 0));
  EXPECT_TRUE(values_are(y, {1, 1, 4, 4},
                         {1, 10, 2, 20, 100, 1000, 200, 2000, 3, 30, 4, 40, 300, 3000, 400, 4000}));
}

TEST(ConvTranspose2d, Stride2Padding1AndOutputPadding) {
  // Kernel 3×3 of ones, stride 2: the uncropped 5×5 result is
  //   1 1  3 2 2 / 1 1 3 2 2 / 4 4 10 6 6 / 3 3 7 4 4 / 3 3 7 4 4;
  // padding 1 crops one row/column each side, output_padding 1 keeps one more at the end.
  Tensor x = Tensor::from_data({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor w = Tensor::ones({1, 1, 3, 3});
  const Conv2dOptions o = Conv2dOptions::make(2, 1);
  EXPECT_TRUE(values_are(conv_transpose2d(x, w, Tensor(), o), {1, 1, 3, 3},
                         {1, 3, 2, 4, 10, 6, 3, 7, 4}));
  EXPECT_TRUE(values_are(conv_transpose2d(x, w, Tensor(), o, 1, 1), {1, 1, 4, 4},
                         {1, 3, 2, 2, 4, 10, 6, 6, 3, 7, 4, 4, 3, 7, 4, 4}));
}

TEST(ConvTranspose2d, OutputPaddingWithoutCoverageGetsOnlyBias) {
  // Stride 2, no padding: the extra row and column of output_padding get no input.
  Tensor x = Tensor::from_data({1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor y = conv_transpose2d(x, Tensor::ones({1, 1, 2, 2}), Tensor::from_data({1}, {0.5f}),
                              Conv2dOptions::make(2, 0), 1, 1);
  EXPECT_TRUE(values_are(y, {1, 1, 5, 5},
                         {1.5f, 1.5f, 2.5f, 2.5f, 0.5f, 1.5f, 1.5f, 2.5f, 2.5f, 0.5f,
                          3.5f, 3.5f, 4.5f, 4.5f, 0.5f, 3.5f, 3.5f, 4.5f, 4.5f, 0.5f,
                          0.5f, 0.5f, 0.5f, 0.5f, 0.5f}));
}

TEST(ConvTranspose2d, OutputPaddingBelowDilation) {
  // torch accepts output_padding ≥ stride when it is below the dilation. Stride 1,
  // dilation 3, a 1×2 kernel [1, 10] on one row [1, 2], output_padding 2 on the width:
  // out_w = (2 − 1) + 3·1 + 2 + 1 = 7; x0 stamps at columns 0 and 3, x1 at 1 and 4.
  Tensor x = Tensor::from_data({1, 1, 1, 2}, {1, 2});
  Tensor w = Tensor::from_data({1, 1, 1, 2}, {1, 10});
  Conv2dOptions o = opts(1, 1, 0, 0, 3, 3);
  EXPECT_TRUE(values_are(conv_transpose2d(x, w, Tensor(), o, 0, 2), {1, 1, 1, 7},
                         {1, 2, 0, 10, 20, 0, 0}));
  // With padding 1 on the width the output starts one column later: out_w = 5, and
  // the extra columns hold real values (x1's second stamp), not zeros.
  o.pad_w = 1;
  EXPECT_TRUE(values_are(conv_transpose2d(x, w, Tensor(), o, 0, 2), {1, 1, 1, 5},
                         {2, 0, 10, 20, 0}));
}

TEST(ConvTranspose2d, WeightLayoutIsInputByOutput) {
  // weight (C_in = 2, C_out = 3, 1, 1): y_o = Σ_c x_c · w[c][o].
  Tensor x = Tensor::from_data({1, 2, 1, 1}, {1, 2});
  Tensor w = Tensor::from_data({2, 3, 1, 1}, {1, 2, 3, 10, 20, 30});
  EXPECT_TRUE(values_are(conv_transpose2d(x, w), {1, 3, 1, 1}, {21, 42, 63}));
  // With bias, and with two groups of one input channel each (outputs 0–2 from x0, 3–5 from x1).
  EXPECT_TRUE(values_are(conv_transpose2d(x, w, Tensor::from_data({3}, {1, 1, 1})), {1, 3, 1, 1},
                         {22, 43, 64}));
  Conv2dOptions o;
  o.groups = 2;
  EXPECT_TRUE(values_are(conv_transpose2d(x, w, Tensor(), o), {1, 6, 1, 1},
                         {1, 2, 3, 20, 40, 60}));
}

TEST(ConvTranspose2d, OutputSizes) {
  Tensor x = Tensor::zeros({2, 4, 3, 4});
  Tensor w = Tensor::zeros({4, 5, 3, 3});
  // (in − 1)·stride − 2·pad + dilation·(k − 1) + output_padding + 1
  EXPECT_EQ(conv_transpose2d(x, w).shape(), (Shape{2, 5, 5, 6}));
  EXPECT_EQ(conv_transpose2d(x, w, Tensor(), Conv2dOptions::make(2, 1)).shape(), (Shape{2, 5, 5, 7}));
  EXPECT_EQ(conv_transpose2d(x, w, Tensor(), Conv2dOptions::make(2, 1), 1, 0).shape(),
            (Shape{2, 5, 6, 7}));
  EXPECT_EQ(conv_transpose2d(x, w, Tensor(), Conv2dOptions::make(2, 1), 1, 1).shape(),
            (Shape{2, 5, 6, 8}));
  EXPECT_EQ(conv_transpose2d(x, w, Tensor(), Conv2dOptions::make(1, 0, 2)).shape(),
            (Shape{2, 5, 7, 8}));
  EXPECT_EQ(conv_transpose2d(x, w, Tensor(), opts(3, 2, 0, 1), 2, 1).shape(), (Shape{2, 5, 11, 8}));
  // Inverts conv2d's size: a stride-2 conv2d of the 6×8 output, with the same weight
  // seen as conv2d's (O = 4, C = 5), gives x's 3×4 back.
  Tensor y = conv_transpose2d(x, w, Tensor(), Conv2dOptions::make(2, 1), 1, 1);
  EXPECT_EQ(conv2d(y, w, Tensor(), Conv2dOptions::make(2, 1)).shape(),
            (Shape{2, 4, 3, 4}));
}

TEST(ConvTranspose2d, SizedOpTakesEitherOutputSize) {
  // A stride-2, 3×3 conv2d maps both 5×5 and 6×6 to 3×3.
  Tensor y = randn({1, 2, 3, 3}, 5);
  Tensor w = randn({2, 3, 3, 3}, 6);
  const Conv2dOptions o = Conv2dOptions::make(2, 1);
  Tensor a = conv_transpose2d_sized(y, w, o, 5, 5);
  Tensor b = conv_transpose2d_sized(y, w, o, 6, 6);
  EXPECT_EQ(a.shape(), (Shape{1, 3, 5, 5}));
  EXPECT_EQ(b.shape(), (Shape{1, 3, 6, 6}));
  // The 5×5 result is the 6×6 one without its last row and column.
  EXPECT_TRUE(values_are(a, a.shape(), slice(slice(b, 2, 0, 5), 3, 0, 5).to_vector(), 1e-5f));
  // And equals conv_transpose2d without output padding.
  EXPECT_TRUE(values_are(conv_transpose2d(y, w, Tensor(), o), a.shape(), a.to_vector(), 1e-5f));
  EXPECT_TRUE(values_are(conv_transpose2d(y, w, Tensor(), o, 1, 1), b.shape(), b.to_vector(), 1e-5f));
  EXPECT_THROW(conv_transpose2d_sized(y, w, o, 7, 7), Error);  // 7×7 → 4×4
}

// ⟨conv2d(x, w), y⟩ = ⟨conv_transpose2d_sized(y, w), x⟩ = ⟨conv2d_weight_grad(x, y), w⟩.
TEST(ConvTranspose2d, IsTheAdjointOfConv2d) {
  struct Case {
    Shape x, w;
    Conv2dOptions o;
  };
  const std::vector<Case> cases = {
      {{2, 3, 5, 5}, {4, 3, 3, 3}, {}},
      {{2, 3, 7, 6}, {4, 3, 3, 3}, Conv2dOptions::make(2, 1)},
      {{2, 4, 7, 7}, {6, 2, 3, 2}, opts(2, 1, 1, 2, 2, 1, 2)},
      {{1, 2, 6, 7}, {3, 2, 2, 3}, opts(3, 2, 0, 1, 1, 2, 1)},
  };
  uint64_t seed = 100;
  for (const Case& c : cases) {
    Tensor x = randn(c.x, seed++), w = randn(c.w, seed++);
    Tensor kx = conv2d(x, w, Tensor(), c.o);
    Tensor y = randn(kx.shape(), seed++);
    const double lhs = dot(kx, y);
    const double via_input = dot(conv_transpose2d_sized(y, w, c.o, c.x[2], c.x[3]), x);
    const double via_weight = dot(conv2d_weight_grad(x, y, c.o, c.w[2], c.w[3]), w);
    const double scale = 1e-4 * (1.0 + std::fabs(lhs));
    EXPECT_NEAR(via_input, lhs, scale) << "x " << shape_str(c.x) << " w " << shape_str(c.w);
    EXPECT_NEAR(via_weight, lhs, scale) << "x " << shape_str(c.x) << " w " << shape_str(c.w);
  }
}

TEST(Conv2d, BackwardUsesTheAdjoints) {
  // conv2d's gradients are the sized transpose and the weight gradient; bias sums gy.
  Tensor x = randn({2, 3, 6, 5}, 1).requires_grad_();
  Tensor w = randn({4, 3, 3, 2}, 2).requires_grad_();
  Tensor b = randn({4}, 3).requires_grad_();
  const Conv2dOptions o = opts(2, 1, 1, 0);
  Tensor y = conv2d(x, w, b, o);
  Tensor gy = randn(y.shape(), 4);
  TensorList g = grad({y}, {x, w, b}, {gy});
  EXPECT_TRUE(values_are(g[0], x.shape(), conv_transpose2d_sized(gy, w, o, 6, 5).to_vector()));
  EXPECT_TRUE(values_are(g[1], w.shape(), conv2d_weight_grad(x, gy, o, 3, 2).to_vector()));
  EXPECT_TRUE(values_are(g[2], b.shape(), sum(gy, {0, 2, 3}).to_vector()));
}

// ---- pooling ----------------------------------------------------------------------

TEST(PoolOutputSize, FollowsTorch) {
  // floor((in + pads − k)/s) + 1; ceil mode rounds up but drops a last window that
  // would start in the right padding or beyond the input.
  EXPECT_EQ(pool_output_size(6, 3, 2, 0, 0, false), 2);
  EXPECT_EQ(pool_output_size(6, 3, 2, 0, 0, true), 3);
  EXPECT_EQ(pool_output_size(5, 2, 2, 0, 0, false), 2);
  EXPECT_EQ(pool_output_size(5, 2, 2, 0, 0, true), 3);
  EXPECT_EQ(pool_output_size(5, 3, 2, 0, 0, false), 2);
  EXPECT_EQ(pool_output_size(5, 3, 2, 0, 0, true), 2);
  EXPECT_EQ(pool_output_size(7, 3, 2, 0, 0, true), 3);
  // 5 + 2 − 2 = 5 → ceil(5/2) + 1 = 4, but window 3 would start at 6 − 1 = 5 ≥ 5: 3.
  EXPECT_EQ(pool_output_size(5, 2, 2, 1, 1, true), 3);
  EXPECT_EQ(pool_output_size(5, 2, 2, 1, 1, false), 3);
  EXPECT_EQ(pool_output_size(4, 2, 2, 1, 1, true), 3);
  // Asymmetric padding (MatConvNet): 5 + 0 + 1 − 2 = 4 → 3.
  EXPECT_EQ(pool_output_size(5, 2, 2, 0, 1, false), 3);
  EXPECT_EQ(pool_output_size(13, 3, 2, 0, 0, true), 6);
  EXPECT_EQ(pool_output_size(14, 3, 2, 0, 0, true), 7);
  EXPECT_EQ(pool_output_size(2, 3, 1, 0, 0, false), 0);  // window larger than input
}

TEST(MaxPool2d, Kernel2Stride2) {
  Tensor x = Tensor::from_data({1, 1, 4, 4}, {9, 1, 2, 8, 3, 4, 7, 6, 5, 16, 0, 11, 12, 13, 14, 15});
  EXPECT_TRUE(values_are(max_pool2d(x, Pool2dOptions::make(2)), {1, 1, 2, 2}, {9, 8, 16, 15}));
}

TEST(MaxPool2d, CeilModeSizesAndValues) {
  // 6×6 ramp, kernel 3, stride 2: window rows {0–2, 2–4} (floor) plus {4–5} (ceil).
  Tensor x6 = ramp(6, 6);
  EXPECT_TRUE(values_are(max_pool2d(x6, Pool2dOptions::make(3, 2)), {1, 1, 2, 2}, {15, 17, 27, 29}));
  EXPECT_TRUE(values_are(max_pool2d(x6, Pool2dOptions::make(3, 2, 0, true)), {1, 1, 3, 3},
                         {15, 17, 18, 27, 29, 30, 33, 35, 36}));
  // 5×5 ramp, kernel 2, stride 2: 2×2 floor, 3×3 ceil (last window holds one row/col).
  Tensor x5 = ramp(5, 5);
  EXPECT_TRUE(values_are(max_pool2d(x5, Pool2dOptions::make(2)), {1, 1, 2, 2}, {7, 9, 17, 19}));
  EXPECT_TRUE(values_are(max_pool2d(x5, Pool2dOptions::make(2, 2, 0, true)), {1, 1, 3, 3},
                         {7, 9, 10, 17, 19, 20, 22, 24, 25}));
}

TEST(MaxPool2d, PaddingIsNotAValue) {
  // Negative inputs: a zero from the padding must never win.
  Tensor x = neg(ramp(3, 3));  // [[−1,−2,−3],[−4,−5,−6],[−7,−8,−9]]
  // Padding 1, kernel 2, stride 2: windows {−1}, {−2,−3}, {−4,−7}, {−5,−6,−8,−9}.
  EXPECT_TRUE(values_are(max_pool2d(x, Pool2dOptions::make(2, 2, 1)), {1, 1, 2, 2}, {-1, -2, -4, -5}));
}

TEST(MaxPool2d, AsymmetricPadding) {
  // MatConvNet pads top 0, bottom 1, left 1, right 0: rows {0,1}, {2}; cols {0}, {1,2}.
  Tensor x = neg(ramp(3, 3));
  EXPECT_TRUE(values_are(max_pool2d(x, pool(2, 2, 2, 2, 0, 1, 1, 0)), {1, 1, 2, 2}, {-1, -2, -7, -8}));
  Tensor y = ramp(3, 3);
  EXPECT_TRUE(values_are(max_pool2d(y, pool(2, 2, 2, 2, 0, 1, 1, 0)), {1, 1, 2, 2}, {4, 6, 7, 9}));
}

TEST(MaxPool2d, GradientGoesToTheMaximum) {
  Tensor x = Tensor::from_data({1, 1, 2, 4}, {1, 5, 2, 0, 3, 4, 8, 7}).requires_grad_();
  Tensor y = max_pool2d(x, Pool2dOptions::make(2));  // maxima 5 (index 1) and 8 (index 6)
  TensorList g = grad({y}, {x}, {Tensor::from_data({1, 1, 1, 2}, {10, 20})});
  EXPECT_TRUE(values_are(g[0], x.shape(), {0, 10, 0, 0, 0, 0, 20, 0}));
}

// Direct window loops, the definition, against the row-vectorised kernel: values
// with and without autograd, and the arg-max (where the gradient goes), on inputs
// with ties (values rounded to halves) and a few NaNs, over LeNet's, ResNet's and
// VGG-F's windows and the asymmetric padding of MatConvNet.
TEST(MaxPool2d, MatchesDirectLoops) {
  const std::vector<std::pair<Shape, Pool2dOptions>> cases = {
      {{2, 3, 28, 28}, Pool2dOptions::make(2)},
      {{2, 3, 9, 7}, Pool2dOptions::make(2)},               // odd sizes: the last row and column dropped
      {{2, 3, 16, 16}, Pool2dOptions::make(3, 2, 1)},       // ResNet's stem pool
      {{2, 3, 27, 27}, Pool2dOptions::make(3, 2, 0, true)}, // VGG-F's, ceil mode
      {{1, 2, 12, 10}, pool(3, 2, 1, 3, 0, 1, 1, 2)},       // asymmetric, non-square
      {{1, 1, 3, 3}, pool(2, 2, 2, 2, 1, 1, 1, 1)},         // every window touches the padding
  };
  uint64_t seed = 300;
  for (const auto& [shape, o] : cases) {
    std::vector<float> v = randn(shape, seed++).to_vector();
    for (size_t i = 0; i < v.size(); ++i) v[i] = std::round(v[i] * 2.0f) / 2.0f;
    for (size_t i = 7; i < v.size(); i += 97) v[i] = std::nanf("");
    const Tensor x = Tensor::from_data(shape, v);
    const int64_t planes = shape[0] * shape[1], h = shape[2], w = shape[3];
    const Tensor y = max_pool2d(x, o);
    const int64_t oh = y.size(2), ow = y.size(3);
    std::vector<float> ref_value;
    std::vector<int64_t> ref_at;
    for (int64_t p = 0; p < planes; ++p)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          float m = 0.0f;
          int64_t at = -1;
          for (int64_t i = 0; i < o.kernel_h; ++i)
            for (int64_t j = 0; j < o.kernel_w; ++j) {
              const int64_t yy = oy * o.stride_h - o.pad_top + i, xx = ox * o.stride_w - o.pad_left + j;
              if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
              const float u = v[static_cast<size_t>((p * h + yy) * w + xx)];
              if (at < 0 || u > m || (std::isnan(u) && !std::isnan(m))) {
                m = u;
                at = (p * h + yy) * w + xx;
              }
            }
          ref_value.push_back(m);
          ref_at.push_back(at);
        }
    Tensor xg = x.clone().requires_grad_();
    const Tensor yg = max_pool2d(xg, o);
    const Tensor gy = Tensor::arange(1.0f, static_cast<float>(yg.numel()) + 1.0f).reshape(yg.shape());
    const std::vector<float> gx = grad({yg}, {xg}, {gy})[0].to_vector();
    std::vector<float> ref_gx(v.size(), 0.0f);
    for (size_t i = 0; i < ref_at.size(); ++i)
      if (ref_at[i] >= 0) ref_gx[static_cast<size_t>(ref_at[i])] += static_cast<float>(i + 1);
    const std::vector<float> got = y.to_vector(), got_g = yg.to_vector();
    ASSERT_EQ(got.size(), ref_value.size()) << shape_str(shape);
    for (size_t i = 0; i < got.size(); ++i) {
      const bool same = (std::isnan(got[i]) && std::isnan(ref_value[i])) || got[i] == ref_value[i];
      const bool same_g = (std::isnan(got_g[i]) && std::isnan(ref_value[i])) || got_g[i] == ref_value[i];
      ASSERT_TRUE(same && same_g) << shape_str(shape) << " output " << i << ": " << got[i] << " and "
                                  << got_g[i] << ", expected " << ref_value[i];
    }
    for (size_t i = 0; i < gx.size(); ++i)
      ASSERT_EQ(gx[i], ref_gx[i]) << shape_str(shape) << " input " << i;
  }
}

TEST(AvgPool2d, CountIncludePadOnBorderCells) {
  // 3×3 ramp, kernel 2, stride 2, padding 1: windows {1}, {2,3}, {4,7}, {5,6,8,9}.
  Pool2dOptions o = Pool2dOptions::make(2, 2, 1);
  EXPECT_TRUE(values_are(avg_pool2d(ramp(3, 3), o), {1, 1, 2, 2}, {0.25f, 1.25f, 2.75f, 7.0f}));
  o.count_include_pad = false;
  EXPECT_TRUE(values_are(avg_pool2d(ramp(3, 3), o), {1, 1, 2, 2}, {1.0f, 2.5f, 5.5f, 7.0f}));
}

TEST(AvgPool2d, CeilModeDivisors) {
  // 5×5 ramp, kernel 2, stride 2, ceil: the last window holds one row (or column) and,
  // hanging past the input and padding, divides by what it holds either way.
  Pool2dOptions o = Pool2dOptions::make(2, 2, 0, true);
  const std::vector<float> expected = {4, 6, 7.5f, 14, 16, 17.5f, 21.5f, 23.5f, 25};
  EXPECT_TRUE(values_are(avg_pool2d(ramp(5, 5), o), {1, 1, 3, 3}, expected));
  o.count_include_pad = false;
  EXPECT_TRUE(values_are(avg_pool2d(ramp(5, 5), o), {1, 1, 3, 3}, expected));
}

TEST(AvgPool2d, CeilModeWindowInThePadding) {
  // 5×5 ramp, kernel 3, stride 2, padding 1, ceil: 3×3 windows starting at −1, 1, 3;
  // the last one covers rows 3, 4 and the padding row 5. Its corner cell sums
  // 19 + 20 + 24 + 25 = 88: /9 counting the padding, /4 without.
  Pool2dOptions o = Pool2dOptions::make(3, 2, 1, true);
  Tensor y = avg_pool2d(ramp(5, 5), o);
  ASSERT_EQ(y.shape(), (Shape{1, 1, 3, 3}));
  EXPECT_NEAR(y.at({0, 0, 2, 2}), 88.0f / 9.0f, 1e-5f);
  EXPECT_NEAR(y.at({0, 0, 0, 0}), (1 + 2 + 6 + 7) / 9.0f, 1e-5f);
  EXPECT_NEAR(y.at({0, 0, 1, 1}), (7 + 8 + 9 + 12 + 13 + 14 + 17 + 18 + 19) / 9.0f, 1e-5f);
  o.count_include_pad = false;
  y = avg_pool2d(ramp(5, 5), o);
  EXPECT_NEAR(y.at({0, 0, 2, 2}), 22.0f, 1e-5f);
  EXPECT_NEAR(y.at({0, 0, 0, 0}), 4.0f, 1e-5f);
  EXPECT_NEAR(y.at({0, 0, 0, 2}), (4 + 5 + 9 + 10) / 4.0f, 1e-5f);
}

TEST(AvgPool2d, AsymmetricPadding) {
  // top 0, bottom 1, left 1, right 0 on the 3×3 ramp: rows {0,1}, {2}; cols {0}, {1,2}.
  EXPECT_TRUE(values_are(avg_pool2d(ramp(3, 3), pool(2, 2, 2, 2, 0, 1, 1, 0)), {1, 1, 2, 2},
                         {5 / 4.0f, 16 / 4.0f, 7 / 4.0f, 17 / 4.0f}));
  EXPECT_TRUE(values_are(avg_pool2d(ramp(3, 3), pool(2, 2, 2, 2, 0, 1, 1, 0, false, false)),
                         {1, 1, 2, 2}, {5 / 2.0f, 16 / 4.0f, 7 / 1.0f, 17 / 2.0f}));
}

TEST(AdaptiveAvgPool2d, Values) {
  // 3×3 → 2×2: windows [floor(o·3/2), ceil((o+1)·3/2)) = rows {0,1}, {1,2}.
  EXPECT_TRUE(values_are(adaptive_avg_pool2d(ramp(3, 3), 2, 2), {1, 1, 2, 2}, {3, 4, 6, 7}));
  EXPECT_TRUE(values_are(adaptive_avg_pool2d(ramp(3, 3), 1, 1), {1, 1, 1, 1}, {5}));
  // 2×4 → 1×3: columns {0,1}, {1,2}, {2,3}.
  Tensor x = Tensor::from_data({1, 1, 2, 4}, {1, 2, 4, 8, 16, 32, 64, 128});
  EXPECT_TRUE(values_are(adaptive_avg_pool2d(x, 1, 3), {1, 1, 1, 3}, {12.75f, 25.5f, 51.0f}));
}

TEST(AdaptiveAvgPool2d, FiveBySevenToThreeByTwo) {
  // rows {0,1}, {1,2,3}, {3,4}; cols {0..3}, {3..6}. On the ramp x = 7r + c + 1 each
  // window's mean is 7·mean(r) + mean(c) + 1.
  const float r[3] = {0.5f, 2.0f, 3.5f}, c[2] = {1.5f, 4.5f};
  std::vector<float> expected;
  for (float rv : r)
    for (float cv : c) expected.push_back(7 * rv + cv + 1);
  EXPECT_TRUE(values_are(adaptive_avg_pool2d(ramp(5, 7), 3, 2), {1, 1, 3, 2}, expected));
}

// ---- upsample ---------------------------------------------------------------------

TEST(Upsample, Nearest) {
  Tensor x = Tensor::from_data({1, 1, 2, 2}, {1, 2, 3, 4});
  EXPECT_TRUE(values_are(upsample(x, 4, 4, UpsampleMode::Nearest), {1, 1, 4, 4},
                         {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}));
  // 2 → 3 columns: src = floor(o · 2/3) = 0, 0, 1.  3 → 2 rows: floor(o · 3/2) = 0, 1.
  EXPECT_TRUE(values_are(upsample(x, 2, 3, UpsampleMode::Nearest), {1, 1, 2, 3}, {1, 1, 2, 3, 3, 4}));
  EXPECT_TRUE(values_are(upsample(ramp(3, 3), 2, 2, UpsampleMode::Nearest), {1, 1, 2, 2}, {1, 2, 4, 5}));
}

TEST(Upsample, BilinearHalfPixel) {
  // align_corners = false: src = max((o + 0.5)/2 − 0.5, 0) = 0, 0.25, 0.75, 1.25 (→ 1).
  Tensor x = Tensor::from_data({1, 1, 2, 2}, {1, 2, 3, 4});
  EXPECT_TRUE(values_are(upsample(x, 4, 4, UpsampleMode::Bilinear, false), {1, 1, 4, 4},
                         {1.0f, 1.25f, 1.75f, 2.0f, 1.5f, 1.75f, 2.25f, 2.5f,
                          2.5f, 2.75f, 3.25f, 3.5f, 3.0f, 3.25f, 3.75f, 4.0f}));
  // Downsampling 4 → 2: src = 0.5, 2.5, the means of neighbouring pairs.
  Tensor r = Tensor::from_data({1, 1, 1, 4}, {1, 2, 4, 8});
  EXPECT_TRUE(values_are(upsample(r, 1, 2, UpsampleMode::Bilinear, false), {1, 1, 1, 2}, {1.5f, 6.0f}));
  // 4 → 3: src = (o + 0.5)·4/3 − 0.5 = 1/6, 3/2, 17/6.
  EXPECT_TRUE(values_are(upsample(r, 1, 3, UpsampleMode::Bilinear, false), {1, 1, 1, 3},
                         {1.0f + 1.0f / 6.0f, 3.0f, 4.0f + 4.0f * 5.0f / 6.0f}));
}

TEST(Upsample, BilinearAlignCorners) {
  Tensor x = Tensor::from_data({1, 1, 2, 2}, {1, 2, 3, 4});
  // src = o · (2 − 1)/(3 − 1) = 0, 0.5, 1.
  EXPECT_TRUE(values_are(upsample(x, 3, 3, UpsampleMode::Bilinear, true), {1, 1, 3, 3},
                         {1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4}));
  // src = o/3: the first row is 1, 4/3, 5/3, 2.
  Tensor y = upsample(x, 4, 4, UpsampleMode::Bilinear, true);
  EXPECT_TRUE(values_are(slice(y, 2, 0, 1), {1, 1, 1, 4}, {1, 4 / 3.0f, 5 / 3.0f, 2}));
  EXPECT_NEAR(y.at({0, 0, 1, 1}), 1 + 2 / 3.0f + 1 / 3.0f, 1e-5f);
  // Downsampling keeps the corners: 4 → 2 reads src 0 and 3.
  Tensor r = Tensor::from_data({1, 1, 1, 4}, {1, 2, 4, 8});
  EXPECT_TRUE(values_are(upsample(r, 1, 2, UpsampleMode::Bilinear, true), {1, 1, 1, 2}, {1, 8}));
  // 4 → 3: src = 0, 1.5, 3.
  EXPECT_TRUE(values_are(upsample(r, 1, 3, UpsampleMode::Bilinear, true), {1, 1, 1, 3}, {1, 3, 8}));
}

TEST(Upsample, SameSizeIsIdentity) {
  Tensor x = randn({2, 3, 4, 5}, 9);
  for (bool ac : {false, true}) {
    EXPECT_TRUE(values_are(upsample(x, 4, 5, UpsampleMode::Bilinear, ac), x.shape(), x.to_vector()));
  }
  EXPECT_TRUE(values_are(upsample(x, 4, 5, UpsampleMode::Nearest), x.shape(), x.to_vector()));
}

// ---- channel windows and LRN ----------------------------------------------------------

TEST(ChannelWindowSum, Values) {
  Tensor x = Tensor::from_data({1, 4, 1, 1}, {1, 2, 4, 8});
  EXPECT_TRUE(values_are(channel_window_sum(x, 1, 0), {1, 4, 1, 1}, {1, 3, 6, 12}));
  EXPECT_TRUE(values_are(channel_window_sum(x, 0, 2), {1, 4, 1, 1}, {7, 14, 12, 8}));
  EXPECT_TRUE(values_are(channel_window_sum(x, 2, 2), {1, 4, 1, 1}, {7, 15, 15, 14}));
  // Batches do not mix; spatial positions do not mix.
  Tensor b = Tensor::from_data({2, 2, 1, 2}, {1, 2, 3, 4, 10, 20, 30, 40});
  EXPECT_TRUE(values_are(channel_window_sum(b, 1, 0), b.shape(), {1, 2, 4, 6, 10, 20, 40, 60}));
}

TEST(LocalResponseNorm, KnownValues) {
  // x = [1, 2, 3], size 3: window sums of squares 1+4 = 5, 1+4+9 = 14, 4+9 = 13.
  Tensor x = Tensor::from_data({1, 3, 1, 1}, {1, 2, 3});
  // alpha/size: x / (1 + s/3) = 1/(8/3), 2/(17/3), 3/(16/3).
  EXPECT_TRUE(values_are(local_response_norm(x, 3, 1.0f, 1.0f, 1.0f, true), {1, 3, 1, 1},
                         {0.375f, 6.0f / 17.0f, 0.5625f}));
  // alpha not divided by size (MatConvNet): x / (1 + s).
  EXPECT_TRUE(values_are(local_response_norm(x, 3, 1.0f, 1.0f, 1.0f, false), {1, 3, 1, 1},
                         {1.0f / 6.0f, 2.0f / 15.0f, 3.0f / 14.0f}));
  // beta 0.75, k 2, alpha 0.3: x / (2 + 0.1 s)^0.75.
  EXPECT_TRUE(values_are(local_response_norm(x, 3, 0.3f, 0.75f, 2.0f, true), {1, 3, 1, 1},
                         {1.0f / std::pow(2.5f, 0.75f), 2.0f / std::pow(3.4f, 0.75f),
                          3.0f / std::pow(3.3f, 0.75f)}));
}

TEST(LocalResponseNorm, EvenSizeWindowLeansBack) {
  // torch pads size/2 = 1 channel before and (size − 1)/2 = 0 after for size 2:
  // windows {0}, {0,1}, {1,2} give sums 1, 5, 13; x / (1 + s/2).
  Tensor x = Tensor::from_data({1, 3, 1, 1}, {1, 2, 3});
  EXPECT_TRUE(values_are(local_response_norm(x, 2, 1.0f, 1.0f, 1.0f, true), {1, 3, 1, 1},
                         {1.0f / 1.5f, 2.0f / 3.5f, 3.0f / 7.5f}));
}

TEST(LocalResponseNorm, Size5DefaultsAreNearlyIdentity) {
  // alpha = 1e-4, beta = 0.75, k = 1: x / (1 + 1e-4/5 · Σ)^0.75.
  Tensor x = Tensor::from_data({1, 6, 1, 1}, {1, 2, 3, 4, 5, 6});
  Tensor y = local_response_norm(x, 5);
  // Channel 2's window is channels 0–4: Σ = 1 + 4 + 9 + 16 + 25 = 55.
  EXPECT_NEAR(y.at({0, 2, 0, 0}), 3.0f / std::pow(1.0f + 1e-4f / 5 * 55, 0.75f), 1e-6f);
  // Channel 5's window is channels 3–5: Σ = 16 + 25 + 36 = 77.
  EXPECT_NEAR(y.at({0, 5, 0, 0}), 6.0f / std::pow(1.0f + 1e-4f / 5 * 77, 0.75f), 1e-6f);
}

// ---- errors -------------------------------------------------------------------------

TEST(ConvPoolErrors, Conv2dArguments) {
  Tensor x = Tensor::zeros({1, 3, 5, 5});
  Tensor w = Tensor::zeros({4, 3, 3, 3});
  EXPECT_NO_THROW(conv2d(x, w));
  EXPECT_THROW(conv2d(Tensor::zeros({3, 5, 5}), w), Error);         // input rank
  EXPECT_THROW(conv2d(x, Tensor::zeros({4, 3, 3})), Error);         // weight rank
  EXPECT_THROW(conv2d(x, Tensor::zeros({4, 2, 3, 3})), Error);      // channel mismatch
  EXPECT_THROW(conv2d(x, w, Tensor::zeros({3})), Error);            // bias size
  EXPECT_THROW(conv2d(x, w, Tensor(), Conv2dOptions::make(0, 0)), Error);  // stride 0
  Conv2dOptions neg_pad;
  neg_pad.pad_w = -1;
  EXPECT_THROW(conv2d(x, w, Tensor(), neg_pad), Error);
}

TEST(ConvPoolErrors, Conv2dGroups) {
  Conv2dOptions g2 = Conv2dOptions::make(1, 0, 1, 2);
  EXPECT_NO_THROW(conv2d(Tensor::zeros({1, 4, 5, 5}), Tensor::zeros({6, 2, 3, 3}), Tensor(), g2));
  // 3 channels do not split into 2 groups.
  EXPECT_THROW(conv2d(Tensor::zeros({1, 3, 5, 5}), Tensor::zeros({4, 1, 3, 3}), Tensor(), g2), Error);
  // 5 outputs do not split into 2 groups.
  EXPECT_THROW(conv2d(Tensor::zeros({1, 4, 5, 5}), Tensor::zeros({5, 2, 3, 3}), Tensor(), g2), Error);
  // Weight with all 4 channels where each group sees 2.
  EXPECT_THROW(conv2d(Tensor::zeros({1, 4, 5, 5}), Tensor::zeros({6, 4, 3, 3}), Tensor(), g2), Error);
  EXPECT_THROW(conv2d(Tensor::zeros({1, 4, 5, 5}), Tensor::zeros({6, 2, 3, 3}), Tensor(),
                      Conv2dOptions::make(1, 0, 1, 0)),
               Error);
}

TEST(ConvPoolErrors, KernelLargerThanPaddedInput) {
  Tensor x = Tensor::zeros({1, 1, 3, 3});
  EXPECT_THROW(conv2d(x, Tensor::zeros({1, 1, 4, 4})), Error);
  EXPECT_NO_THROW(conv2d(x, Tensor::zeros({1, 1, 5, 5}), Tensor(), Conv2dOptions::make(1, 1)));
  EXPECT_THROW(conv2d(x, Tensor::zeros({1, 1, 6, 6}), Tensor(), Conv2dOptions::make(1, 1)), Error);
  // With stride 2 a kernel one larger than the input must fail too (not give 1×1).
  EXPECT_THROW(conv2d(x, Tensor::zeros({1, 1, 4, 4}), Tensor(), Conv2dOptions::make(2, 0)), Error);
  EXPECT_THROW(conv2d(x, Tensor::zeros({1, 1, 4, 3}), Tensor(), opts(3, 1, 0, 0)), Error);
  // The dilated extent counts: 2×2 dilated by 3 spans 4.
  EXPECT_THROW(conv2d(x, Tensor::zeros({1, 1, 2, 2}), Tensor(), Conv2dOptions::make(2, 0, 3)), Error);
  EXPECT_THROW(conv2d(x, Tensor::zeros({1, 1, 0, 2})), Error);  // empty kernel
}

TEST(ConvPoolErrors, ConvTransposeArguments) {
  Tensor x = Tensor::zeros({1, 4, 3, 3});
  Tensor w = Tensor::zeros({4, 2, 3, 3});
  EXPECT_THROW(conv_transpose2d(Tensor::zeros({4, 3, 3}), w), Error);
  EXPECT_THROW(conv_transpose2d(x, Tensor::zeros({3, 2, 3, 3})), Error);  // channels
  EXPECT_THROW(conv_transpose2d(x, w, Tensor::zeros({4})), Error);        // bias
  // output_padding must be below the stride or the dilation.
  EXPECT_THROW(conv_transpose2d(x, w, Tensor(), Conv2dOptions::make(2, 0), 2, 0), Error);
  EXPECT_THROW(conv_transpose2d(x, w, Tensor(), {}, 0, 1), Error);
  // Padding that crops everything away.
  EXPECT_THROW(conv_transpose2d(x, w, Tensor(), Conv2dOptions::make(1, 3)), Error);
  EXPECT_THROW(conv_transpose2d_sized(x, w, {}, 6, 5), Error);  // 6×5 conv2d gives 4×3
  EXPECT_THROW(conv2d_weight_grad(Tensor::zeros({1, 2, 5, 5}), x, {}, 2, 2), Error);
  EXPECT_THROW(conv2d_weight_grad(Tensor::zeros({1, 2, 5, 5}), x, Conv2dOptions::make(1, 0, 1, 0), 3, 3),
               Error);
}

TEST(ConvPoolErrors, PoolingArguments) {
  Tensor x = Tensor::zeros({1, 1, 3, 3});
  EXPECT_THROW(max_pool2d(Tensor::zeros({1, 3, 3}), Pool2dOptions::make(2)), Error);
  EXPECT_THROW(avg_pool2d(Tensor::zeros({3, 3}), Pool2dOptions::make(2)), Error);
  EXPECT_THROW(max_pool2d(x, Pool2dOptions::make(4)), Error);  // window larger than input
  EXPECT_THROW(avg_pool2d(x, Pool2dOptions::make(4)), Error);
  EXPECT_NO_THROW(max_pool2d(x, Pool2dOptions::make(4, 1, 1)));  // fits the padded input
  EXPECT_THROW(max_pool2d(x, Pool2dOptions::make(0)), Error);
  EXPECT_THROW(avg_pool2d(x, Pool2dOptions::make(2, 2, -1)), Error);
  EXPECT_THROW(adaptive_avg_pool2d(Tensor::zeros({1, 3, 3}), 1, 1), Error);
  EXPECT_THROW(adaptive_avg_pool2d(x, 0, 1), Error);
  EXPECT_THROW(upsample(Tensor::zeros({1, 3, 3}), 6, 6, UpsampleMode::Nearest), Error);
  EXPECT_THROW(upsample(x, 6, 0, UpsampleMode::Bilinear), Error);
  EXPECT_THROW(channel_window_sum(Tensor::zeros({4}), 1, 1), Error);
  EXPECT_THROW(channel_window_sum(x, -1, 1), Error);
  EXPECT_THROW(local_response_norm(x, 0), Error);
}
