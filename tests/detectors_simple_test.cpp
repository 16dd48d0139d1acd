// The simple detectors — distance to the mean, k-means, PCA, Gaussian mixture — on data
// whose answers are known in closed form.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "detectors/gmm.h"
#include "detectors/kmeans.h"
#include "detectors/mean_distance.h"
#include "detectors/pca.h"
#include "engine/random.h"

using namespace adx;
using namespace adx::detectors;

namespace {

Tensor gaussian(int64_t rows, int64_t cols, uint64_t seed) {
  Generator gen(seed);
  return Tensor::randn({rows, cols}, gen);
}

// Rows c + (±r, 0), c + (0, ±r) around each of the given 2-D centres: each cluster's mean
// is its centre and its inertia 4r².
Tensor crosses(const std::vector<std::pair<float, float>>& centres, float r) {
  std::vector<float> v;
  for (auto [cx, cy] : centres)
    for (auto [dx, dy] : {std::pair{r, 0.f}, {-r, 0.f}, {0.f, r}, {0.f, -r}}) {
      v.push_back(cx + dx);
      v.push_back(cy + dy);
    }
  return Tensor::from_data({static_cast<int64_t>(v.size() / 2), 2}, v);
}

}  // namespace

// ---- distance to the mean --------------------------------------------------------------

TEST(MeanDistance, KnownDistances) {
  MeanDistance det;
  det.fit(Tensor::from_data({4, 2}, {0, 0, 2, 0, 0, 2, 2, 2}));  // mean (1, 1)
  EXPECT_EQ(det.mean(), (std::vector<double>{1, 1}));
  EXPECT_EQ(det.score(Tensor::from_data({3, 2}, {1, 1, 4, 5, 1, 0})).to_vector(),
            (std::vector<float>{0, 5, 1}));
  EXPECT_THROW(det.score(Tensor::zeros({1, 3})), Error);
  MeanDistance unfitted;
  EXPECT_THROW(unfitted.score(Tensor::zeros({1, 2})), Error);
}

// ---- k-means -------------------------------------------------------------------------

TEST(KMeans, RecoversSeparatedClusters) {
  const Tensor x = crosses({{0, 0}, {20, 0}, {0, 20}}, 1.0f);
  KMeans km({.k = 3, .seed = 1});
  km.fit(x);
  // (Rounded to 1e-4: the centres come back from data centred at the overall mean.)
  std::vector<std::pair<float, float>> found;
  for (int64_t j = 0; j < 3; ++j)
    found.push_back({std::round(km.centres().data()[2 * j] * 1e4f) / 1e4f,
                     std::round(km.centres().data()[2 * j + 1] * 1e4f) / 1e4f});
  std::sort(found.begin(), found.end());
  EXPECT_EQ(found, (std::vector<std::pair<float, float>>{{0, 0}, {0, 20}, {20, 0}}));
  EXPECT_NEAR(km.inertia(), 12.0, 1e-9);  // 3 clusters × 4 points × r²
  // Distance to the nearest centre.
  const std::vector<float> s = km.score(Tensor::from_data({2, 2}, {3, 4, 20, 1})).to_vector();
  EXPECT_NEAR(s[0], 5.0f, 1e-5f);
  EXPECT_NEAR(s[1], 1.0f, 1e-5f);
  // predict agrees with the training labels.
  EXPECT_EQ(km.predict(x), km.labels());
}

TEST(KMeans, OneCentrePerPointGivesZeroInertia) {
  const Tensor x = gaussian(6, 3, 2);
  KMeans km({.k = 6, .n_init = 1, .seed = 3});
  km.fit(x);
  EXPECT_NEAR(km.inertia(), 0.0, 1e-12);
  for (float s : km.score(x).to_vector()) EXPECT_NEAR(s, 0.0f, 1e-6f);
}

TEST(KMeans, SeededAndBetterThanOneCentre) {
  const Tensor x = gaussian(500, 4, 4);
  KMeans a({.k = 5, .seed = 7}), b({.k = 5, .seed = 7}), one({.k = 1});
  a.fit(x);
  b.fit(x);
  one.fit(x);
  EXPECT_EQ(a.centres().to_vector(), b.centres().to_vector());
  EXPECT_LT(a.inertia(), one.inertia());
  // k = 1: the centre is the mean.
  MeanDistance mean;
  mean.fit(x);
  for (int64_t c = 0; c < 4; ++c) EXPECT_NEAR(one.centres().data()[c], mean.mean()[c], 1e-6);
  EXPECT_THROW(KMeans({.k = 0}), Error);
  KMeans too_many({.k = 501});
  EXPECT_THROW(too_many.fit(x), Error);
}

// ---- PCA -----------------------------------------------------------------------------

namespace {
// Rows ±3e₁, ±2e₂, ±1e₃ (embedded in `dim` dimensions): mean 0, covariance
// diag(18, 8, 2)/5 = diag(3.6, 1.6, 0.4).
Tensor axes_data(int64_t dim) {
  std::vector<float> v(6 * dim, 0.0f);
  const float len[3] = {3, 2, 1};
  for (int a = 0; a < 3; ++a) {
    v[(2 * a) * dim + a] = len[a];
    v[(2 * a + 1) * dim + a] = -len[a];
  }
  return Tensor::from_data({6, dim}, v);
}
}  // namespace

