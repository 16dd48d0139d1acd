// cpu::gemm against a plain double-precision triple loop, for every transpose pair,
// with padded leading dimensions and beta ∉ {0, 1}: both the single-threaded path
// and the one block of C per thread that large products take (columns for wide
// products, rows otherwise), at 2 and 3 threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/cpu/gemm.h"
#include "engine/cpu/parallel.h"

namespace {

struct Case {
  int64_t m, n, k;
};

std::vector<float> filled(int64_t count, uint32_t seed) {
  std::vector<float> v(count);
  uint32_t s = seed;
  for (float& x : v) {
    s = s * 1664525u + 1013904223u;
    x = static_cast<float>(s >> 8) / static_cast<float>(1u << 24) * 2.0f - 1.0f;
  }
  return v;
}

// Runs C = alpha·op(A)·op(B) + beta·C with every leading dimension padded by 3 and
// returns the largest |error| relative to the reference, in units of √k.
double worst_error(bool ta, bool tb, const Case& c, float alpha, float beta) {
  const int64_t a_rows = ta ? c.k : c.m, a_cols = ta ? c.m : c.k;
  const int64_t b_rows = tb ? c.n : c.k, b_cols = tb ? c.k : c.n;
  const int64_t lda = a_cols + 3, ldb = b_cols + 3, ldc = c.n + 3;
  const std::vector<float> a = filled(a_rows * lda, 1), b = filled(b_rows * ldb, 2);
  std::vector<float> out = filled(c.m * ldc, 3);
  const std::vector<float> before = out;
  adx::cpu::gemm(ta, tb, c.m, c.n, c.k, alpha, a.data(), lda, b.data(), ldb, beta, out.data(), ldc);
  double worst = 0;
  for (int64_t i = 0; i < c.m; ++i)
    for (int64_t j = 0; j < c.n; ++j) {
      double ref = 0;
      for (int64_t p = 0; p < c.k; ++p)
        ref += static_cast<double>(ta ? a[p * lda + i] : a[i * lda + p]) *
               (tb ? b[j * ldb + p] : b[p * ldb + j]);
      ref = alpha * ref + (beta == 0 ? 0.0 : beta * before[i * ldc + j]);
      worst = std::max(worst, std::abs(out[i * ldc + j] - ref));
    }
  // The padding between rows of C must be untouched.
  for (int64_t i = 0; i < c.m; ++i)
    for (int64_t j = c.n; j < ldc; ++j)
      if (out[i * ldc + j] != before[i * ldc + j]) return 1e9;
  return worst / std::sqrt(static_cast<double>(c.k));
}

class GemmThreads : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    saved_ = adx::cpu::num_threads();
    adx::cpu::set_num_threads(GetParam());
  }
  void TearDown() override { adx::cpu::set_num_threads(saved_); }
  int saved_ = 1;
};

TEST_P(GemmThreads, MatchesTheReference) {
  const std::vector<Case> cases = {
      {5, 7, 3},        // small: Eigen alone
      {64, 517, 97},    // wide, above 2^20 multiply-adds: split by columns
      {301, 133, 41},   // tall: split by rows
      {12, 2000, 80},   // rows too few to split by rows, columns split
      {9, 11, 20000},   // long k, too narrow to split: Eigen alone
  };
  for (const Case& c : cases)
    for (int t = 0; t < 4; ++t)
      for (float beta : {0.0f, 1.0f, 0.5f}) {
        const bool ta = t & 1, tb = t & 2;
        EXPECT_LT(worst_error(ta, tb, c, 1.5f, beta), 1e-5)
            << c.m << "×" << c.n << "×" << c.k << " ta " << ta << " tb " << tb << " beta " << beta;
      }
}

INSTANTIATE_TEST_SUITE_P(Threads, GemmThreads, ::testing::Values(1, 2, 3));

}  // namespace
