// Finite-difference gradient checks (first and second order) of the elementwise ops:
// arithmetic with broadcasting, the unary functions and activations, clamp, where.
#include <initializer_list>

#include "gradcheck.h"

using namespace adx;
using namespace adx::testing;

namespace {

// Moves every value of `t` at least `gap` away from each of `kinks` (keeping its side),
// so that a finite-difference step never crosses a point where the op is not smooth.
Tensor away_from(Tensor t, std::initializer_list<float> kinks, float gap) {
  for (int64_t i = 0; i < t.numel(); ++i) {
    float& v = t.data()[i];
    for (float k : kinks)
      if (std::fabs(v - k) < gap) v = v < k ? k - gap - (k - v) : k + gap + (v - k);
  }
  return t;
}

// A constant (no gradient) 0/1 mask with both values present.
Tensor mask(const Shape& shape, uint64_t seed) {
  Tensor m = uniform(shape, 0.0f, 1.0f, seed, false);
  for (int64_t i = 0; i < m.numel(); ++i) m.data()[i] = (m.data()[i] > 0.5f || i == 0) ? 1.0f : 0.0f;
  m.data()[m.numel() - 1] = 0.0f;
  return m;
}

const Shape kShape = {2, 3, 4};

}  // namespace

// ---- binary arithmetic ---------------------------------------------------------

TEST(GradcheckElementwise, Add) {
  Fn f = [](const std::vector<Tensor>& x) { return add(x[0], x[1]); };
  EXPECT_TRUE(gradcheck(f, {uniform(kShape, -1, 1, 1), uniform(kShape, -1, 1, 2)}));
}

TEST(GradcheckElementwise, AddBroadcast) {
  Fn f = [](const std::vector<Tensor>& x) { return add(x[0], x[1]); };
  EXPECT_TRUE(gradcheck(f, {uniform(kShape, -1, 1, 1), uniform({3, 1}, -1, 1, 2)}));
  EXPECT_TRUE(gradcheck(f, {uniform({3, 1}, -1, 1, 3), uniform(kShape, -1, 1, 4)}));
  EXPECT_TRUE(gradcheck(f, {uniform(kShape, -1, 1, 5), uniform({}, -1, 1, 6)}));
  EXPECT_TRUE(gradcheck(f, {uniform({}, -1, 1, 7), uniform(kShape, -1, 1, 8)}));
  // Both operands broadcast: (1,3) + (2,1) -> (2,3).
  EXPECT_TRUE(gradcheck(f, {uniform({1, 3}, -1, 1, 9), uniform({2, 1}, -1, 1, 10)}));
}

TEST(GradcheckElementwise, Sub) {
  Fn f = [](const std::vector<Tensor>& x) { return sub(x[0], x[1]); };
  EXPECT_TRUE(gradcheck(f, {uniform(kShape, -1, 1, 1), uniform(kShape, -1, 1, 2)}));
}

TEST(GradcheckElementwise, SubBroadcast) {
  Fn f = [](const std::vector<Tensor>& x) { return sub(x[0], x[1]); };
  EXPECT_TRUE(gradcheck(f, {uniform(kShape, -1, 1, 1), uniform({3, 1}, -1, 1, 2)}));
  EXPECT_TRUE(gradcheck(f, {uniform({3, 1}, -1, 1, 3), uniform(kShape, -1, 1, 4)}));
  EXPECT_TRUE(gradcheck(f, {uniform(kShape, -1, 1, 5), uniform({}, -1, 1, 6)}));
  EXPECT_TRUE(gradcheck(f, {uniform({}, -1, 1, 7), uniform(kShape, -1, 1, 8)}));
}

TEST(GradcheckElementwise, Mul) {
  Fn f = [](const std::vector<Tensor>& x) { return mul(x[0], x[1]); };
  EXPECT_TRUE(gradcheck(f, {uniform(kShape, -1, 1, 1), uniform(kShape, -1, 1, 2)}));
  // The same tensor on both sides: x * x.
  Fn sq = [](const std::vector<Tensor>& x) { return mul(x[0], x[0]); };
  EXPECT_TRUE(gradcheck(sq, {uniform(kShape, -1, 1, 3)}));
}

