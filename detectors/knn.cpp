#include "detectors/knn.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <fmt/format.h>
#include <omp.h>

#include "engine/cpu/gemm.h"

namespace adx::detectors {
namespace {

// Block sizes: a (kQueryBlock × kRefBlock) float tile of inner products per thread,
// 256 KiB — big enough for an efficient GEMM, small enough to stay in cache.
constexpr int64_t kQueryBlock = 64;
constexpr int64_t kRefBlock = 1024;

// The k best (smallest) squared distances seen so far for one query, sorted
// ascending; ties keep the earlier (lower) reference index.
struct TopK {
  float* d2;
  int64_t* idx;
  int64_t k;
  int64_t filled = 0;

  float worst() const {
    return filled < k ? std::numeric_limits<float>::infinity() : d2[k - 1];
  }
  void push(float value, int64_t index) {
    int64_t pos = filled < k ? filled++ : k - 1;  // drop the current worst when full
    while (pos > 0 && d2[pos - 1] > value) {
      d2[pos] = d2[pos - 1];
      idx[pos] = idx[pos - 1];
      --pos;
    }
    d2[pos] = value;
    idx[pos] = index;
  }
};

std::vector<double> squared_norms(const float* x, int64_t rows, int64_t dim) {
  std::vector<double> n(rows);
  for (int64_t i = 0; i < rows; ++i) {
    double s = 0;
    for (int64_t j = 0; j < dim; ++j) s += static_cast<double>(x[i * dim + j]) * x[i * dim + j];
    n[i] = s;
  }
  return n;
}

}  // namespace

Neighbours nearest_neighbours(const Tensor& queries, const Tensor& reference, int64_t k) {
  check_features(reference, "nearest_neighbours (reference)");
  check_features(queries, "nearest_neighbours (queries)", reference.size(1));
  const int64_t m = queries.size(0), n = reference.size(0), dim = reference.size(1);
  if (k < 1 || k > n)
    throw Error("nearest_neighbours: k = " + std::to_string(k) + " must be in [1, " +
                std::to_string(n) + "] (the number of reference rows)");
  const float* q = queries.data();
  const float* r = reference.data();

  // Distances do not change under a common shift, and ‖a‖² + ‖b‖² − 2aᵀb loses less to
  // cancellation near the data's centre: subtract the reference mean from both sides
  // (a centred copy of the reference, query blocks centred as they are processed).
  const std::vector<double> centre = column_means(r, n, dim);
  const std::vector<float> rc = centred(r, n, dim, centre);
  const std::vector<double> rn = squared_norms(rc.data(), n, dim);

  Neighbours out;
  out.rows = m;
  out.k = k;
  std::vector<float> best_d2(m * k);
  out.index.assign(m * k, -1);
  const int64_t query_blocks = (m + kQueryBlock - 1) / kQueryBlock;

  // Threads only when there is enough work to pay for them.
  const bool threaded = query_blocks > 1 && m * n * dim > (int64_t{1} << 22);
#pragma omp parallel if (threaded)
  {
    std::vector<float> qc(kQueryBlock * dim);          // this thread's centred query block
    std::vector<float> dot(kQueryBlock * kRefBlock);  // and its tile of aᵀb
#pragma omp for schedule(dynamic)
    for (int64_t qb = 0; qb < query_blocks; ++qb) {
      const int64_t q0 = qb * kQueryBlock, qrows = std::min(kQueryBlock, m - q0);
      for (int64_t i = 0; i < qrows; ++i)
        for (int64_t c = 0; c < dim; ++c)
          qc[i * dim + c] = static_cast<float>(q[(q0 + i) * dim + c] - centre[c]);
      const std::vector<double> qn = squared_norms(qc.data(), qrows, dim);
      std::vector<TopK> top;
      for (int64_t i = 0; i < qrows; ++i)
        top.push_back({&best_d2[(q0 + i) * k], &out.index[(q0 + i) * k], k});
      for (int64_t r0 = 0; r0 < n; r0 += kRefBlock) {
        const int64_t rrows = std::min(kRefBlock, n - r0);
        // dot = Q_block · R_blockᵀ  (qrows × rrows)
        cpu::gemm(false, true, qrows, rrows, dim, 1.0f, qc.data(), dim, rc.data() + r0 * dim, dim,
                  0.0f, dot.data(), rrows);
        for (int64_t i = 0; i < qrows; ++i) {
          TopK& t = top[i];
          const float* row = dot.data() + i * rrows;
          for (int64_t j = 0; j < rrows; ++j) {
            // ‖a − b‖² = ‖a‖² + ‖b‖² − 2 aᵀb, clamped at 0 against rounding.
            const float d2 = static_cast<float>(
                std::max(0.0, qn[i] + rn[r0 + j] - 2.0 * static_cast<double>(row[j])));
            if (d2 < t.worst()) t.push(d2, r0 + j);
          }
        }
      }
    }
  }

  // Exact distances of the winners, then re-sort (the recomputation can swap near-ties).
  out.distance.resize(m * k);
#pragma omp parallel for schedule(static) if (m * k * dim > (1 << 16))
  for (int64_t i = 0; i < m; ++i) {
    std::vector<std::pair<double, int64_t>> found(k);
    for (int64_t j = 0; j < k; ++j) {
      const int64_t ref = out.index[i * k + j];
      double s = 0;
      for (int64_t c = 0; c < dim; ++c) {
        const double diff = static_cast<double>(q[i * dim + c]) - r[ref * dim + c];
        s += diff * diff;
      }
      found[j] = {std::sqrt(s), ref};
    }
    std::sort(found.begin(), found.end());
    for (int64_t j = 0; j < k; ++j) {
      out.distance[i * k + j] = static_cast<float>(found[j].first);
      out.index[i * k + j] = found[j].second;
    }
  }
  return out;
}

KnnDetector::KnnDetector(KnnOptions options) : options_(options) {
  if (options_.k < 1) throw Error("KnnDetector: k must be at least 1, got " + std::to_string(options_.k));
}

void KnnDetector::fit(const Tensor& train) {
  check_features(train, "KnnDetector::fit");
  if (train.size(0) < options_.k)
    throw Error("KnnDetector::fit: k = " + std::to_string(options_.k) + " but only " +
                std::to_string(train.size(0)) + " training rows");
  train_ = train;
}

float KnnDetector::aggregate(const float* d) const {
  if (options_.aggregate == KnnScore::Kth) return d[options_.k - 1];
  double sum = 0;
  for (int64_t j = 0; j < options_.k; ++j) sum += d[j];
  return static_cast<float>(sum / static_cast<double>(options_.k));
}

Tensor KnnDetector::score(const Tensor& x) const {
  check_fitted(train_.defined(), "KnnDetector");
  check_features(x, "KnnDetector::score", train_.size(1));
  const Neighbours nb = nearest_neighbours(x, train_, options_.k);
  Tensor out = Tensor::empty({nb.rows});
  for (int64_t i = 0; i < nb.rows; ++i) out.data()[i] = aggregate(nb.distance.data() + i * nb.k);
  return out;
}

Tensor KnnDetector::training_scores(const Tensor& train) const {
  check_fitted(train_.defined(), "KnnDetector");
  if (train.shape() != train_.shape() || train.data() != train_.data())
    throw Error("KnnDetector::training_scores: pass the rows given to fit()");
  if (train_.size(0) <= options_.k)
    throw Error(fmt::format("KnnDetector: leave-one-out scores need more than k = {} training rows", options_.k));
  // k + 1 neighbours of each training row; drop the row itself (or, among exact
  // duplicates, one copy of its distance 0).
  const Neighbours nb = nearest_neighbours(train_, train_, options_.k + 1);
  Tensor out = Tensor::empty({nb.rows});
  std::vector<float> others(static_cast<size_t>(options_.k));
  for (int64_t i = 0; i < nb.rows; ++i) {
    const float* d = nb.distance.data() + i * nb.k;
    const int64_t* idx = nb.index.data() + i * nb.k;
    int64_t self = nb.k - 1;  // if the row is not among its own neighbours, drop the farthest
    for (int64_t j = 0; j < nb.k; ++j)
      if (idx[j] == i) self = j;
    for (int64_t j = 0, o = 0; j < nb.k; ++j)
      if (j != self) others[static_cast<size_t>(o++)] = d[j];
    out.data()[i] = aggregate(others.data());
  }
  return out;
}

}  // namespace adx::detectors
