#include "detectors/pca.h"

#include <algorithm>
#include <cmath>
#include <Eigen/Eigenvalues>

namespace adx::detectors {
namespace {

using RowMatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

Eigen::MatrixXd as_double(const Tensor& x) {
  return Eigen::Map<const RowMatrixF>(x.data(), x.size(0), x.size(1)).cast<double>();
}

}  // namespace

Pca::Pca(PcaOptions options) : options_(options) {}

std::string Pca::name() const {
  return options_.score == PcaScore::Reconstruction ? "pca-reconstruction" : "pca-whitened";
}

void Pca::fit(const Tensor& train) {
  check_features(train, "Pca::fit");
  const int64_t n = train.size(0), d = train.size(1);
  if (n < 2) throw Error("Pca::fit: needs at least 2 training rows");
  Eigen::MatrixXd xc = as_double(train);
  mean_ = xc.colwise().mean().transpose();
  xc.rowwise() -= mean_.transpose();
  const double scale = 1.0 / static_cast<double>(n - 1);

  Eigen::VectorXd values;   // descending
  Eigen::MatrixXd vectors;  // D × r, matching columns
  if (d <= n) {
    Eigen::MatrixXd cov = Eigen::MatrixXd::Zero(d, d);
    cov.selfadjointView<Eigen::Lower>().rankUpdate(xc.transpose(), scale);  // C = XcᵀXc/(N−1)
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(cov.selfadjointView<Eigen::Lower>());
    if (eig.info() != Eigen::Success) throw Error("Pca::fit: the eigendecomposition failed");
    values = eig.eigenvalues().reverse();
    vectors = eig.eigenvectors().rowwise().reverse();
  } else {
    // Gram form: Xc Xcᵀ/(N−1) = U Λ Uᵀ, and v_j = Xcᵀ u_j / √((N−1) λ_j).
    Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(n, n);
    gram.selfadjointView<Eigen::Lower>().rankUpdate(xc, scale);
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(gram.selfadjointView<Eigen::Lower>());
    if (eig.info() != Eigen::Success) throw Error("Pca::fit: the eigendecomposition failed");
    values = eig.eigenvalues().reverse();
    vectors = xc.transpose() * eig.eigenvectors().rowwise().reverse();
    for (int64_t j = 0; j < values.size(); ++j)
      vectors.col(j) /= std::sqrt(std::max(values(j), 1e-300) / scale);
  }

  // Non-zero spectrum, then the first c components.
  int64_t rank = 0;
  while (rank < values.size() && values(rank) > 1e-12 * std::max(values(0), 0.0)) ++rank;
  if (rank == 0) throw Error("Pca::fit: the training data has zero variance");
  spectrum_ = values.head(rank);
  const int64_t c = options_.components > 0 ? std::min(options_.components, rank) : rank;
  eigenvalues_ = values.head(c);
  components_ = vectors.leftCols(c);
}

Tensor Pca::score(const Tensor& x) const {
  check_fitted(components_.size() > 0, "Pca");
  check_features(x, "Pca::score", mean_.size());
  Eigen::MatrixXd xc = as_double(x);
  xc.rowwise() -= mean_.transpose();
  const Eigen::MatrixXd proj = xc * components_;  // M × c, coordinates v_jᵀ(x − μ)
  Eigen::VectorXd s;
  if (options_.score == PcaScore::Reconstruction)
    s = (xc - proj * components_.transpose()).rowwise().squaredNorm();
  else
    s = (proj.array().square().rowwise() / eigenvalues_.transpose().array()).rowwise().sum();
  Tensor out = Tensor::empty({x.size(0)});
  for (int64_t i = 0; i < x.size(0); ++i) out.data()[i] = static_cast<float>(s(i));
  return out;
}

}  // namespace adx::detectors
