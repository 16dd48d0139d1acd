#include "engine/cpu/gemm.h"

#include <Eigen/Core>

namespace adx::cpu {
namespace {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const RowMajor, 0, Eigen::OuterStride<>>;
using Map = Eigen::Map<RowMajor, 0, Eigen::OuterStride<>>;

template <class A, class B>
void run(const A& op_a, const B& op_b, float alpha, float beta, Map& c) {
  if (beta == 0.0f) c.noalias() = alpha * (op_a * op_b);
  else {
    if (beta != 1.0f) c *= beta;
    c.noalias() += alpha * (op_a * op_b);
  }
}

}  // namespace

void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  Map cm(c, m, n, Eigen::OuterStride<>(ldc));
  if (k == 0) {
    if (beta == 0.0f) cm.setZero();
    else cm *= beta;
    return;
  }
  // A is stored M×K (or K×M when transposed); likewise B.
  ConstMap am(a, ta ? k : m, ta ? m : k, Eigen::OuterStride<>(lda));
  ConstMap bm(b, tb ? n : k, tb ? k : n, Eigen::OuterStride<>(ldb));
  if (!ta && !tb) run(am, bm, alpha, beta, cm);
  else if (!ta && tb) run(am, bm.transpose(), alpha, beta, cm);
  else if (ta && !tb) run(am.transpose(), bm, alpha, beta, cm);
  else run(am.transpose(), bm.transpose(), alpha, beta, cm);
}

}  // namespace adx::cpu
