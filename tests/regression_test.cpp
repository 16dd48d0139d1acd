// Regressions found in review: each test failed before its fix.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/random.h"
#include "gradcheck.h"
#include "io/loader.h"

using namespace adx;

// The batch-norm backward recorded for second order used to differentiate the whole
// graph above x, counting a γ shared by two layers twice.
TEST(Regression, BatchNormCreateGraphWithSharedWeights) {
  Generator gen(1);
  Tensor x = Tensor::randn({4, 3}, gen), c = Tensor::randn({4, 3}, gen);
  Tensor gamma = Tensor::from_data({3}, {1.2f, 0.8f, 1.5f}).requires_grad_();
  Tensor beta = Tensor::from_data({3}, {0.1f, -0.2f, 0.3f}).requires_grad_();
  auto f = [&] {
    Tensor h = batch_norm(x, {}, {}, gamma, beta, true);
    return sum(mul(batch_norm(mul(h, h), {}, {}, gamma, beta, true), c));
  };
  TensorList plain = grad({f()}, {gamma, beta}, {}, false);
  TensorList recorded = grad({f()}, {gamma, beta}, {}, true);
  for (size_t k = 0; k < 2; ++k)
    for (int64_t i = 0; i < 3; ++i) EXPECT_NEAR(recorded[k].data()[i], plain[k].data()[i], 1e-4) << k << " " << i;
}

// create_graph used to store one tensor as the .grad of two leaves; a later plain
// backward then added into the shared buffer twice.
TEST(Regression, CreateGraphLeafGradientsDoNotAlias) {
  Tensor x = Tensor::ones({2}).requires_grad_(), w = Tensor::ones({2}).requires_grad_();
  sum(add(x, w)).backward({}, true);
  EXPECT_NE(x.grad().impl_ptr(), w.grad().impl_ptr());
  sum(add(x, w)).backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{2, 2}));
  EXPECT_EQ(w.grad().to_vector(), (std::vector<float>{2, 2}));
}

// A 0-d tensor used to be accepted for any optimiser state (then read out of bounds).
TEST(Regression, OptimizerStateShapesAreChecked) {
  Tensor p = Tensor::zeros({100}).requires_grad_();
  Adam adam({p}, AdamOptions{});
  EXPECT_THROW(adam.load_state({{"exp_avg.0", Tensor::scalar(0)}, {"exp_avg_sq.0", Tensor::zeros({100})},
                                {"step.0", Tensor::scalar(1)}}), Error);
  EXPECT_THROW(adam.load_state({{"exp_avg.0", Tensor::zeros({100})}}), Error);  // incomplete
  EXPECT_THROW(adam.load_state({{"exp_avg.0", Tensor::zeros({100})}, {"exp_avg_sq.0", Tensor::zeros({100})},
                                {"step.0", Tensor::zeros({1})}}), Error);  // step must be 0-d
  EXPECT_NO_THROW(adam.load_state({{"exp_avg.0", Tensor::zeros({100})}, {"exp_avg_sq.0", Tensor::zeros({100})},
                                   {"step.0", Tensor::scalar(3)}}));
}

// An empty batch used to divide by zero in the convolution and batch norm kernels.
TEST(Regression, EmptyBatches) {
  Tensor x = Tensor::zeros({0, 3, 8, 8});
  EXPECT_EQ(conv2d(x, Tensor::ones({4, 3, 3, 3})).shape(), (Shape{0, 4, 6, 6}));
  EXPECT_EQ(batch_norm(Tensor::zeros({0, 3}), Tensor::zeros({3}), Tensor::ones({3}), {}, {}, false).shape(),
            (Shape{0, 3}));
  EXPECT_THROW(batch_norm(Tensor::zeros({0, 3}), Tensor::zeros({3}), Tensor::ones({3}), {}, {}, true), Error);
}

// A full batch used to be the loader's own buffer tensor, so requires_grad set on
// one batch stayed on the next.
TEST(Regression, LoaderBatchesAreFreshViews) {
  io::LoaderOptions opt;
  opt.batch = 2;
  io::Loader loader(Tensor::zeros({4, 1, 2, 2}), {}, {}, opt);
  loader.start_epoch(0);
  io::Batch b;
  loader.next(b);
  b.x.requires_grad_();
  loader.next(b);
  EXPECT_FALSE(b.x.requires_grad());
}

// Wide stride-1 rows take im2col's contiguous-run path: check it against a direct
// convolution, with padding and dilation (both sides of every row clipped).
TEST(Regression, WideRowIm2colMatchesDirectConvolution) {
  Generator gen(4);
  const int64_t n = 2, c = 3, h = 9, w = 21, o = 4, k = 3, pad = 2, dil = 2;
  Tensor x = Tensor::randn({n, c, h, w}, gen), wt = Tensor::randn({o, c, k, k}, gen);
  Tensor y = conv2d(x, wt, {}, {1, 1, pad, pad, dil, dil, 1});
  const int64_t oh = h + 2 * pad - dil * (k - 1), ow = w + 2 * pad - dil * (k - 1);
  ASSERT_EQ(y.shape(), (Shape{n, o, oh, ow}));
  ASSERT_GE(ow, 16);
  double worst = 0;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oc = 0; oc < o; ++oc)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          double acc = 0;
          for (int64_t ic = 0; ic < c; ++ic)
            for (int64_t i = 0; i < k; ++i)
              for (int64_t j = 0; j < k; ++j) {
                const int64_t yy = oy - pad + i * dil, xx = ox - pad + j * dil;
                if (yy >= 0 && yy < h && xx >= 0 && xx < w) acc += x.at({b, ic, yy, xx}) * wt.at({oc, ic, i, j});
              }
          worst = std::max(worst, std::abs(acc - y.at({b, oc, oy, ox})));
        }
  EXPECT_LT(worst, 1e-4);
}

// Taps that read only padding (a 3×3 kernel on a 1×1 map, or pad 2 on a 2×2 map) are
// left out of the GEMM: forward against a direct convolution, backward by gradcheck.
TEST(Regression, ConvolutionSkipsTapsThatReadOnlyPadding) {
  Generator gen(9);
  for (const auto& [size, pad] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {2, 2}}) {
    Tensor x = Tensor::randn({2, 3, size, size}, gen), w = Tensor::randn({4, 3, 3, 3}, gen);
    const Conv2dOptions opt{1, 1, pad, pad, 1, 1, 1};
    Tensor y = conv2d(x, w, {}, opt);
    const int64_t out = size + 2 * pad - 2;
    double worst = 0;
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t o = 0; o < 4; ++o)
        for (int64_t oy = 0; oy < out; ++oy)
          for (int64_t ox = 0; ox < out; ++ox) {
            double acc = 0;
            for (int64_t c = 0; c < 3; ++c)
              for (int64_t i = 0; i < 3; ++i)
                for (int64_t j = 0; j < 3; ++j) {
                  const int64_t yy = oy - pad + i, xx = ox - pad + j;
                  if (yy >= 0 && yy < size && xx >= 0 && xx < size) acc += x.at({b, c, yy, xx}) * w.at({o, c, i, j});
                }
            worst = std::max(worst, std::abs(acc - y.at({b, o, oy, ox})));
          }
    EXPECT_LT(worst, 1e-5) << "size " << size;
    adx::testing::Fn f = [opt](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], {}, opt); };
    EXPECT_TRUE(adx::testing::gradcheck(f, {x.requires_grad_(), w.requires_grad_()})) << "size " << size;
  }
}