TEST(GradcheckElementwise, MulBroadcast) {
  Fn f = [](const std::vector<Tensor>& x) { return mul(x[0], x[1]); };
  EXPECT_TRUE(gradcheck(f, {uniform(kShape, -1, 1, 1), uniform({3, 1}, -1, 1, 2)}));
  EXPECT_TRUE(gradcheck(f, {uniform({3, 1}, -1, 1, 3), uniform(kShape, -1, 1, 4)}));
  EXPECT_TRUE(gradcheck(f, {uniform(kShape, -1, 1, 5), uniform({}, -1, 1, 6)}));
  EXPECT_TRUE(gradcheck(f, {uniform({}, -1, 1, 7), uniform(kShape, -1, 1, 8)}));
}

TEST(GradcheckElementwise, Div) {
  Fn f = [](const std::vector<Tensor>& x) { return div(x[0], x[1]); };
  EXPECT_TRUE(gradcheck(f, {uniform(kShape, -1, 1, 1), away_from_zero(kShape, -2, 2, 0.5f, 2)}));
}

TEST(GradcheckElementwise, DivBroadcast) {
  Fn f = [](const std::vector<Tensor>& x) { return div(x[0], x[1]); };
  EXPECT_TRUE(gradcheck(f, {uniform(kShape, -1, 1, 1), away_from_zero({3, 1}, -2, 2, 0.5f, 2)}));
  EXPECT_TRUE(gradcheck(f, {uniform({3, 1}, -1, 1, 3), away_from_zero(kShape, -2, 2, 0.5f, 4)}));
  EXPECT_TRUE(gradcheck(f, {uniform(kShape, -1, 1, 5), away_from_zero({}, -2, 2, 0.5f, 6)}));
  EXPECT_TRUE(gradcheck(f, {uniform({}, -1, 1, 7), away_from_zero(kShape, -2, 2, 0.5f, 8)}));
}

TEST(GradcheckElementwise, GradientOnlyForOneOperand) {
  // Only the second operand requires grad; the first is a constant.
  Fn f = [](const std::vector<Tensor>& x) { return div(x[0], x[1]); };
  EXPECT_TRUE(gradcheck(f, {uniform(kShape, -1, 1, 1, false), away_from_zero({4}, -2, 2, 0.5f, 2)}));
  Fn g = [](const std::vector<Tensor>& x) { return mul(x[0], x[1]); };
  EXPECT_TRUE(gradcheck(g, {uniform({3, 1}, -1, 1, 3), uniform(kShape, -1, 1, 4, false)}));
}

// ---- unary -----------------------------------------------------------------------

TEST(GradcheckElementwise, Neg) {
  Fn f = [](const std::vector<Tensor>& x) { return neg(x[0]); };
  EXPECT_TRUE(gradcheck(f, {uniform(kShape, -1, 1, 1)}));
}

TEST(GradcheckElementwise, PowScalarExponent) {
  for (float p : {2.0f, 3.0f, -1.0f, -2.0f, 1.0f, 0.0f}) {
    Fn f = [p](const std::vector<Tensor>& x) { return pow(x[0], p); };
    // Integer exponents are smooth on both sides of 0; keep away from 0 for -1.
    EXPECT_TRUE(gradcheck(f, {away_from_zero(kShape, -2, 2, 0.3f, 1)})) << "p = " << p;
  }
  for (float p : {0.5f, -0.5f, 1.5f, 2.5f}) {
    Fn f = [p](const std::vector<Tensor>& x) { return pow(x[0], p); };
    EXPECT_TRUE(gradcheck(f, {uniform(kShape, 0.3f, 2.0f, 2)})) << "p = " << p;
  }
}

TEST(GradcheckElementwise, PowTensorExponent) {
  Fn f = [](const std::vector<Tensor>& x) { return pow(x[0], x[1]); };
  EXPECT_TRUE(gradcheck(f, {uniform(kShape, 0.3f, 2.0f, 1), uniform(kShape, -2, 2, 2)}));
  // Broadcast exponent.
  EXPECT_TRUE(gradcheck(f, {uniform(kShape, 0.3f, 2.0f, 3), uniform({3, 1}, -2, 2, 4)}));
}

TEST(GradcheckElementwise, Exp) {
  Fn f = [](const std::vector<Tensor>& x) { return exp(x[0]); };
  EXPECT_TRUE(gradcheck(f, {uniform(kShape, -2, 2, 1)}));
}

TEST(GradcheckElementwise, Log) {
  Fn f = [](const std::vector<Tensor>& x) { return log(x[0]); };
  EXPECT_TRUE(gradcheck(f, {uniform(kShape, 0.3f, 3.0f, 1)}));
}

TEST(GradcheckElementwise, Sqrt) {
  Fn f = [](const std::vector<Tensor>& x) { return sqrt(x[0]); };
  EXPECT_TRUE(gradcheck(f, {uniform(kShape, 0.3f, 3.0f, 1)}));
}

