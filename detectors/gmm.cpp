#include "detectors/gmm.h"

#include <cmath>
#include <limits>
#include <numbers>

#include <Eigen/Cholesky>

#include "detectors/kmeans.h"

namespace adx::detectors {
namespace {

using RowMatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

Eigen::MatrixXd as_double(const Tensor& x) {
  return Eigen::Map<const RowMatrixF>(x.data(), x.size(0), x.size(1)).cast<double>();
}

// log Σ_k exp(a_ik) per row, stable.
Eigen::VectorXd log_sum_exp_rows(const Eigen::MatrixXd& a) {
  const Eigen::VectorXd top = a.rowwise().maxCoeff();
  return top.array() + (a.colwise() - top).array().exp().rowwise().sum().log();
}

}  // namespace

GaussianMixture::GaussianMixture(GmmOptions options) : options_(options) {
  if (options_.components < 1) throw Error("GaussianMixture: components must be at least 1");
  if (options_.reg_covar < 0) throw Error("GaussianMixture: reg_covar must be non-negative");
  if (options_.max_iter < 1) throw Error("GaussianMixture: max_iter must be at least 1");
}

void GaussianMixture::m_step(const Eigen::MatrixXd& x, const Eigen::MatrixXd& resp) {
  const int64_t n = x.rows(), d = x.cols(), k = resp.cols();
  // N_k, with scikit-learn's 10·ε guard against empty components.
  const Eigen::VectorXd nk =
      resp.colwise().sum().transpose().array() + 10 * std::numeric_limits<double>::epsilon();
  weights_ = nk / static_cast<double>(n);
  means_.assign(k, Eigen::VectorXd());
  covariances_.assign(k, Eigen::MatrixXd());
  cholesky_.assign(k, Eigen::MatrixXd());
  precision_cholesky_.assign(k, Eigen::MatrixXd());
  for (int64_t j = 0; j < k; ++j) {
    means_[j] = (x.transpose() * resp.col(j)) / nk(j);
    // Σ_k = Σ_i γ_ik (x_i − μ_k)(x_i − μ_k)ᵀ / N_k as a symmetric rank update of the rows
    // √γ_ik (x_i − μ_k).
    const Eigen::MatrixXd w =
        (x.rowwise() - means_[j].transpose()).array().colwise() * resp.col(j).array().sqrt();
    Eigen::MatrixXd cov = Eigen::MatrixXd::Zero(d, d);
    cov.selfadjointView<Eigen::Lower>().rankUpdate(w.transpose(), 1.0 / nk(j));
    cov = cov.selfadjointView<Eigen::Lower>();
    cov.diagonal().array() += options_.reg_covar;
    Eigen::LLT<Eigen::MatrixXd> llt(cov);
    if (llt.info() != Eigen::Success)
      throw Error("GaussianMixture::fit: the covariance of component " + std::to_string(j) +
                  " is not positive definite (too few points or collapsed data); increase "
                  "reg_covar or use fewer components");
    covariances_[j] = std::move(cov);
    cholesky_[j] = llt.matrixL();
    // P = L⁻ᵀ: (x − μ)ᵀ Σ⁻¹ (x − μ) = ‖(x − μ)ᵀ P‖², one GEMM per component.
    precision_cholesky_[j] = cholesky_[j]
                                 .triangularView<Eigen::Lower>()
                                 .solve(Eigen::MatrixXd::Identity(d, d))
                                 .transpose();
  }
}

Eigen::MatrixXd GaussianMixture::weighted_log_prob(const Eigen::MatrixXd& x) const {
  const int64_t n = x.rows(), d = x.cols(), k = static_cast<int64_t>(means_.size());
  Eigen::MatrixXd out(n, k);
  const double log_2pi = std::log(2 * std::numbers::pi);
  for (int64_t j = 0; j < k; ++j) {
    const Eigen::MatrixXd z = (x.rowwise() - means_[j].transpose()) * precision_cholesky_[j];
    const double log_det = 2 * cholesky_[j].diagonal().array().log().sum();  // log |Σ|
    out.col(j) = -0.5 * (static_cast<double>(d) * log_2pi + log_det +
                         z.rowwise().squaredNorm().array());
    out.col(j).array() += std::log(weights_(j));
  }
  return out;
}

void GaussianMixture::fit(const Tensor& train) {
  check_features(train, "GaussianMixture::fit");
  const int64_t n = train.size(0), k = options_.components;
  if (n < k)
    throw Error("GaussianMixture::fit: " + std::to_string(k) + " components but only " +
                std::to_string(n) + " training rows");
  const Eigen::MatrixXd x = as_double(train);

  // Initial responsibilities: one-hot k-means labels (one k-means++ start).
  KMeans kmeans({.k = k, .n_init = 1, .seed = options_.seed});
  kmeans.fit(train);
  Eigen::MatrixXd resp = Eigen::MatrixXd::Zero(n, k);
  for (int64_t i = 0; i < n; ++i) resp(i, kmeans.labels()[i]) = 1.0;
  m_step(x, resp);

  lower_bound_ = -std::numeric_limits<double>::infinity();
  converged_ = false;
  for (iterations_ = 1; iterations_ <= options_.max_iter; ++iterations_) {
    const double previous = lower_bound_;
    // E-step: log γ_ik = log π_k N_k(x_i) − log p(x_i).
    const Eigen::MatrixXd log_prob = weighted_log_prob(x);
    const Eigen::VectorXd log_norm = log_sum_exp_rows(log_prob);
    resp = (log_prob.colwise() - log_norm).array().exp().matrix();
    m_step(x, resp);
    lower_bound_ = log_norm.mean();
    if (std::abs(lower_bound_ - previous) < options_.tol) {
      converged_ = true;
      break;
    }
  }
  iterations_ = std::min(iterations_, options_.max_iter);
}

Eigen::VectorXd GaussianMixture::log_likelihood(const Tensor& x) const {
  check_fitted(!means_.empty(), "GaussianMixture");
  check_features(x, "GaussianMixture::score", means_[0].size());
  return log_sum_exp_rows(weighted_log_prob(as_double(x)));
}

Tensor GaussianMixture::score(const Tensor& x) const {
  const Eigen::VectorXd ll = log_likelihood(x);
  Tensor out = Tensor::empty({static_cast<int64_t>(ll.size())});
  for (int64_t i = 0; i < ll.size(); ++i) out.data()[i] = static_cast<float>(-ll(i));
  return out;
}

}  // namespace adx::detectors
