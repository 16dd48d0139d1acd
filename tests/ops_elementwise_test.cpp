// Known-value tests of the elementwise ops: hand-computed forwards and gradients,
// broadcasting rules and their errors, comparisons, the edges of clamp and softplus.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
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

// d(Σ f(x))/dx.
Tensor grad_of_sum(const Tensor& y, const Tensor& x) { return grad({sum(y)}, {x})[0]; }

const float e = std::exp(1.0f);

}  // namespace

// ---- binary arithmetic and broadcasting -------------------------------------------

TEST(OpsElementwise, AddSameShape) {
  expect_tensor(add(T({2, 2}, {1, 2, 3, 4}), T({2, 2}, {10, 20, 30, 40})), {2, 2}, {11, 22, 33, 44});
}

TEST(OpsElementwise, BroadcastRowAndColumn) {
  // (1,3) + (2,1) -> (2,3)
  Tensor row = T({1, 3}, {1, 2, 3});
  Tensor col = T({2, 1}, {10, 20});
  expect_tensor(add(row, col), {2, 3}, {11, 12, 13, 21, 22, 23});
  expect_tensor(add(col, row), {2, 3}, {11, 12, 13, 21, 22, 23});
  expect_tensor(sub(row, col), {2, 3}, {-9, -8, -7, -19, -18, -17});
  expect_tensor(sub(col, row), {2, 3}, {9, 8, 7, 19, 18, 17});
  expect_tensor(mul(row, col), {2, 3}, {10, 20, 30, 20, 40, 60});
  expect_tensor(div(row, col), {2, 3}, {0.1f, 0.2f, 0.3f, 0.05f, 0.1f, 0.15f});
}

TEST(OpsElementwise, BroadcastTrailingAndLeadingDims) {
  // (2,3) * (3): the vector is repeated over rows.
  expect_tensor(mul(T({2, 3}, {1, 2, 3, 4, 5, 6}), T({3}, {1, 0, -1})), {2, 3}, {1, 0, -3, 4, 0, -6});
  // (2,2) / (2,1): each row divided by its own value.
  expect_tensor(div(T({2, 2}, {1, 2, 3, 4}), T({2, 1}, {2, 4})), {2, 2}, {0.5f, 1, 0.75f, 1});
  // (2,1,2) + (3,1) -> (2,3,2)
  Tensor r = add(T({2, 1, 2}, {0, 1, 10, 11}), T({3, 1}, {100, 200, 300}));
  expect_tensor(r, {2, 3, 2}, {100, 101, 200, 201, 300, 301, 110, 111, 210, 211, 310, 311});
  // (1) with 0-d gives (1); (1,1) with (3) gives (1,3).
  expect_tensor(add(T({1}, {1}), Tensor::scalar(2)), {1}, {3});
  expect_tensor(add(T({1, 1}, {1}), T({3}, {1, 2, 3})), {1, 3}, {2, 3, 4});
}

TEST(OpsElementwise, ZeroDimWithAnything) {
  Tensor s = Tensor::scalar(2.0f);
  expect_tensor(add(s, Tensor::scalar(3.0f)), {}, {5});
  expect_tensor(mul(s, T({2, 3}, {1, 2, 3, 4, 5, 6})), {2, 3}, {2, 4, 6, 8, 10, 12});
  expect_tensor(sub(T({2, 3}, {1, 2, 3, 4, 5, 6}), s), {2, 3}, {-1, 0, 1, 2, 3, 4});
  expect_tensor(div(s, T({2}, {4, -8})), {2}, {0.5f, -0.25f});
  expect_tensor(sub(s, T({1, 1, 2}, {1, 5})), {1, 1, 2}, {1, -3});
  // The float overloads go through 0-d tensors.
  expect_tensor(T({2}, {1, 2}) * 3.0f, {2}, {3, 6});
  expect_tensor(1.0f - T({2}, {1, 2}), {2}, {0, -1});
  expect_tensor(T({2}, {1, 2}) / 4.0f, {2}, {0.25f, 0.5f});
  expect_tensor(8.0f / T({2}, {2, 4}), {2}, {4, 2});
}

TEST(OpsElementwise, EmptyTensorsBroadcast) {
  Tensor r = add(Tensor::zeros({0, 3}), T({3}, {1, 2, 3}));
  EXPECT_EQ(r.shape(), (Shape{0, 3}));
  EXPECT_EQ(r.numel(), 0);
}

