// Finite-difference gradient checks (first and second order) of the reductions,
// shape ops, gather/scatter and the matrix ops.
#include <memory>
#include <utility>

#include "gradcheck.h"

using namespace adx;
using namespace adx::testing;

namespace {

const Shape kShape = {2, 3, 4};

// A shuffled tensor of distinct values 0.1 apart (no ties for max/min), requiring grad.
Tensor distinct(const Shape& shape, uint64_t seed) {
  Tensor t = Tensor::empty(shape);
  const int64_t n = t.numel();
  for (int64_t i = 0; i < n; ++i) t.data()[i] = 0.1f * static_cast<float>(i) - 0.05f * static_cast<float>(n);
  Generator gen(seed);
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(t.data()[i], t.data()[gen.below(static_cast<uint64_t>(i + 1))]);
  t.requires_grad_(true);
  return t;
}

FlatIndex flat_index(std::vector<int64_t> v) {
  return make_pooled<IndexList>(v.begin(), v.end());
}

}  // namespace

// ---- reductions --------------------------------------------------------------------

TEST(GradcheckReduce, SumAll) {
  Fn f = [](const std::vector<Tensor>& x) { return sum(x[0]); };
  EXPECT_TRUE(gradcheck(f, {uniform(kShape, -1, 1, 1)}));
  EXPECT_TRUE(gradcheck(f, {uniform({}, -1, 1, 2)}));  // 0-d
}

TEST(GradcheckReduce, SumOverDims) {
  for (const std::vector<int64_t>& dims :
       {std::vector<int64_t>{0}, {1}, {2}, {-1}, {0, 2}, {2, 0}, {0, 1, 2}}) {
    for (bool keepdim : {false, true}) {
      Fn f = [dims, keepdim](const std::vector<Tensor>& x) { return sum(x[0], dims, keepdim); };
      EXPECT_TRUE(gradcheck(f, {uniform(kShape, -1, 1, 1)}))
          << "dims " << shape_str(dims) << " keepdim " << keepdim;
    }
  }
}

TEST(GradcheckReduce, Mean) {
  Fn all = [](const std::vector<Tensor>& x) { return mean(x[0]); };
  EXPECT_TRUE(gradcheck(all, {uniform(kShape, -1, 1, 1)}));
  Fn dims = [](const std::vector<Tensor>& x) { return mean(x[0], {0, 2}); };
  EXPECT_TRUE(gradcheck(dims, {uniform(kShape, -1, 1, 2)}));
  Fn keep = [](const std::vector<Tensor>& x) { return mean(x[0], {-2}, true); };
  EXPECT_TRUE(gradcheck(keep, {uniform(kShape, -1, 1, 3)}));
}

TEST(GradcheckReduce, VarUnbiased) {
  Fn f = [](const std::vector<Tensor>& x) { return var(x[0], {1}); };
  EXPECT_TRUE(gradcheck(f, {uniform(kShape, -1, 1, 1)}));
  Fn g = [](const std::vector<Tensor>& x) { return var(x[0], {0, 2}, true, true); };
  EXPECT_TRUE(gradcheck(g, {uniform(kShape, -1, 1, 2)}));
}

TEST(GradcheckReduce, VarBiased) {
  Fn f = [](const std::vector<Tensor>& x) { return var(x[0], {2}, false); };
  EXPECT_TRUE(gradcheck(f, {uniform(kShape, -1, 1, 1)}));
  Fn g = [](const std::vector<Tensor>& x) { return var(x[0], {0, 1, 2}, false, true); };
  EXPECT_TRUE(gradcheck(g, {uniform(kShape, -1, 1, 2)}));
}

TEST(GradcheckReduce, MaxMinOverDim) {
  for (int64_t dim : {0, 1, 2, -1}) {
    for (bool keepdim : {false, true}) {
      Fn mx = [dim, keepdim](const std::vector<Tensor>& x) { return max(x[0], dim, keepdim); };
      Fn mn = [dim, keepdim](const std::vector<Tensor>& x) { return min(x[0], dim, keepdim); };
      EXPECT_TRUE(gradcheck(mx, {distinct(kShape, 1)})) << "max dim " << dim << " keepdim " << keepdim;
      EXPECT_TRUE(gradcheck(mn, {distinct(kShape, 2)})) << "min dim " << dim << " keepdim " << keepdim;
    }
  }
}