TEST(GradcheckElementwise, Abs) {
  Fn f = [](const std::vector<Tensor>& x) { return abs(x[0]); };
  EXPECT_TRUE(gradcheck(f, {away_from_zero(kShape, -2, 2, 0.05f, 1)}));
}

TEST(GradcheckElementwise, Clamp) {
  Fn both = [](const std::vector<Tensor>& x) { return clamp(x[0], -0.5f, 0.5f); };
  Tensor x = away_from(uniform(kShape, -1, 1, 1, false), {-0.5f, 0.5f}, 0.05f);
  EXPECT_TRUE(gradcheck(both, {x.requires_grad_()}));
  Fn lower = [](const std::vector<Tensor>& x) { return clamp(x[0], 0.2f); };
  Tensor y = away_from(uniform(kShape, -1, 1, 2, false), {0.2f}, 0.05f);
  EXPECT_TRUE(gradcheck(lower, {y.requires_grad_()}));
  Fn upper = [](const std::vector<Tensor>& x) { return clamp(x[0], -kInf, -0.1f); };
  Tensor z = away_from(uniform(kShape, -1, 1, 3, false), {-0.1f}, 0.05f);
  EXPECT_TRUE(gradcheck(upper, {z.requires_grad_()}));
}

TEST(GradcheckElementwise, Relu) {
  Fn f = [](const std::vector<Tensor>& x) { return relu(x[0]); };
  EXPECT_TRUE(gradcheck(f, {away_from_zero(kShape, -1, 1, 0.05f, 1)}));
}

TEST(GradcheckElementwise, LeakyRelu) {
  for (float slope : {0.01f, 0.2f, -0.3f}) {
    Fn f = [slope](const std::vector<Tensor>& x) { return leaky_relu(x[0], slope); };
    EXPECT_TRUE(gradcheck(f, {away_from_zero(kShape, -1, 1, 0.05f, 1)})) << "slope " << slope;
  }
}

TEST(GradcheckElementwise, Elu) {
  for (float alpha : {1.0f, 0.5f, 2.0f}) {
    Fn f = [alpha](const std::vector<Tensor>& x) { return elu(x[0], alpha); };
    EXPECT_TRUE(gradcheck(f, {away_from_zero(kShape, -3, 2, 0.05f, 1)})) << "alpha " << alpha;
  }
}

TEST(GradcheckElementwise, Sigmoid) {
  Fn f = [](const std::vector<Tensor>& x) { return sigmoid(x[0]); };
  EXPECT_TRUE(gradcheck(f, {uniform(kShape, -4, 4, 1)}));
}

TEST(GradcheckElementwise, Tanh) {
  Fn f = [](const std::vector<Tensor>& x) { return tanh(x[0]); };
  EXPECT_TRUE(gradcheck(f, {uniform(kShape, -2, 2, 1)}));
}

TEST(GradcheckElementwise, Softplus) {
  Fn f = [](const std::vector<Tensor>& x) { return softplus(x[0]); };
  Tensor x = uniform(kShape, -4, 4, 1, false);
  x.data()[3] = 25.0f;  // above the default threshold 20: the linear regime
  x.data()[7] = 21.0f;
  EXPECT_TRUE(gradcheck(f, {x.requires_grad_()}));
}

TEST(GradcheckElementwise, SoftplusBetaAndThreshold) {
  // β = 2, threshold 3: linear where 2x > 3, i.e. x > 1.5 (keep clear of the switch).
  Fn f = [](const std::vector<Tensor>& x) { return softplus(x[0], 2.0f, 3.0f); };
  Tensor x = away_from(uniform(kShape, -3, 3, 2, false), {1.5f}, 0.05f);
  EXPECT_TRUE(gradcheck(f, {x.requires_grad_()}));
}

TEST(GradcheckElementwise, Where) {
  Fn f = [](const std::vector<Tensor>& x) { return where(x[2], x[0], x[1]); };
  EXPECT_TRUE(gradcheck(f, {uniform(kShape, -1, 1, 1), uniform(kShape, -1, 1, 2), mask(kShape, 3)}));
}

TEST(GradcheckElementwise, WhereBroadcast) {
  // cond (2,3,4), a (3,1), b 0-d: the gradients of a and b are summed back.
  Fn f = [](const std::vector<Tensor>& x) { return where(x[2], x[0], x[1]); };
  EXPECT_TRUE(gradcheck(f, {uniform({3, 1}, -1, 1, 1), uniform({}, -1, 1, 2), mask(kShape, 3)}));
  // cond broadcast too: cond (4), a (2,3,4), b (2,1,4).
  EXPECT_TRUE(gradcheck(f, {uniform(kShape, -1, 1, 4), uniform({2, 1, 4}, -1, 1, 5), mask({4}, 6)}));
}

