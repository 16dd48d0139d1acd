// Matrix products. matmul carries transpose flags so that its backward needs no
// materialised transposes: for C = op(A)·op(B) every gradient is again a matmul.
#include <algorithm>

#include "engine/autograd.h"
#include "engine/cpu/gemm.h"
#include "engine/cuda/ops.h"
#include "engine/ops.h"
#include "engine/ops/common.h"

namespace adx {
using namespace detail;

namespace {

struct MatmulDims {
  int64_t batch, m, n, k;
  bool broadcast_b;  // 3-D a with a 2-D b
};

MatmulDims matmul_dims(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  const bool ok_rank = (a.dim() == 2 && b.dim() == 2) || (a.dim() == 3 && b.dim() == 3) ||
                       (a.dim() == 3 && b.dim() == 2 && !ta);
  if (!ok_rank)
    throw Error("matmul: unsupported ranks " + shape_str(a.shape()) + " × " + shape_str(b.shape()));
  MatmulDims d{};
  d.broadcast_b = a.dim() == 3 && b.dim() == 2;
  d.batch = a.dim() == 3 && !d.broadcast_b ? a.size(0) : 1;
  if (a.dim() == 3 && b.dim() == 3 && a.size(0) != b.size(0))
    throw Error("matmul: batch sizes differ: " + shape_str(a.shape()) + " × " + shape_str(b.shape()));
  const int64_t ar = a.size(-2), ac = a.size(-1), br = b.size(-2), bc = b.size(-1);
  d.m = ta ? ac : ar;
  d.k = ta ? ar : ac;
  d.n = tb ? br : bc;
  if ((tb ? bc : br) != d.k)
    throw Error(fmt::format("matmul: inner dimensions differ: {}{} × {}{}", shape_str(a.shape()),
                            ta ? "ᵀ" : "", shape_str(b.shape()), tb ? "ᵀ" : ""));
  if (d.broadcast_b) d.m *= a.size(0);  // fold a's batch into its rows
  return d;
}

// y = x·Wᵀ + b as one op, for 2-D x. The output starts as b in every row and the GEMM
// adds x·Wᵀ onto it: no zero-fill before the product and no separate pass (and tensor)
// for the bias, which the matmul-then-add composition costs. Its backward is again made
// of ops, so it can be differentiated twice (WGAN-GP).
Tensor linear_with_bias(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_cpu(x, "linear");
  check_cpu(weight, "linear");
  check_cpu(bias, "linear");
  const int64_t rows = x.size(0), out_features = weight.size(0), in_features = weight.size(1);
  Tensor out = Tensor::empty({rows, out_features});
  const float* b = bias.data();
  float* y = out.data();
  for (int64_t r = 0; r < rows; ++r) std::copy(b, b + out_features, y + r * out_features);
  cpu::gemm(false, true, rows, out_features, in_features, 1.0f, x.data(), in_features, weight.data(),
            in_features, 1.0f, y, out_features);
  return record(OpKind::Linear, out, {x, weight, bias}, [](const Tensor& g, Node& n) {
    // dx = g·W, dW = gᵀ·x, db = Σ_rows g.
    return Grads{n.needs_grad(0) ? matmul(g, n.input(1)) : Tensor(),
                 n.needs_grad(1) ? matmul(g, n.input(0), true, false) : Tensor(),
                 n.needs_grad(2) ? sum(g, {0}) : Tensor()};
  });
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  const bool on_cuda = cuda::any_on_cuda({&a, &b});
  if (!a.defined() || !b.defined()) throw Error("matmul: undefined tensor argument");
  if (on_cuda) {
    check_on(a.device(), {&a, &b}, "matmul");
  } else {
    check_cpu(a, "matmul");
    check_cpu(b, "matmul");
  }
  const MatmulDims d = matmul_dims(a, b, ta, tb);
  // d.m has a's batch folded in when b is shared; the output's rows are op(a)'s rows.
  Shape shape = a.dim() == 3 ? Shape{a.size(0), d.broadcast_b ? a.size(1) : d.m, d.n}
                             : Shape{d.m, d.n};
  Tensor out = Tensor::empty(shape, a.device());
  const int64_t lda = a.size(-1), ldb = b.size(-1);
  const int64_t a_step = a.size(-2) * a.size(-1), b_step = b.dim() == 3 ? b.size(-2) * b.size(-1) : 0;
  for (int64_t i = 0; i < d.batch; ++i) {
    if (on_cuda)
      cuda::gemm(a.device().index, ta, tb, d.m, d.n, d.k, 1.0f, a.data() + i * a_step, lda,
                 b.data() + i * b_step, ldb, 0.0f, out.data() + i * d.m * d.n, d.n);
    else
      cpu::gemm(ta, tb, d.m, d.n, d.k, 1.0f, a.data() + i * a_step, lda, b.data() + i * b_step, ldb,
                0.0f, out.data() + i * d.m * d.n, d.n);
  }
  return record(OpKind::Matmul, out, {a, b}, [ta, tb](const Tensor& g, Node& n) {
    const Tensor& A = n.input(0);
    const Tensor& B = n.input(1);
    Tensor ga, gb;
    // C = op(A)op(B): dop(A) = g·op(B)ᵀ, dop(B) = op(A)ᵀ·g, then undo the op.
    if (n.needs_grad(0)) ga = ta ? matmul(B, g, tb, true) : matmul(g, B, false, !tb);
    if (n.needs_grad(1)) {
      if (A.dim() == 3 && B.dim() == 2) {  // b was shared by every batch entry
        // Explicit sizes, not -1: a zero-sized last dim makes -1 ambiguous.
        Tensor a2 = reshape(A, {A.size(0) * A.size(1), A.size(2)});
        Tensor g2 = reshape(g, {g.size(0) * g.size(1), g.size(2)});
        gb = tb ? matmul(g2, a2, true, false) : matmul(a2, g2, true, false);
      } else {
        gb = tb ? matmul(g, A, true, ta) : matmul(A, g, !ta, false);
      }
    }
    return Grads{ga, gb};
  });
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  if (weight.dim() != 2) throw Error("linear: weight must be 2-D, got " + shape_str(weight.shape()));
  if (x.dim() < 1 || x.size(-1) != weight.size(1))
    throw Error("linear: input " + shape_str(x.shape()) + " does not match weight " +
                shape_str(weight.shape()));
  if (bias.defined() && bias.shape() != Shape{weight.size(0)})
    throw Error("linear: bias " + shape_str(bias.shape()) + " does not match weight " +
                shape_str(weight.shape()));
  int64_t rows = 1;  // the product of x's leading dims (not -1: x.size(-1) may be 0)
  for (int64_t i = 0; i + 1 < x.dim(); ++i) rows *= x.size(i);
  Tensor x2 = x.dim() == 2 ? x : reshape(x, {rows, x.size(-1)});
  // On a GPU: the product, then the bias as a broadcast add (two kernels).
  Tensor y = !bias.defined()                    ? matmul(x2, weight, false, true)
             : cuda::any_on_cuda({&x2, &weight}) ? add(matmul(x2, weight, false, true), bias)
                                                 : linear_with_bias(x2, weight, bias);
  if (x.dim() == 2) return y;
  Shape shape = x.shape();
  shape.back() = weight.size(0);
  return reshape(y, shape);
}

Tensor pairwise_sq_dist(const Tensor& a, const Tensor& b) {
  check_dims(a, 2, "pairwise_sq_dist", "a");
  check_dims(b, 2, "pairwise_sq_dist", "b");
  if (a.size(1) != b.size(1))
    throw Error("pairwise_sq_dist: feature sizes differ: " + shape_str(a.shape()) + " and " +
                shape_str(b.shape()));
  // ‖a‖² + ‖b‖² − 2 a·bᵀ, clamped at 0 against rounding.
  Tensor aa = sum(mul(a, a), {1}, true);
  Tensor bb = reshape(sum(mul(b, b), {1}, false), {1, b.size(0)});
  Tensor ab = matmul(a, b, false, true);
  return clamp(sub(add(aa, bb), mul(ab, Tensor::scalar(2.0f))), 0.0f);
}

}  // namespace adx
