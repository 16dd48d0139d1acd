#include "detectors/isolation_forest.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace adx::detectors {
namespace {

constexpr double kEulerGamma = 0.5772156649;

// Grows one isolation tree on the rows `rows` of x (iTree, Algorithm 2), depth-first.
class TreeBuilder {
 public:
  TreeBuilder(const float* x, int64_t dim, int64_t height_limit, Generator& gen,
              IsolationForest::Tree& tree)
      : x_(x), dim_(dim), limit_(height_limit), gen_(gen), tree_(tree), features_(dim) {}

  int32_t grow(std::vector<int64_t>& rows, size_t begin, size_t end, int32_t depth) {
    const int32_t node = static_cast<int32_t>(tree_.feature.size());
    tree_.feature.push_back(-1);
    tree_.left.push_back(-1);
    tree_.right.push_back(-1);
    tree_.threshold.push_back(0.0);
    tree_.size.push_back(static_cast<int32_t>(end - begin));
    tree_.depth.push_back(depth);
    if (end - begin <= 1 || depth >= limit_) return node;  // external node

    // Draw features without replacement until one is not constant on these rows.
    std::iota(features_.begin(), features_.end(), int64_t{0});
    int64_t remaining = dim_, q = -1;
    float lo = 0, hi = 0;
    while (remaining > 0) {
      const int64_t pick = static_cast<int64_t>(gen_.below(static_cast<uint64_t>(remaining)));
      const int64_t f = features_[pick];
      std::swap(features_[pick], features_[--remaining]);
      lo = hi = x_[rows[begin] * dim_ + f];
      for (size_t k = begin + 1; k < end; ++k) {
        const float v = x_[rows[k] * dim_ + f];
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
      if (hi > lo) {
        q = f;
        break;
      }
    }
    if (q < 0) return node;  // every feature constant: the rows cannot be separated

    // p uniform in [lo, hi); rounding up to hi would leave the right side empty.
    double p = lo + uniform53(gen_) * (static_cast<double>(hi) - lo);
    if (p >= hi) p = lo;
    const auto middle = std::partition(rows.begin() + begin, rows.begin() + end,
                                       [&](int64_t r) { return x_[r * dim_ + q] <= p; });
    const size_t split = static_cast<size_t>(middle - rows.begin());
    tree_.feature[node] = static_cast<int32_t>(q);
    tree_.threshold[node] = p;
    const int32_t left = grow(rows, begin, split, depth + 1);
    const int32_t right = grow(rows, split, end, depth + 1);
    tree_.left[node] = left;
    tree_.right[node] = right;
    return node;
  }

 private:
  const float* x_;
  int64_t dim_, limit_;
  Generator& gen_;
  IsolationForest::Tree& tree_;
  std::vector<int64_t> features_;
};

// h(x) for one tree (Algorithm 3): edges to the leaf plus c(leaf size).
double path_length(const IsolationForest::Tree& t, const float* x) {
  int32_t node = 0;
  while (t.feature[node] >= 0)
    node = x[t.feature[node]] <= t.threshold[node] ? t.left[node] : t.right[node];
  return t.depth[node] + average_path_length(t.size[node]);
}

}  // namespace

double average_path_length(double n) {
  if (n <= 1) return 0.0;
  if (n <= 2) return 1.0;
  const double harmonic = std::log(n - 1) + kEulerGamma;  // H(n − 1)
  return 2.0 * harmonic - 2.0 * (n - 1) / n;
}

IsolationForest::IsolationForest(IsolationForestOptions options) : options_(options) {
  if (options_.n_estimators < 1)
    throw Error("IsolationForest: n_estimators must be at least 1");
  if (options_.max_samples < 1) throw Error("IsolationForest: max_samples must be at least 1");
}

void IsolationForest::fit(const Tensor& train) {
  check_features(train, "IsolationForest::fit");
  const int64_t n = train.size(0);
  if (n < 2) throw Error("IsolationForest::fit: needs at least 2 training rows, got 1");
  dim_ = train.size(1);
  psi_ = std::min(options_.max_samples, n);
  height_limit_ = static_cast<int64_t>(std::ceil(std::log2(std::max<double>(psi_, 2))));
  trees_.assign(options_.n_estimators, Tree{});
  const float* x = train.data();

  // Tree t draws from its own Philox counter range, so the forest does not depend on
  // how many threads build it.
#pragma omp parallel for schedule(dynamic)
  for (int64_t t = 0; t < options_.n_estimators; ++t) {
    Generator gen(options_.seed);
    gen.set_state(options_.seed, static_cast<uint64_t>(t) << 40);
    // ψ rows without replacement: a partial Fisher–Yates shuffle.
    std::vector<int64_t> all(n);
    std::iota(all.begin(), all.end(), int64_t{0});
    for (int64_t i = 0; i < psi_; ++i)
      std::swap(all[i], all[i + static_cast<int64_t>(gen.below(static_cast<uint64_t>(n - i)))]);
    all.resize(psi_);
    TreeBuilder(x, dim_, height_limit_, gen, trees_[t]).grow(all, 0, all.size(), 0);
  }
}

std::vector<double> IsolationForest::mean_path_length(const Tensor& x) const {
  check_fitted(!trees_.empty(), "IsolationForest");
  check_features(x, "IsolationForest::score", dim_);
  const int64_t m = x.size(0);
  std::vector<double> h(m);
  const float* p = x.data();
#pragma omp parallel for schedule(static) if (m * static_cast<int64_t>(trees_.size()) > 20000)
  for (int64_t i = 0; i < m; ++i) {
    double sum = 0;
    for (const Tree& t : trees_) sum += path_length(t, p + i * dim_);
    h[i] = sum / static_cast<double>(trees_.size());
  }
  return h;
}

Tensor IsolationForest::score(const Tensor& x) const {
  const std::vector<double> h = mean_path_length(x);
  const double c = average_path_length(static_cast<double>(psi_));
  Tensor out = Tensor::empty({static_cast<int64_t>(h.size())});
  for (size_t i = 0; i < h.size(); ++i)
    out.data()[i] = static_cast<float>(std::exp2(-h[i] / c));  // Eq. 2
  return out;
}

}  // namespace adx::detectors
