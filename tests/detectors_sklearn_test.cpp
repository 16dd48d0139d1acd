// Agreement with scikit-learn 1.2 (and the LIBSVM inside it) on a fixed data set:
// tests/fixtures/detectors/, written by tools/bench/make_detector_fixtures.py. Each test
// prints the measured agreement.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "detectors/gmm.h"
#include "detectors/isolation_forest.h"
#include "detectors/kmeans.h"
#include "detectors/knn.h"
#include "detectors/metrics.h"
#include "detectors/ocsvm.h"
#include "detectors/pca.h"
#include "detectors_fixtures.h"

using namespace adx;
using namespace adx::detectors;

namespace {

struct Fixture {
  Tensor train, test;
  std::vector<int> y;
  adx::testing::Csv scores;
  std::map<std::string, double> summary;
};

const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture f;
    const adx::testing::Csv train = adx::testing::read_csv("train.csv");
    const adx::testing::Csv test = adx::testing::read_csv("test.csv");
    f.train = train.matrix(0, 8);
    f.test = test.matrix(0, 8);
    f.y = adx::testing::as_labels(test.column("y"));
    f.scores = adx::testing::read_csv("scores.csv");
    f.summary = adx::testing::read_summary("summary.csv");
    return f;
  }();
  return f;
}

struct Agreement {
  double max_abs = 0, max_rel = 0, scale = 0;  // max |a − b|, max |a − b|/|b|, max |b|
};

Agreement compare(const std::vector<float>& ours, const std::vector<double>& theirs) {
  Agreement a;
  for (size_t i = 0; i < ours.size(); ++i) {
    const double d = std::fabs(ours[i] - theirs[i]);
    a.max_abs = std::max(a.max_abs, d);
    a.max_rel = std::max(a.max_rel, d / std::max(std::fabs(theirs[i]), 1e-12));
    a.scale = std::max(a.scale, std::fabs(theirs[i]));
  }
  return a;
}

// Checks per-point |ours − sklearn| ≤ rel · max(|sklearn_i|, floor) and the AUROC, and
// prints both. `negate`: the column holds a decision function (higher = normal).
void expect_agreement(const std::string& column, const Tensor& ours_anomaly, double rel,
                      double floor, double auroc_tol, bool negate = false) {
  const Fixture& f = fixture();
  std::vector<double> theirs = f.scores.column(column);
  std::vector<float> ours = ours_anomaly.to_vector();
  if (negate)
    for (float& v : ours) v = -v;
  ASSERT_EQ(ours.size(), theirs.size());
  const Agreement a = compare(ours, theirs);
  for (size_t i = 0; i < ours.size(); ++i)
    EXPECT_LE(std::fabs(ours[i] - theirs[i]), rel * std::max(std::fabs(theirs[i]), floor))
        << column << " row " << i << ": adx " << ours[i] << " sklearn " << theirs[i];
  const double ours_auroc = auroc(ours_anomaly, f.y);
  const double their_auroc = f.summary.at("auroc_" + column);
  std::printf("[sklearn] %-18s max|Δ| %.3g  max rel %.3g  (|values| ≤ %.4g)  AUROC adx %.6f "
              "sklearn %.6f\n",
              column.c_str(), a.max_abs, a.max_rel, a.scale, ours_auroc, their_auroc);
  EXPECT_NEAR(ours_auroc, their_auroc, auroc_tol) << column;
}

Tensor unit_rows(const Tensor& x) {
  Tensor out = Tensor::empty(x.shape());
  const int64_t d = x.size(1);
  for (int64_t i = 0; i < x.size(0); ++i) {
    double n2 = 0;
    for (int64_t c = 0; c < d; ++c) n2 += static_cast<double>(x.data()[i * d + c]) * x.data()[i * d + c];
    const double n = std::sqrt(n2);
    for (int64_t c = 0; c < d; ++c) out.data()[i * d + c] = static_cast<float>(x.data()[i * d + c] / n);
  }
  return out;
}

void check_svm(const std::string& column, OneClassSvmOptions options, bool unit = false) {
  const Fixture& f = fixture();
  const Tensor train = unit ? unit_rows(f.train) : f.train;
  const Tensor test = unit ? unit_rows(f.test) : f.test;
  OneClassSvm svm(options);
  svm.fit(train);
  const double rho = f.summary.at(column + "_rho");
  std::printf("[sklearn] %-18s rho adx %.8g sklearn %.8g (rel %.2g); SVs adx %zu sklearn %g; "
              "%lld iterations\n",
              column.c_str(), svm.rho(), rho, std::fabs(svm.rho() - rho) / std::fabs(rho),
              svm.support().size(), f.summary.at(column + "_n_sv"),
              static_cast<long long>(svm.iterations()));
  EXPECT_NEAR(svm.rho(), rho, 1e-3 * std::fabs(rho));
  double total = 0;
  for (double a : svm.alpha()) total += a;
  EXPECT_NEAR(total, f.summary.at(column + "_sum_alpha"), 1e-6);
  EXPECT_NEAR(static_cast<double>(svm.support().size()), f.summary.at(column + "_n_sv"), 2);
  // Decision values within 1e-3 relative, relative to the larger of |f(x)| and ρ
  // (values near the boundary f ≈ 0 cannot be compared relatively).
  expect_agreement(column, svm.score(test), 1e-3, std::fabs(rho), 0.005, /*negate=*/true);
}

}  // namespace