TEST(OpsElementwise, ShapesThatDoNotBroadcastThrow) {
  Tensor a = Tensor::ones({2, 3});
  EXPECT_THROW(add(a, Tensor::ones({3, 2})), Error);
  EXPECT_THROW(sub(a, Tensor::ones({2})), Error);
  EXPECT_THROW(mul(a, Tensor::ones({4, 2, 2})), Error);
  EXPECT_THROW(div(Tensor::ones({4}), Tensor::ones({3})), Error);
  EXPECT_THROW(gt(a, Tensor::ones({3, 3})), Error);
  EXPECT_THROW(where(Tensor::ones({2}), a, a), Error);
  EXPECT_THROW(where(Tensor::ones({3}), a, Tensor::ones({3, 1})), Error);
  EXPECT_THROW(add(a, Tensor()), Error);  // undefined operand
  EXPECT_THROW(exp(Tensor()), Error);
}

TEST(OpsElementwise, BinaryGradientsSumOverBroadcastDims) {
  Tensor a = G({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = G({3}, {1, 2, 3});
  TensorList g = grad({sum(mul(a, b))}, {a, b});
  expect_tensor(g[0], {2, 3}, {1, 2, 3, 1, 2, 3});
  expect_tensor(g[1], {3}, {5, 7, 9});  // column sums of a

  Tensor s = G({}, {2});
  g = grad({sum(add(a, s))}, {a, s});
  expect_tensor(g[0], {2, 3}, {1, 1, 1, 1, 1, 1});
  expect_tensor(g[1], {}, {6});

  g = grad({sum(sub(s, a))}, {a, s});
  expect_tensor(g[0], {2, 3}, {-1, -1, -1, -1, -1, -1});
  expect_tensor(g[1], {}, {6});

  // d(x/y): 1/y and −x/y²
  Tensor x = G({2, 1}, {1, 2});
  Tensor y = G({1, 2}, {2, 4});
  g = grad({sum(div(x, y))}, {x, y});
  expect_tensor(g[0], {2, 1}, {0.75f, 0.75f});                          // 1/2 + 1/4
  expect_tensor(g[1], {1, 2}, {-(1 + 2) / 4.0f, -(1 + 2) / 16.0f});    // −Σx / y²
}

// ---- unary ---------------------------------------------------------------------------

TEST(OpsElementwise, Neg) {
  Tensor x = G({3}, {1, -2, 0});
  Tensor y = neg(x);
  expect_tensor(y, {3}, {-1, 2, 0});
  expect_tensor(grad_of_sum(y, x), {3}, {-1, -1, -1});
  expect_tensor(-T({1}, {4}), {1}, {-4});
}

TEST(OpsElementwise, PowScalarExponent) {
  Tensor x = G({3}, {1, 2, 3});
  expect_tensor(pow(x, 2.0f), {3}, {1, 4, 9});
  expect_tensor(pow(x, 3.0f), {3}, {1, 8, 27});
  expect_tensor(pow(x, -1.0f), {3}, {1, 0.5f, 1.0f / 3.0f});
  expect_tensor(pow(x, 1.0f), {3}, {1, 2, 3});
  expect_tensor(pow(T({3}, {1, 4, 2.25f}), 0.5f), {3}, {1, 2, 1.5f});
  expect_tensor(pow(T({3}, {0, -2, 5}), 0.0f), {3}, {1, 1, 1});
  expect_tensor(pow(T({2}, {-2, -1}), 3.0f), {2}, {-8, -1});
  expect_tensor(x.pow(2.0f), {3}, {1, 4, 9});

  expect_tensor(grad_of_sum(pow(x, 2.0f), x), {3}, {2, 4, 6});
  expect_tensor(grad_of_sum(pow(x, 3.0f), x), {3}, {3, 12, 27});
  expect_tensor(grad_of_sum(pow(x, -1.0f), x), {3}, {-1, -0.25f, -1.0f / 9.0f});
  expect_tensor(grad_of_sum(pow(x, 0.5f), x), {3}, {0.5f, 0.5f / std::sqrt(2.0f), 0.5f / std::sqrt(3.0f)});
  expect_tensor(grad_of_sum(pow(x, 0.0f), x), {3}, {0, 0, 0});
  expect_tensor(grad_of_sum(pow(x, 1.0f), x), {3}, {1, 1, 1});
}

TEST(OpsElementwise, PowTensorExponent) {
  Tensor x = G({3}, {2, 3, 4});
  Tensor p = G({3}, {3, 2, 0.5f});
  Tensor y = pow(x, p);
  expect_tensor(y, {3}, {8, 9, 2}, 1e-4f);
  TensorList g = grad({sum(y)}, {x, p});
  expect_tensor(g[0], {3}, {12, 6, 0.25f}, 1e-4f);  // p·x^(p−1)
  expect_tensor(g[1], {3}, {8 * std::log(2.0f), 9 * std::log(3.0f), 2 * std::log(4.0f)}, 1e-4f);
  // Broadcast exponent.
  expect_tensor(pow(T({2, 2}, {1, 2, 3, 4}), T({2, 1}, {2, 0.5f})), {2, 2},
                {1, 4, std::sqrt(3.0f), 2}, 1e-5f);
}

TEST(OpsElementwise, ExpLog) {
  Tensor x = G({3}, {0, 1, -1});
  expect_tensor(exp(x), {3}, {1, e, 1 / e});
  expect_tensor(grad_of_sum(exp(x), x), {3}, {1, e, 1 / e});
  Tensor y = G({3}, {1, e, 0.5f});
  expect_tensor(log(y), {3}, {0, 1, -0.6931472f});
  expect_tensor(grad_of_sum(log(y), y), {3}, {1, 1 / e, 2});
  expect_tensor(log(T({1}, {0})), {1}, {-kInf});
  EXPECT_TRUE(std::isnan(log(T({1}, {-1})).item()));
}

TEST(OpsElementwise, Sqrt) {
  Tensor x = G({3}, {1, 4, 2.25f});
  expect_tensor(sqrt(x), {3}, {1, 2, 1.5f});
  expect_tensor(grad_of_sum(sqrt(x), x), {3}, {0.5f, 0.25f, 1.0f / 3.0f});
  expect_tensor(sqrt(T({1}, {0})), {1}, {0});
}

TEST(OpsElementwise, Abs) {
  Tensor x = G({3}, {-2, 0, 3});
  expect_tensor(abs(x), {3}, {2, 0, 3});
  // The gradient at the kink is 0 (torch's sign(0) = 0).
  expect_tensor(grad_of_sum(abs(x), x), {3}, {-1, 0, 1});
}

TEST(OpsElementwise, ClampTwoSided) {
  Tensor x = G({5}, {-2, -0.5f, 0, 0.5f, 2});
  expect_tensor(clamp(x, -1, 1), {5}, {-1, -0.5f, 0, 0.5f, 1});
  expect_tensor(grad_of_sum(clamp(x, -1, 1), x), {5}, {0, 1, 1, 1, 0});
  // A value exactly on a bound keeps its gradient (torch's convention).
  expect_tensor(clamp(x, -0.5f, 0.5f), {5}, {-0.5f, -0.5f, 0, 0.5f, 0.5f});
  expect_tensor(grad_of_sum(clamp(x, -0.5f, 0.5f), x), {5}, {0, 1, 1, 1, 0});
  // lo == hi gives a constant.
  expect_tensor(clamp(x, 0.25f, 0.25f), {5}, {0.25f, 0.25f, 0.25f, 0.25f, 0.25f});
}

TEST(OpsElementwise, ClampOneSided) {
  Tensor x = G({5}, {-2, -0.5f, 0, 0.5f, 2});
  expect_tensor(clamp(x, 0.0f), {5}, {0, 0, 0, 0.5f, 2});
  expect_tensor(grad_of_sum(clamp(x, 0.1f), x), {5}, {0, 0, 0, 1, 1});
  expect_tensor(clamp(x, -kInf, 0.0f), {5}, {-2, -0.5f, 0, 0, 0});
  expect_tensor(grad_of_sum(clamp(x, -kInf, -0.1f), x), {5}, {1, 1, 0, 0, 0});
  // No bounds at all: the identity.
  expect_tensor(clamp(x), {5}, {-2, -0.5f, 0, 0.5f, 2});
  expect_tensor(clamp(T({2}, {-1e30f, 1e30f}), -kInf, kInf), {2}, {-1e30f, 1e30f}, 1e24f);
}

TEST(OpsElementwise, ClampBadBoundsThrow) {
  EXPECT_THROW(clamp(Tensor::ones({2}), 1.0f, -1.0f), Error);
}

TEST(OpsElementwise, Relu) {
  Tensor x = G({4}, {-1, 0, 2, -0.001f});
  expect_tensor(relu(x), {4}, {0, 0, 2, 0});
  expect_tensor(grad_of_sum(relu(x), x), {4}, {0, 0, 1, 0});  // 0 at the kink
}

TEST(OpsElementwise, LeakyRelu) {
  Tensor x = G({3}, {-2, 0, 3});
  expect_tensor(leaky_relu(x, 0.1f), {3}, {-0.2f, 0, 3});
  expect_tensor(grad_of_sum(leaky_relu(x, 0.1f), x), {3}, {0.1f, 0.1f, 1});
  expect_tensor(leaky_relu(T({2}, {-100, 5})), {2}, {-1, 5});  // default slope 0.01
}

TEST(OpsElementwise, Elu) {
  Tensor x = G({3}, {-1, 0, 2});
  expect_tensor(elu(x), {3}, {1 / e - 1, 0, 2});
  expect_tensor(grad_of_sum(elu(x), x), {3}, {1 / e, 1, 1});
  expect_tensor(elu(x, 2.0f), {3}, {2 * (1 / e - 1), 0, 2});
  expect_tensor(grad_of_sum(elu(x, 2.0f), x), {3}, {2 / e, 2, 1});
  // Large negative inputs saturate at −α.
  expect_tensor(elu(T({1}, {-50}), 0.5f), {1}, {-0.5f});
}

TEST(OpsElementwise, Sigmoid) {
  Tensor x = G({3}, {0, 2, -2});
  expect_tensor(sigmoid(x), {3}, {0.5f, 0.8807971f, 0.1192029f});
  // σ' = σ(1 − σ)
  expect_tensor(grad_of_sum(sigmoid(x), x), {3}, {0.25f, 0.1049936f, 0.1049936f});
  // No overflow at large |x|.
  Tensor big = sigmoid(T({2}, {-100, 100}));
  EXPECT_FALSE(std::isnan(big.data()[0]));
  EXPECT_NEAR(big.data()[0], 0.0f, 1e-30f);
  EXPECT_EQ(big.data()[1], 1.0f);
}

TEST(OpsElementwise, Tanh) {
  Tensor x = G({3}, {0, 1, -0.5f});
  expect_tensor(tanh(x), {3}, {0, 0.7615942f, -0.4621172f});
  expect_tensor(grad_of_sum(tanh(x), x), {3}, {1, 0.4199743f, 0.7864477f});
  expect_tensor(tanh(T({2}, {-30, 30})), {2}, {-1, 1});
}

// tanh is Eigen's vectorised approximation: within 1e-6 relative of libm everywhere
// (a range long enough for the vector loop and its tail, tiny values included, where
// an absolute bound would hide a loss of relative accuracy), NaN, ±∞ and −0 kept.
TEST(OpsElementwise, TanhMatchesLibmAndKeepsNaN) {
  const int64_t n = 100003;
  Tensor x = Tensor::empty({n});
  for (int64_t i = 0; i < n; ++i) {
    const float v = -12.0f + 24.0f * static_cast<float>(i) / n;
    x.data()[i] = i % 2 ? v : v * 1e-4f;  // every other value near 0: [−1.2e-3, 1.2e-3]
  }
  Tensor y = tanh(x);
  double worst = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double ref = std::tanh(static_cast<double>(x.data()[i]));
    if (ref != 0) worst = std::max(worst, std::abs(y.data()[i] - ref) / std::abs(ref));
  }
  EXPECT_LT(worst, 1e-6);
  Tensor edges = tanh(T({5}, {NAN, INFINITY, -INFINITY, -0.0f, 1e-30f}));
  EXPECT_TRUE(std::isnan(edges.data()[0]));
  EXPECT_EQ(edges.data()[1], 1.0f);
  EXPECT_EQ(edges.data()[2], -1.0f);
  EXPECT_TRUE(edges.data()[3] == 0.0f && std::signbit(edges.data()[3]));
  EXPECT_FLOAT_EQ(edges.data()[4], 1e-30f);
}

TEST(OpsElementwise, Softplus) {
  Tensor x = G({4}, {0, 1, -2, 25});
  expect_tensor(softplus(x), {4}, {0.6931472f, 1.3132616f, 0.1269280f, 25});
  // σ(x) below the threshold, exactly 1 above it.
  Tensor g = grad_of_sum(softplus(x), x);
  expect_tensor(g, {4}, {0.5f, 0.7310586f, 0.1192029f, 1});
  EXPECT_EQ(g.data()[3], 1.0f);
  // β = 2: log(1 + e^{2x}) / 2, gradient σ(2x).
  Tensor y = G({2}, {1, -1});
  expect_tensor(softplus(y, 2.0f), {2}, {1.0634640f, 0.0634640f});
  expect_tensor(grad_of_sum(softplus(y, 2.0f), y), {2}, {0.8807971f, 0.1192029f});
}

TEST(OpsElementwise, SoftplusThreshold) {
  // With threshold 2, βx = 3 > 2 is linear (y = x exactly), βx = 1 is not.
  Tensor x = G({2}, {3, 1});
  expect_tensor(softplus(x, 1.0f, 2.0f), {2}, {3, 1.3132616f});
  expect_tensor(grad_of_sum(softplus(x, 1.0f, 2.0f), x), {2}, {1, 0.7310586f});
  // The switch compares βx, not x: β = 2, x = 1.5 gives βx = 3 > 2.
  expect_tensor(softplus(T({1}, {1.5f}), 2.0f, 2.0f), {1}, {1.5f});
  // Below a high threshold, large inputs must not overflow exp (e^{100} > FLT_MAX).
  expect_tensor(softplus(T({2}, {100, -100}), 1.0f, 200.0f), {2}, {100, 0});
}

TEST(OpsElementwise, Where) {
  Tensor c = T({3}, {1, 0, 1});
  Tensor a = G({3}, {1, 2, 3});
  Tensor b = G({}, {-1});
  Tensor y = where(c, a, b);
  expect_tensor(y, {3}, {1, -1, 3});
  TensorList g = grad({sum(y)}, {a, b});
  expect_tensor(g[0], {3}, {1, 0, 1});
  expect_tensor(g[1], {}, {1});
  // cond (2,1) with a (3): rows pick a or b.
  expect_tensor(where(T({2, 1}, {0, 1}), T({3}, {1, 2, 3}), T({3}, {4, 5, 6})), {2, 3},
                {4, 5, 6, 1, 2, 3});
  // Any nonzero condition counts as true.
  expect_tensor(where(T({2}, {-2, 0.5f}), T({2}, {1, 1}), Tensor::scalar(0)), {2}, {1, 1});
}

// ---- comparisons ----------------------------------------------------------------------

TEST(OpsElementwise, Comparisons) {
  Tensor a = T({4}, {1, 2, 3, -1});
  Tensor b = T({4}, {2, 2, 2, -2});
  expect_tensor(gt(a, b), {4}, {0, 0, 1, 1});
  expect_tensor(lt(a, b), {4}, {1, 0, 0, 0});
  expect_tensor(ge(a, b), {4}, {0, 1, 1, 1});
  expect_tensor(le(a, b), {4}, {1, 1, 0, 0});
  expect_tensor(eq(a, b), {4}, {0, 1, 0, 0});
}

TEST(OpsElementwise, ComparisonsBroadcastAndHaveNoHistory) {
  Tensor a = G({2, 1}, {1, 3});
  Tensor b = T({3}, {0, 1, 2});
  Tensor r = gt(a, b);
  expect_tensor(r, {2, 3}, {1, 0, 0, 1, 1, 1});
  EXPECT_FALSE(r.requires_grad());
  expect_tensor(le(Tensor::scalar(1), b), {3}, {0, 1, 1});
  expect_tensor(eq(b, Tensor::scalar(2)), {3}, {0, 0, 1});
  // NaN compares false, as in IEEE.
  Tensor n = T({1}, {std::nanf("")});
  expect_tensor(eq(n, n), {1}, {0});
  expect_tensor(lt(n, T({1}, {0})), {1}, {0});
}

// ---- history ---------------------------------------------------------------------------

TEST(OpsElementwise, RecordsHistoryOnlyWhenNeeded) {
  Tensor a = T({2}, {1, 2});
  Tensor b = G({2}, {3, 4});
  EXPECT_FALSE(mul(a, a).requires_grad());
  EXPECT_TRUE(mul(a, b).requires_grad());
  EXPECT_EQ(std::string(mul(a, b).grad_fn()->name()), "Mul");
  NoGradGuard guard;
  EXPECT_FALSE(tanh(b).requires_grad());
}