TEST(GradcheckElementwise, Composite) {
  // A small expression mixing several ops and broadcasts.
  Fn f = [](const std::vector<Tensor>& x) {
    return div(mul(tanh(x[0]), exp(x[1])), add(sigmoid(x[0]), Tensor::scalar(0.5f)));
  };
  EXPECT_TRUE(gradcheck(f, {uniform(kShape, -2, 2, 1), uniform({4}, -1, 1, 2)}));
}

// ---- second order ------------------------------------------------------------------
// Piecewise-linear ops (relu, leaky_relu, abs) have a zero second derivative, so they
// are checked inside a product whose gradient feeds back through their backward.

TEST(GradcheckElementwise, ReluSecondOrder) {
  Fn f = [](const std::vector<Tensor>& x) { return mul(relu(x[0]), x[0]); };
  EXPECT_TRUE(gradgradcheck(f, {away_from_zero(kShape, -1, 1, 0.05f, 1)}));
  Fn g = [](const std::vector<Tensor>& x) { return mul(relu(x[0]), relu(x[0])); };
  EXPECT_TRUE(gradgradcheck(g, {away_from_zero(kShape, -1, 1, 0.05f, 2)}));
}

TEST(GradcheckElementwise, LeakyReluSecondOrder) {
  Fn f = [](const std::vector<Tensor>& x) {
    return mul(leaky_relu(x[0], 0.2f), leaky_relu(x[0], 0.2f));
  };
  EXPECT_TRUE(gradgradcheck(f, {away_from_zero(kShape, -1, 1, 0.05f, 1)}));
}

TEST(GradcheckElementwise, AbsSecondOrder) {
  Fn f = [](const std::vector<Tensor>& x) { return mul(abs(x[0]), x[1]); };
  EXPECT_TRUE(gradgradcheck(f, {away_from_zero(kShape, -1, 1, 0.05f, 1), uniform(kShape, -1, 1, 2)}));
}

TEST(GradcheckElementwise, ClampSecondOrder) {
  Fn f = [](const std::vector<Tensor>& x) { return mul(clamp(x[0], -0.5f, 0.5f), x[0]); };
  Tensor x = away_from(uniform(kShape, -1, 1, 1, false), {-0.5f, 0.5f}, 0.05f);
  EXPECT_TRUE(gradgradcheck(f, {x.requires_grad_()}));
}

TEST(GradcheckElementwise, TanhSecondOrder) {
  Fn f = [](const std::vector<Tensor>& x) { return tanh(x[0]); };
  EXPECT_TRUE(gradgradcheck(f, {uniform(kShape, -2, 2, 1)}));
}

TEST(GradcheckElementwise, SigmoidSecondOrder) {
  Fn f = [](const std::vector<Tensor>& x) { return sigmoid(x[0]); };
  EXPECT_TRUE(gradgradcheck(f, {uniform(kShape, -3, 3, 1)}));
}

TEST(GradcheckElementwise, ExpSecondOrder) {
  Fn f = [](const std::vector<Tensor>& x) { return exp(x[0]); };
  EXPECT_TRUE(gradgradcheck(f, {uniform(kShape, -1, 1, 1)}));
}

TEST(GradcheckElementwise, LogSecondOrder) {
  Fn f = [](const std::vector<Tensor>& x) { return log(x[0]); };
  EXPECT_TRUE(gradgradcheck(f, {uniform(kShape, 0.5f, 2.0f, 1)}));
}

TEST(GradcheckElementwise, SqrtSecondOrder) {
  Fn f = [](const std::vector<Tensor>& x) { return sqrt(x[0]); };
  EXPECT_TRUE(gradgradcheck(f, {uniform(kShape, 0.5f, 2.0f, 1)}));
}

TEST(GradcheckElementwise, EluSecondOrder) {
  for (float alpha : {1.0f, 0.5f}) {
    Fn f = [alpha](const std::vector<Tensor>& x) { return elu(x[0], alpha); };
    // Second derivative: 0 for x > 0, αeˣ for x < 0; the product also mixes in the first.
    Fn g = [alpha](const std::vector<Tensor>& x) { return mul(elu(x[0], alpha), x[0]); };
    EXPECT_TRUE(gradgradcheck(f, {away_from_zero(kShape, -3, 2, 0.05f, 1)})) << "alpha " << alpha;
    EXPECT_TRUE(gradgradcheck(g, {away_from_zero(kShape, -3, 2, 0.05f, 2)})) << "alpha " << alpha;
  }
}

