#include "detectors/ocsvm.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <list>
#include <omp.h>

#include <Eigen/Core>

namespace adx::detectors {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
using RowMatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
constexpr double kTau = 1e-12;  // stands in for a non-positive curvature (Fan et al.)

// ---- the kernel matrix Q_ij = K(x_i, x_j) ---------------------------------------------

// Rows of Q in the training order, single precision as in LIBSVM's cache, each entry
// computed in double precision and then rounded once (a float GEMM would add an
// accumulation error over D terms that moves the SMO path away from LIBSVM's). Either
// the whole matrix (computed once by GEMM) or an LRU cache of rows computed on demand.
class KernelRows {
 public:
  // x: l × dim; `shift` is subtracted from every row first (RBF: the mean).
  KernelRows(const float* x, const std::vector<double>& shift, int64_t l, int64_t dim,
             SvmKernel kernel, double gamma, double cache_bytes)
      : x_(l, dim), l_(l), dim_(dim), kernel_(kernel), gamma_(gamma), norm2_(l), diag_(l) {
    for (int64_t i = 0; i < l; ++i)
      for (int64_t c = 0; c < dim; ++c) x_(i, c) = static_cast<double>(x[i * dim + c]) - shift[c];
    norm2_ = x_.rowwise().squaredNorm();
    for (int64_t i = 0; i < l; ++i) diag_[i] = kernel == SvmKernel::Linear ? norm2_(i) : 1.0;
    const double row_bytes = static_cast<double>(l) * sizeof(float);
    if (row_bytes * static_cast<double>(l) <= cache_bytes) {
      full_ = true;
      data_.resize(static_cast<size_t>(l * l));
      std::vector<int64_t> all(l);
      for (int64_t i = 0; i < l; ++i) all[i] = i;
      for (int64_t r = 0; r < l; r += kBlock)
        compute_rows(all.data() + r, std::min(kBlock, l - r), data_.data() + r * l);
    } else {
      capacity_ = std::min<int64_t>(
          l, std::max<int64_t>(2, static_cast<int64_t>(cache_bytes / row_bytes)));
      slot_of_.assign(l, -1);
      // Reserved once, so that growing the cache never moves rows already handed out.
      data_.reserve(static_cast<size_t>(capacity_ * l));
    }
  }

  double diag(int64_t i) const { return diag_[i]; }

  // Q(i, ·). The pointer stays valid until the next call evicts it; with at least two
  // slots, the two most recently requested rows are always resident.
  const float* row(int64_t i) {
    if (full_) return data_.data() + i * l_;
    if (slot_of_[i] >= 0) {
      recent_.splice(recent_.begin(), recent_, where_[slot_of_[i]]);
      return data_.data() + slot_of_[i] * l_;
    }
    int64_t slot;
    if (static_cast<int64_t>(owner_.size()) < capacity_) {
      slot = static_cast<int64_t>(owner_.size());
      owner_.push_back(i);
      where_.push_back(recent_.end());
      data_.resize(static_cast<size_t>((slot + 1) * l_));
    } else {  // evict the least recently used row
      slot = recent_.back();
      recent_.pop_back();
      slot_of_[owner_[slot]] = -1;
      owner_[slot] = i;
    }
    recent_.push_front(slot);
    where_[slot] = recent_.begin();
    slot_of_[i] = slot;
    compute_rows(&i, 1, data_.data() + slot * l_);
    return data_.data() + slot * l_;
  }

  // f(k, Q(rows[k], ·)) for every k, in order. Rows that are not stored are computed
  // kBlock at a time, one GEMM per block (a row alone would read all of X for l
  // multiply-adds per element), without entering the cache.
  template <class F>
  void for_each_row(const std::vector<int64_t>& rows, F&& f) {
    if (full_) {
      for (size_t k = 0; k < rows.size(); ++k) f(k, data_.data() + rows[k] * l_);
      return;
    }
    std::vector<float> block;
    for (size_t k0 = 0; k0 < rows.size(); k0 += kBlock) {
      const int64_t count = std::min<int64_t>(kBlock, static_cast<int64_t>(rows.size() - k0));
      block.resize(static_cast<size_t>(count * l_));
      compute_rows(rows.data() + k0, count, block.data());
      for (int64_t r = 0; r < count; ++r) f(k0 + r, block.data() + r * l_);
    }
  }

 private:
  static constexpr int64_t kBlock = 256;