TEST(GradcheckReduce, MaxMinAll) {
  Fn mx = [](const std::vector<Tensor>& x) { return max(x[0]); };
  Fn mn = [](const std::vector<Tensor>& x) { return min(x[0]); };
  EXPECT_TRUE(gradcheck(mx, {distinct(kShape, 3)}));
  EXPECT_TRUE(gradcheck(mn, {distinct(kShape, 4)}));
}

TEST(GradcheckReduce, SumTo) {
  for (const Shape& target : {Shape{3, 1}, Shape{1, 4}, Shape{4}, Shape{2, 1, 4}, Shape{1, 3, 1}, Shape{}}) {
    Fn f = [target](const std::vector<Tensor>& x) { return sum_to(x[0], target); };
    EXPECT_TRUE(gradcheck(f, {uniform(kShape, -1, 1, 1)})) << "to " << shape_str(target);
  }
}

TEST(GradcheckReduce, Expand) {
  for (const Shape& from : {Shape{3, 1}, Shape{4}, Shape{2, 1, 4}, Shape{1, 3, 1}, Shape{}}) {
    Fn f = [](const std::vector<Tensor>& x) { return expand(x[0], kShape); };
    EXPECT_TRUE(gradcheck(f, {uniform(from, -1, 1, 1)})) << "from " << shape_str(from);
  }
}

// ---- shape ops ---------------------------------------------------------------------

TEST(GradcheckShape, Reshape) {
  Fn f = [](const std::vector<Tensor>& x) { return reshape(x[0], {6, -1}); };
  EXPECT_TRUE(gradcheck(f, {uniform(kShape, -1, 1, 1)}));
  Fn flat = [](const std::vector<Tensor>& x) { return mul(x[0].flatten(0), x[0].flatten(0)); };
  EXPECT_TRUE(gradcheck(flat, {uniform(kShape, -1, 1, 2)}));
  Fn unsq = [](const std::vector<Tensor>& x) { return x[0].unsqueeze(1).squeeze(1).unsqueeze(-1); };
  EXPECT_TRUE(gradcheck(unsq, {uniform(kShape, -1, 1, 3)}));
}

TEST(GradcheckShape, Permute) {
  for (const std::vector<int64_t>& perm :
       {std::vector<int64_t>{2, 0, 1}, {1, 2, 0}, {0, 2, 1}, {-1, -3, -2}}) {
    Fn f = [perm](const std::vector<Tensor>& x) { return permute(x[0], perm); };
    EXPECT_TRUE(gradcheck(f, {uniform(kShape, -1, 1, 1)})) << "perm " << shape_str(perm);
  }
}

TEST(GradcheckShape, Transpose) {
  Fn f = [](const std::vector<Tensor>& x) { return transpose(x[0], 0, 2); };
  EXPECT_TRUE(gradcheck(f, {uniform(kShape, -1, 1, 1)}));
  Fn g = [](const std::vector<Tensor>& x) { return transpose(x[0], -1, -2); };
  EXPECT_TRUE(gradcheck(g, {uniform(kShape, -1, 1, 2)}));
  Fn t = [](const std::vector<Tensor>& x) { return x[0].t(); };
  EXPECT_TRUE(gradcheck(t, {uniform({3, 5}, -1, 1, 3)}));
}

TEST(GradcheckShape, SliceDim0View) {
  Fn f = [](const std::vector<Tensor>& x) { return slice(x[0], 0, 1, 3); };
  EXPECT_TRUE(gradcheck(f, {uniform({4, 3, 2}, -1, 1, 1)}));
}

