// Known-value tests of the reductions, shape ops, gather/scatter and matrix ops:
// hand-computed forwards and gradients, argument edge cases and their errors.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "tensor_expect.h"

using namespace adx;
using adx::testing::expect_tensor;

namespace {


Tensor T(const Shape& shape, std::initializer_list<float> v) { return Tensor::from_data(shape, v); }
Tensor G(const Shape& shape, std::initializer_list<float> v) {
  return Tensor::from_data(shape, v).requires_grad_();
}
// 0, 1, ..., n−1 in the given shape.
Tensor iota(const Shape& shape) {
  return Tensor::arange(0, static_cast<float>(shape_numel(shape))).reshape(shape);
}
Tensor grad_of_sum(const Tensor& y, const Tensor& x) { return grad({sum(y)}, {x})[0]; }
// d(Σ w ⊙ y)/dx for fixed weights w (so that position matters).
Tensor grad_weighted(const Tensor& y, const Tensor& x, const Tensor& w) {
  return grad({sum(mul(y, w))}, {x})[0];
}
FlatIndex flat_index(std::vector<int64_t> v) {
  return make_pooled<IndexList>(v.begin(), v.end());
}

}  // namespace

// ---- sum, mean, var ----------------------------------------------------------------

TEST(OpsReduce, SumAll) {
  Tensor x = G({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor s = sum(x);
  expect_tensor(s, {}, {21});
  expect_tensor(grad_of_sum(s, x), {2, 3}, {1, 1, 1, 1, 1, 1});
  expect_tensor(x.sum(), {}, {21});
  expect_tensor(sum(Tensor::scalar(4)), {}, {4});
  expect_tensor(sum(Tensor::zeros({0, 3})), {}, {0});
}

TEST(OpsReduce, SumOverDims) {
  Tensor x = iota({2, 3});  // [[0,1,2],[3,4,5]]
  expect_tensor(sum(x, {0}), {3}, {3, 5, 7});
  expect_tensor(sum(x, {1}), {2}, {3, 12});
  expect_tensor(sum(x, {-1}), {2}, {3, 12});
  expect_tensor(sum(x, {1}, true), {2, 1}, {3, 12});
  expect_tensor(sum(x, {0}, true), {1, 3}, {3, 5, 7});
  expect_tensor(sum(x, {0, 1}), {}, {15});
  expect_tensor(sum(x, {1, 0}, true), {1, 1}, {15});
  // (2,3,4) over dims 0 and 2: Σ_{i,k} (12i + 4j + k) = 60 + 32j.
  Tensor y = iota({2, 3, 4});
  expect_tensor(sum(y, {0, 2}), {3}, {60, 92, 124});
  expect_tensor(sum(y, {2, 0}, true), {1, 3, 1}, {60, 92, 124});
  // Over the middle dim: Σ_j (12i + 4j + k) = 36i + 12 + 3k.
  expect_tensor(sum(y, {1}), {2, 4}, {12, 15, 18, 21, 48, 51, 54, 57});
}

// Rows of every length from 1 to 40 cover the eight running sums of the last-dim
// reduction and its remainder; values of mixed sign and size against a double sum.
TEST(OpsReduce, SumOfLongRowsMatchesDoubleSum) {
  for (int64_t n = 1; n <= 40; ++n) {
    std::vector<float> v(static_cast<size_t>(3 * n));
    for (size_t i = 0; i < v.size(); ++i)
      v[i] = static_cast<float>((i % 7 == 3 ? -1e3 : 1.0) * std::sin(0.7 * static_cast<double>(i)));
    const Tensor s = sum(Tensor::from_data({3, n}, v), {1});
    for (int64_t r = 0; r < 3; ++r) {
      double expected = 0.0;
      for (int64_t j = 0; j < n; ++j) expected += v[static_cast<size_t>(r * n + j)];
      EXPECT_NEAR(s.data()[r], expected, 1e-6 * std::max(1.0, std::fabs(expected))) << "row length " << n;
    }
  }
}

// A convolution's bias gradient: Σ over N, H, W of (N, C, H, W), with planes of 7×5
// (a whole vector of eight and a remainder), against a double sum; and its gradient.
TEST(OpsReduce, SumOverAllButChannels) {
  const int64_t n = 3, c = 4, h = 7, w = 5;
  std::vector<float> v(static_cast<size_t>(n * c * h * w));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(std::cos(0.3 * static_cast<double>(i)) * (1 + i % 5));
  Tensor x = Tensor::from_data({n, c, h, w}, v).requires_grad_();
  const Tensor s = sum(x, {0, 2, 3});
  ASSERT_EQ(s.shape(), (Shape{c}));
  EXPECT_EQ(sum(x, {3, 0, 2}, true).shape(), (Shape{1, c, 1, 1}));
  for (int64_t ch = 0; ch < c; ++ch) {
    double expected = 0.0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t p = 0; p < h * w; ++p) expected += v[static_cast<size_t>((i * c + ch) * h * w + p)];
    EXPECT_NEAR(s.data()[ch], expected, 1e-5 * std::max(1.0, std::fabs(expected))) << "channel " << ch;
  }
  const std::vector<float> g = grad_weighted(s, x, T({c}, {1, 2, 3, 4})).to_vector();
  for (size_t i = 0; i < g.size(); ++i)
    ASSERT_EQ(g[i], static_cast<float>(1 + (i / static_cast<size_t>(h * w)) % static_cast<size_t>(c))) << i;
}

TEST(OpsReduce, SumGradientExpands) {
  Tensor x = G({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor s = sum(x, {1});
  expect_tensor(grad_weighted(s, x, T({2}, {10, -1})), {2, 3}, {10, 10, 10, -1, -1, -1});
  Tensor k = sum(x, {0}, true);
  expect_tensor(grad_weighted(k, x, T({1, 3}, {1, 2, 3})), {2, 3}, {1, 2, 3, 1, 2, 3});
}

TEST(OpsReduce, SumBadDimsThrow) {
  Tensor x = Tensor::ones({2, 3});
  EXPECT_THROW(sum(x, {2}), Error);
  EXPECT_THROW(sum(x, {-3}), Error);
  EXPECT_THROW(sum(x, {0, 0}), Error);
  EXPECT_THROW(sum(x, {1, -1}), Error);
}

TEST(OpsReduce, Mean) {
  Tensor x = G({2, 3}, {0, 1, 2, 3, 4, 5});
  expect_tensor(mean(x), {}, {2.5f});
  expect_tensor(mean(x, {0}), {3}, {1.5f, 2.5f, 3.5f});
  expect_tensor(mean(x, {1}, true), {2, 1}, {1, 4});
  expect_tensor(grad_of_sum(mean(x), x), {2, 3}, {1 / 6.f, 1 / 6.f, 1 / 6.f, 1 / 6.f, 1 / 6.f, 1 / 6.f});
  expect_tensor(grad_of_sum(mean(x, {0}), x), {2, 3}, {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f});
  expect_tensor(x.mean(), {}, {2.5f});
  EXPECT_THROW(mean(Tensor::zeros({0})), Error);
  EXPECT_THROW(mean(Tensor::zeros({2, 0}), {1}), Error);
  EXPECT_THROW(mean(x, {2}), Error);
}

TEST(OpsReduce, Var) {
  Tensor v = T({4}, {1, 2, 3, 4});
  expect_tensor(var(v, {0}), {}, {5.0f / 3.0f});          // Σ(x−2.5)² = 5, / 3
  expect_tensor(var(v, {0}, false), {}, {1.25f});         // / 4
  expect_tensor(var(v, {0}, true, true), {1}, {5.0f / 3.0f});
  Tensor x = G({2, 3}, {1, 2, 3, 2, 4, 6});
  expect_tensor(var(x, {1}), {2}, {1, 4});
  expect_tensor(var(x, {1}, false), {2}, {2.0f / 3.0f, 8.0f / 3.0f});
  expect_tensor(var(x, {0}, false, true), {1, 3}, {0.25f, 1, 2.25f});
  expect_tensor(var(x, {0, 1}), {}, {3.2f});  // mean 3, Σ(x−3)² = 16, / 5
  // d var / dx = 2 (x − mean) / (n − 1): row 0 mean 2 → [−1, 0, 1]; row 1 mean 4 → [−2, 0, 2].
  expect_tensor(grad_of_sum(var(x, {1}), x), {2, 3}, {-1, 0, 1, -2, 0, 2});
  expect_tensor(grad_of_sum(var(x, {1}, false), x), {2, 3},
                {-2 / 3.f, 0, 2 / 3.f, -4 / 3.f, 0, 4 / 3.f});
}

TEST(OpsReduce, VarTooFewElementsThrows) {
  EXPECT_THROW(var(Tensor::ones({1, 3}), {0}), Error);  // n − 1 = 0
  EXPECT_NO_THROW(var(Tensor::ones({1, 3}), {0}, false));
  EXPECT_THROW(var(Tensor::ones({2}), {1}), Error);
}

// ---- max, min, argmax ------------------------------------------------------------------

TEST(OpsReduce, MaxMinOverDim) {
  Tensor x = G({2, 3}, {1, 5, 3, 4, 2, 6});
  expect_tensor(max(x, 1), {2}, {5, 6});
  expect_tensor(min(x, 1), {2}, {1, 2});
  expect_tensor(max(x, 0), {3}, {4, 5, 6});
  expect_tensor(min(x, 0), {3}, {1, 2, 3});
  expect_tensor(max(x, -1, true), {2, 1}, {5, 6});
  expect_tensor(min(x, 0, true), {1, 3}, {1, 2, 3});
  // The gradient goes to the extreme element only.
  expect_tensor(grad_weighted(max(x, 1), x, T({2}, {2, 3})), {2, 3}, {0, 2, 0, 0, 0, 3});
  expect_tensor(grad_of_sum(min(x, 0), x), {2, 3}, {1, 0, 1, 0, 1, 0});
  // 3-D, middle dim: x[i][j][k] = 12i + 4j + k, so the max is at j = 2.
  Tensor y = iota({2, 3, 4});
  expect_tensor(max(y, 1), {2, 4}, {8, 9, 10, 11, 20, 21, 22, 23});
  expect_tensor(min(y, 1), {2, 4}, {0, 1, 2, 3, 12, 13, 14, 15});
}

TEST(OpsReduce, MaxMinAll) {
  Tensor x = G({2, 3}, {1, 5, 3, 4, -2, 6});
  expect_tensor(max(x), {}, {6});
  expect_tensor(min(x), {}, {-2});
  expect_tensor(grad_of_sum(max(x), x), {2, 3}, {0, 0, 0, 0, 0, 1});
  expect_tensor(grad_of_sum(min(x), x), {2, 3}, {0, 0, 0, 0, 1, 0});
  expect_tensor(max(Tensor::scalar(3)), {}, {3});
  EXPECT_THROW(max(Tensor::zeros({0})), Error);
  EXPECT_THROW(min(Tensor::zeros({0})), Error);
  EXPECT_THROW(max(x, 2), Error);
  EXPECT_THROW(min(x, -3), Error);
}

TEST(OpsReduce, MaxMinPropagateNaN) {
  const float nan = std::nanf("");
  Tensor x = T({2, 3}, {1, nan, 3, 4, 5, 6});
  EXPECT_TRUE(std::isnan(max(x, 1).data()[0]));
  EXPECT_TRUE(std::isnan(min(x, 1).data()[0]));
  EXPECT_FLOAT_EQ(max(x, 1).data()[1], 6);
  EXPECT_TRUE(std::isnan(max(x).item()));
  EXPECT_FLOAT_EQ(argmax(x, 1).data()[0], 1);
}

TEST(OpsReduce, MaxTiesPickOneElement) {
  // With ties exactly one element (the first) receives the gradient.
  Tensor x = G({4}, {1, 7, 7, 2});
  expect_tensor(max(x, 0), {}, {7});
  expect_tensor(grad_of_sum(max(x, 0), x), {4}, {0, 1, 0, 0});
}

TEST(OpsReduce, Argmax) {
  Tensor x = T({2, 3}, {1, 5, 3, 4, 2, 6});
  expect_tensor(argmax(x, 1), {2}, {1, 2});
  expect_tensor(argmax(x, 0), {3}, {1, 0, 1});
  expect_tensor(argmax(x, -1), {2}, {1, 2});
  expect_tensor(argmax(T({3}, {2, 7, 7}), 0), {}, {1});  // first of a tie
  // 3-D over the middle dim: the position along dim 1, not a flat index.
  Tensor y = T({2, 3, 2}, {0, 9, 5, 1, 2, 3, 8, 0, 1, 1, 0, 7});
  expect_tensor(argmax(y, 1), {2, 2}, {1, 0, 0, 2});
  EXPECT_FALSE(argmax(G({2}, {1, 2}), 0).requires_grad());
  EXPECT_THROW(argmax(x, 2), Error);
}

// ---- sum_to, expand ---------------------------------------------------------------------

TEST(OpsReduce, SumTo) {
  Tensor x = G({2, 3}, {1, 2, 3, 4, 5, 6});
  expect_tensor(sum_to(x, {3}), {3}, {5, 7, 9});
  expect_tensor(sum_to(x, {1, 3}), {1, 3}, {5, 7, 9});
  expect_tensor(sum_to(x, {2, 1}), {2, 1}, {6, 15});
  expect_tensor(sum_to(x, {}), {}, {21});
  expect_tensor(sum_to(x, {1, 1}), {1, 1}, {21});
  expect_tensor(sum_to(x, {2, 3}), {2, 3}, {1, 2, 3, 4, 5, 6});
  expect_tensor(grad_weighted(sum_to(x, {2, 1}), x, T({2, 1}, {2, -1})), {2, 3}, {2, 2, 2, -1, -1, -1});
  EXPECT_THROW(sum_to(x, {4}), Error);
  EXPECT_THROW(sum_to(x, {2}), Error);       // (2) aligns with the trailing 3
  EXPECT_THROW(sum_to(x, {1, 2, 3}), Error); // more dims than x
  EXPECT_THROW(sum_to(x, {3, 3}), Error);
}

TEST(OpsShape, Expand) {
  Tensor x = G({3, 1}, {1, 2, 3});
  Tensor y = expand(x, {2, 3, 2});
  expect_tensor(y, {2, 3, 2}, {1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3});
  expect_tensor(grad_of_sum(y, x), {3, 1}, {4, 4, 4});
  expect_tensor(expand(Tensor::scalar(5), {2, 2}), {2, 2}, {5, 5, 5, 5});
  expect_tensor(x.expand({3, 2}), {3, 2}, {1, 1, 2, 2, 3, 3});
  expect_tensor(expand(T({2}, {1, 2}), {2, 2}), {2, 2}, {1, 2, 1, 2});
  EXPECT_THROW(expand(T({2}, {1, 2}), {3}), Error);
  EXPECT_THROW(expand(T({2}, {1, 2}), {2, 1}), Error);  // would need to shrink a dim
  EXPECT_THROW(expand(Tensor::ones({2, 3}), {3}), Error);
}

// ---- reshape, permute, transpose --------------------------------------------------------

TEST(OpsShape, Reshape) {
  Tensor x = G({6}, {0, 1, 2, 3, 4, 5});
  Tensor y = reshape(x, {2, 3});
  expect_tensor(y, {2, 3}, {0, 1, 2, 3, 4, 5});
  EXPECT_FLOAT_EQ(y.at({1, 0}), 3);
  EXPECT_EQ(y.data(), x.data());  // a view: no copy
  expect_tensor(grad_weighted(y, x, T({2, 3}, {1, 2, 3, 4, 5, 6})), {6}, {1, 2, 3, 4, 5, 6});
  expect_tensor(reshape(Tensor::scalar(7), {1, 1}), {1, 1}, {7});
  expect_tensor(reshape(T({1}, {7}), {}), {}, {7});
}

TEST(OpsShape, ReshapeInfersMinusOne) {
  Tensor x = iota({2, 3, 4});
  EXPECT_EQ(reshape(x, {-1}).shape(), (Shape{24}));
  EXPECT_EQ(reshape(x, {4, -1}).shape(), (Shape{4, 6}));
  EXPECT_EQ(reshape(x, {-1, 2, 3}).shape(), (Shape{4, 2, 3}));
  EXPECT_EQ(x.flatten().shape(), (Shape{2, 12}));
  EXPECT_EQ(x.flatten(0).shape(), (Shape{24}));
  EXPECT_EQ(x.unsqueeze(0).shape(), (Shape{1, 2, 3, 4}));
  EXPECT_EQ(x.unsqueeze(-1).shape(), (Shape{2, 3, 4, 1}));
  EXPECT_EQ(x.unsqueeze(1).squeeze(1).shape(), (Shape{2, 3, 4}));
}

TEST(OpsShape, ReshapeBadShapesThrow) {
  Tensor x = iota({2, 3});
  EXPECT_THROW(reshape(x, {4, 2}), Error);
  EXPECT_THROW(reshape(x, {-1, -1}), Error);
  EXPECT_THROW(reshape(x, {4, -1}), Error);  // 6 is not a multiple of 4
  EXPECT_THROW(reshape(x, {-2, -3}), Error);
  EXPECT_THROW(reshape(Tensor::zeros({0, 2}), {0, -1}), Error);  // ambiguous
  EXPECT_THROW(x.squeeze(0), Error);  // size 2, not 1
}

TEST(OpsShape, Permute) {
  Tensor x = G({2, 3}, {0, 1, 2, 3, 4, 5});
  Tensor y = permute(x, {1, 0});
  expect_tensor(y, {3, 2}, {0, 3, 1, 4, 2, 5});
  expect_tensor(grad_weighted(y, x, T({3, 2}, {1, 2, 3, 4, 5, 6})), {2, 3}, {1, 3, 5, 2, 4, 6});
  // out[k][i][j] = x[i][j][k] = 12i + 4j + k
  Tensor z = permute(iota({2, 3, 4}), {2, 0, 1});
  EXPECT_EQ(z.shape(), (Shape{4, 2, 3}));
  EXPECT_FLOAT_EQ(z.at({3, 1, 2}), 23);
  EXPECT_FLOAT_EQ(z.at({1, 0, 2}), 9);
  EXPECT_FLOAT_EQ(z.at({2, 1, 0}), 14);
  expect_tensor(permute(iota({2, 3, 4}), {-1, 0, 1}), {4, 2, 3},
                {0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21, 2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23});
  // The gradient of a 3-D permute applies the inverse permutation: x[i][j][k] gets w[k][i][j].
  Tensor x3 = iota({2, 3, 4}).requires_grad_();
  expect_tensor(grad_weighted(permute(x3, {2, 0, 1}), x3, iota({4, 2, 3})), {2, 3, 4},
                {0, 6, 12, 18, 1, 7, 13, 19, 2, 8, 14, 20, 3, 9, 15, 21, 4, 10, 16, 22, 5, 11, 17, 23});
}

TEST(OpsShape, PermuteBadDimsThrow) {
  Tensor x = iota({2, 3, 4});
  EXPECT_THROW(permute(x, {0, 1}), Error);
  EXPECT_THROW(permute(x, {0, 1, 1}), Error);
  EXPECT_THROW(permute(x, {0, 1, 3}), Error);
  EXPECT_THROW(permute(x, {0, 1, 2, 3}), Error);
}

TEST(OpsShape, Transpose) {
  Tensor x = iota({2, 3});
  expect_tensor(transpose(x, 0, 1), {3, 2}, {0, 3, 1, 4, 2, 5});
  expect_tensor(x.t(), {3, 2}, {0, 3, 1, 4, 2, 5});
  expect_tensor(transpose(x, -1, -2), {3, 2}, {0, 3, 1, 4, 2, 5});
  expect_tensor(transpose(x, 1, 1), {2, 3}, {0, 1, 2, 3, 4, 5});
  Tensor y = transpose(iota({2, 3, 4}), 0, 2);  // y[k][j][i] = 12i + 4j + k
  EXPECT_EQ(y.shape(), (Shape{4, 3, 2}));
  EXPECT_FLOAT_EQ(y.at({3, 2, 1}), 23);
  EXPECT_FLOAT_EQ(y.at({1, 2, 0}), 9);
  EXPECT_THROW(transpose(x, 0, 2), Error);
}

// ---- slice ----------------------------------------------------------------------------------

TEST(OpsShape, SliceBasic) {
  Tensor x = iota({10});
  expect_tensor(slice(x, 0, 2, 5), {3}, {2, 3, 4});
  expect_tensor(slice(x, 0, 1, 8, 2), {4}, {1, 3, 5, 7});
  expect_tensor(slice(x, 0, 0, 10, 3), {4}, {0, 3, 6, 9});
  expect_tensor(x.slice(0, 7, 10), {3}, {7, 8, 9});
}

TEST(OpsShape, SliceNegativeIndices) {
  Tensor x = iota({10});
  expect_tensor(slice(x, 0, -3, -1), {2}, {7, 8});
  expect_tensor(slice(x, 0, -3, 10), {3}, {7, 8, 9});
  expect_tensor(slice(x, -1, 0, -8), {2}, {0, 1});
  expect_tensor(slice(iota({2, 3}), -1, -2, 3), {2, 2}, {1, 2, 4, 5});
}

TEST(OpsShape, SliceClampsOutOfRangeBounds) {
  Tensor x = iota({10});
  expect_tensor(slice(x, 0, -100, 100), {10}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  expect_tensor(slice(x, 0, 8, 100), {2}, {8, 9});
  expect_tensor(slice(x, 0, -100, 2), {2}, {0, 1});
  EXPECT_EQ(slice(x, 0, 5, 2).shape(), (Shape{0}));    // end before start: empty
  EXPECT_EQ(slice(x, 0, 12, 20).shape(), (Shape{0}));  // entirely past the end
  EXPECT_EQ(slice(x, 0, 3, 3).shape(), (Shape{0}));
  expect_tensor(slice(x, 0, 7, 100, 2), {2}, {7, 9});
}

TEST(OpsShape, SliceInnerDim) {
  Tensor x = G({2, 3}, {0, 1, 2, 3, 4, 5});
  Tensor y = slice(x, 1, 1, 3);
  expect_tensor(y, {2, 2}, {1, 2, 4, 5});
  expect_tensor(grad_weighted(y, x, T({2, 2}, {1, 2, 3, 4})), {2, 3}, {0, 1, 2, 0, 3, 4});
  Tensor z = slice(x, 1, 0, 3, 2);
  expect_tensor(z, {2, 2}, {0, 2, 3, 5});
  expect_tensor(grad_weighted(z, x, T({2, 2}, {1, 2, 3, 4})), {2, 3}, {1, 0, 2, 3, 0, 4});
  // (2,3,2) along the middle dim.
  expect_tensor(slice(iota({2, 3, 2}), 1, 2, 3), {2, 1, 2}, {4, 5, 10, 11});
}

TEST(OpsShape, SliceDim0IsAView) {
  Tensor x = G({3, 2}, {0, 1, 2, 3, 4, 5});
  Tensor y = slice(x, 0, 1, 3);
  expect_tensor(y, {2, 2}, {2, 3, 4, 5});
  EXPECT_EQ(y.data(), x.data() + 2);  // shares storage
  expect_tensor(grad_weighted(y, x, T({2, 2}, {1, 2, 3, 4})), {3, 2}, {0, 0, 1, 2, 3, 4});
  // A view of a view, reshaped: offsets compose.
  Tensor z = reshape(slice(y, 0, 1, 2), {2});
  expect_tensor(z, {2}, {4, 5});
  expect_tensor(grad_of_sum(z, x), {3, 2}, {0, 0, 0, 0, 1, 1});
  // With a step dim 0 needs a copy but the values are the same.
  expect_tensor(slice(x, 0, 0, 3, 2), {2, 2}, {0, 1, 4, 5});
}

TEST(OpsShape, SliceBadArgumentsThrow) {
  Tensor x = iota({2, 3});
  EXPECT_THROW(slice(x, 2, 0, 1), Error);
  EXPECT_THROW(slice(x, -3, 0, 1), Error);
  EXPECT_THROW(slice(x, 0, 0, 2, 0), Error);
  EXPECT_THROW(slice(x, 0, 2, 0, -1), Error);
}

// ---- concat, stack ------------------------------------------------------------------------

TEST(OpsShape, Concat) {
  Tensor a = G({1, 2}, {1, 2});
  Tensor b = G({2, 2}, {3, 4, 5, 6});
  Tensor c = concat({a, b}, 0);
  expect_tensor(c, {3, 2}, {1, 2, 3, 4, 5, 6});
  TensorList g = grad({sum(mul(c, T({3, 2}, {1, 2, 3, 4, 5, 6})))}, {a, b});
  expect_tensor(g[0], {1, 2}, {1, 2});
  expect_tensor(g[1], {2, 2}, {3, 4, 5, 6});
  // Along dim 1: (2,1) ++ (2,2).
  Tensor d = concat({T({2, 1}, {1, 2}), T({2, 2}, {3, 4, 5, 6})}, 1);
  expect_tensor(d, {2, 3}, {1, 3, 4, 2, 5, 6});
  expect_tensor(concat({T({2, 1}, {1, 2}), T({2, 2}, {3, 4, 5, 6})}, -1), {2, 3}, {1, 3, 4, 2, 5, 6});
  // Three pieces, one of them empty.
  expect_tensor(concat({T({1}, {1}), Tensor::zeros({0}), T({2}, {2, 3})}, 0), {3}, {1, 2, 3});
  expect_tensor(concat({T({2}, {1, 2})}, 0), {2}, {1, 2});
}

TEST(OpsShape, ConcatBadShapesThrow) {
  EXPECT_THROW(concat({}, 0), Error);
  EXPECT_THROW(concat({Tensor::ones({2, 2}), Tensor::ones({2, 3})}, 0), Error);
  EXPECT_THROW(concat({Tensor::ones({2, 2}), Tensor::ones({2})}, 0), Error);
  EXPECT_THROW(concat({Tensor::ones({2, 2}), Tensor::ones({2, 2})}, 2), Error);
}

TEST(OpsShape, Stack) {
  Tensor a = G({2}, {1, 2});
  Tensor b = G({2}, {3, 4});
  expect_tensor(stack({a, b}, 0), {2, 2}, {1, 2, 3, 4});
  expect_tensor(stack({a, b}, 1), {2, 2}, {1, 3, 2, 4});
  expect_tensor(stack({a, b}, -1), {2, 2}, {1, 3, 2, 4});
  expect_tensor(stack({a, b, a}, 0), {3, 2}, {1, 2, 3, 4, 1, 2});
  TensorList g = grad({sum(mul(stack({a, b}, 1), T({2, 2}, {1, 2, 3, 4})))}, {a, b});
  expect_tensor(g[0], {2}, {1, 3});
  expect_tensor(g[1], {2}, {2, 4});
  EXPECT_EQ(stack({Tensor::scalar(1), Tensor::scalar(2)}, 0).shape(), (Shape{2}));
  EXPECT_THROW(stack({}, 0), Error);
  EXPECT_THROW(stack({Tensor::ones({2}), Tensor::ones({3})}, 0), Error);
  EXPECT_THROW(stack({a, b}, 2), Error);
}

// ---- index_select, index_add, gather, scatter_add -----------------------------------------

TEST(OpsShape, IndexSelect) {
  Tensor x = G({3, 2}, {0, 1, 2, 3, 4, 5});
  Tensor y = index_select(x, 0, {2, 0, 2});
  expect_tensor(y, {3, 2}, {4, 5, 0, 1, 4, 5});
  // Repeated indices accumulate their gradients.
  expect_tensor(grad_of_sum(y, x), {3, 2}, {1, 1, 0, 0, 2, 2});
  expect_tensor(index_select(x, 1, {1, 1}), {3, 2}, {1, 1, 3, 3, 5, 5});
  expect_tensor(index_select(x, -1, {1}), {3, 1}, {1, 3, 5});
  EXPECT_EQ(index_select(x, 0, {}).shape(), (Shape{0, 2}));
  // (2,3,2), middle dim.
  expect_tensor(index_select(iota({2, 3, 2}), 1, {2, 0}), {2, 2, 2}, {4, 5, 0, 1, 10, 11, 6, 7});
}

TEST(OpsShape, IndexSelectBadArgumentsThrow) {
  Tensor x = iota({3, 2});
  EXPECT_THROW(index_select(x, 0, {3}), Error);
  EXPECT_THROW(index_select(x, 0, {-1}), Error);
  EXPECT_THROW(index_select(x, 2, {0}), Error);
}

TEST(OpsShape, IndexAdd) {
  Tensor src = G({3}, {1, 2, 3});
  Tensor y = index_add({3}, 0, {0, 2, 0}, src);
  expect_tensor(y, {3}, {4, 0, 2});
  expect_tensor(grad_weighted(y, src, T({3}, {10, 20, 30})), {3}, {10, 30, 10});
  expect_tensor(index_add({2, 3}, 1, {2, 2}, T({2, 2}, {1, 2, 3, 4})), {2, 3}, {0, 0, 3, 0, 0, 7});
  EXPECT_THROW(index_add({3}, 0, {0, 1}, T({3}, {1, 2, 3})), Error);  // src size ≠ index count
  EXPECT_THROW(index_add({3}, 0, {0, 3}, T({2}, {1, 2})), Error);     // index out of range
  EXPECT_THROW(index_add({3}, 1, {0}, T({1}, {1})), Error);           // bad dim
}

TEST(OpsShape, Gather) {
  Tensor x = G({4}, {10, 20, 30, 40});
  Tensor y = gather(x, flat_index({3, 0, -1, 3}), {2, 2});
  expect_tensor(y, {2, 2}, {40, 10, 0, 40});  // a negative index reads 0
  expect_tensor(grad_of_sum(y, x), {4}, {1, 0, 0, 2});
  EXPECT_THROW(gather(x, flat_index({0, 4}), {2}), Error);  // out of range
  EXPECT_THROW(gather(x, flat_index({0, 1}), {3}), Error);  // count ≠ shape
}

TEST(OpsShape, ScatterAdd) {
  Tensor src = G({4}, {1, 2, 3, 4});
  Tensor y = scatter_add(src, flat_index({1, 1, -1, 0}), {3});
  expect_tensor(y, {3}, {4, 3, 0});  // a negative index is dropped
  expect_tensor(grad_weighted(y, src, T({3}, {10, 20, 30})), {4}, {20, 20, 0, 10});
  EXPECT_THROW(scatter_add(src, flat_index({0, 1}), {3}), Error);
  EXPECT_THROW(scatter_add(src, flat_index({0, 1, 2, 3}), {3}), Error);
}

// ---- matmul, linear, pairwise_sq_dist ------------------------------------------------------

TEST(OpsMatmul, TwoD) {
  Tensor a = G({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = G({3, 2}, {7, 8, 9, 10, 11, 12});
  Tensor c = matmul(a, b);
  expect_tensor(c, {2, 2}, {58, 64, 139, 154});
  TensorList g = grad({sum(c)}, {a, b});
  // dA = 1·Bᵀ: row sums of B; dB = Aᵀ·1: column sums of A.
  expect_tensor(g[0], {2, 3}, {15, 19, 23, 15, 19, 23});
  expect_tensor(g[1], {3, 2}, {5, 5, 7, 7, 9, 9});
}

TEST(OpsMatmul, TransposeFlags) {
  Tensor a = T({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor at = T({3, 2}, {1, 4, 2, 5, 3, 6});
  Tensor b = T({3, 2}, {7, 8, 9, 10, 11, 12});
  Tensor bt = T({2, 3}, {7, 9, 11, 8, 10, 12});
  const std::vector<float> want = {58, 64, 139, 154};
  expect_tensor(matmul(a, b, false, false), {2, 2}, want);
  expect_tensor(matmul(at, b, true, false), {2, 2}, want);
  expect_tensor(matmul(a, bt, false, true), {2, 2}, want);
  expect_tensor(matmul(at, bt, true, true), {2, 2}, want);
  // Non-square outputs: (3,2)ᵀ·(3,1) = (2,1).
  expect_tensor(matmul(at, T({3, 1}, {1, 0, -1}), true, false), {2, 1}, {-2, -2});
}

TEST(OpsMatmul, TransposeFlagGradients) {
  Tensor at = G({3, 2}, {1, 4, 2, 5, 3, 6});
  Tensor bt = G({2, 3}, {7, 9, 11, 8, 10, 12});
  TensorList g = grad({sum(matmul(at, bt, true, true))}, {at, bt});
  expect_tensor(g[0], {3, 2}, {15, 15, 19, 19, 23, 23});
  expect_tensor(g[1], {2, 3}, {5, 7, 9, 5, 7, 9});
}

TEST(OpsMatmul, Batched) {
  Tensor a = G({2, 2, 2}, {1, 0, 0, 1, 0, 1, 1, 0});
  Tensor b = G({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  Tensor c = matmul(a, b);
  expect_tensor(c, {2, 2, 2}, {1, 2, 3, 4, 7, 8, 5, 6});
  expect_tensor(matmul(a, b, true, false), {2, 2, 2}, {1, 2, 3, 4, 7, 8, 5, 6});  // a is symmetric
  expect_tensor(matmul(a, b, false, true), {2, 2, 2}, {1, 3, 2, 4, 6, 8, 5, 7});
  TensorList g = grad({sum(c)}, {a, b});
  expect_tensor(g[0], {2, 2, 2}, {3, 7, 3, 7, 11, 15, 11, 15});
  expect_tensor(g[1], {2, 2, 2}, {1, 1, 1, 1, 1, 1, 1, 1});
}

TEST(OpsMatmul, ThreeDTimesTwoD) {
  Tensor a = G({2, 1, 2}, {1, 2, 3, 4});
  Tensor b = G({2, 2}, {1, 0, 1, 1});
  Tensor c = matmul(a, b);
  expect_tensor(c, {2, 1, 2}, {3, 2, 7, 4});
  expect_tensor(matmul(a, T({2, 2}, {1, 1, 0, 1}), false, true), {2, 1, 2}, {3, 2, 7, 4});
  TensorList g = grad({sum(c)}, {a, b});
  expect_tensor(g[0], {2, 1, 2}, {1, 2, 1, 2});
  expect_tensor(g[1], {2, 2}, {4, 4, 6, 6});  // summed over the batch
}

TEST(OpsMatmul, EmptyOperands) {
  // A zero batch with a shared b (this once divided by the batch size).
  EXPECT_EQ(matmul(Tensor::zeros({0, 3, 4}), Tensor::ones({4, 2})).shape(), (Shape{0, 3, 2}));
  EXPECT_EQ(matmul(Tensor::zeros({0, 3, 4}), Tensor::ones({0, 4, 2})).shape(), (Shape{0, 3, 2}));
  // An empty inner dimension gives zeros.
  expect_tensor(matmul(Tensor::ones({2, 0}), Tensor::ones({0, 3})), {2, 3}, {0, 0, 0, 0, 0, 0});
  // ... and its backward works with the zero-sized dims, also for a shared b.
  Tensor a = Tensor::ones({2, 1, 0}).requires_grad_();
  Tensor b = Tensor::ones({0, 2}).requires_grad_();
  Tensor c = matmul(a, b);
  expect_tensor(c, {2, 1, 2}, {0, 0, 0, 0});
  TensorList g = grad({sum(c)}, {a, b});
  EXPECT_EQ(g[0].shape(), (Shape{2, 1, 0}));
  EXPECT_EQ(g[1].shape(), (Shape{0, 2}));
  expect_tensor(linear(Tensor::ones({2, 1, 0}), Tensor::ones({3, 0}), T({3}, {1, 2, 3})), {2, 1, 3},
                {1, 2, 3, 1, 2, 3});
}

TEST(OpsMatmul, BadShapesThrow) {
  EXPECT_THROW(matmul(Tensor::ones({2, 3}), Tensor::ones({2, 3})), Error);
  EXPECT_THROW(matmul(Tensor::ones({2, 3}), Tensor::ones({3, 2}), true, false), Error);
  EXPECT_THROW(matmul(Tensor::ones({2, 3}), Tensor::ones({2, 3, 2})), Error);
  EXPECT_THROW(matmul(Tensor::ones({2, 3, 4}), Tensor::ones({3, 4, 2})), Error);
  EXPECT_THROW(matmul(Tensor::ones({2, 4, 3}), Tensor::ones({4, 2}), true, false), Error);
  EXPECT_THROW(matmul(Tensor::ones({3}), Tensor::ones({3})), Error);
  EXPECT_NO_THROW(matmul(Tensor::ones({2, 3}), Tensor::ones({2, 3}), false, true));
}

TEST(OpsMatmul, Linear) {
  Tensor x = G({1, 2}, {1, 2});
  Tensor w = G({3, 2}, {1, 0, 0, 1, 1, 1});
  Tensor b = G({3}, {0.5f, -1, 0});
  Tensor y = linear(x, w, b);
  expect_tensor(y, {1, 3}, {1.5f, 1, 3});
  expect_tensor(linear(x, w), {1, 3}, {1, 2, 3});
  TensorList g = grad({sum(y)}, {x, w, b});
  expect_tensor(g[0], {1, 2}, {2, 2});                // column sums of w
  expect_tensor(g[1], {3, 2}, {1, 2, 1, 2, 1, 2});    // x in every row
  expect_tensor(g[2], {3}, {1, 1, 1});
}

TEST(OpsMatmul, LinearOtherInputRanks) {
  Tensor w = T({3, 2}, {1, 0, 0, 1, 1, 1});
  Tensor b = T({3}, {0.5f, -1, 0});
  expect_tensor(linear(T({2, 1, 2}, {1, 2, 3, 4}), w, b), {2, 1, 3}, {1.5f, 1, 3, 3.5f, 3, 7});
  expect_tensor(linear(T({2}, {1, 2}), w, b), {3}, {1.5f, 1, 3});
  EXPECT_THROW(linear(Tensor::ones({2, 3}), w), Error);
  EXPECT_THROW(linear(Tensor::ones({2, 2}), Tensor::ones({2})), Error);
  EXPECT_THROW(linear(Tensor::ones({2, 2}), w, Tensor::ones({2})), Error);
}

TEST(OpsMatmul, PairwiseSqDist) {
  Tensor a = G({2, 2}, {0, 0, 1, 1});
  Tensor b = G({3, 2}, {1, 0, 3, 4, 0, 0});
  Tensor d = pairwise_sq_dist(a, b);
  expect_tensor(d, {2, 3}, {1, 25, 0, 1, 13, 2});
  EXPECT_EQ(d.data()[2], 0.0f);  // identical rows: exactly 0, never negative
  // d/da_i = Σ_j 2(a_i − b_j); d/db_j = Σ_i 2(b_j − a_i).
  TensorList g = grad({sum(d)}, {a, b});
  expect_tensor(g[0], {2, 2}, {-8, -8, -2, -2});
  expect_tensor(g[1], {3, 2}, {2, -2, 10, 14, -2, -2});
  EXPECT_THROW(pairwise_sq_dist(Tensor::ones({2, 2}), Tensor::ones({2, 3})), Error);
  EXPECT_THROW(pairwise_sq_dist(Tensor::ones({2}), Tensor::ones({2, 2})), Error);
}
