// kNN distance (detectors/knn.h): exact distances by hand, agreement with a naive double
// loop across block boundaries, thread-count independence and input checks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "detectors/knn.h"
#include "engine/cpu/parallel.h"
#include "engine/random.h"

using namespace adx;
using namespace adx::detectors;

namespace {

Tensor random_matrix(int64_t rows, int64_t cols, uint64_t seed, float scale = 1.0f) {
  Generator gen(seed);
  Tensor t = Tensor::randn({rows, cols}, gen);
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] *= scale;
  return t;
}

}  // namespace

TEST(Knn, ExactDistancesByHand) {
  // Training points (0,0), (3,4), (6,8), (1,0). From (3,0) the distances are 3, 4,
  // √73 and 2: the two nearest are (1,0) at 2 and (0,0) at 3.
  const Tensor train = Tensor::from_data({4, 2}, {0, 0, 3, 4, 6, 8, 1, 0});
  const Tensor x = Tensor::from_data({2, 2}, {3, 0, 0, 0});
  const Neighbours nb = nearest_neighbours(x, train, 2);
  EXPECT_EQ(nb.index, (std::vector<int64_t>{3, 0, 0, 3}));
  EXPECT_FLOAT_EQ(nb.distance[0], 2.0f);
  EXPECT_FLOAT_EQ(nb.distance[1], 3.0f);
  EXPECT_FLOAT_EQ(nb.distance[2], 0.0f);  // (0,0) is a training point
  EXPECT_FLOAT_EQ(nb.distance[3], 1.0f);

  KnnDetector mean({.k = 2, .aggregate = KnnScore::Mean});
  mean.fit(train);
  EXPECT_EQ(mean.score(x).to_vector(), (std::vector<float>{2.5f, 0.5f}));
  KnnDetector kth({.k = 2, .aggregate = KnnScore::Kth});
  kth.fit(train);
  EXPECT_EQ(kth.score(x).to_vector(), (std::vector<float>{3.0f, 1.0f}));
  KnnDetector all({.k = 4, .aggregate = KnnScore::Kth});
  all.fit(train);
  EXPECT_FLOAT_EQ(all.score(x).to_vector()[0], std::sqrt(73.0f));
}

TEST(Knn, MatchesNaiveSearchAcrossBlocks) {
  // Sizes that leave partial query (64) and reference (1024) blocks, shifted data so that
  // ‖a‖² + ‖b‖² − 2ab cancels heavily.
  const int64_t m = 150, n = 2100, d = 19, k = 7;
  Tensor ref = random_matrix(n, d, 1), q = random_matrix(m, d, 2);
  for (int64_t i = 0; i < ref.numel(); ++i) ref.data()[i] += 30.0f;
  for (int64_t i = 0; i < q.numel(); ++i) q.data()[i] += 30.0f;
  const Neighbours nb = nearest_neighbours(q, ref, k);
  ASSERT_EQ(nb.rows, m);
  ASSERT_EQ(nb.k, k);
  for (int64_t i = 0; i < m; ++i) {
    std::vector<std::pair<double, int64_t>> all(n);
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t c = 0; c < d; ++c) {
        const double diff = static_cast<double>(q.data()[i * d + c]) - ref.data()[j * d + c];
        s += diff * diff;
      }
      all[j] = {std::sqrt(s), j};
    }
    std::partial_sort(all.begin(), all.begin() + k, all.end());
    for (int64_t j = 0; j < k; ++j) {
      EXPECT_EQ(nb.index[i * k + j], all[j].second) << "query " << i << " rank " << j;
      EXPECT_NEAR(nb.distance[i * k + j], all[j].first, 1e-5 * all[j].first);
    }
  }
}

TEST(Knn, SameResultOnAnyThreadCount) {
  const Tensor ref = random_matrix(3000, 32, 3), q = random_matrix(700, 32, 4);
  const int saved = cpu::num_threads();
  cpu::set_num_threads(1);
  const Neighbours one = nearest_neighbours(q, ref, 5);
  cpu::set_num_threads(std::max(2, saved));
  const Neighbours many = nearest_neighbours(q, ref, 5);
  cpu::set_num_threads(saved);
  EXPECT_EQ(one.index, many.index);
  EXPECT_EQ(one.distance, many.distance);
}

TEST(Knn, OutlierScoresHighest) {
  Tensor train = random_matrix(500, 8, 5);
  Tensor x = random_matrix(50, 8, 6);
  for (int64_t c = 0; c < 8; ++c) x.data()[17 * 8 + c] += 6.0f;  // row 17 is far away
  KnnDetector det({.k = 5});
  det.fit(train);
  const std::vector<float> s = det.score(x).to_vector();
  EXPECT_EQ(std::max_element(s.begin(), s.end()) - s.begin(), 17);
}

TEST(Knn, BadInput) {
  const Tensor train = random_matrix(10, 4, 7);
  EXPECT_THROW(KnnDetector({.k = 0}), Error);
  KnnDetector det({.k = 11});
  EXPECT_THROW(det.fit(train), Error);  // k > N
  KnnDetector ok({.k = 3});
  EXPECT_THROW(ok.score(train), Error);  // before fit
  ok.fit(train);
  EXPECT_THROW(ok.score(random_matrix(3, 5, 8)), Error);  // 5 features, fitted on 4
  EXPECT_THROW(ok.score(Tensor::zeros({4})), Error);      // not 2-D
  Tensor nan = random_matrix(2, 4, 9);
  nan.data()[5] = NAN;
  EXPECT_THROW(ok.score(nan), Error);
}

TEST(Knn, TrainingScoresLeaveEachRowOut) {
  // Points 0, 1, 3 and 3 (a duplicate) on a line, k = 1: scoring the training rows
  // directly gives 0 everywhere (each row finds itself); left out, 0 → 1, 1 → 1, and
  // each 3 finds the other copy at distance 0.
  const Tensor train = Tensor::from_data({4, 1}, {0, 1, 3, 3});
  KnnDetector det({.k = 1});
  det.fit(train);
  EXPECT_EQ(det.score(train).to_vector(), (std::vector<float>{0, 0, 0, 0}));
  EXPECT_EQ(det.training_scores(train).to_vector(), (std::vector<float>{1, 1, 0, 0}));
  KnnDetector mean({.k = 2});
  mean.fit(train);
  EXPECT_EQ(mean.training_scores(train).to_vector(), (std::vector<float>{2, 1.5f, 1, 1}));
  KnnDetector too_many({.k = 4});
  too_many.fit(train);
  EXPECT_THROW(too_many.training_scores(train), Error);
}