TEST(GradcheckShape, SliceInnerDim) {
  Fn f = [](const std::vector<Tensor>& x) { return slice(x[0], 1, 1, 3); };
  EXPECT_TRUE(gradcheck(f, {uniform({2, 4, 3}, -1, 1, 1)}));
  Fn last = [](const std::vector<Tensor>& x) { return slice(x[0], 2, 0, 2); };
  EXPECT_TRUE(gradcheck(last, {uniform({2, 4, 3}, -1, 1, 2)}));
}

TEST(GradcheckShape, SliceStep2) {
  Fn f = [](const std::vector<Tensor>& x) { return slice(x[0], 1, 0, 5, 2); };
  EXPECT_TRUE(gradcheck(f, {uniform({2, 5, 3}, -1, 1, 1)}));
  Fn g = [](const std::vector<Tensor>& x) { return slice(x[0], 0, 1, 6, 3); };
  EXPECT_TRUE(gradcheck(g, {uniform({6, 2}, -1, 1, 2)}));
}

TEST(GradcheckShape, SliceNegativeIndices) {
  Fn f = [](const std::vector<Tensor>& x) { return slice(x[0], -1, -3, -1); };
  EXPECT_TRUE(gradcheck(f, {uniform({2, 3, 5}, -1, 1, 1)}));
  Fn g = [](const std::vector<Tensor>& x) { return slice(x[0], -2, -2, 100); };
  EXPECT_TRUE(gradcheck(g, {uniform({2, 3, 5}, -1, 1, 2)}));
}

TEST(GradcheckShape, Concat) {
  Fn f = [](const std::vector<Tensor>& x) { return concat({x[0], x[1], x[2]}, 1); };
  EXPECT_TRUE(gradcheck(f, {uniform({2, 1, 3}, -1, 1, 1), uniform({2, 3, 3}, -1, 1, 2),
                            uniform({2, 2, 3}, -1, 1, 3)}));
  Fn d0 = [](const std::vector<Tensor>& x) { return concat({x[0], x[1]}, 0); };
  EXPECT_TRUE(gradcheck(d0, {uniform({1, 4}, -1, 1, 4), uniform({3, 4}, -1, 1, 5)}));
  Fn last = [](const std::vector<Tensor>& x) { return concat({x[0], x[1]}, -1); };
  EXPECT_TRUE(gradcheck(last, {uniform({2, 3}, -1, 1, 6), uniform({2, 2}, -1, 1, 7, false)}));
}

TEST(GradcheckShape, ConcatSameTensorTwice) {
  Fn f = [](const std::vector<Tensor>& x) { return concat({x[0], x[0]}, 0); };
  EXPECT_TRUE(gradcheck(f, {uniform({2, 3}, -1, 1, 1)}));
}

TEST(GradcheckShape, Stack) {
  for (int64_t dim : {0, 1, 2, -1}) {
    Fn f = [dim](const std::vector<Tensor>& x) { return stack({x[0], x[1], x[2]}, dim); };
    EXPECT_TRUE(gradcheck(f, {uniform({2, 3}, -1, 1, 1), uniform({2, 3}, -1, 1, 2),
                              uniform({2, 3}, -1, 1, 3)}))
        << "dim " << dim;
  }
}

TEST(GradcheckShape, IndexSelect) {
  Fn f = [](const std::vector<Tensor>& x) { return index_select(x[0], 1, {2, 0, 2, 2}); };
  EXPECT_TRUE(gradcheck(f, {uniform(kShape, -1, 1, 1)}));
  Fn first = [](const std::vector<Tensor>& x) { return index_select(x[0], 0, {1, 1, 0}); };
  EXPECT_TRUE(gradcheck(first, {uniform(kShape, -1, 1, 2)}));
  Fn last = [](const std::vector<Tensor>& x) { return index_select(x[0], -1, {3, 0, 3}); };
  EXPECT_TRUE(gradcheck(last, {uniform(kShape, -1, 1, 3)}));
}

