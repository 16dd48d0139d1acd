// Gaussian mixture density (Dempster, Laird & Rubin 1977; Bishop, PRML §9.2):
//   p(x) = Σ_k π_k N(x | μ_k, Σ_k),  score(x) = −log p(x)  (negative log-likelihood).
// Fitted by EM with full covariances, as scikit-learn's GaussianMixture:
//   E-step (PRML 9.23):  γ_ik = π_k N(x_i|μ_k,Σ_k) / Σ_j π_j N(x_i|μ_j,Σ_j)
//   M-step (9.24–9.27):  N_k = Σ_i γ_ik,  μ_k = Σ_i γ_ik x_i / N_k,
//                        Σ_k = Σ_i γ_ik (x_i − μ_k)(x_i − μ_k)ᵀ / N_k + reg·I,  π_k = N_k / N
// started from a k-means clustering (γ one-hot), stopped when the mean log-likelihood
// changes by less than tol. Log-densities through the Cholesky factor Σ = LLᵀ:
//   log N(x|μ,Σ) = −½ (D log 2π + 2 Σ log L_dd + ‖(x − μ)ᵀL⁻ᵀ‖²), all in double precision.
#pragma once

#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "detectors/detector.h"

namespace adx::detectors {

struct GmmOptions {
  int64_t components = 1;
  double reg_covar = 1e-6;  // added to every covariance diagonal
  double tol = 1e-3;
  int64_t max_iter = 100;
  uint64_t seed = 0;        // for the k-means initialisation
};

class GaussianMixture : public Detector {
 public:
  explicit GaussianMixture(GmmOptions options = {});
  void fit(const Tensor& train) override;
  Tensor score(const Tensor& x) const override;  // −log p(x)
  std::string name() const override { return "gmm"; }

  Eigen::VectorXd log_likelihood(const Tensor& x) const;  // log p(x) per row
  const Eigen::VectorXd& weights() const { return weights_; }
  const std::vector<Eigen::VectorXd>& means() const { return means_; }
  const std::vector<Eigen::MatrixXd>& covariances() const { return covariances_; }
  int64_t iterations() const { return iterations_; }
  bool converged() const { return converged_; }
  double lower_bound() const { return lower_bound_; }  // mean training log-likelihood

 private:
  // log π_k + log N(x_i | μ_k, Σ_k), an N × K matrix.
  Eigen::MatrixXd weighted_log_prob(const Eigen::MatrixXd& x) const;
  void m_step(const Eigen::MatrixXd& x, const Eigen::MatrixXd& resp);

  GmmOptions options_;
  Eigen::VectorXd weights_;
  std::vector<Eigen::VectorXd> means_;
  // Σ_k, its lower Cholesky factor L_k, and L_k⁻ᵀ (the "precision Cholesky").
  std::vector<Eigen::MatrixXd> covariances_, cholesky_, precision_cholesky_;
  int64_t iterations_ = 0;
  bool converged_ = false;
  double lower_bound_ = 0;
};

}  // namespace adx::detectors
