#include "detectors/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

namespace adx::detectors {
namespace {

struct Counts {
  int64_t positives = 0, negatives = 0;
};

// Sizes equal, labels in {0, 1}, scores not NaN; returns the class counts. When
// `both_classes`, a single-class input is an error (AUROC/AP/ROC are undefined there).
Counts check_input(std::span<const float> scores, std::span<const int> labels,
                   const char* who, bool both_classes) {
  if (scores.size() != labels.size())
    throw Error(std::string(who) + ": " + std::to_string(scores.size()) + " scores but " +
                std::to_string(labels.size()) + " labels");
  if (scores.empty()) throw Error(std::string(who) + ": no scores");
  Counts c;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] == 1) ++c.positives;
    else if (labels[i] == 0) ++c.negatives;
    else
      throw Error(std::string(who) + ": label " + std::to_string(labels[i]) + " at index " +
                  std::to_string(i) + " (labels must be 1 = anomaly or 0 = normal)");
    if (std::isnan(scores[i]))
      throw Error(std::string(who) + ": score at index " + std::to_string(i) + " is NaN");
  }
  if (both_classes && (c.positives == 0 || c.negatives == 0))
    throw Error(std::string(who) + ": only one class present (" + std::to_string(c.positives) +
                " anomalies, " + std::to_string(c.negatives) +
                " normal); the metric needs both");
  return c;
}

// Indices sorted by decreasing score (stable, so equal scores keep their order).
std::vector<int64_t> order_descending(std::span<const float> scores) {
  std::vector<int64_t> order(scores.size());
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return scores[a] > scores[b]; });
  return order;
}

// Cumulative (false positives, true positives) at each distinct threshold, scores
// visited in decreasing order: the raw material of the ROC and PR curves.
struct Steps {
  std::vector<int64_t> fp, tp;
  std::vector<float> threshold;
};

Steps threshold_steps(std::span<const float> scores, std::span<const int> labels) {
  const std::vector<int64_t> order = order_descending(scores);
  Steps s;
  int64_t fp = 0, tp = 0;
  for (size_t k = 0; k < order.size(); ++k) {
    const int64_t i = order[k];
    if (labels[i] == 1) ++tp;
    else ++fp;
    // One step per run of equal scores: emit after the last member of the run.
    if (k + 1 == order.size() || scores[order[k + 1]] != scores[i]) {
      s.fp.push_back(fp);
      s.tp.push_back(tp);
      s.threshold.push_back(scores[i]);
    }
  }
  return s;
}

}  // namespace

std::span<const float> score_span(const Tensor& scores) {
  if (!scores.defined() || !scores.device().is_cpu())
    throw Error("metrics: scores must be a defined CPU tensor");
  if (scores.dim() > 2 || (scores.dim() == 2 && scores.size(1) != 1))
    throw Error("metrics: scores must be 1-D (or N×1), got shape " + shape_str(scores.shape()));
  return {scores.data(), static_cast<size_t>(scores.numel())};
}

double auroc(std::span<const float> scores, std::span<const int> labels) {
  const Counts c = check_input(scores, labels, "auroc", true);
  // Mann–Whitney: U = Σ rank(anomalies) − n⁺(n⁺+1)/2 with mid-ranks for ties, and
  // AUROC = U / (n⁺ n⁻). Ranks ascend with the score (1 = lowest).
  std::vector<int64_t> order(scores.size());
  std::iota(order.begin(), order.end(), int64_t{0});
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return scores[a] < scores[b]; });
  double rank_sum = 0;
  for (size_t lo = 0; lo < order.size();) {
    size_t hi = lo + 1;
    while (hi < order.size() && scores[order[hi]] == scores[order[lo]]) ++hi;
    const double mid_rank = 0.5 * static_cast<double>(lo + 1 + hi);  // mean of lo+1 … hi
    for (size_t k = lo; k < hi; ++k)
      if (labels[order[k]] == 1) rank_sum += mid_rank;
    lo = hi;
  }
  const double np = static_cast<double>(c.positives), nn = static_cast<double>(c.negatives);
  return (rank_sum - np * (np + 1) / 2) / (np * nn);
}

