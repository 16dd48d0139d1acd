// Metrics (detectors/metrics.h) against values worked out by hand, against a brute-force
// pair count, and against scikit-learn on a fixture with many tied scores.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "detectors/metrics.h"
#include "detectors_fixtures.h"
#include "engine/random.h"

using namespace adx;
using namespace adx::detectors;

namespace {

// P(s⁺ > s⁻) + ½ P(s⁺ = s⁻) by visiting every pair.
double auroc_by_pairs(const std::vector<float>& s, const std::vector<int>& y) {
  double wins = 0, pairs = 0;
  for (size_t i = 0; i < s.size(); ++i)
    for (size_t j = 0; j < s.size(); ++j)
      if (y[i] == 1 && y[j] == 0) {
        pairs += 1;
        wins += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
      }
  return wins / pairs;
}

}  // namespace

TEST(Auroc, HandComputed) {
  // scikit-learn's docstring example: the anomalies 0.35 and 0.8 against the normals
  // 0.1 and 0.4 win 3 of 4 pairs.
  const std::vector<float> s = {0.1f, 0.4f, 0.35f, 0.8f};
  const std::vector<int> y = {0, 0, 1, 1};
  EXPECT_DOUBLE_EQ(auroc(s, y), 0.75);
  EXPECT_DOUBLE_EQ(auroc(std::vector<float>{1, 2, 3, 4}, std::vector<int>{0, 0, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(auroc(std::vector<float>{4, 3, 2, 1}, std::vector<int>{0, 0, 1, 1}), 0.0);
}

TEST(Auroc, TiesCountHalf) {
  // Anomalies {0.5, 0.9}, normals {0.5, 0.2}: pairs 0.5–0.5 (½), 0.5–0.2, 0.9–0.5,
  // 0.9–0.2 (1 each) → 3.5 / 4.
  EXPECT_DOUBLE_EQ(auroc(std::vector<float>{0.5f, 0.5f, 0.2f, 0.9f}, std::vector<int>{1, 0, 0, 1}),
                   0.875);
  // All scores equal: every pair is a tie.
  EXPECT_DOUBLE_EQ(auroc(std::vector<float>{1, 1, 1, 1, 1}, std::vector<int>{0, 1, 0, 1, 1}), 0.5);
}

TEST(Auroc, MatchesPairCountOnRandomTiedScores) {
  Generator gen(7);
  for (int trial = 0; trial < 5; ++trial) {
    std::vector<float> s(301);
    std::vector<int> y(301);
    for (size_t i = 0; i < s.size(); ++i) {
      y[i] = gen.uniform() < 0.3f ? 1 : 0;
      s[i] = std::round((gen.normal() + y[i]) * 4.0f) / 4.0f;  // coarse: many ties
    }
    EXPECT_NEAR(auroc(s, y), auroc_by_pairs(s, y), 1e-12) << "trial " << trial;
  }
}

TEST(Auroc, TensorOverload) {
  const Tensor t = Tensor::from_data({4}, {0.1f, 0.4f, 0.35f, 0.8f});
  EXPECT_DOUBLE_EQ(auroc(t, std::vector<int>{0, 0, 1, 1}), 0.75);
  EXPECT_THROW(auroc(Tensor::zeros({2, 2}), std::vector<int>{0, 1, 0, 1}), Error);
}

TEST(Metrics, BadInputThrowsWithMessage) {
  const std::vector<float> s = {0.1f, 0.2f, 0.3f};
  try {
    auroc(s, std::vector<int>{1, 1, 1});
    FAIL() << "single-class input accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("only one class"), std::string::npos) << e.what();
  }
  try {
    average_precision(s, std::vector<int>{0, 1});
    FAIL() << "size mismatch accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("3 scores but 2 labels"), std::string::npos) << e.what();
  }
  EXPECT_THROW(auroc(s, std::vector<int>{0, 0, 0}), Error);
  EXPECT_THROW(roc_curve(s, std::vector<int>{0, 0, 0}), Error);
  EXPECT_THROW(auroc(s, std::vector<int>{0, 2, 1}), Error);  // label 2
  EXPECT_THROW(auroc(std::vector<float>{0.1f, NAN}, std::vector<int>{0, 1}), Error);
  EXPECT_THROW(metrics_at_threshold(s, std::vector<int>{0, 1}, 0.5f), Error);
  EXPECT_THROW(threshold_at_fpr(s, std::vector<int>{1, 1, 1}, 0.1), Error);  // no normals
  EXPECT_THROW(threshold_at_fpr(s, std::vector<int>{0, 1, 1}, 1.5), Error);
  // Threshold metrics are defined on one class.
  EXPECT_DOUBLE_EQ(accuracy(s, std::vector<int>{0, 0, 0}, 0.25f), 2.0 / 3.0);
}

TEST(AveragePrecision, HandComputed) {
  // Thresholds 0.8 (P 1, R ½), 0.4 (P ½), 0.35 (P ⅔, R 1): AP = ½·1 + ½·⅔.
  EXPECT_NEAR(average_precision(std::vector<float>{0.1f, 0.4f, 0.35f, 0.8f},
                                std::vector<int>{0, 0, 1, 1}),
              0.5 + 0.5 * 2.0 / 3.0, 1e-15);
  // A tie at 0.5 between an anomaly and a normal is one threshold: P = ⅔ at R = 1.
  EXPECT_NEAR(average_precision(std::vector<float>{0.5f, 0.5f, 0.2f, 0.9f},
                                std::vector<int>{1, 0, 0, 1}),
              0.5 * 1.0 + 0.5 * 2.0 / 3.0, 1e-15);
  EXPECT_DOUBLE_EQ(average_precision(std::vector<float>{1, 2, 3}, std::vector<int>{0, 1, 1}), 1.0);
}

TEST(RocCurve, HandComputed) {
  const RocCurve roc = roc_curve(std::vector<float>{0.1f, 0.4f, 0.35f, 0.8f},
                                 std::vector<int>{0, 0, 1, 1});
  EXPECT_EQ(roc.fpr, (std::vector<double>{0, 0, 0.5, 0.5, 1}));
  EXPECT_EQ(roc.tpr, (std::vector<double>{0, 0.5, 0.5, 1, 1}));
  ASSERT_EQ(roc.thresholds.size(), 5u);
  EXPECT_TRUE(std::isinf(roc.thresholds[0]));
  EXPECT_EQ(roc.thresholds[1], 0.8f);
  EXPECT_EQ(roc.thresholds[4], 0.1f);
  // Tied scores make one point.
  const RocCurve tied = roc_curve(std::vector<float>{0.5f, 0.5f, 0.2f, 0.9f},
                                  std::vector<int>{1, 0, 0, 1});
  EXPECT_EQ(tied.fpr, (std::vector<double>{0, 0, 0.5, 1}));
  EXPECT_EQ(tied.tpr, (std::vector<double>{0, 0.5, 1, 1}));
}

TEST(ThresholdMetrics, HandComputed) {
  // score ≥ 0.5 → anomaly: TP = {0.9, 0.6}, FP = {0.7}, FN = {0.2}, TN = {0.1, 0.4}.
  const std::vector<float> s = {0.9f, 0.6f, 0.7f, 0.2f, 0.1f, 0.4f};
  const std::vector<int> y = {1, 1, 0, 1, 0, 0};
  const BinaryMetrics m = metrics_at_threshold(s, y, 0.5f);
  EXPECT_EQ(m.tp, 2);
  EXPECT_EQ(m.fp, 1);
  EXPECT_EQ(m.fn, 1);
  EXPECT_EQ(m.tn, 2);
  EXPECT_DOUBLE_EQ(m.precision, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.recall, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.f1, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.accuracy, 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(m.fpr, 1.0 / 3.0);
  // The threshold itself counts as anomalous (score ≥ threshold).
  EXPECT_EQ(metrics_at_threshold(s, y, 0.6f).tp, 2);
  // Nothing predicted: precision and F1 are 0 by convention.
  const BinaryMetrics none = metrics_at_threshold(s, y, 2.0f);
  EXPECT_EQ(none.precision, 0.0);
  EXPECT_EQ(none.f1, 0.0);
  EXPECT_DOUBLE_EQ(none.accuracy, 0.5);
}

TEST(ThresholdAtFpr, HandComputed) {
  // Normals 0.1 0.4 0.7 0.8; anomalies 0.9 0.6 0.75.
  const std::vector<float> s = {0.9f, 0.6f, 0.7f, 0.1f, 0.4f, 0.8f, 0.75f};
  const std::vector<int> y = {1, 1, 0, 0, 0, 0, 1};
  EXPECT_EQ(threshold_at_fpr(s, y, 0.0), 0.9f);   // 0.8 would admit a false positive
  EXPECT_EQ(threshold_at_fpr(s, y, 0.25), 0.75f);  // one normal (0.8) allowed, 0.7 not
  EXPECT_EQ(threshold_at_fpr(s, y, 0.5), 0.6f);   // 0.8 and 0.7 allowed
  EXPECT_EQ(threshold_at_fpr(s, y, 1.0), 0.1f);
  // The highest score is a normal one: only +inf keeps FPR = 0.
  EXPECT_TRUE(std::isinf(threshold_at_fpr(std::vector<float>{1, 0}, std::vector<int>{0, 1}, 0.0)));
  // What it promises: the FPR at the returned threshold is within the bound.
  for (double f : {0.0, 0.1, 0.25, 0.3, 0.5, 0.74, 1.0})
    EXPECT_LE(metrics_at_threshold(s, y, threshold_at_fpr(s, y, f)).fpr, f + 1e-12) << f;
}

TEST(Metrics, MatchScikitLearnOnTiedScores) {
  const adx::testing::Csv data = adx::testing::read_csv("metrics.csv");
  const std::vector<double> sd = data.column("score");
  const std::vector<float> s(sd.begin(), sd.end());
  const std::vector<int> y = adx::testing::as_labels(data.column("y"));
  auto sk = adx::testing::read_summary("metrics_summary.csv");

  const double a = auroc(s, y), ap = average_precision(s, y);
  std::printf("[sklearn] metrics: AUROC adx %.12f sklearn %.12f; AP adx %.12f sklearn %.12f\n", a,
              sk["roc_auc"], ap, sk["average_precision"]);
  EXPECT_NEAR(a, sk["roc_auc"], 1e-10);
  EXPECT_NEAR(ap, sk["average_precision"], 1e-10);
  const BinaryMetrics m = metrics_at_threshold(s, y, 0.5f);
  EXPECT_NEAR(m.precision, sk["precision_at_0.5"], 1e-10);
  EXPECT_NEAR(m.recall, sk["recall_at_0.5"], 1e-10);
  EXPECT_NEAR(m.f1, sk["f1_at_0.5"], 1e-10);
  EXPECT_NEAR(m.accuracy, sk["accuracy_at_0.5"], 1e-10);

  const adx::testing::Csv ref = adx::testing::read_csv("roc.csv");
  const RocCurve roc = roc_curve(s, y);
  ASSERT_EQ(roc.fpr.size(), ref.rows.size());
  const auto fpr = ref.column("fpr"), tpr = ref.column("tpr"), thr = ref.column("threshold");
  for (size_t k = 0; k < fpr.size(); ++k) {
    EXPECT_NEAR(roc.fpr[k], fpr[k], 1e-8) << "point " << k;
    EXPECT_NEAR(roc.tpr[k], tpr[k], 1e-8) << "point " << k;
    if (k > 0) {  // scikit-learn 1.2 puts max + 1 where adx puts +inf
      EXPECT_EQ(roc.thresholds[k], static_cast<float>(thr[k])) << "point " << k;
    }
  }
}
