// Andrews et al. (2016), §4.3: features rescaled to unit length, a linear one-class
// ν-SVM fitted for 21 evenly spaced ν in [0.01, 0.99], and the AUROC averaged over ν
// ("to remove the dependency on ν").
#pragma once

#include <vector>

#include "engine/tensor.h"

namespace adx::detectors {

// Each row divided by its L2 norm (rows of zeros stay zero).
Tensor unit_length_rows(const Tensor& x);

struct SweepResult {
  std::vector<double> nu;
  std::vector<double> auroc;  // one per ν
  double mean_auroc = 0;
  Tensor median_scores;       // the anomaly scores of the middle ν (0.5)
};

SweepResult andrews_ocsvm_sweep(const Tensor& train, const Tensor& test, const std::vector<int>& test_labels,
                                int steps = 21, double nu_min = 0.01, double nu_max = 0.99);

}  // namespace adx::detectors
