// k-means distance: cluster the normal data with k-means, then score(x) = the Euclidean
// distance from x to its nearest centre.
//
// Lloyd's algorithm (Lloyd 1982): alternately assign every point to its nearest centre
// and move each centre to the mean of its points, which never increases the inertia
// Σ_i min_j ‖x_i − c_j‖². Initialisation: k-means++ (Arthur & Vassilvitskii 2007) in
// scikit-learn's greedy form — each new centre is the best, by inertia, of
// 2 + ⌊ln k⌋ candidates drawn with probability ∝ D(x)², the squared distance to the
// nearest centre chosen so far. Like scikit-learn: stop when the centres move by
// Σ‖Δc‖² ≤ tol · mean_f Var(X_f) or the assignment no longer changes, at most max_iter
// iterations; keep the best of n_init runs; an emptied cluster takes the point farthest
// from its centre.
#pragma once

#include <cstdint>
#include <vector>

#include "detectors/detector.h"

namespace adx::detectors {

struct KMeansOptions {
  int64_t k = 8;
  int64_t n_init = 10;
  int64_t max_iter = 300;
  double tol = 1e-4;
  uint64_t seed = 0;
};

class KMeans : public Detector {
 public:
  explicit KMeans(KMeansOptions options = {});
  void fit(const Tensor& train) override;
  Tensor score(const Tensor& x) const override;  // distance to the nearest centre
  std::string name() const override { return "kmeans"; }

  std::vector<int64_t> predict(const Tensor& x) const;  // index of the nearest centre
  const Tensor& centres() const { return centres_; }    // (k, D)
  double inertia() const { return inertia_; }           // Σ squared distances, training set
  int64_t iterations() const { return iterations_; }    // Lloyd iterations of the best run
  // The training rows' cluster indices from the best run.
  const std::vector<int64_t>& labels() const { return labels_; }

 private:
  KMeansOptions options_;
  Tensor centres_;
  double inertia_ = 0;
  int64_t iterations_ = 0;
  std::vector<int64_t> labels_;
};

}  // namespace adx::detectors
