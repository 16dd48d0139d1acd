// Gradient checks for the convolution ops: conv2d, conv_transpose2d and the two ops
// that form conv2d's backward (conv_transpose2d_sized, conv2d_weight_grad), first
// and second order, ending with a WGAN-GP gradient penalty through a small critic.
#include "gradcheck.h"

using namespace adx;
using namespace adx::testing;

namespace {

Conv2dOptions opts(int64_t stride_h, int64_t stride_w, int64_t pad_h, int64_t pad_w,
                   int64_t dilation_h = 1, int64_t dilation_w = 1, int64_t groups = 1) {
  Conv2dOptions o;
  o.stride_h = stride_h;
  o.stride_w = stride_w;
  o.pad_h = pad_h;
  o.pad_w = pad_w;
  o.dilation_h = dilation_h;
  o.dilation_w = dilation_w;
  o.groups = groups;
  return o;
}

// gradcheck of conv2d(x, w[, b]) for x, w (and b) all requiring grad.
::testing::AssertionResult check_conv2d(const Shape& x, const Shape& w, const Conv2dOptions& o,
                                        bool with_bias) {
  Fn f = [o](const std::vector<Tensor>& in) {
    return conv2d(in[0], in[1], in.size() > 2 ? in[2] : Tensor(), o);
  };
  std::vector<Tensor> inputs = {uniform(x, -1, 1, 11), uniform(w, -1, 1, 12)};
  if (with_bias) inputs.push_back(uniform({w[0]}, -1, 1, 13));
  return gradcheck(f, inputs);
}

::testing::AssertionResult check_conv_transpose2d(const Shape& x, const Shape& w,
                                                  const Conv2dOptions& o, int64_t op_h,
                                                  int64_t op_w, bool with_bias) {
  Fn f = [o, op_h, op_w](const std::vector<Tensor>& in) {
    return conv_transpose2d(in[0], in[1], in.size() > 2 ? in[2] : Tensor(), o, op_h, op_w);
  };
  std::vector<Tensor> inputs = {uniform(x, -1, 1, 21), uniform(w, -1, 1, 22)};
  if (with_bias) inputs.push_back(uniform({w[1] * o.groups}, -1, 1, 23));
  return gradcheck(f, inputs);
}

}  // namespace

// ---- conv2d ---------------------------------------------------------------------

TEST(GradcheckConv2d, Plain) {
  EXPECT_TRUE(check_conv2d({2, 3, 5, 5}, {4, 3, 3, 3}, {}, false));
}

TEST(GradcheckConv2d, WithBias) {
  EXPECT_TRUE(check_conv2d({2, 3, 5, 5}, {4, 3, 3, 3}, {}, true));
}

TEST(GradcheckConv2d, Stride2) {
  EXPECT_TRUE(check_conv2d({2, 3, 7, 7}, {4, 3, 3, 3}, Conv2dOptions::make(2, 0), false));
}

TEST(GradcheckConv2d, Padding1) {
  EXPECT_TRUE(check_conv2d({2, 3, 5, 5}, {4, 3, 3, 3}, Conv2dOptions::make(1, 1), true));
}

TEST(GradcheckConv2d, Dilation2) {
  EXPECT_TRUE(check_conv2d({2, 3, 7, 7}, {4, 3, 3, 3}, Conv2dOptions::make(1, 0, 2), false));
}

TEST(GradcheckConv2d, Groups2) {
  EXPECT_TRUE(check_conv2d({2, 4, 5, 5}, {6, 2, 3, 3}, Conv2dOptions::make(1, 0, 1, 2), true));
}

TEST(GradcheckConv2d, AsymmetricStrideAndPadding) {
  EXPECT_TRUE(check_conv2d({2, 3, 7, 6}, {4, 3, 3, 3}, opts(2, 1, 0, 1), true));
}

TEST(GradcheckConv2d, AsymmetricDilation) {
  EXPECT_TRUE(check_conv2d({2, 2, 6, 7}, {3, 2, 3, 3}, opts(1, 2, 1, 0, 1, 2), false));
}

TEST(GradcheckConv2d, NonSquareKernel) {
  EXPECT_TRUE(check_conv2d({2, 3, 6, 5}, {4, 3, 3, 2}, Conv2dOptions::make(1, 1), true));
}

TEST(GradcheckConv2d, StridePaddingDilationGroupsTogether) {
  EXPECT_TRUE(check_conv2d({2, 4, 7, 7}, {4, 2, 3, 2}, opts(2, 1, 1, 2, 2, 1, 2), true));
}

// ---- conv_transpose2d -----------------------------------------------------------

TEST(GradcheckConvTranspose2d, Plain) {
  EXPECT_TRUE(check_conv_transpose2d({2, 4, 4, 4}, {4, 3, 3, 3}, {}, 0, 0, false));
}

