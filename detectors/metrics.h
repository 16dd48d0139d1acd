// Evaluation metrics for anomaly scores. Conventions:
//   * label 1 = anomaly (the positive class), 0 = normal; any other label is an error;
//   * higher score = more anomalous; a point is predicted anomalous when score >= threshold;
//   * scores and labels must have the same length; AUROC, AP and the ROC curve need
//     both classes present. Violations throw adx::Error with a message saying which.
// The ranking metrics reproduce scikit-learn's (roc_auc_score, average_precision_score,
// roc_curve) exactly, ties included; they are computed in double precision.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "engine/tensor.h"

namespace adx::detectors {

// Area under the ROC curve, ties counted half: the Mann–Whitney statistic
//   AUROC = P(s⁺ > s⁻) + ½ P(s⁺ = s⁻)
// over all (anomaly, normal) pairs, computed from mid-ranks in O(n log n).
double auroc(std::span<const float> scores, std::span<const int> labels);
double auroc(const Tensor& scores, std::span<const int> labels);

// Average precision, AP = Σ_k (R_k − R_{k−1}) · P_k over the distinct score values
// taken as thresholds in decreasing order (scikit-learn's definition: a step function,
// no interpolation). Tied scores form one threshold.
double average_precision(std::span<const float> scores, std::span<const int> labels);
double average_precision(const Tensor& scores, std::span<const int> labels);

// The ROC curve at every distinct score (roc_curve with drop_intermediate=False): the
// first point is (0, 0) with threshold +inf, then one point per distinct score in
// decreasing order, ending at (1, 1).
struct RocCurve {
  std::vector<double> fpr, tpr;
  std::vector<float> thresholds;
};
RocCurve roc_curve(std::span<const float> scores, std::span<const int> labels);

// The confusion counts and rates of the rule "anomaly when score >= threshold".
// precision = TP/(TP+FP), recall = TP/(TP+FN), F1 = 2PR/(P+R), accuracy = (TP+TN)/n;
// a ratio with a zero denominator is 0 (scikit-learn's zero_division=0 with a warning).
struct BinaryMetrics {
  int64_t tp = 0, fp = 0, tn = 0, fn = 0;
  double precision = 0, recall = 0, f1 = 0, accuracy = 0, fpr = 0;
};
BinaryMetrics metrics_at_threshold(std::span<const float> scores, std::span<const int> labels,
                                   float threshold);
double accuracy(std::span<const float> scores, std::span<const int> labels, float threshold);

// The threshold that keeps the false-positive rate at most `max_fpr` while catching
// as many anomalies as possible: the lowest ROC threshold whose FPR ≤ max_fpr
// (+inf when even the highest distinct score gives too many false positives).
// Needs at least one normal point; max_fpr in [0, 1].
float threshold_at_fpr(std::span<const float> scores, std::span<const int> labels,
                       double max_fpr);

// A view of a 1-D (or N×1) CPU tensor's values, for the functions above.
std::span<const float> score_span(const Tensor& scores);

}  // namespace adx::detectors
