#include "detectors/mean_distance.h"

#include <cmath>

namespace adx::detectors {

void MeanDistance::fit(const Tensor& train) {
  check_features(train, "MeanDistance::fit");
  const int64_t n = train.size(0), d = train.size(1);
  mean_.assign(d, 0.0);
  const float* x = train.data();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < d; ++c) mean_[c] += x[i * d + c];
  for (double& m : mean_) m /= static_cast<double>(n);
}

Tensor MeanDistance::score(const Tensor& x) const {
  check_fitted(!mean_.empty(), "MeanDistance");
  const int64_t d = static_cast<int64_t>(mean_.size());
  check_features(x, "MeanDistance::score", d);
  const int64_t m = x.size(0);
  Tensor out = Tensor::empty({m});
  const float* p = x.data();
#pragma omp parallel for schedule(static) if (m * d > (1 << 16))
  for (int64_t i = 0; i < m; ++i) {
    double s = 0;
    for (int64_t c = 0; c < d; ++c) {
      const double diff = p[i * d + c] - mean_[c];
      s += diff * diff;
    }
    out.data()[i] = static_cast<float>(std::sqrt(s));
  }
  return out;
}

}  // namespace adx::detectors
