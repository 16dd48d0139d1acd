// Row-major single-precision GEMM: C = alpha · op(A) · op(B) + beta · C,
// with op(A) M×K and op(B) K×N, through Eigen's blocked kernels. Large products are
// split into one block of C per OpenMP thread (columns or rows), each block a
// single-threaded Eigen product; results are deterministic for a given thread count.
#pragma once

#include <cstdint>

namespace adx::cpu {

void gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, float alpha,
          const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
          int64_t ldc);

}  // namespace adx::cpu