  // out (count × l) = K(x_rows[0..count), all): one GEMM for the inner products.
  void compute_rows(const int64_t* rows, int64_t count, float* out) const {
    RowMatrixD dot(count, l_);
    if (count == 1) {
      // One row: a matrix-vector product, which Eigen runs on one thread; split it.
      const auto a = x_.row(rows[0]);
#pragma omp parallel for schedule(static) if (l_ * dim_ > (1 << 18))
      for (int64_t k = 0; k < l_; ++k) dot(0, k) = x_.row(k).dot(a);
    } else {
      RowMatrixD a(count, dim_);
      for (int64_t r = 0; r < count; ++r) a.row(r) = x_.row(rows[r]);
      dot.noalias() = a * x_.transpose();
    }
#pragma omp parallel for schedule(static) if (count * l_ > (1 << 16))
    for (int64_t r = 0; r < count; ++r) {
      float* q = out + r * l_;
      if (kernel_ == SvmKernel::Linear) {
        for (int64_t k = 0; k < l_; ++k) q[k] = static_cast<float>(dot(r, k));
        continue;
      }
      const double ni = norm2_(rows[r]);
      for (int64_t k = 0; k < l_; ++k)
        q[k] = static_cast<float>(std::exp(-gamma_ * std::max(0.0, ni + norm2_(k) - 2.0 * dot(r, k))));
      q[rows[r]] = 1.0f;  // K(x, x) exactly
    }
  }

  RowMatrixD x_;
  int64_t l_, dim_;
  SvmKernel kernel_;
  double gamma_;
  Eigen::VectorXd norm2_;
  std::vector<double> diag_;
  bool full_ = false;
  std::vector<float> data_;
  // LRU bookkeeping: slot_of_[row] (−1 if absent), owner_[slot] = row, `recent_` holds
  // slots from most to least recently used, where_[slot] its place in that list.
  int64_t capacity_ = 0;
  std::vector<int64_t> slot_of_, owner_;
  std::list<int64_t> recent_;
  std::vector<std::list<int64_t>::iterator> where_;
};

// ---- SMO for  min ½αᵀQα  s.t. 0 ≤ α ≤ 1, Σα = νl ----------------------------------------
//
// With all labels +1 and no linear term, the gradient is ∇ = Qα and the KKT conditions
// say there is a ρ with  ∇_i ≥ ρ if α_i < 1  and  ∇_i ≤ ρ if α_i > 0.
// Writing I_up = {t : α_t < 1} and I_low = {t : α_t > 0}, the maximal violation is
//   m(α) = max_{t ∈ I_up} −∇_t,  M(α) = min_{t ∈ I_low} −∇_t,
// and α is ε-optimal when m(α) − M(α) < ε.
//
// Variables live at "positions": shrinking moves the variables it sets aside to the end
// (positions ≥ active_) by swapping, as LIBSVM does, so that the order in which ties are
// broken is LIBSVM's. index_[p] is the training row at position p.
class OneClassSmo {
 public:
  struct Result {
    std::vector<double> alpha;  // in training order
    double rho = 0, objective = 0;
    int64_t iterations = 0;
  };

  OneClassSmo(KernelRows& q, int64_t l, double nu, double eps, bool shrinking, int64_t max_iter)
      : q_(q), l_(l), nu_(nu), eps_(eps), shrinking_(shrinking), max_iter_(max_iter) {}

  Result solve() {
    initialise();
    int64_t iter = 0;
    int64_t counter = std::min<int64_t>(l_, 1000) + 1;  // iterations until the next shrink
    while (iter < max_iter_) {
      if (--counter == 0) {
        counter = std::min<int64_t>(l_, 1000);
        if (shrinking_) shrink();
      }
      int64_t i, j;
      if (!select_working_set(i, j)) {
        // Optimal on the active set: check again on all variables.
        reconstruct_gradient();
        active_ = l_;
        if (!select_working_set(i, j)) break;
        counter = 1;  // shrink again at the next iteration
      }
      ++iter;
      update_pair(i, j);
    }
    if (active_ < l_) {  // stopped by max_iter while shrunk
      reconstruct_gradient();
      active_ = l_;
    }
    Result r;
    r.iterations = iter;
    r.rho = compute_rho();
    r.alpha.assign(l_, 0.0);
    for (int64_t p = 0; p < l_; ++p) {
      r.alpha[index_[p]] = alpha_[p];
      r.objective += 0.5 * alpha_[p] * grad_[p];  // ½ αᵀQα = ½ Σ α_i ∇_i
    }
    return r;
  }

 private:
  enum Status : uint8_t { kLower, kUpper, kFree };

  void set_status(int64_t p) {
    status_[p] = alpha_[p] >= 1.0 ? kUpper : alpha_[p] <= 0.0 ? kLower : kFree;
  }
  bool in_up(int64_t p) const { return status_[p] != kUpper; }   // α_p can grow
  bool in_low(int64_t p) const { return status_[p] != kLower; }  // α_p can shrink
  double q(const float* row, int64_t p) const { return row[index_[p]]; }