TEST(GradcheckConvTranspose2d, Stride2Padding1) {
  EXPECT_TRUE(check_conv_transpose2d({2, 4, 3, 4}, {4, 3, 3, 3}, Conv2dOptions::make(2, 1), 0, 0,
                                     false));
}

TEST(GradcheckConvTranspose2d, OutputPadding1) {
  EXPECT_TRUE(check_conv_transpose2d({2, 4, 3, 3}, {4, 3, 3, 3}, Conv2dOptions::make(2, 1), 1, 1,
                                     true));
}

TEST(GradcheckConvTranspose2d, OutputPaddingOnOneAxis) {
  EXPECT_TRUE(check_conv_transpose2d({2, 3, 3, 3}, {3, 2, 3, 2}, opts(2, 3, 1, 0), 1, 2, true));
}

TEST(GradcheckConvTranspose2d, OutputPaddingBelowDilation) {
  // torch allows output_padding ≥ stride when it is below the dilation.
  EXPECT_TRUE(check_conv_transpose2d({2, 2, 3, 3}, {2, 3, 2, 2}, opts(1, 1, 1, 1, 3, 3), 2, 1,
                                     true));
}

TEST(GradcheckConvTranspose2d, Groups2) {
  EXPECT_TRUE(check_conv_transpose2d({2, 4, 4, 4}, {4, 2, 3, 3}, Conv2dOptions::make(1, 1, 1, 2),
                                     0, 0, false));
}

TEST(GradcheckConvTranspose2d, WithBias) {
  EXPECT_TRUE(check_conv_transpose2d({2, 4, 3, 3}, {4, 3, 3, 3}, Conv2dOptions::make(2, 0), 0, 0,
                                     true));
}

// ---- the two halves of conv2d's backward, called directly -------------------------

TEST(GradcheckConv2dWeightGrad, Plain) {
  Fn f = [](const std::vector<Tensor>& in) { return conv2d_weight_grad(in[0], in[1], {}, 3, 3); };
  EXPECT_TRUE(gradcheck(f, {uniform({2, 3, 5, 5}, -1, 1, 31), uniform({2, 4, 3, 3}, -1, 1, 32)}));
}

TEST(GradcheckConv2dWeightGrad, StridePaddingGroups) {
  const Conv2dOptions o = opts(2, 1, 1, 0, 1, 1, 2);
  // x (2, 4, 6, 5), kernel 3×2: output (2, 6, 3, 4).
  Fn f = [o](const std::vector<Tensor>& in) { return conv2d_weight_grad(in[0], in[1], o, 3, 2); };
  EXPECT_TRUE(gradcheck(f, {uniform({2, 4, 6, 5}, -1, 1, 33), uniform({2, 6, 3, 4}, -1, 1, 34)}));
}

TEST(GradcheckConvTranspose2dSized, Plain) {
  Fn f = [](const std::vector<Tensor>& in) { return conv_transpose2d_sized(in[0], in[1], {}, 5, 5); };
  EXPECT_TRUE(gradcheck(f, {uniform({2, 4, 3, 3}, -1, 1, 41), uniform({4, 3, 3, 3}, -1, 1, 42)}));
}

TEST(GradcheckConvTranspose2dSized, StrideAndExtraRows) {
  // A stride-2 conv2d maps both 5×5 and 6×6 to 3×3; the sized op picks 6×6 here.
  const Conv2dOptions o = Conv2dOptions::make(2, 1, 1, 2);
  Fn f = [o](const std::vector<Tensor>& in) { return conv_transpose2d_sized(in[0], in[1], o, 6, 6); };
  EXPECT_TRUE(gradcheck(f, {uniform({2, 4, 3, 3}, -1, 1, 43), uniform({4, 1, 3, 3}, -1, 1, 44)}));
}

// ---- second order ---------------------------------------------------------------

TEST(GradcheckConv2d, SecondOrderInputAndWeight) {
  const Conv2dOptions o = Conv2dOptions::make(2, 1);
  Fn f = [o](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], o); };
  EXPECT_TRUE(gradgradcheck(f, {uniform({2, 3, 6, 6}, -1, 1, 51), uniform({4, 3, 3, 3}, -1, 1, 52),
                                uniform({4}, -1, 1, 53)}));
}

TEST(GradcheckConv2d, SecondOrderGroupsDilation) {
  const Conv2dOptions o = opts(1, 2, 2, 1, 2, 1, 2);
  Fn f = [o](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], Tensor(), o); };
  EXPECT_TRUE(gradgradcheck(f, {uniform({2, 4, 6, 5}, -1, 1, 54), uniform({4, 2, 2, 3}, -1, 1, 55)}));
}