TEST(GradcheckShape, IndexAdd) {
  Fn f = [](const std::vector<Tensor>& x) { return index_add(kShape, 1, {2, 0, 2, 2}, x[0]); };
  EXPECT_TRUE(gradcheck(f, {uniform({2, 4, 4}, -1, 1, 1)}));
  Fn last = [](const std::vector<Tensor>& x) { return index_add({3, 5}, -1, {4, 4, 1}, x[0]); };
  EXPECT_TRUE(gradcheck(last, {uniform({3, 3}, -1, 1, 2)}));
}

TEST(GradcheckShape, GatherScatterAdd) {
  // Repeated indices and a negative one (reads 0 / is dropped).
  FlatIndex idx = flat_index({5, 0, 5, 23, -1, 7, 7, 7, 12, 3});
  Fn g = [idx](const std::vector<Tensor>& x) { return gather(x[0], idx, {2, 5}); };
  EXPECT_TRUE(gradcheck(g, {uniform(kShape, -1, 1, 1)}));
  Fn s = [idx](const std::vector<Tensor>& x) { return scatter_add(x[0], idx, kShape); };
  EXPECT_TRUE(gradcheck(s, {uniform({2, 5}, -1, 1, 2)}));
}

// ---- matrix ops ------------------------------------------------------------------------

TEST(GradcheckMatmul, TwoD) {
  Fn f = [](const std::vector<Tensor>& x) { return matmul(x[0], x[1]); };
  EXPECT_TRUE(gradcheck(f, {uniform({3, 4}, -1, 1, 1), uniform({4, 5}, -1, 1, 2)}));
}

TEST(GradcheckMatmul, TwoDTransposeFlags) {
  // op(a) is 3×4 and op(b) is 4×5 in every combination.
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      Fn f = [ta, tb](const std::vector<Tensor>& x) { return matmul(x[0], x[1], ta, tb); };
      const Shape sa = ta ? Shape{4, 3} : Shape{3, 4};
      const Shape sb = tb ? Shape{5, 4} : Shape{4, 5};
      EXPECT_TRUE(gradcheck(f, {uniform(sa, -1, 1, 1), uniform(sb, -1, 1, 2)}))
          << "ta " << ta << " tb " << tb;
    }
  }
}

TEST(GradcheckMatmul, Batched3Dx3D) {
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      Fn f = [ta, tb](const std::vector<Tensor>& x) { return matmul(x[0], x[1], ta, tb); };
      const Shape sa = ta ? Shape{2, 4, 3} : Shape{2, 3, 4};
      const Shape sb = tb ? Shape{2, 2, 4} : Shape{2, 4, 2};
      EXPECT_TRUE(gradcheck(f, {uniform(sa, -1, 1, 1), uniform(sb, -1, 1, 2)}))
          << "ta " << ta << " tb " << tb;
    }
  }
}

TEST(GradcheckMatmul, ThreeDx2D) {
  for (bool tb : {false, true}) {
    Fn f = [tb](const std::vector<Tensor>& x) { return matmul(x[0], x[1], false, tb); };
    const Shape sb = tb ? Shape{2, 4} : Shape{4, 2};
    EXPECT_TRUE(gradcheck(f, {uniform({2, 3, 4}, -1, 1, 1), uniform(sb, -1, 1, 2)})) << "tb " << tb;
  }
}

TEST(GradcheckMatmul, OnlyOneOperandRequiresGrad) {
  Fn f = [](const std::vector<Tensor>& x) { return matmul(x[0], x[1]); };
  EXPECT_TRUE(gradcheck(f, {uniform({3, 4}, -1, 1, 1, false), uniform({4, 2}, -1, 1, 2)}));
  EXPECT_TRUE(gradcheck(f, {uniform({2, 3, 4}, -1, 1, 3), uniform({4, 2}, -1, 1, 4, false)}));
}

TEST(GradcheckMatmul, Linear) {
  Fn with_bias = [](const std::vector<Tensor>& x) { return linear(x[0], x[1], x[2]); };
  EXPECT_TRUE(gradcheck(with_bias, {uniform({3, 4}, -1, 1, 1), uniform({5, 4}, -1, 1, 2),
                                    uniform({5}, -1, 1, 3)}));
  Fn no_bias = [](const std::vector<Tensor>& x) { return linear(x[0], x[1]); };
  EXPECT_TRUE(gradcheck(no_bias, {uniform({3, 4}, -1, 1, 4), uniform({5, 4}, -1, 1, 5)}));
}

