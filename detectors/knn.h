// k-nearest-neighbour distance (Ramaswamy et al. 2000; Angiulli & Pizzuti 2002): a
// point is as anomalous as it is far from the normal training data,
//   score(x) = d_k(x)                      (the k-th nearest training distance), or
//   score(x) = (1/k) Σ_{j≤k} d_j(x)        (the mean of the k nearest),
// with d Euclidean. Exact brute force: blocks of test rows × training rows through one
// GEMM each, ‖a − b‖² = ‖a‖² + ‖b‖² − 2 aᵀb (on data centred at the training mean, which
// leaves distances unchanged and limits cancellation), and a running top-k per test
// row, so memory stays O(N·D + threads·block² + M·k): the M × N distance matrix is never
// formed (50,000 × 10,000 × 512 needs about 25 MB besides the inputs).
// The k winners' distances are then recomputed directly (Σ (a_i − b_i)², in double),
// which removes the GEMM identity's cancellation from the reported values.
#pragma once

#include <cstdint>
#include <vector>

#include "detectors/detector.h"

namespace adx::detectors {

// The k nearest rows of `reference` to every row of `queries` (both (·, D), CPU):
// distance(i, j) and index(i, j) for j = 0..k−1, nearest first (ties: lower index).
struct Neighbours {
  int64_t rows = 0, k = 0;
  std::vector<float> distance;  // rows × k, Euclidean (not squared)
  std::vector<int64_t> index;   // rows × k, row numbers in `reference`
};
Neighbours nearest_neighbours(const Tensor& queries, const Tensor& reference, int64_t k);

enum class KnnScore { Mean, Kth };

struct KnnOptions {
  int64_t k = 5;
  KnnScore aggregate = KnnScore::Mean;
};

class KnnDetector : public Detector {
 public:
  explicit KnnDetector(KnnOptions options = {});
  void fit(const Tensor& train) override;  // keeps (a reference to) the training rows
  Tensor score(const Tensor& x) const override;
  // Leave-one-out: each training row's k nearest other training rows (PyOD does the same).
  Tensor training_scores(const Tensor& train) const override;
  std::string name() const override { return "knn"; }
  const KnnOptions& options() const { return options_; }

 private:
  float aggregate(const float* nearest) const;  // one row's score from its k distances

  KnnOptions options_;
  Tensor train_;
};

}  // namespace adx::detectors
