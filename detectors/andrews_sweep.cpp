#include "detectors/andrews_sweep.h"

#include <cmath>
#include <fmt/format.h>

#include "detectors/metrics.h"
#include "detectors/ocsvm.h"

namespace adx::detectors {

Tensor unit_length_rows(const Tensor& x) {
  if (x.dim() != 2) throw Error("unit_length_rows: expected an N×D matrix, got " + shape_str(x.shape()));
  Tensor out = Tensor::empty(x.shape());
  const int64_t n = x.size(0), d = x.size(1);
  for (int64_t i = 0; i < n; ++i) {
    const float* row = x.data() + i * d;
    double norm = 0.0;
    for (int64_t j = 0; j < d; ++j) norm += static_cast<double>(row[j]) * row[j];
    const float scale = norm > 0.0 ? static_cast<float>(1.0 / std::sqrt(norm)) : 0.0f;
    for (int64_t j = 0; j < d; ++j) out.data()[i * d + j] = row[j] * scale;
  }
  return out;
}

SweepResult andrews_ocsvm_sweep(const Tensor& train, const Tensor& test, const std::vector<int>& labels,
                                int steps, double nu_min, double nu_max) {
  if (steps < 2) throw Error("andrews_ocsvm_sweep: at least two values of nu");
  if (static_cast<int64_t>(labels.size()) != test.size(0))
    throw Error(fmt::format("andrews_ocsvm_sweep: {} labels for {} test rows", labels.size(), test.size(0)));
  const Tensor train_unit = unit_length_rows(train), test_unit = unit_length_rows(test);
  SweepResult r;
  double total = 0.0;
  for (int i = 0; i < steps; ++i) {
    const double nu = nu_min + (nu_max - nu_min) * i / (steps - 1);
    OneClassSvmOptions opt;
    opt.kernel = SvmKernel::Linear;
    opt.nu = nu;
    OneClassSvm svm(opt);
    svm.fit(train_unit);
    Tensor scores = svm.score(test_unit);
    const double a = auroc(scores, labels);
    r.nu.push_back(nu);
    r.auroc.push_back(a);
    total += a;
    if (i == steps / 2) r.median_scores = scores;
  }
  r.mean_auroc = total / steps;
  return r;
}

}  // namespace adx::detectors