double auroc(const Tensor& scores, std::span<const int> labels) {
  return auroc(score_span(scores), labels);
}

double average_precision(std::span<const float> scores, std::span<const int> labels) {
  const Counts c = check_input(scores, labels, "average_precision", true);
  const Steps s = threshold_steps(scores, labels);
  double ap = 0, previous_recall = 0;
  for (size_t k = 0; k < s.tp.size(); ++k) {
    const double recall = static_cast<double>(s.tp[k]) / static_cast<double>(c.positives);
    const double precision = static_cast<double>(s.tp[k]) / static_cast<double>(s.tp[k] + s.fp[k]);
    ap += (recall - previous_recall) * precision;
    previous_recall = recall;
  }
  return ap;
}

double average_precision(const Tensor& scores, std::span<const int> labels) {
  return average_precision(score_span(scores), labels);
}

RocCurve roc_curve(std::span<const float> scores, std::span<const int> labels) {
  const Counts c = check_input(scores, labels, "roc_curve", true);
  const Steps s = threshold_steps(scores, labels);
  RocCurve roc;
  roc.fpr.push_back(0);
  roc.tpr.push_back(0);
  roc.thresholds.push_back(std::numeric_limits<float>::infinity());
  for (size_t k = 0; k < s.tp.size(); ++k) {
    roc.fpr.push_back(static_cast<double>(s.fp[k]) / static_cast<double>(c.negatives));
    roc.tpr.push_back(static_cast<double>(s.tp[k]) / static_cast<double>(c.positives));
    roc.thresholds.push_back(s.threshold[k]);
  }
  return roc;
}

BinaryMetrics metrics_at_threshold(std::span<const float> scores, std::span<const int> labels,
                                   float threshold) {
  check_input(scores, labels, "metrics_at_threshold", false);
  BinaryMetrics m;
  for (size_t i = 0; i < scores.size(); ++i) {
    const bool predicted = scores[i] >= threshold, anomaly = labels[i] == 1;
    if (predicted && anomaly) ++m.tp;
    else if (predicted) ++m.fp;
    else if (anomaly) ++m.fn;
    else ++m.tn;
  }
  auto ratio = [](int64_t a, int64_t b) {
    return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b);
  };
  m.precision = ratio(m.tp, m.tp + m.fp);
  m.recall = ratio(m.tp, m.tp + m.fn);
  m.fpr = ratio(m.fp, m.fp + m.tn);
  m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0.0;
  m.accuracy = ratio(m.tp + m.tn, static_cast<int64_t>(scores.size()));
  return m;
}

double accuracy(std::span<const float> scores, std::span<const int> labels, float threshold) {
  return metrics_at_threshold(scores, labels, threshold).accuracy;
}

float threshold_at_fpr(std::span<const float> scores, std::span<const int> labels,
                       double max_fpr) {
  const Counts c = check_input(scores, labels, "threshold_at_fpr", false);
  if (!(max_fpr >= 0 && max_fpr <= 1))
    throw Error("threshold_at_fpr: max_fpr must be in [0, 1], got " + std::to_string(max_fpr));
  if (c.negatives == 0)
    throw Error("threshold_at_fpr: no normal points (label 0), so no false-positive rate");
  // Thresholds descend, so the FPR only grows: the last step still within the bound is
  // the lowest admissible threshold. Compare counts, not rates: fp ≤ max_fpr · n⁻.
  const Steps s = threshold_steps(scores, labels);
  const double allowed = max_fpr * static_cast<double>(c.negatives);
  float threshold = std::numeric_limits<float>::infinity();
  for (size_t k = 0; k < s.fp.size() && static_cast<double>(s.fp[k]) <= allowed * (1 + 1e-12); ++k)
    threshold = s.threshold[k];
  return threshold;
}

}  // namespace adx::detectors