  void initialise() {
    alpha_.assign(l_, 0.0);
    // LIBSVM's feasible start: ⌊νl⌋ variables at the bound, the next one the remainder.
    const double total = nu_ * static_cast<double>(l_);
    const int64_t n = static_cast<int64_t>(total);
    for (int64_t p = 0; p < n && p < l_; ++p) alpha_[p] = 1.0;
    if (n < l_) alpha_[n] = total - static_cast<double>(n);
    status_.resize(l_);
    index_.resize(l_);
    qd_.resize(l_);
    for (int64_t p = 0; p < l_; ++p) {
      set_status(p);
      index_[p] = p;
      qd_[p] = q_.diag(p);
    }
    active_ = l_;
    // ∇ = Qα, and ∇̄ = Σ_{α_t = 1} Q_t (the part from bounded variables, kept for
    // rebuilding the gradient of shrunk variables).
    grad_.assign(l_, 0.0);
    grad_bar_.assign(l_, 0.0);
    std::vector<int64_t> nonzero;  // positions = training rows here
    for (int64_t t = 0; t < l_; ++t)
      if (status_[t] != kLower) nonzero.push_back(t);
    q_.for_each_row(nonzero, [&](size_t k, const float* row) {
      const int64_t t = nonzero[k];
      for (int64_t p = 0; p < l_; ++p) grad_[p] += alpha_[t] * q(row, p);
      if (status_[t] == kUpper)
        for (int64_t p = 0; p < l_; ++p) grad_bar_[p] += q(row, p);
    });
  }

  // WSS 2 (Fan et al., Algorithm 2 with y ≡ 1): i maximises −∇_i over I_up; j, among
  // t ∈ I_low with −∇_t < −∇_i, minimises the second-order decrease −b²/a with
  // b = −∇_i + ∇_t and a = Q_ii + Q_tt − 2Q_it (τ when a ≤ 0). Returns false when
  // m(α) − M(α) < ε. Ties go to the later position, as in LIBSVM.
  bool select_working_set(int64_t& out_i, int64_t& out_j) {
    double m = -kInf;  // m(α)
    int64_t i = -1;
    for (int64_t t = 0; t < active_; ++t)
      if (in_up(t) && -grad_[t] >= m) {
        m = -grad_[t];
        i = t;
      }
    double minus_M = -kInf;  // −M(α) = max_{I_low} ∇_t
    int64_t j = -1;
    double best = kInf;
    const float* row_i = i >= 0 ? q_.row(index_[i]) : nullptr;
    for (int64_t t = 0; t < active_; ++t) {
      if (!in_low(t)) continue;
      minus_M = std::max(minus_M, grad_[t]);
      const double b = m + grad_[t];
      if (b <= 0) continue;
      double a = qd_[i] + qd_[t] - 2.0 * q(row_i, t);
      if (a <= 0) a = kTau;
      const double decrease = -(b * b) / a;
      if (decrease <= best) {
        best = decrease;
        j = t;
      }
    }
    if (m + minus_M < eps_ || j < 0) return false;
    out_i = i;
    out_j = j;
    return true;
  }

  // The two-variable sub-problem: move δ from α_i to α_j along Σα = const, the
  // unconstrained optimum δ = (∇_i − ∇_j)/a, clipped to the box [0, 1]².
  void update_pair(int64_t i, int64_t j) {
    const float* row_i = q_.row(index_[i]);
    const float* row_j = q_.row(index_[j]);
    const double old_i = alpha_[i], old_j = alpha_[j];
    double a = qd_[i] + qd_[j] - 2.0 * q(row_i, j);
    if (a <= 0) a = kTau;
    const double delta = (grad_[i] - grad_[j]) / a;
    const double sum = old_i + old_j;
    alpha_[i] -= delta;
    alpha_[j] += delta;
    // Clip α_j to [max(0, sum − 1), min(1, sum)], α_i = sum − α_j at a clipped end.
    if (sum > 1.0) {
      if (alpha_[i] > 1.0) { alpha_[i] = 1.0; alpha_[j] = sum - 1.0; }
      if (alpha_[j] > 1.0) { alpha_[j] = 1.0; alpha_[i] = sum - 1.0; }
    } else {
      if (alpha_[j] < 0.0) { alpha_[j] = 0.0; alpha_[i] = sum; }
      if (alpha_[i] < 0.0) { alpha_[i] = 0.0; alpha_[j] = sum; }
    }
    const double di = alpha_[i] - old_i, dj = alpha_[j] - old_j;
    for (int64_t p = 0; p < active_; ++p) grad_[p] += q(row_i, p) * di + q(row_j, p) * dj;

    // Keep ∇̄ in step with the set of variables at the upper bound.
    for (const int64_t v : {i, j}) {
      const bool was_upper = status_[v] == kUpper;
      set_status(v);
      if (was_upper == (status_[v] == kUpper)) continue;
      const double sign = was_upper ? -1.0 : 1.0;
      const float* row = q_.row(index_[v]);
      for (int64_t p = 0; p < l_; ++p) grad_bar_[p] += sign * q(row, p);
    }
  }

