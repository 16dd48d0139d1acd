// The common shape of every detector: fit on normal training features, then score
// new ones. Features are float32 matrices N×D (adx::Tensor, CPU, row-major); a score
// is one float per row, and higher always means more anomalous.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/random.h"
#include "engine/tensor.h"

namespace adx::detectors {

class Detector {
 public:
  virtual ~Detector() = default;
  virtual void fit(const Tensor& train) = 0;             // train: (N, D), normal data
  virtual Tensor score(const Tensor& x) const = 0;       // (M, D) → (M,), higher = anomalous
  // The scores of the training rows themselves, as thresholds set on training scores
  // need them. Detectors that memorise their training data score each row without
  // itself (kNN would otherwise see every training point at distance 0 from itself).
  virtual Tensor training_scores(const Tensor& train) const { return score(train); }
  virtual std::string name() const = 0;
};

// Checks that `x` is a non-empty 2-D CPU matrix of finite values, with `dim` columns
// when dim >= 0; throws adx::Error naming `who` otherwise.
void check_features(const Tensor& x, const std::string& who, int64_t dim = -1);

// Throws adx::Error("<who>: score() called before fit()") when !fitted.
void check_fitted(bool fitted, const std::string& who);

// The mean of each column of a row-major (n, d) matrix, in double precision.
std::vector<double> column_means(const float* x, int64_t n, int64_t d);

// x − mean row by row, as floats. Distance-based detectors work on data centred this
// way: distances do not change under a common shift, and ‖a‖² + ‖b‖² − 2aᵀb loses less
// to cancellation near the data's centre (scikit-learn does the same).
std::vector<float> centred(const float* x, int64_t n, int64_t d, const std::vector<double>& mean);

// A uniform double in [0, 1) with 53 random bits (two 32-bit draws).
double uniform53(Generator& gen);

}  // namespace adx::detectors
