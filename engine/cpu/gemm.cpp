#include "engine/cpu/gemm.h"

#include <Eigen/Core>
#include <omp.h>

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

// Eigen threads its product over set_num_threads's count, or not at all inside a
// parallel region whose team has more than one thread.
void gemm_eigen(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
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

}  // namespace

void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  const int threads = omp_get_max_threads();
  // Blocks of C's columns for wide products (a batch times a weight), of its rows
  // otherwise (weight gradients, whose inner dimension is the batch).
  const bool by_cols = 2 * m < n;
  const int64_t len = by_cols ? n : m;
  // Small products, and those too narrow to give every thread a block of 8, stay
  // with Eigen (which threads large-k products of few rows itself).
  if (threads == 1 || omp_in_parallel() || m * n * k < (int64_t{1} << 20) || len < 8 * threads) {
    gemm_eigen(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  // One block of C per thread, each a single-threaded Eigen product. Eigen's own
  // threading shares packed panels between threads and waits on them; for the
  // batch-64 products of small networks (64 × 512 × 784) that waiting made it
  // 1.5-2× slower than independent blocks on a busy 2-core machine (docs/performance.md).
  // Each element of C is still one thread's sum over k, but Eigen picks its cache
  // blocking per block, so the last bits depend on the thread count (never on timing).
#pragma omp parallel num_threads(threads)
  {
    const int64_t t = omp_get_thread_num(), count = omp_get_num_threads();
    const int64_t lo = len * t / count / 8 * 8;  // block edges at multiples of 8
    const int64_t hi = t + 1 == count ? len : len * (t + 1) / count / 8 * 8;
    if (lo < hi) {
      if (by_cols)
        gemm_eigen(ta, tb, m, hi - lo, k, alpha, a, lda, tb ? b + lo * ldb : b + lo, ldb, beta, c + lo,
                   ldc);
      else
        gemm_eigen(ta, tb, hi - lo, n, k, alpha, ta ? a + lo : a + lo * lda, lda, b, ldb, beta,
                   c + lo * ldc, ldc);
    }
  }
}

}  // namespace adx::cpu