  // Shrinking (Joachims 1998; LIBSVM §5.1): a bounded variable whose gradient lies beyond
  // the current maximal violation is unlikely to move, so it leaves the active set.
  void shrink() {
    double up = -kInf, low = -kInf;  // m(α) and −M(α)
    for (int64_t t = 0; t < active_; ++t) {
      if (in_up(t)) up = std::max(up, -grad_[t]);
      if (in_low(t)) low = std::max(low, grad_[t]);
    }
    // Near the end, bring everything back once and decide afresh.
    if (!unshrunk_ && up + low <= 10 * eps_) {
      unshrunk_ = true;
      reconstruct_gradient();
      active_ = l_;
    }
    auto removable = [&](int64_t p) {
      if (status_[p] == kUpper) return -grad_[p] > up;
      if (status_[p] == kLower) return grad_[p] > low;
      return false;
    };
    for (int64_t p = 0; p < active_; ++p) {
      if (!removable(p)) continue;
      // Swap p with the last active variable that stays.
      --active_;
      while (active_ > p) {
        if (!removable(active_)) {
          swap_positions(p, active_);
          break;
        }
        --active_;
      }
    }
  }

  void swap_positions(int64_t a, int64_t b) {
    std::swap(alpha_[a], alpha_[b]);
    std::swap(grad_[a], grad_[b]);
    std::swap(grad_bar_[a], grad_bar_[b]);
    std::swap(status_[a], status_[b]);
    std::swap(index_[a], index_[b]);
    std::swap(qd_[a], qd_[b]);
  }

  // ∇ of the shrunk variables: ∇̄ (bounded part) plus the free variables' share.
  void reconstruct_gradient() {
    if (active_ == l_) return;
    for (int64_t p = active_; p < l_; ++p) grad_[p] = grad_bar_[p];
    std::vector<int64_t> free, rows;
    for (int64_t t = 0; t < active_; ++t)
      if (status_[t] == kFree) {
        free.push_back(t);
        rows.push_back(index_[t]);
      }
    q_.for_each_row(rows, [&](size_t k, const float* row) {
      for (int64_t p = active_; p < l_; ++p) grad_[p] += alpha_[free[k]] * q(row, p);
    });
  }

  // ρ from the KKT conditions: ∇_i = ρ for free α_i (averaged over them); with none
  // free, the middle of the interval the bounded ones allow.
  double compute_rho() const {
    double upper = kInf, lower = -kInf, sum = 0;
    int64_t free = 0;
    for (int64_t p = 0; p < active_; ++p) {
      if (status_[p] == kUpper) lower = std::max(lower, grad_[p]);
      else if (status_[p] == kLower) upper = std::min(upper, grad_[p]);
      else {
        ++free;
        sum += grad_[p];
      }
    }
    return free > 0 ? sum / static_cast<double>(free) : (upper + lower) / 2;
  }

  KernelRows& q_;
  int64_t l_;
  double nu_, eps_;
  bool shrinking_;
  int64_t max_iter_;
  int64_t active_ = 0;
  bool unshrunk_ = false;
  std::vector<double> alpha_, grad_, grad_bar_, qd_;
  std::vector<uint8_t> status_;
  std::vector<int64_t> index_;
};

}  // namespace

OneClassSvm::OneClassSvm(OneClassSvmOptions options) : options_(options) {
  if (!(options_.nu > 0 && options_.nu <= 1))
    throw Error("OneClassSvm: nu must be in (0, 1], got " + std::to_string(options_.nu));
  if (!(options_.tolerance > 0))
    throw Error("OneClassSvm: tolerance must be positive");
  if (!(options_.cache_mb > 0)) throw Error("OneClassSvm: cache_mb must be positive");
}

std::string OneClassSvm::name() const {
  return options_.kernel == SvmKernel::Linear ? "ocsvm-linear" : "ocsvm-rbf";
}

