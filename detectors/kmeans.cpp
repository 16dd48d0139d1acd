#include "detectors/kmeans.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "detectors/knn.h"
#include "engine/cpu/gemm.h"

namespace adx::detectors {
namespace {

double squared_distance(const float* a, const float* b, int64_t d) {
  double s = 0;
  for (int64_t c = 0; c < d; ++c) {
    const double diff = static_cast<double>(a[c]) - b[c];
    s += diff * diff;
  }
  return s;
}

// Greedy k-means++ seeding; returns k row indices of x.
std::vector<int64_t> kmeans_plus_plus(const float* x, int64_t n, int64_t d, int64_t k,
                                      Generator& gen) {
  const int64_t trials = 2 + static_cast<int64_t>(std::log(static_cast<double>(k)));
  std::vector<int64_t> chosen = {static_cast<int64_t>(gen.below(static_cast<uint64_t>(n)))};
  std::vector<double> closest(n), candidate(n), best_closest(n);
  for (int64_t i = 0; i < n; ++i) closest[i] = squared_distance(x + i * d, x + chosen[0] * d, d);

  while (static_cast<int64_t>(chosen.size()) < k) {
    // Cumulative D² for sampling by inverse CDF.
    std::vector<double> cumulative(n);
    std::partial_sum(closest.begin(), closest.end(), cumulative.begin());
    double best_potential = std::numeric_limits<double>::infinity();
    int64_t best = -1;
    for (int64_t t = 0; t < trials; ++t) {
      const double r = uniform53(gen) * cumulative.back();
      int64_t c = std::upper_bound(cumulative.begin(), cumulative.end(), r) - cumulative.begin();
      c = std::min(c, n - 1);
      double p = 0;
      for (int64_t i = 0; i < n; ++i) {
        candidate[i] = std::min(closest[i], squared_distance(x + i * d, x + c * d, d));
        p += candidate[i];
      }
      if (p < best_potential) {
        best_potential = p;
        best = c;
        best_closest.swap(candidate);
      }
    }
    chosen.push_back(best);
    closest.swap(best_closest);
  }
  return chosen;
}

struct Run {
  std::vector<double> centres;  // k × d
  std::vector<int64_t> labels;
  double inertia = 0;
  int64_t iterations = 0;
};

// The assignment step: for every row its nearest centre and the squared distance,
// from ‖x‖² + ‖c‖² − 2xᵀc with the inner products of a block of rows by one GEMM.
class Assigner {
 public:
  Assigner(const float* x, int64_t n, int64_t d) : x_(x), n_(n), d_(d), norm2_(n) {
    for (int64_t i = 0; i < n; ++i) {
      double s = 0;
      for (int64_t c = 0; c < d; ++c) s += static_cast<double>(x[i * d + c]) * x[i * d + c];
      norm2_[i] = s;
    }
  }

  void operator()(const std::vector<double>& centres, std::vector<int64_t>& labels,
                  std::vector<double>& d2) const {
    const int64_t k = static_cast<int64_t>(centres.size()) / d_;
    std::vector<float> c(centres.begin(), centres.end());
    std::vector<double> c_norm2(k, 0.0);
    for (int64_t j = 0; j < k; ++j)
      for (int64_t e = 0; e < d_; ++e) c_norm2[j] += static_cast<double>(c[j * d_ + e]) * c[j * d_ + e];
    labels.resize(n_);
    d2.resize(n_);
    constexpr int64_t kRows = 4096;  // bounds the n × k block of inner products
    std::vector<float> dot(static_cast<size_t>(std::min(n_, kRows) * k));
    for (int64_t r0 = 0; r0 < n_; r0 += kRows) {
      const int64_t rows = std::min(kRows, n_ - r0);
      cpu::gemm(false, true, rows, k, d_, 1.0f, x_ + r0 * d_, d_, c.data(), d_, 0.0f, dot.data(), k);
#pragma omp parallel for schedule(static) if (rows * k > (1 << 16))
      for (int64_t i = 0; i < rows; ++i) {
        double best = std::numeric_limits<double>::infinity();
        int64_t arg = 0;
        for (int64_t j = 0; j < k; ++j) {
          const double v = norm2_[r0 + i] + c_norm2[j] - 2.0 * dot[i * k + j];
          if (v < best) {
            best = v;
            arg = j;
          }
        }
        labels[r0 + i] = arg;
        d2[r0 + i] = std::max(0.0, best);
      }
    }
  }

