// Isolation Forest (Liu, Ting & Zhou, ICDM 2008). Anomalies are "few and different", so
// random axis-parallel cuts isolate them in fewer steps than normal points.
//
// Training (Algorithms 1–2): every tree is grown on ψ = max_samples rows drawn without
// replacement; a node picks a feature q uniformly among those not constant on its rows
// and a split value p uniformly in [min q, max q); rows with x_q ≤ p go left. A node
// becomes a leaf when it holds one row, when all its features are constant, or at the
// height limit l = ⌈log₂ ψ⌉.
// Scoring (Algorithm 3, Eq. 1–2): the path length h(x) of a tree is the depth of the leaf
// x reaches plus c(size), the average path length of the unbuilt subtree below it, with
//   c(n) = 2 H(n−1) − 2(n−1)/n,  H(i) ≈ ln(i) + 0.5772156649  (n > 2), c(2) = 1, c(≤1) = 0,
// and the anomaly score is s(x, ψ) = 2^(−E[h(x)] / c(ψ)) ∈ (0, 1]: near 1 anomalous,
// clearly below 0.5 normal. The construction follows scikit-learn's IsolationForest
// (ExtraTreeRegressor with max_features=1), so the scores have the same distribution;
// the random numbers are adx's (a Philox stream per tree), not NumPy's.
#pragma once

#include <cstdint>
#include <vector>

#include "detectors/detector.h"

namespace adx::detectors {

struct IsolationForestOptions {
  int64_t n_estimators = 100;
  int64_t max_samples = 256;  // ψ; min(ψ, N) rows per tree
  uint64_t seed = 0;
};

// c(n), the average path length of an unsuccessful search in a binary search tree of
// n points (Eq. 1), as used to normalise path lengths.
double average_path_length(double n);

class IsolationForest : public Detector {
 public:
  explicit IsolationForest(IsolationForestOptions options = {});
  void fit(const Tensor& train) override;
  Tensor score(const Tensor& x) const override;  // s(x, ψ) = 2^(−E[h(x)]/c(ψ))
  std::string name() const override { return "iforest"; }

  // E[h(x)] over the trees, per row (the quantity the score normalises).
  std::vector<double> mean_path_length(const Tensor& x) const;
  int64_t samples_per_tree() const { return psi_; }
  int64_t height_limit() const { return height_limit_; }

  // A tree in flat arrays; node 0 is the root. A leaf has feature == -1.
  struct Tree {
    std::vector<int32_t> feature, left, right, size;  // size: training rows reaching the node
    std::vector<double> threshold;
    std::vector<int32_t> depth;
  };
  const std::vector<Tree>& trees() const { return trees_; }

 private:
  IsolationForestOptions options_;
  std::vector<Tree> trees_;
  int64_t dim_ = 0, psi_ = 0, height_limit_ = 0;
};

}  // namespace adx::detectors
