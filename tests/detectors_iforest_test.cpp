// Isolation Forest (detectors/isolation_forest.h): c(n), the tree invariants of Liu et
// al.'s construction, known scores, seeding and thread independence.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "detectors/isolation_forest.h"
#include "detectors/metrics.h"
#include "engine/cpu/parallel.h"
#include "engine/random.h"

using namespace adx;
using namespace adx::detectors;

namespace {

Tensor gaussian(int64_t rows, int64_t cols, uint64_t seed) {
  Generator gen(seed);
  return Tensor::randn({rows, cols}, gen);
}

}  // namespace

TEST(IsolationForest, AveragePathLength) {
  // c(n) = 2H(n−1) − 2(n−1)/n, H(i) ≈ ln i + 0.5772156649; c(2) = 1, c(1) = c(0) = 0.
  EXPECT_EQ(average_path_length(0), 0.0);
  EXPECT_EQ(average_path_length(1), 0.0);
  EXPECT_EQ(average_path_length(2), 1.0);
  // c(3) = 2(ln 2 + γ) − 4/3 = 2(0.6931471806 + 0.5772156649) − 1.3333333333
  EXPECT_NEAR(average_path_length(3), 1.2073923576, 1e-9);
  // c(4) = 2(ln 3 + γ) − 6/4 = 2(1.0986122887 + 0.5772156649) − 1.5
  EXPECT_NEAR(average_path_length(4), 1.8516559071, 1e-9);
  // c(256) = 2(ln 255 + γ) − 510/256 = 2(5.5412635451 + 0.5772156649) − 1.9921875
  EXPECT_NEAR(average_path_length(256), 10.2447709201, 1e-9);
}

TEST(IsolationForest, TreeInvariants) {
  const Tensor train = gaussian(1000, 5, 1);
  IsolationForest forest({.n_estimators = 20, .max_samples = 100, .seed = 3});
  forest.fit(train);
  EXPECT_EQ(forest.samples_per_tree(), 100);
  EXPECT_EQ(forest.height_limit(), 7);  // ⌈log₂ 100⌉
  ASSERT_EQ(forest.trees().size(), 20u);
  for (const auto& t : forest.trees()) {
    EXPECT_EQ(t.size[0], 100);  // the root holds the ψ sampled rows
    int64_t leaf_rows = 0;
    for (size_t node = 0; node < t.feature.size(); ++node) {
      EXPECT_LE(t.depth[node], 7);
      if (t.feature[node] < 0) {
        leaf_rows += t.size[node];
        EXPECT_TRUE(t.size[node] == 1 || t.depth[node] == 7) << "leaf that could be split";
      } else {
        // Both children non-empty, sizes adding up.
        EXPECT_GT(t.size[t.left[node]], 0);
        EXPECT_GT(t.size[t.right[node]], 0);
        EXPECT_EQ(t.size[t.left[node]] + t.size[t.right[node]], t.size[node]);
        EXPECT_EQ(t.depth[t.left[node]], t.depth[node] + 1);
      }
    }
    EXPECT_EQ(leaf_rows, 100);
  }
}

TEST(IsolationForest, IdenticalRowsScoreOneHalf) {
  // No feature varies: every tree is one leaf of ψ rows, h(x) = c(ψ), s = 2^−1.
  const Tensor train = Tensor::full({300, 3}, 2.5f);
  IsolationForest forest({.n_estimators = 10});
  forest.fit(train);
  EXPECT_EQ(forest.samples_per_tree(), 256);
  const Tensor x = Tensor::from_data({2, 3}, {2.5f, 2.5f, 2.5f, 100, -4, 0});
  for (float s : forest.score(x).to_vector()) EXPECT_FLOAT_EQ(s, 0.5f);
  for (double h : forest.mean_path_length(x)) EXPECT_NEAR(h, average_path_length(256), 1e-12);
}

TEST(IsolationForest, TwoPointsKnownPathLengths) {
  // Two distinct training rows: the root splits them apart into two leaves of one
  // (depth 1, c(1) = 0), so h = 1 for everything and s = 2^(−1/c(2)) = 2^−1.
  const Tensor train = Tensor::from_data({2, 1}, {0.0f, 1.0f});
  IsolationForest forest({.n_estimators = 5});
  forest.fit(train);
  EXPECT_EQ(forest.height_limit(), 1);
  for (double h : forest.mean_path_length(Tensor::from_data({3, 1}, {-1, 0.5f, 7})))
    EXPECT_DOUBLE_EQ(h, 1.0);
}

TEST(IsolationForest, OutlierScoresHighest) {
  Tensor train = gaussian(2000, 4, 2);
  Tensor x = gaussian(100, 4, 3);
  for (int64_t c = 0; c < 4; ++c) x.data()[42 * 4 + c] = 8.0f;  // row 42 is far out
  IsolationForest forest({.seed = 11});
  forest.fit(train);
  const std::vector<float> s = forest.score(x).to_vector();
  EXPECT_EQ(std::max_element(s.begin(), s.end()) - s.begin(), 42);
  EXPECT_GT(s[42], 0.7f);
  double mean = 0;
  for (size_t i = 0; i < s.size(); ++i)
    if (i != 42) mean += s[i] / 99.0;
  EXPECT_LT(mean, 0.5);  // normal points: E[h] above c(ψ)
  for (float v : s) EXPECT_TRUE(v > 0.0f && v <= 1.0f);
}

TEST(IsolationForest, SeededAndThreadIndependent) {
  const Tensor train = gaussian(800, 6, 4), x = gaussian(200, 6, 5);
  const int saved = cpu::num_threads();
  cpu::set_num_threads(1);
  IsolationForest a({.n_estimators = 50, .seed = 9});
  a.fit(train);
  const std::vector<float> sa = a.score(x).to_vector();
  cpu::set_num_threads(std::max(2, saved));
  IsolationForest b({.n_estimators = 50, .seed = 9});
  b.fit(train);
  const std::vector<float> sb = b.score(x).to_vector();
  IsolationForest c({.n_estimators = 50, .seed = 10});
  c.fit(train);
  const std::vector<float> sc = c.score(x).to_vector();
  cpu::set_num_threads(saved);
  EXPECT_EQ(sa, sb);
  EXPECT_NE(sa, sc);
}

TEST(IsolationForest, BadInput) {
  EXPECT_THROW(IsolationForest({.n_estimators = 0}), Error);
  EXPECT_THROW(IsolationForest({.max_samples = 0}), Error);
  IsolationForest forest;
  EXPECT_THROW(forest.score(gaussian(3, 2, 1)), Error);  // before fit
  EXPECT_THROW(forest.fit(gaussian(1, 2, 1)), Error);    // one row
  forest.fit(gaussian(50, 2, 1));
  EXPECT_THROW(forest.score(gaussian(3, 3, 1)), Error);
}