void OneClassSvm::fit(const Tensor& train) {
  check_features(train, "OneClassSvm::fit");
  const int64_t l = train.size(0);
  dim_ = train.size(1);
  const float* x = train.data();

  // γ = 'scale': 1 / (D · Var(X)), the variance over all entries (scikit-learn).
  gamma_ = options_.gamma;
  if (options_.kernel == SvmKernel::Rbf && gamma_ <= 0) {
    double mean = 0, sq = 0;
    const int64_t n = l * dim_;
    for (int64_t k = 0; k < n; ++k) mean += x[k];
    mean /= static_cast<double>(n);
    for (int64_t k = 0; k < n; ++k) sq += (x[k] - mean) * (x[k] - mean);
    const double var = sq / static_cast<double>(n);
    gamma_ = var > 0 ? 1.0 / (static_cast<double>(dim_) * var) : 1.0;
  }

  // RBF: centre the data (the kernel depends on differences only).
  shift_ = options_.kernel == SvmKernel::Rbf ? column_means(x, l, dim_) : std::vector<double>(dim_, 0.0);

  OneClassSmo::Result r;
  {
    KernelRows rows(x, shift_, l, dim_, options_.kernel, gamma_,
                    options_.cache_mb * 1024.0 * 1024.0);
    const int64_t max_iter =
        options_.max_iter > 0 ? options_.max_iter : std::max<int64_t>(10000000, 100 * l);
    r = OneClassSmo(rows, l, options_.nu, options_.tolerance, options_.shrinking, max_iter).solve();
  }

  alpha_ = std::move(r.alpha);
  rho_ = r.rho;
  objective_ = r.objective;
  iterations_ = r.iterations;
  support_.clear();
  for (int64_t i = 0; i < l; ++i)
    if (alpha_[i] > 0) support_.push_back(i);
  const int64_t nsv = static_cast<int64_t>(support_.size());
  sv_.resize(nsv, dim_);
  sv_alpha_.resize(nsv);
  for (int64_t k = 0; k < nsv; ++k) {
    sv_alpha_(k) = alpha_[support_[k]];
    for (int64_t c = 0; c < dim_; ++c) sv_(k, c) = x[support_[k] * dim_ + c] - shift_[c];
  }
  sv_norm2_ = sv_.rowwise().squaredNorm();
  w_ = sv_.transpose() * sv_alpha_;  // w = Σ α_i x_i (used by the linear kernel)
}

Tensor OneClassSvm::decision_function(const Tensor& x) const {
  check_fitted(!alpha_.empty(), "OneClassSvm");
  check_features(x, "OneClassSvm::decision_function", dim_);
  const int64_t m = x.size(0);
  const float* p = x.data();
  Tensor out = Tensor::empty({m});
  float* f = out.data();

  if (options_.kernel == SvmKernel::Linear) {
    // f(x) = wᵀx − ρ, with w = Σ α_i x_i.
#pragma omp parallel for schedule(static) if (m * dim_ > (1 << 16))
    for (int64_t i = 0; i < m; ++i) {
      double s = 0;
      for (int64_t c = 0; c < dim_; ++c) s += w_(c) * p[i * dim_ + c];
      f[i] = static_cast<float>(s - rho_);
    }
    return out;
  }

  // RBF: f(x) = Σ α_i exp(−γ‖x_i − x‖²) − ρ, the inner products by a (double) GEMM on
  // blocks of test rows.
  using RowMatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const int64_t nsv = sv_.rows();
  constexpr int64_t kBlock = 256;
  for (int64_t r0 = 0; r0 < m; r0 += kBlock) {
    const int64_t rows = std::min(kBlock, m - r0);
    RowMatrixD xc(rows, dim_);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t c = 0; c < dim_; ++c) xc(i, c) = p[(r0 + i) * dim_ + c] - shift_[c];
    RowMatrixD dot(rows, nsv);
    dot.noalias() = xc * sv_.transpose();
    const Eigen::VectorXd n2 = xc.rowwise().squaredNorm();
#pragma omp parallel for schedule(static) if (rows * nsv > (1 << 15))
    for (int64_t i = 0; i < rows; ++i) {
      double s = 0;
      for (int64_t k = 0; k < nsv; ++k)
        s += sv_alpha_(k) * std::exp(-gamma_ * std::max(0.0, n2(i) + sv_norm2_(k) - 2.0 * dot(i, k)));
      f[r0 + i] = static_cast<float>(s - rho_);
    }
  }
  return out;
}

Tensor OneClassSvm::score(const Tensor& x) const {
  Tensor f = decision_function(x);
  for (int64_t i = 0; i < f.numel(); ++i) f.data()[i] = -f.data()[i];
  return f;
}

}  // namespace adx::detectors