// linear with a bias is one op (OpKind::Linear); squared, so that its backward's
// backward is exercised too, as the WGAN-GP penalty does.
TEST(GradcheckMatmul, LinearSquaredSecondOrder) {
  Fn f = [](const std::vector<Tensor>& x) {
    Tensor y = linear(x[0], x[1], x[2]);
    return mul(y, y);
  };
  EXPECT_TRUE(gradgradcheck(f, {uniform({3, 4}, -1, 1, 1), uniform({5, 4}, -1, 1, 2),
                                uniform({5}, -1, 1, 3)}));
  // Only the input requires grad: the penalty's ∂critic/∂x̂ path.
  EXPECT_TRUE(gradgradcheck(f, {uniform({3, 4}, -1, 1, 4), uniform({5, 4}, -1, 1, 5, false),
                                uniform({5}, -1, 1, 6, false)}));
}

TEST(GradcheckMatmul, Linear3DInput) {
  Fn with_bias = [](const std::vector<Tensor>& x) { return linear(x[0], x[1], x[2]); };
  EXPECT_TRUE(gradcheck(with_bias, {uniform({2, 3, 4}, -1, 1, 1), uniform({2, 4}, -1, 1, 2),
                                    uniform({2}, -1, 1, 3)}));
  Fn no_bias = [](const std::vector<Tensor>& x) { return linear(x[0], x[1]); };
  EXPECT_TRUE(gradcheck(no_bias, {uniform({2, 3, 4}, -1, 1, 4), uniform({2, 4}, -1, 1, 5)}));
}

TEST(GradcheckMatmul, PairwiseSqDist) {
  Fn f = [](const std::vector<Tensor>& x) { return pairwise_sq_dist(x[0], x[1]); };
  EXPECT_TRUE(gradcheck(f, {uniform({4, 3}, -1, 1, 1), uniform({5, 3}, -1, 1, 2)}));
}

// ---- second order ---------------------------------------------------------------------
// Linear ops (sum, permute, slice, ...) have no curvature of their own, so each is
// squared: the gradient flowing into their backward then depends on the input and the
// second-order pass goes through the backward's backward.

TEST(GradcheckShape, SumSecondOrder) {
  Fn all = [](const std::vector<Tensor>& x) {
    Tensor s = sum(x[0]);
    return mul(s, s);
  };
  EXPECT_TRUE(gradgradcheck(all, {uniform(kShape, -1, 1, 1)}));
  Fn dims = [](const std::vector<Tensor>& x) {
    Tensor s = sum(x[0], {0, 2}, true);
    return mul(s, mul(x[0], s));
  };
  EXPECT_TRUE(gradgradcheck(dims, {uniform(kShape, -1, 1, 2)}));
}

TEST(GradcheckShape, MeanVarSecondOrder) {
  Fn f = [](const std::vector<Tensor>& x) { return var(x[0], {1}); };
  EXPECT_TRUE(gradgradcheck(f, {uniform(kShape, -1, 1, 1)}));
  Fn m = [](const std::vector<Tensor>& x) {
    Tensor s = mean(x[0], {-1});
    return mul(s, s);
  };
  EXPECT_TRUE(gradgradcheck(m, {uniform(kShape, -1, 1, 2)}));
}

TEST(GradcheckShape, MaxSecondOrder) {
  Fn f = [](const std::vector<Tensor>& x) {
    Tensor m = max(x[0], 1);
    return mul(m, m);
  };
  EXPECT_TRUE(gradgradcheck(f, {distinct(kShape, 1)}));
}

TEST(GradcheckShape, ExpandSumToSecondOrder) {
  Fn f = [](const std::vector<Tensor>& x) {
    Tensor e = expand(x[0], kShape);
    Tensor s = sum_to(mul(e, e), {3, 1});
    return mul(s, s);
  };
  EXPECT_TRUE(gradgradcheck(f, {uniform({3, 1}, -1, 1, 1)}));
}

