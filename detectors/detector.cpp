#include "detectors/detector.h"

#include <cmath>

namespace adx::detectors {

void check_features(const Tensor& x, const std::string& who, int64_t dim) {
  if (!x.defined()) throw Error(who + ": the feature matrix is undefined");
  if (!x.device().is_cpu())
    throw Error(who + ": features must be on the CPU, got " + x.device().str());
  if (x.dim() != 2)
    throw Error(who + ": expected a 2-D feature matrix (N, D), got shape " +
                shape_str(x.shape()));
  if (x.size(0) == 0 || x.size(1) == 0)
    throw Error(who + ": the feature matrix is empty, shape " + shape_str(x.shape()));
  if (dim >= 0 && x.size(1) != dim)
    throw Error(who + ": expected " + std::to_string(dim) + " features per row (as in fit), got " +
                std::to_string(x.size(1)));
  const float* p = x.data();
  const int64_t n = x.numel();
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(p[i]))
      throw Error(who + ": non-finite value at row " + std::to_string(i / x.size(1)) +
                  ", column " + std::to_string(i % x.size(1)));
}

void check_fitted(bool fitted, const std::string& who) {
  if (!fitted) throw Error(who + ": score() called before fit()");
}

std::vector<double> column_means(const float* x, int64_t n, int64_t d) {
  std::vector<double> mean(static_cast<size_t>(d), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < d; ++c) mean[static_cast<size_t>(c)] += x[i * d + c];
  for (double& m : mean) m /= static_cast<double>(n);
  return mean;
}

std::vector<float> centred(const float* x, int64_t n, int64_t d, const std::vector<double>& mean) {
  std::vector<float> out(static_cast<size_t>(n * d));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < d; ++c)
      out[static_cast<size_t>(i * d + c)] = static_cast<float>(x[i * d + c] - mean[static_cast<size_t>(c)]);
  return out;
}

double uniform53(Generator& gen) {
  const uint64_t hi = gen.next_u32() >> 5, lo = gen.next_u32() >> 6;  // 27 + 26 bits
  return (static_cast<double>(hi) * 67108864.0 + static_cast<double>(lo)) *
         (1.0 / 9007199254740992.0);
}

}  // namespace adx::detectors
