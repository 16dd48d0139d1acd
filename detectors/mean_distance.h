// Distance to the training mean: score(x) = ‖x − μ‖₂ with μ = (1/N) Σ x_i. The simplest
// baseline: a single spherical cluster.
#pragma once

#include <vector>

#include "detectors/detector.h"

namespace adx::detectors {

class MeanDistance : public Detector {
 public:
  void fit(const Tensor& train) override;
  Tensor score(const Tensor& x) const override;
  std::string name() const override { return "mean-distance"; }
  const std::vector<double>& mean() const { return mean_; }

 private:
  std::vector<double> mean_;
};

}  // namespace adx::detectors
