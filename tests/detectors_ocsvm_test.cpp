// One-class ν-SVM (detectors/ocsvm.h): tiny problems solved by hand, the KKT conditions
// of the dual at the returned solution (checked from scratch in double precision),
// ν's bounds, and the equivalence of the cache / shrinking variants.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "detectors/ocsvm.h"
#include "engine/random.h"

using namespace adx;
using namespace adx::detectors;

namespace {

Tensor gaussian(int64_t rows, int64_t cols, uint64_t seed, float shift = 0.0f) {
  Generator gen(seed);
  Tensor t = Tensor::randn({rows, cols}, gen);
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] += shift;
  return t;
}

double kernel(const float* a, const float* b, int64_t d, SvmKernel k, double gamma) {
  double dot = 0, d2 = 0;
  for (int64_t c = 0; c < d; ++c) {
    dot += static_cast<double>(a[c]) * b[c];
    d2 += (static_cast<double>(a[c]) - b[c]) * (static_cast<double>(a[c]) - b[c]);
  }
  return k == SvmKernel::Linear ? dot : std::exp(-gamma * d2);
}

// The dual's KKT conditions (LIBSVM scaling) with gradient ∇ = Qα recomputed here:
// 0 ≤ α ≤ 1, Σα = νl, and max_{α<1} −∇ − min_{α>0} −∇ ≤ ε (a little slack for the
// single-precision kernel). ρ lies between them; free α have ∇ ≈ ρ.
void expect_kkt(const OneClassSvm& svm, const Tensor& x, double eps) {
  const int64_t l = x.size(0), d = x.size(1);
  const auto& alpha = svm.alpha();
  ASSERT_EQ(static_cast<int64_t>(alpha.size()), l);
  const double total = std::accumulate(alpha.begin(), alpha.end(), 0.0);
  EXPECT_NEAR(total, svm.options().nu * l, 1e-9);
  std::vector<double> grad(l, 0.0);
  for (int64_t i = 0; i < l; ++i) {
    EXPECT_GE(alpha[i], 0.0);
    EXPECT_LE(alpha[i], 1.0);
    for (int64_t j = 0; j < l; ++j)
      if (alpha[j] > 0)
        grad[i] += alpha[j] * kernel(x.data() + i * d, x.data() + j * d, d, svm.options().kernel,
                                     svm.gamma());
  }
  double m = -INFINITY, big_m = INFINITY;  // m(α), M(α)
  for (int64_t i = 0; i < l; ++i) {
    if (alpha[i] < 1) m = std::max(m, -grad[i]);
    if (alpha[i] > 0) big_m = std::min(big_m, -grad[i]);
  }
  EXPECT_LE(m - big_m, eps * 1.01) << "KKT violation";
  // α_i < 1 ⇒ ∇_i ≥ ρ and α_i > 0 ⇒ ∇_i ≤ ρ: ρ ∈ [max_{α>0} ∇, min_{α<1} ∇] = [−M, −m].
  EXPECT_GE(svm.rho(), -big_m - eps);
  EXPECT_LE(svm.rho(), -m + eps);
  // f(x_i) = ∇_i − ρ: the decision function agrees with the gradient.
  const std::vector<float> f = svm.decision_function(x).to_vector();
  for (int64_t i = 0; i < l; ++i)
    EXPECT_NEAR(f[i], grad[i] - svm.rho(), 1e-4 * (1 + std::fabs(grad[i]))) << "row " << i;
}

}  // namespace