TEST(Pca, KnownSpectrumAndScores) {
  for (int64_t dim : {3, 10}) {  // 10 > 6 rows: the Gram-matrix path
    SCOPED_TRACE("dim " + std::to_string(dim));
    const Tensor train = axes_data(dim);
    std::vector<float> probe(dim, 0.0f);
    probe[0] = probe[1] = probe[2] = 1.0f;
    const Tensor x = Tensor::from_data({1, dim}, probe);

    Pca whiten({.score = PcaScore::Whitened});
    whiten.fit(train);
    ASSERT_EQ(whiten.spectrum().size(), 3);  // the other directions have zero variance
    EXPECT_NEAR(whiten.spectrum()(0), 3.6, 1e-12);
    EXPECT_NEAR(whiten.spectrum()(1), 1.6, 1e-12);
    EXPECT_NEAR(whiten.spectrum()(2), 0.4, 1e-12);
    // Σ (v_jᵀx)²/λ_j = 1/3.6 + 1/1.6 + 1/0.4
    EXPECT_NEAR(whiten.score(x).item(), 1 / 3.6 + 1 / 1.6 + 1 / 0.4, 1e-5);

    Pca recon1({.components = 1});
    recon1.fit(train);
    EXPECT_NEAR(recon1.score(x).item(), 2.0, 1e-5);  // residual (0, 1, 1)
    Pca recon2({.components = 2});
    recon2.fit(train);
    EXPECT_NEAR(recon2.score(x).item(), 1.0, 1e-5);
    EXPECT_NEAR(recon2.score(train).to_vector()[0], 0.0, 1e-6);  // on the plane
    Pca white1({.components = 1, .score = PcaScore::Whitened});
    white1.fit(train);
    EXPECT_NEAR(white1.score(x).item(), 1 / 3.6, 1e-6);
  }
}

TEST(Pca, OutlierOffThePlaneScoresHighest) {
  // Training data on a 2-D plane in 5-D; the probe row 3 leaves the plane.
  Tensor base = gaussian(200, 2, 5);
  std::vector<float> v;
  auto embed = [&](float a, float b, float off) {
    for (float c : {a + b, a - b, 2 * a, b, off}) v.push_back(c);
  };
  for (int64_t i = 0; i < 200; ++i) embed(base.data()[2 * i], base.data()[2 * i + 1], 0);
  const Tensor train = Tensor::from_data({200, 5}, v);
  v.clear();
  for (int i = 0; i < 10; ++i) embed(0.3f * i, -0.2f * i, i == 3 ? 0.5f : 0.0f);
  const Tensor x = Tensor::from_data({10, 5}, v);
  Pca pca({.components = 2});
  pca.fit(train);
  const std::vector<float> s = pca.score(x).to_vector();
  EXPECT_EQ(std::max_element(s.begin(), s.end()) - s.begin(), 3);
  EXPECT_NEAR(s[3], 0.25, 1e-5);
  EXPECT_THROW(Pca().fit(Tensor::ones({5, 3})), Error);  // no variance at all
}

// ---- Gaussian mixture ------------------------------------------------------------------

TEST(GaussianMixture, OneComponentIsTheMaximumLikelihoodGaussian) {
  // One component: μ = mean, Σ = (1/N) Σ (x − μ)(x − μ)ᵀ + reg·I after the first M-step,
  // and EM stops at once. Rows (±1, 0), (0, ±2): μ = 0, Σ = diag(0.5, 2) + 1e-6 I.
  const Tensor x = Tensor::from_data({4, 2}, {1, 0, -1, 0, 0, 2, 0, -2});
  GaussianMixture gmm({.components = 1});
  gmm.fit(x);
  EXPECT_NEAR(gmm.covariances()[0](0, 0), 0.5 + 1e-6, 1e-12);
  EXPECT_NEAR(gmm.covariances()[0](1, 1), 2.0 + 1e-6, 1e-12);
  EXPECT_NEAR(gmm.covariances()[0](0, 1), 0.0, 1e-12);
  // −log N((1, 1) | 0, diag(a, b)) = log 2π + ½ log(ab) + ½ (1/a + 1/b)
  const double a = 0.5 + 1e-6, b = 2.0 + 1e-6;
  const double expected = std::log(2 * std::numbers::pi) + 0.5 * std::log(a * b) + 0.5 * (1 / a + 1 / b);
  EXPECT_NEAR(gmm.score(Tensor::from_data({1, 2}, {1, 1})).item(), expected, 1e-5);
}

TEST(GaussianMixture, TwoSeparatedBlobs) {
  // 300 points around (−10, 0) and 100 around (10, 0).
  Tensor x = gaussian(400, 2, 6);
  for (int64_t i = 0; i < 400; ++i) x.data()[2 * i] += i < 300 ? -10.0f : 10.0f;
  GaussianMixture gmm({.components = 2, .seed = 1});
  gmm.fit(x);
  EXPECT_TRUE(gmm.converged());
  const int64_t big = gmm.weights()(0) > gmm.weights()(1) ? 0 : 1;
  EXPECT_NEAR(gmm.weights()(big), 0.75, 1e-6);
  EXPECT_NEAR(gmm.means()[big](0), -10.0, 0.2);
  EXPECT_NEAR(gmm.means()[1 - big](0), 10.0, 0.3);
  // The mixture density integrates the two blobs; a point between them is the outlier.
  const std::vector<float> s =
      gmm.score(Tensor::from_data({3, 2}, {-10, 0, 0, 0, 10, 0})).to_vector();
  EXPECT_GT(s[1], s[0] + 10);
  EXPECT_GT(s[1], s[2] + 10);
  EXPECT_LT(s[0], s[2]);  // the heavier component has the higher density
  GaussianMixture too_many({.components = 500});
  EXPECT_THROW(too_many.fit(x), Error);
}