TEST(GradcheckShape, ReshapeSecondOrder) {
  Fn f = [](const std::vector<Tensor>& x) {
    Tensor r = reshape(x[0], {4, -1});
    return mul(r, r);
  };
  EXPECT_TRUE(gradgradcheck(f, {uniform(kShape, -1, 1, 1)}));
}

TEST(GradcheckShape, PermuteSecondOrder) {
  Fn f = [](const std::vector<Tensor>& x) {
    Tensor p = permute(x[0], {2, 0, 1});
    return mul(p, p);
  };
  EXPECT_TRUE(gradgradcheck(f, {uniform(kShape, -1, 1, 1)}));
}

TEST(GradcheckShape, SliceSecondOrder) {
  Fn view = [](const std::vector<Tensor>& x) {
    Tensor s = slice(x[0], 0, 1, 2);
    return mul(s, s);
  };
  EXPECT_TRUE(gradgradcheck(view, {uniform(kShape, -1, 1, 1)}));
  Fn strided = [](const std::vector<Tensor>& x) {
    Tensor s = slice(x[0], 2, -4, 4, 2);
    return mul(s, s);
  };
  EXPECT_TRUE(gradgradcheck(strided, {uniform(kShape, -1, 1, 2)}));
}

TEST(GradcheckShape, ConcatSecondOrder) {
  Fn f = [](const std::vector<Tensor>& x) {
    Tensor c = concat({x[0], x[1]}, 1);
    return mul(c, c);
  };
  EXPECT_TRUE(gradgradcheck(f, {uniform({2, 1, 4}, -1, 1, 1), uniform({2, 2, 4}, -1, 1, 2)}));
}

TEST(GradcheckShape, StackSecondOrder) {
  Fn f = [](const std::vector<Tensor>& x) {
    Tensor s = stack({x[0], x[1]}, 1);
    return mul(s, s);
  };
  EXPECT_TRUE(gradgradcheck(f, {uniform({2, 3}, -1, 1, 1), uniform({2, 3}, -1, 1, 2)}));
}

TEST(GradcheckShape, IndexSelectSecondOrder) {
  Fn f = [](const std::vector<Tensor>& x) {
    Tensor s = index_select(x[0], 1, {2, 0, 2});
    return mul(s, s);
  };
  EXPECT_TRUE(gradgradcheck(f, {uniform(kShape, -1, 1, 1)}));
  Fn add = [](const std::vector<Tensor>& x) {
    Tensor s = index_add({2, 3}, 1, {2, 0, 2}, x[0]);
    return mul(s, s);
  };
  EXPECT_TRUE(gradgradcheck(add, {uniform({2, 3}, -1, 1, 2)}));
}

TEST(GradcheckShape, GatherSecondOrder) {
  FlatIndex idx = flat_index({5, 0, 5, 23, -1, 7, 7, 7, 12, 3});
  Fn g = [idx](const std::vector<Tensor>& x) {
    Tensor s = gather(x[0], idx, {2, 5});
    return mul(s, s);
  };
  EXPECT_TRUE(gradgradcheck(g, {uniform(kShape, -1, 1, 1)}));
  Fn s = [idx](const std::vector<Tensor>& x) {
    Tensor t = scatter_add(x[0], idx, kShape);
    return mul(t, t);
  };
  EXPECT_TRUE(gradgradcheck(s, {uniform({2, 5}, -1, 1, 2)}));
}