TEST(SklearnAgreement, Knn) {
  const Fixture& f = fixture();
  KnnDetector mean({.k = 2, .aggregate = KnnScore::Mean});
  mean.fit(f.train);
  expect_agreement("knn2_mean", mean.score(f.test), 1e-5, 1.0, 1e-9);
  KnnDetector kth({.k = 2, .aggregate = KnnScore::Kth});
  kth.fit(f.train);
  expect_agreement("knn2_kth", kth.score(f.test), 1e-5, 1.0, 1e-9);
}

TEST(SklearnAgreement, OneClassSvmLinear) {
  check_svm("ocsvm_linear", {.kernel = SvmKernel::Linear, .nu = 0.1});
}

TEST(SklearnAgreement, OneClassSvmRbfGammaScale) {
  const Fixture& f = fixture();
  OneClassSvm svm({.kernel = SvmKernel::Rbf, .nu = 0.1});
  svm.fit(f.train);
  EXPECT_NEAR(svm.gamma(), f.summary.at("ocsvm_rbf_gamma"), 1e-9 * svm.gamma());
  check_svm("ocsvm_rbf", {.kernel = SvmKernel::Rbf, .nu = 0.1});
}

TEST(SklearnAgreement, OneClassSvmRbfGammaHalf) {
  check_svm("ocsvm_rbf_g0.5", {.kernel = SvmKernel::Rbf, .nu = 0.2, .gamma = 0.5});
}

TEST(SklearnAgreement, OneClassSvmLinearUnitLength) {
  // Andrews et al.'s setting: unit-length features, linear kernel.
  check_svm("ocsvm_linear_unit", {.kernel = SvmKernel::Linear, .nu = 0.5}, /*unit=*/true);
}

TEST(SklearnAgreement, Pca) {
  const Fixture& f = fixture();
  Pca recon({.components = 2});
  recon.fit(f.train);
  expect_agreement("pca2_recon", recon.score(f.test), 1e-4, 1e-2, 1e-9);
  Pca white({.components = 2, .score = PcaScore::Whitened});
  white.fit(f.train);
  expect_agreement("pca2_whiten", white.score(f.test), 1e-4, 1e-2, 1e-9);
  Pca all({.score = PcaScore::Whitened});
  all.fit(f.train);
  expect_agreement("pca_all_whiten", all.score(f.test), 1e-4, 1e-2, 1e-9);
}

TEST(SklearnAgreement, KMeans) {
  const Fixture& f = fixture();
  KMeans km({.k = 3, .n_init = 10, .seed = 0});
  km.fit(f.train);
  std::printf("[sklearn] kmeans3 inertia adx %.8g sklearn %.8g\n", km.inertia(),
              f.summary.at("kmeans3_inertia"));
  EXPECT_NEAR(km.inertia(), f.summary.at("kmeans3_inertia"), 1e-5 * km.inertia());
  expect_agreement("kmeans3", km.score(f.test), 1e-5, 1.0, 0.005);
}

TEST(SklearnAgreement, GaussianMixture) {
  const Fixture& f = fixture();
  GaussianMixture gmm({.components = 3, .seed = 0});
  gmm.fit(f.train);
  // Same local optimum as scikit-learn; EM stops within tol = 1e-3 of the mean
  // log-likelihood, so −log p agrees to about that.
  expect_agreement("gmm3", gmm.score(f.test), 1e-3, 1.0, 0.005);
}

TEST(SklearnAgreement, IsolationForest) {
  // Different random numbers from scikit-learn's, the same construction: the AUROC and
  // the mean anomaly score, each averaged over 5 seeds, agree.
  const Fixture& f = fixture();
  double mean_auroc = 0, mean_score = 0;
  for (uint64_t seed = 0; seed < 5; ++seed) {
    IsolationForest forest({.n_estimators = 100, .max_samples = 256, .seed = seed});
    forest.fit(f.train);
    const Tensor s = forest.score(f.test);
    mean_auroc += auroc(s, f.y) / 5;
    for (float v : s.to_vector()) mean_score += v / (5.0 * static_cast<double>(s.numel()));
  }
  const double their_auroc = f.summary.at("auroc_iforest_mean5");
  const double their_score = f.summary.at("iforest_mean_score_mean5");
  std::printf("[sklearn] iforest (5 seeds)  AUROC adx %.6f sklearn %.6f; mean score adx %.6f "
              "sklearn %.6f\n",
              mean_auroc, their_auroc, mean_score, their_score);
  EXPECT_NEAR(mean_auroc, their_auroc, 0.02);
  EXPECT_NEAR(mean_score, their_score, 0.01);
}