TEST(OneClassSvm, OneDimensionalAtTheBound) {
  // x = 4, 3, 2, 1 (linear kernel, Q_ij = x_i x_j), ν = ½: Σα = 2 and ½(Σα_i x_i)² is least
  // with α = (0, 0, 1, 1), w = 3. Both support vectors at the bound, so ρ is the middle of
  // the KKT interval [max_{α=1} ∇, min_{α=0} ∇] = [3·2, 3·3]: ρ = 7.5, f(x) = 3x − 7.5.
  // LIBSVM's start (1, 1, 0, 0) is the worst point, so SMO has work to do.
  const Tensor x = Tensor::from_data({4, 1}, {4, 3, 2, 1});
  OneClassSvm svm({.kernel = SvmKernel::Linear, .nu = 0.5});
  svm.fit(x);
  EXPECT_EQ(svm.alpha(), (std::vector<double>{0, 0, 1, 1}));
  EXPECT_DOUBLE_EQ(svm.rho(), 7.5);
  EXPECT_DOUBLE_EQ(svm.objective(), 4.5);
  EXPECT_EQ(svm.support(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(svm.decision_function(x).to_vector(), (std::vector<float>{4.5f, 1.5f, -1.5f, -4.5f}));
  EXPECT_EQ(svm.score(x).to_vector(), (std::vector<float>{-4.5f, -1.5f, 1.5f, 4.5f}));
}

TEST(OneClassSvm, OneDimensionalFreeSupportVector) {
  // ν = 0.375: Σα = 1.5, optimum α = (0, 0, ½, 1), w = 2. The free α at x = 2 fixes
  // ρ = ∇ = x·w = 4, so f(x) = 2x − 4 and f(2) = 0 on the boundary.
  const Tensor x = Tensor::from_data({4, 1}, {4, 3, 2, 1});
  OneClassSvm svm({.kernel = SvmKernel::Linear, .nu = 0.375});
  svm.fit(x);
  const auto& a = svm.alpha();
  EXPECT_NEAR(a[0], 0.0, 1e-12);
  EXPECT_NEAR(a[1], 0.0, 1e-12);
  EXPECT_NEAR(a[2], 0.5, 1e-12);
  EXPECT_NEAR(a[3], 1.0, 1e-12);
  EXPECT_NEAR(svm.rho(), 4.0, 1e-12);
  const std::vector<float> f = svm.decision_function(Tensor::from_data({2, 1}, {2, 5})).to_vector();
  EXPECT_NEAR(f[0], 0.0f, 1e-6f);
  EXPECT_NEAR(f[1], 6.0f, 1e-6f);
}

TEST(OneClassSvm, KktHoldsRbf) {
  const Tensor x = gaussian(120, 3, 1);
  for (double nu : {0.05, 0.3, 0.9}) {
    OneClassSvm svm({.kernel = SvmKernel::Rbf, .nu = nu, .gamma = 0.7});
    svm.fit(x);
    SCOPED_TRACE("nu " + std::to_string(nu));
    expect_kkt(svm, x, 1e-3);
  }
}

TEST(OneClassSvm, KktHoldsLinear) {
  const Tensor x = gaussian(150, 4, 2, 2.0f);
  for (double nu : {0.01, 0.2, 0.99}) {
    OneClassSvm svm({.kernel = SvmKernel::Linear, .nu = nu});
    svm.fit(x);
    SCOPED_TRACE("nu " + std::to_string(nu));
    expect_kkt(svm, x, 1e-3);
  }
}

TEST(OneClassSvm, NuBoundsOutliersAndSupportVectors) {
  // Schölkopf et al.'s ν-property: (#outliers)/l ≤ ν ≤ (#SV)/l.
  const Tensor x = gaussian(400, 2, 3);
  for (double nu : {0.1, 0.25, 0.5}) {
    OneClassSvm svm({.nu = nu});
    svm.fit(x);
    const std::vector<float> f = svm.decision_function(x).to_vector();
    // Outliers are the rows at the bound, f < 0 (up to the solver's tolerance).
    const int64_t outliers = std::count_if(f.begin(), f.end(), [](float v) { return v < -1e-3f; });
    EXPECT_LE(outliers, std::ceil(nu * 400)) << nu;
    EXPECT_GE(static_cast<double>(svm.support().size()), std::floor(nu * 400)) << nu;
  }
}

TEST(OneClassSvm, GammaScale) {
  // 'scale' = 1 / (D · Var(X)) over all entries: values 0, 2, 4, 6 → Var = 5, D = 2.
  const Tensor x = Tensor::from_data({2, 2}, {0, 2, 4, 6});
  OneClassSvm svm({.nu = 0.5});
  svm.fit(x);
  EXPECT_DOUBLE_EQ(svm.gamma(), 1.0 / 10.0);
  OneClassSvm fixed({.nu = 0.5, .gamma = 0.25});
  fixed.fit(x);
  EXPECT_EQ(fixed.gamma(), 0.25);
}

TEST(OneClassSvm, CacheAndShrinkingVariantsAgree) {
  const Tensor x = gaussian(300, 5, 4), test = gaussian(50, 5, 5);
  OneClassSvm full({.nu = 0.2, .gamma = 0.3});
  full.fit(x);
  // A cache of 40 KB holds 34 rows of 300: the LRU path, where rows are computed one
  // at a time (and in blocks while rebuilding the gradient) and evicted all the time.
  OneClassSvm lru({.nu = 0.2, .gamma = 0.3, .cache_mb = 0.04});
  lru.fit(x);
  // Every entry is computed in double and rounded once, so the path is the same.
  EXPECT_EQ(full.alpha(), lru.alpha());
  EXPECT_EQ(full.rho(), lru.rho());
  EXPECT_EQ(full.iterations(), lru.iterations());
  expect_kkt(lru, x, 1e-3);
  // Without shrinking the path differs, the ε-solution agrees.
  OneClassSvm plain({.nu = 0.2, .gamma = 0.3, .shrinking = false});
  plain.fit(x);
  const std::vector<float> a = full.decision_function(test).to_vector();
  const std::vector<float> b = plain.decision_function(test).to_vector();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 2e-3) << i;
  expect_kkt(plain, x, 1e-3);
}

TEST(OneClassSvm, OutlierScoresHighest) {
  Tensor train = gaussian(300, 3, 6), x = gaussian(40, 3, 7);
  for (int64_t c = 0; c < 3; ++c) x.data()[9 * 3 + c] = 5.0f;
  OneClassSvm svm({.nu = 0.1});
  svm.fit(train);
  const std::vector<float> s = svm.score(x).to_vector();
  EXPECT_EQ(std::max_element(s.begin(), s.end()) - s.begin(), 9);
  EXPECT_GT(s[9], 0.0f);  // outside the support region
}

TEST(OneClassSvm, BadInput) {
  EXPECT_THROW(OneClassSvm({.nu = 0.0}), Error);
  EXPECT_THROW(OneClassSvm({.nu = 1.5}), Error);
  OneClassSvm svm;
  EXPECT_THROW(svm.score(gaussian(2, 2, 1)), Error);
  svm.fit(gaussian(20, 2, 1));
  EXPECT_THROW(svm.score(gaussian(2, 3, 1)), Error);
}