TEST(GradcheckConvTranspose2d, SecondOrderInputAndWeight) {
  const Conv2dOptions o = Conv2dOptions::make(2, 1);
  Fn f = [o](const std::vector<Tensor>& in) { return conv_transpose2d(in[0], in[1], in[2], o, 1, 1); };
  EXPECT_TRUE(gradgradcheck(f, {uniform({2, 4, 3, 3}, -1, 1, 61), uniform({4, 3, 3, 3}, -1, 1, 62),
                                uniform({3}, -1, 1, 63)}));
}

TEST(GradcheckConv2dWeightGrad, SecondOrder) {
  const Conv2dOptions o = Conv2dOptions::make(2, 1);
  Fn f = [o](const std::vector<Tensor>& in) { return conv2d_weight_grad(in[0], in[1], o, 3, 3); };
  EXPECT_TRUE(gradgradcheck(f, {uniform({2, 3, 5, 5}, -1, 1, 71), uniform({2, 2, 3, 3}, -1, 1, 72)}));
}

// The Winograd paths (engine/cpu/conv_winograd.cpp: 4×4 at stride 2 and 3×3 at stride
// 1, padding 1, ≥ 16 channels) serve all three maps of these, so their forward, input
// and weight gradients are each other's adjoints up to rounding; first and second
// order. The convolution is linear in each input, so a wider step (1e-2) costs no
// truncation error and keeps the forward's rounding (≈1e-5 of outputs near 10) out of
// the finite differences.
TEST(GradcheckConv2d, WinogradPath) {
  Fn f = [](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], Conv2dOptions::make(2, 1)); };
  GradcheckOptions opt;
  opt.eps = 1e-2;
  EXPECT_TRUE(gradcheck(f, {uniform({2, 16, 6, 6}, -1, 1, 93), uniform({16, 16, 4, 4}, -1, 1, 94),
                            uniform({16}, -1, 1, 95)},
                        opt));
}

TEST(GradcheckConv2d, Winograd3x3Path) {
  Fn f = [](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], Conv2dOptions::make(1, 1)); };
  GradcheckOptions opt;
  opt.eps = 1e-2;
  EXPECT_TRUE(gradcheck(f, {uniform({2, 16, 4, 3}, -1, 1, 96), uniform({16, 16, 3, 3}, -1, 1, 97),
                            uniform({16}, -1, 1, 98)},
                        opt));
}

TEST(GradcheckConv2d, Winograd3x3PathSecondOrder) {
  const Conv2dOptions o = Conv2dOptions::make(1, 1);
  Fn f = [o](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], Tensor(), o); };
  EXPECT_TRUE(gradgradcheck(f, {uniform({1, 16, 3, 3}, -1, 1, 99), uniform({16, 16, 3, 3}, -1, 1, 100)}));
}

TEST(GradcheckConv2d, WinogradPathSecondOrder) {
  const Conv2dOptions o = Conv2dOptions::make(2, 1);
  Fn f = [o](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], Tensor(), o); };
  EXPECT_TRUE(gradgradcheck(f, {uniform({1, 16, 6, 4}, -1, 1, 91), uniform({16, 16, 4, 4}, -1, 1, 92)}));
}

// WGAN-GP: the penalty Σ_batch (‖∂critic/∂x‖₂ − 1)² of a critic
// conv2d → leaky_relu(0.2) → linear, its input gradient taken with create_graph,
// is differentiated w.r.t. the critic's weights (the second-order path of training).
TEST(GradcheckWganGp, SecondOrderGradientPenaltyThroughConvCritic) {
  const Conv2dOptions o = Conv2dOptions::make(2, 1);
  Fn penalty = [o](const std::vector<Tensor>& in) {
    Tensor x = in[0].detach();
    x.requires_grad_(true);
    Tensor h = leaky_relu(conv2d(x, in[1], in[2], o), 0.2f);  // (2, 3, 3, 3)
    Tensor critic = linear(h.flatten(1), in[3], in[4]);       // (2, 1)
    Tensor gx = grad({sum(critic)}, {x}, {}, /*create_graph=*/true)[0];
    Tensor norm = sqrt(sum(mul(gx, gx), {1, 2, 3}));
    Tensor dev = sub(norm, Tensor::scalar(1.0f));
    return sum(mul(dev, dev));
  };
  Tensor x = uniform({2, 2, 6, 6}, -1, 1, 81, false);
  Tensor conv_w = uniform({3, 2, 3, 3}, -1, 1, 82);
  Tensor conv_b = uniform({3}, -0.5f, 0.5f, 83, false);
  Tensor lin_w = uniform({1, 27}, -1, 1, 84);
  Tensor lin_b = uniform({1}, -1, 1, 85, false);
  // The penalty must depend on the weights (and not be constant): a sanity check
  // that the create_graph gradient has history.
  Tensor p = penalty({x, conv_w, conv_b, lin_w, lin_b});
  ASSERT_TRUE(p.requires_grad());
  EXPECT_GT(p.item(), 0.0f);
  EXPECT_TRUE(gradcheck(penalty, {x, conv_w, conv_b, lin_w, lin_b}));
}