TEST(GradcheckElementwise, SoftplusSecondOrder) {
  Fn f = [](const std::vector<Tensor>& x) { return softplus(x[0], 2.0f, 3.0f); };
  Tensor x = away_from(uniform(kShape, -3, 3, 1, false), {1.5f}, 0.05f);
  EXPECT_TRUE(gradgradcheck(f, {x.requires_grad_()}));
}

TEST(GradcheckElementwise, MulSecondOrder) {
  Fn f = [](const std::vector<Tensor>& x) { return mul(x[0], x[1]); };
  EXPECT_TRUE(gradgradcheck(f, {uniform(kShape, -1, 1, 1), uniform(kShape, -1, 1, 2)}));
  EXPECT_TRUE(gradgradcheck(f, {uniform(kShape, -1, 1, 3), uniform({3, 1}, -1, 1, 4)}));
  EXPECT_TRUE(gradgradcheck(f, {uniform({}, -1, 1, 5), uniform(kShape, -1, 1, 6)}));
}

TEST(GradcheckElementwise, DivSecondOrder) {
  Fn f = [](const std::vector<Tensor>& x) { return div(x[0], x[1]); };
  EXPECT_TRUE(gradgradcheck(f, {uniform(kShape, -1, 1, 1), away_from_zero(kShape, -2, 2, 0.5f, 2)}));
  EXPECT_TRUE(gradgradcheck(f, {uniform(kShape, -1, 1, 3), away_from_zero({3, 1}, -2, 2, 0.5f, 4)}));
  EXPECT_TRUE(gradgradcheck(f, {uniform({}, -1, 1, 5), away_from_zero(kShape, -2, 2, 0.5f, 6)}));
}

TEST(GradcheckElementwise, AddSubSecondOrder) {
  // Linear ops: their backward must pass the gradient's own history through.
  Fn f = [](const std::vector<Tensor>& x) {
    Tensor s = sub(add(x[0], x[1]), mul(x[1], x[1]));
    return mul(s, s);
  };
  EXPECT_TRUE(gradgradcheck(f, {uniform(kShape, -1, 1, 1), uniform({3, 1}, -1, 1, 2)}));
}

TEST(GradcheckElementwise, NegSecondOrder) {
  Fn f = [](const std::vector<Tensor>& x) { return mul(neg(x[0]), x[0]); };
  EXPECT_TRUE(gradgradcheck(f, {uniform(kShape, -1, 1, 1)}));
}

TEST(GradcheckElementwise, PowSecondOrder) {
  for (float p : {2.0f, 3.0f, -1.0f}) {
    Fn f = [p](const std::vector<Tensor>& x) { return pow(x[0], p); };
    EXPECT_TRUE(gradgradcheck(f, {away_from_zero(kShape, -2, 2, 0.3f, 1)})) << "p = " << p;
  }
  for (float p : {0.5f, 1.5f}) {
    Fn f = [p](const std::vector<Tensor>& x) { return pow(x[0], p); };
    EXPECT_TRUE(gradgradcheck(f, {uniform(kShape, 0.3f, 2.0f, 2)})) << "p = " << p;
  }
}

TEST(GradcheckElementwise, PowTensorExponentSecondOrder) {
  Fn f = [](const std::vector<Tensor>& x) { return pow(x[0], x[1]); };
  EXPECT_TRUE(gradgradcheck(f, {uniform(kShape, 0.5f, 2.0f, 1), uniform(kShape, -1.5f, 1.5f, 2)}));
}

TEST(GradcheckElementwise, WhereSecondOrder) {
  Fn f = [](const std::vector<Tensor>& x) {
    return where(x[2], mul(x[0], x[0]), mul(x[1], x[0]));
  };
  EXPECT_TRUE(gradgradcheck(f, {uniform(kShape, -1, 1, 1), uniform({3, 1}, -1, 1, 2), mask(kShape, 3)}));
  // Squared, so that the gradient entering where's backward depends on the inputs.
  Fn sq = [](const std::vector<Tensor>& x) {
    Tensor s = where(x[2], x[0], x[1]);
    return mul(s, s);
  };
  EXPECT_TRUE(gradgradcheck(sq, {uniform(kShape, -1, 1, 4), uniform({3, 1}, -1, 1, 5), mask(kShape, 6)}));
}