 private:
  const float* x_;
  int64_t n_, d_;
  std::vector<double> norm2_;
};

// Σ_i ‖x_i − c_{label i}‖², summed directly.
double inertia(const float* x, int64_t n, int64_t d, const std::vector<double>& centres,
               const std::vector<int64_t>& labels) {
  double total = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < d; ++c) {
      const double diff = x[i * d + c] - centres[labels[i] * d + c];
      total += diff * diff;
    }
  return total;
}

Run lloyd(const float* x, int64_t n, int64_t d, const Assigner& assign,
          const std::vector<int64_t>& seeds, int64_t max_iter, double tol) {
  const int64_t k = static_cast<int64_t>(seeds.size());
  Run run;
  run.centres.resize(k * d);
  for (int64_t j = 0; j < k; ++j)
    std::copy(x + seeds[j] * d, x + (seeds[j] + 1) * d, run.centres.begin() + j * d);

  std::vector<int64_t> labels, previous;
  std::vector<double> d2, sums(k * d);
  std::vector<int64_t> counts(k);
  for (run.iterations = 1; run.iterations <= max_iter; ++run.iterations) {
    assign(run.centres, labels, d2);
    // Update: each centre to the mean of its points.
    std::fill(sums.begin(), sums.end(), 0.0);
    std::fill(counts.begin(), counts.end(), 0);
    for (int64_t i = 0; i < n; ++i) {
      ++counts[labels[i]];
      for (int64_t c = 0; c < d; ++c) sums[labels[i] * d + c] += x[i * d + c];
    }
    // Empty clusters take the points farthest from their centres.
    std::vector<int64_t> far;
    int64_t next_far = 0;
    for (int64_t j = 0; j < k; ++j) {
      if (counts[j] > 0) continue;
      if (far.empty()) {
        far.resize(n);
        std::iota(far.begin(), far.end(), int64_t{0});
        std::stable_sort(far.begin(), far.end(),
                         [&](int64_t a, int64_t b) { return d2[a] > d2[b]; });
      }
      const int64_t i = far[next_far++];
      --counts[labels[i]];
      for (int64_t c = 0; c < d; ++c) sums[labels[i] * d + c] -= x[i * d + c];
      labels[i] = j;
      counts[j] = 1;
      for (int64_t c = 0; c < d; ++c) sums[j * d + c] = x[i * d + c];
    }
    double shift = 0;
    for (int64_t e = 0; e < k * d; ++e) {
      const double updated = sums[e] / static_cast<double>(counts[e / d]);
      shift += (updated - run.centres[e]) * (updated - run.centres[e]);
      run.centres[e] = updated;
    }
    if (labels == previous) break;  // the assignment is stable: converged
    previous = labels;
    if (shift <= tol) break;
  }
  run.iterations = std::min(run.iterations, max_iter);
  // Labels and inertia consistent with the final centres.
  assign(run.centres, run.labels, d2);
  run.inertia = inertia(x, n, d, run.centres, run.labels);
  return run;
}

}  // namespace

KMeans::KMeans(KMeansOptions options) : options_(options) {
  if (options_.k < 1) throw Error("KMeans: k must be at least 1");
  if (options_.n_init < 1) throw Error("KMeans: n_init must be at least 1");
  if (options_.max_iter < 1) throw Error("KMeans: max_iter must be at least 1");
}

void KMeans::fit(const Tensor& train) {
  check_features(train, "KMeans::fit");
  const int64_t n = train.size(0), d = train.size(1);
  if (n < options_.k)
    throw Error("KMeans::fit: k = " + std::to_string(options_.k) + " clusters but only " +
                std::to_string(n) + " training rows");
  const float* x = train.data();
  // Absolute tolerance: tol times the mean per-feature variance (scikit-learn).
  double mean_var = 0;
  for (int64_t c = 0; c < d; ++c) {
    double mean = 0, sq = 0;
    for (int64_t i = 0; i < n; ++i) mean += x[i * d + c];
    mean /= static_cast<double>(n);
    for (int64_t i = 0; i < n; ++i) sq += (x[i * d + c] - mean) * (x[i * d + c] - mean);
    mean_var += sq / static_cast<double>(n);
  }
  const double tol = options_.tol * mean_var / static_cast<double>(d);

  // k-means commutes with translation: work on data centred at the mean, which keeps
  // ‖x‖² + ‖c‖² − 2xᵀc accurate (scikit-learn does the same).
  const std::vector<double> mean = column_means(x, n, d);
  const std::vector<float> xc = centred(x, n, d, mean);
  const Assigner assign(xc.data(), n, d);

  Generator gen(options_.seed);
  Run best;
  best.inertia = std::numeric_limits<double>::infinity();
  for (int64_t r = 0; r < options_.n_init; ++r) {
    const std::vector<int64_t> seeds = kmeans_plus_plus(xc.data(), n, d, options_.k, gen);
    Run run = lloyd(xc.data(), n, d, assign, seeds, options_.max_iter, tol);
    if (run.inertia < best.inertia) best = std::move(run);
  }
  centres_ = Tensor::empty({options_.k, d});
  for (int64_t j = 0; j < options_.k; ++j)
    for (int64_t c = 0; c < d; ++c)
      centres_.data()[j * d + c] = static_cast<float>(best.centres[j * d + c] + mean[c]);
  inertia_ = best.inertia;
  iterations_ = best.iterations;
  labels_ = std::move(best.labels);
}

Tensor KMeans::score(const Tensor& x) const {
  check_fitted(centres_.defined(), "KMeans");
  check_features(x, "KMeans::score", centres_.size(1));
  const Neighbours nb = nearest_neighbours(x, centres_, 1);
  return Tensor::from_data({nb.rows}, nb.distance);
}

std::vector<int64_t> KMeans::predict(const Tensor& x) const {
  check_fitted(centres_.defined(), "KMeans");
  check_features(x, "KMeans::predict", centres_.size(1));
  return nearest_neighbours(x, centres_, 1).index;
}

}  // namespace adx::detectors
