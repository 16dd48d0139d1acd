// PCA scores (Shyu et al. 2003; the "PCA whitening / reconstruction" baselines).
// fit: the mean μ and the eigendecomposition of the sample covariance
//   C = (1/(N−1)) Σ (x_i − μ)(x_i − μ)ᵀ = V Λ Vᵀ,  λ₁ ≥ λ₂ ≥ … ,
// computed with Eigen's SelfAdjointEigenSolver in double precision. When D > N the
// N×N Gram matrix is decomposed instead (same non-zero eigenvalues, v = Xᵀu/√((N−1)λ)).
// With P = the first c eigenvectors:
//   Reconstruction:  score(x) = ‖(x − μ) − P Pᵀ(x − μ)‖²   (squared error of the
//                    projection on c components; the distance to the principal subspace)
//   Whitened:        score(x) = Σ_{j≤c} (v_jᵀ(x − μ))² / λ_j  (squared Mahalanobis
//                    distance within the subspace; all components = full Mahalanobis)
// Eigenvalues ≤ 1e-12·λ₁ are treated as zero and their directions dropped.
#pragma once

#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "detectors/detector.h"

namespace adx::detectors {

enum class PcaScore { Reconstruction, Whitened };

struct PcaOptions {
  int64_t components = 0;  // c; ≤ 0 = every component with a non-zero eigenvalue
  PcaScore score = PcaScore::Reconstruction;
};

class Pca : public Detector {
 public:
  explicit Pca(PcaOptions options = {});
  void fit(const Tensor& train) override;
  Tensor score(const Tensor& x) const override;
  std::string name() const override;

  const Eigen::VectorXd& mean() const { return mean_; }
  const Eigen::MatrixXd& components() const { return components_; }  // D × c, columns v_j
  const Eigen::VectorXd& eigenvalues() const { return eigenvalues_; }  // λ_1..λ_c, descending
  // Every non-zero eigenvalue of C (descending), for explained-variance ratios.
  const Eigen::VectorXd& spectrum() const { return spectrum_; }

 private:
  PcaOptions options_;
  Eigen::VectorXd mean_, eigenvalues_, spectrum_;
  Eigen::MatrixXd components_;
};

}  // namespace adx::detectors