TEST(GradcheckMatmul, MatmulSecondOrder) {
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      Fn f = [ta, tb](const std::vector<Tensor>& x) { return matmul(x[0], x[1], ta, tb); };
      const Shape sa = ta ? Shape{4, 3} : Shape{3, 4};
      const Shape sb = tb ? Shape{2, 4} : Shape{4, 2};
      EXPECT_TRUE(gradgradcheck(f, {uniform(sa, -1, 1, 1), uniform(sb, -1, 1, 2)}))
          << "ta " << ta << " tb " << tb;
    }
  }
  Fn batched = [](const std::vector<Tensor>& x) { return matmul(x[0], x[1], true, false); };
  EXPECT_TRUE(gradgradcheck(batched, {uniform({2, 4, 3}, -1, 1, 3), uniform({2, 4, 2}, -1, 1, 4)}));
  Fn shared = [](const std::vector<Tensor>& x) { return matmul(x[0], x[1], false, true); };
  EXPECT_TRUE(gradgradcheck(shared, {uniform({2, 3, 4}, -1, 1, 5), uniform({2, 4}, -1, 1, 6)}));
  // x·xᵀ: the same tensor on both sides.
  Fn gram = [](const std::vector<Tensor>& x) { return matmul(x[0], x[0], false, true); };
  EXPECT_TRUE(gradgradcheck(gram, {uniform({3, 4}, -1, 1, 7)}));
}

TEST(GradcheckMatmul, MatmulSquaredSecondOrder) {
  // (op(a)·op(b))²: the gradient entering matmul's backward depends on a and b, so the
  // second-order pass differentiates the backward's matmuls with respect to it as well.
  auto squared = [](bool ta, bool tb) {
    return Fn([ta, tb](const std::vector<Tensor>& x) {
      Tensor c = matmul(x[0], x[1], ta, tb);
      return mul(c, c);
    });
  };
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      const Shape sa = ta ? Shape{4, 3} : Shape{3, 4};
      const Shape sb = tb ? Shape{2, 4} : Shape{4, 2};
      EXPECT_TRUE(gradgradcheck(squared(ta, tb), {uniform(sa, -1, 1, 1), uniform(sb, -1, 1, 2)}))
          << "ta " << ta << " tb " << tb;
      const Shape ba = ta ? Shape{2, 4, 3} : Shape{2, 3, 4};
      const Shape bb = tb ? Shape{2, 2, 4} : Shape{2, 4, 2};
      EXPECT_TRUE(gradgradcheck(squared(ta, tb), {uniform(ba, -1, 1, 3), uniform(bb, -1, 1, 4)}))
          << "batched ta " << ta << " tb " << tb;
    }
  }
  for (bool tb : {false, true}) {
    const Shape sb = tb ? Shape{2, 4} : Shape{4, 2};
    EXPECT_TRUE(gradgradcheck(squared(false, tb), {uniform({2, 3, 4}, -1, 1, 5), uniform(sb, -1, 1, 6)}))
        << "3-D x 2-D tb " << tb;
  }
}

TEST(GradcheckMatmul, LinearSecondOrder) {
  Fn f = [](const std::vector<Tensor>& x) { return linear(x[0], x[1], x[2]); };
  EXPECT_TRUE(gradgradcheck(f, {uniform({3, 4}, -1, 1, 1), uniform({2, 4}, -1, 1, 2),
                                uniform({2}, -1, 1, 3)}));
  Fn three_d = [](const std::vector<Tensor>& x) { return tanh(linear(x[0], x[1], x[2])); };
  EXPECT_TRUE(gradgradcheck(three_d, {uniform({2, 3, 4}, -1, 1, 4), uniform({2, 4}, -1, 1, 5),
                                      uniform({2}, -1, 1, 6)}));
}

TEST(GradcheckMatmul, PairwiseSqDistSecondOrder) {
  Fn f = [](const std::vector<Tensor>& x) { return pairwise_sq_dist(x[0], x[1]); };
  EXPECT_TRUE(gradgradcheck(f, {uniform({4, 3}, -1, 1, 1), uniform({3, 3}, -1, 1, 2)}));
  Fn sq = [](const std::vector<Tensor>& x) {
    Tensor d = pairwise_sq_dist(x[0], x[1]);
    return mul(d, d);
  };
  EXPECT_TRUE(gradgradcheck(sq, {uniform({4, 3}, -1, 1, 3), uniform({3, 3}, -1, 1, 4)}));
}
