// One-class ν-SVM (Schölkopf, Platt, Shawe-Taylor, Smola & Williamson, Neural
// Computation 2001), solved as LIBSVM solves it (Chang & Lin 2011).
//
// Primal: separate the training data from the origin in
// feature space with maximum margin,
//   min_{w,ξ,ρ} ½‖w‖² + 1/(νl) Σ ξ_i − ρ   s.t.  wᵀφ(x_i) ≥ ρ − ξ_i, ξ_i ≥ 0.
// Dual, in LIBSVM's scaling (α multiplied by νl, so the box is [0, 1]):
//   min_α ½ αᵀQα   s.t.  0 ≤ α_i ≤ 1,  Σ α_i = νl,    Q_ij = K(x_i, x_j).
// ν is an upper bound on the fraction of training outliers and a lower bound on the
// fraction of support vectors (the paper's ν-property).
// Decision function: f(x) = Σ_i α_i K(x_i, x) − ρ, ≥ 0 inside the support region;
// score(x) = −f(x), so higher = more anomalous. f is LIBSVM's (and scikit-learn
// OneClassSVM.decision_function's) value, νl times Schölkopf's.
//
// The solver is SMO with the second-order working-set selection of Fan, Chen & Lin
// (JMLR 2005, "WSS 2"), LIBSVM's initial point (the first ⌊νl⌋ α are 1, the next takes
// the remainder νl − ⌊νl⌋), its stopping rule m(α) − M(α) < ε (ε = 1e-3), its
// shrinking heuristic, and ρ from the KKT conditions (the mean of ∇_i = (Qα)_i over
// the free α_i).
// Kernel values are computed in double precision and stored in single precision, as in
// LIBSVM's cache. Q is precomputed by blocked GEMM when it fits in `cache_mb`, otherwise
// rows are computed on demand and kept in an LRU cache of that size. fit() holds a
// double-precision copy of the training matrix (8·l·D bytes) besides the cache.
#pragma once

#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "detectors/detector.h"

namespace adx::detectors {

enum class SvmKernel { Linear, Rbf };  // xᵀy;  exp(−γ‖x − y‖²)

struct OneClassSvmOptions {
  SvmKernel kernel = SvmKernel::Rbf;
  double nu = 0.5;           // in (0, 1]
  double gamma = 0;          // RBF width; ≤ 0 means scikit-learn's 'scale': 1/(D·Var(X))
  double tolerance = 1e-3;   // ε of the stopping rule (LIBSVM's -e)
  bool shrinking = true;     // LIBSVM's -h
  double cache_mb = 1024;    // kernel matrix / row cache budget
  int64_t max_iter = -1;     // -1: LIBSVM's max(10⁷, 100·l)
};

class OneClassSvm : public Detector {
 public:
  explicit OneClassSvm(OneClassSvmOptions options = {});
  void fit(const Tensor& train) override;
  Tensor score(const Tensor& x) const override;   // −f(x)
  Tensor decision_function(const Tensor& x) const;  // f(x) = Σ α_i K(x_i, x) − ρ
  std::string name() const override;

  // The solution.
  double rho() const { return rho_; }
  double gamma() const { return gamma_; }       // the γ used (after 'scale')
  double objective() const { return objective_; }  // ½ αᵀQα at the solution
  int64_t iterations() const { return iterations_; }
  const std::vector<double>& alpha() const { return alpha_; }       // all l, in [0, 1]
  const std::vector<int64_t>& support() const { return support_; }  // rows with α > 0
  const OneClassSvmOptions& options() const { return options_; }

 private:
  OneClassSvmOptions options_;
  double rho_ = 0, gamma_ = 0, objective_ = 0;
  int64_t iterations_ = 0, dim_ = 0;
  std::vector<double> alpha_;
  std::vector<int64_t> support_;
  // The support vectors (RBF: centred on `shift_`, which leaves ‖x − y‖ unchanged and
  // lessens the cancellation in ‖x‖² + ‖y‖² − 2xᵀy), their α, and for the linear kernel
  // w = Σ α_i x_i; double precision, as LIBSVM evaluates f.
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> sv_;
  Eigen::VectorXd sv_alpha_, sv_norm2_, w_;
  std::vector<double> shift_;
};

}  // namespace adx::detectors
