// Gradient checks of the neural-network composites (engine/ops/nn.cpp): batch norm,
// dropout, softmax, log_softmax and the losses. First order for every case, second
// order (TEST names with SecondOrder) where WGAN-GP-like uses need it.
#include "gradcheck.h"

using namespace adx;
using namespace adx::testing;

namespace {

// Class indices (as floats) for the loss checks.
Tensor targets(std::initializer_list<float> t) {
  return Tensor::from_data({static_cast<int64_t>(t.size())}, t);
}

// x = target + d with |d| ≥ 0.1, a leaf that requires grad: l1_loss away from its kink.
Tensor offset_from(const Tensor& target, uint64_t seed) {
  Tensor d = away_from_zero(target.shape(), -1.0f, 1.0f, 0.1f, seed);
  Tensor x = Tensor::empty(target.shape());
  for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = target.data()[i] + d.data()[i];
  x.requires_grad_(true);
  return x;
}

Fn batch_norm_train(bool affine) {
  return [affine](const std::vector<Tensor>& x) {
    return batch_norm(x[0], Tensor(), Tensor(), affine ? x[1] : Tensor(), affine ? x[2] : Tensor(),
                      /*training=*/true);
  };
}

}  // namespace

// ---- the harness sees a wrong batch-norm gradient ------------------------------

TEST(GradcheckNN, DetectsBatchNormWithDetachedStatistics) {
  // Treating the batch mean and variance as constants is a classic mistake: its
  // gradient differs from the true one, and gradcheck must say so.
  Fn wrong = [](const std::vector<Tensor>& x) {
    Tensor mu = mean(x[0].detach(), {0}, true);
    Tensor var_ = var(x[0].detach(), {0}, false, true);
    return div(sub(x[0], mu), sqrt(add(var_, Tensor::scalar(1e-5f))));
  };
  EXPECT_FALSE(gradcheck(wrong, {uniform({4, 3}, -1, 1, 1)}));
}

// ---- batch norm, training ------------------------------------------------------

TEST(GradcheckNN, BatchNormTraining4dAffine) {
  EXPECT_TRUE(gradcheck(batch_norm_train(true),
                        {uniform({3, 2, 2, 2}, -1, 1, 1), uniform({2}, 0.5f, 1.5f, 2),
                         uniform({2}, -0.5f, 0.5f, 3)}));
}

TEST(GradcheckNN, BatchNormTraining4dNoAffine) {
  EXPECT_TRUE(gradcheck(batch_norm_train(false), {uniform({3, 2, 2, 2}, -1, 1, 4)}));
}

TEST(GradcheckNN, BatchNormTraining2dAffine) {
  EXPECT_TRUE(gradcheck(batch_norm_train(true), {uniform({5, 3}, -1, 1, 5),
                                                 uniform({3}, 0.5f, 1.5f, 6),
                                                 uniform({3}, -0.5f, 0.5f, 7)}));
}

TEST(GradcheckNN, BatchNormTraining2dNoAffine) {
  EXPECT_TRUE(gradcheck(batch_norm_train(false), {uniform({5, 3}, -1, 1, 8)}));
}

TEST(GradcheckNN, BatchNormTrainingWithRunningStats) {
  // The in-place update of the running statistics must not disturb the gradient.
  Tensor rm = Tensor::zeros({2}), rv = Tensor::ones({2});
  Fn f = [rm, rv](const std::vector<Tensor>& x) {
    return batch_norm(x[0], rm, rv, x[1], x[2], true, 0.1f, 1e-5f);
  };
  EXPECT_TRUE(gradcheck(f, {uniform({4, 2, 3}, -1, 1, 9), uniform({2}, 0.5f, 1.5f, 10),
                            uniform({2}, -0.5f, 0.5f, 11)}));
}

// ---- batch norm, eval -------------------------------------------------------------

TEST(GradcheckNN, BatchNormEvalAffine) {
  Tensor rm = Tensor::from_data({2}, {0.2f, -0.3f});
  Tensor rv = Tensor::from_data({2}, {0.5f, 2.0f});
  Fn f = [rm, rv](const std::vector<Tensor>& x) {
    return batch_norm(x[0], rm, rv, x[1], x[2], /*training=*/false);
  };
  EXPECT_TRUE(gradcheck(f, {uniform({2, 2, 2, 2}, -1, 1, 12), uniform({2}, 0.5f, 1.5f, 13),
                            uniform({2}, -0.5f, 0.5f, 14)}));
}

TEST(GradcheckNN, BatchNormEvalNoAffine) {
  Tensor rm = Tensor::from_data({3}, {0.1f, 0.0f, -0.4f});
  Tensor rv = Tensor::from_data({3}, {1.5f, 0.3f, 1.0f});
  Fn f = [rm, rv](const std::vector<Tensor>& x) {
    return batch_norm(x[0], rm, rv, Tensor(), Tensor(), false);
  };
  EXPECT_TRUE(gradcheck(f, {uniform({4, 3}, -1, 1, 15)}));
}

// ---- softmax, log_softmax ---------------------------------------------------------

TEST(GradcheckNN, SoftmaxDim1) {
  Fn f = [](const std::vector<Tensor>& x) { return softmax(x[0], 1); };
  EXPECT_TRUE(gradcheck(f, {uniform({3, 4}, -2, 2, 16)}));
}

TEST(GradcheckNN, SoftmaxDim0) {
  Fn f = [](const std::vector<Tensor>& x) { return softmax(x[0], 0); };
  EXPECT_TRUE(gradcheck(f, {uniform({3, 4}, -2, 2, 17)}));
}

TEST(GradcheckNN, LogSoftmaxDim1) {
  Fn f = [](const std::vector<Tensor>& x) { return log_softmax(x[0], 1); };
  EXPECT_TRUE(gradcheck(f, {uniform({3, 4}, -2, 2, 18)}));
}

TEST(GradcheckNN, LogSoftmaxDim0) {
  Fn f = [](const std::vector<Tensor>& x) { return log_softmax(x[0], 0); };
  EXPECT_TRUE(gradcheck(f, {uniform({3, 4}, -2, 2, 19)}));
}

// ---- classification losses --------------------------------------------------------

TEST(GradcheckNN, CrossEntropyMean) {
  Tensor t = targets({0, 3, 4, 1});
  Fn f = [t](const std::vector<Tensor>& x) { return cross_entropy(x[0], t, Reduction::Mean); };
  EXPECT_TRUE(gradcheck(f, {uniform({4, 5}, -2, 2, 20)}));
}

TEST(GradcheckNN, CrossEntropySum) {
  Tensor t = targets({2, 2, 0, 1});
  Fn f = [t](const std::vector<Tensor>& x) { return cross_entropy(x[0], t, Reduction::Sum); };
  EXPECT_TRUE(gradcheck(f, {uniform({4, 3}, -2, 2, 21)}));
}

TEST(GradcheckNN, CrossEntropyNone) {
  Tensor t = targets({1, 0, 3});
  Fn f = [t](const std::vector<Tensor>& x) { return cross_entropy(x[0], t, Reduction::None); };
  EXPECT_TRUE(gradcheck(f, {uniform({3, 4}, -2, 2, 22)}));
}

TEST(GradcheckNN, NllLoss) {
  Tensor t = targets({1, 0, 2, 2});
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    Fn f = [t, r](const std::vector<Tensor>& x) { return nll_loss(x[0], t, r); };
    EXPECT_TRUE(gradcheck(f, {uniform({4, 3}, -3, -0.1f, 23)})) << "reduction " << static_cast<int>(r);
  }
}

// ---- regression losses --------------------------------------------------------------

TEST(GradcheckNN, MseLoss) {
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    Fn f = [r](const std::vector<Tensor>& x) { return mse_loss(x[0], x[1], r); };
    // Gradients w.r.t. both the input and the target.
    EXPECT_TRUE(gradcheck(f, {uniform({3, 4}, -1, 1, 24), uniform({3, 4}, -1, 1, 25)}))
        << "reduction " << static_cast<int>(r);
  }
}

TEST(GradcheckNN, L1Loss) {
  Tensor target = uniform({3, 4}, -1, 1, 26, false);
  Tensor x = offset_from(target, 27);
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    Fn f = [target, r](const std::vector<Tensor>& xs) { return l1_loss(xs[0], target, r); };
    EXPECT_TRUE(gradcheck(f, {x})) << "reduction " << static_cast<int>(r);
  }
}

TEST(GradcheckNN, BinaryCrossEntropyWithLogits) {
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    Fn f = [r](const std::vector<Tensor>& x) { return binary_cross_entropy_with_logits(x[0], x[1], r); };
    // Logits and (soft) targets both require grad.
    EXPECT_TRUE(gradcheck(f, {away_from_zero({3, 4}, -3, 3, 0.05f, 28), uniform({3, 4}, 0, 1, 29)}))
        << "reduction " << static_cast<int>(r);
  }
}

TEST(GradcheckNN, BinaryCrossEntropyWithLogitsAtZeroLogit) {
  // The loss is smooth at logit 0 (its derivative is σ(0) − y = 0.5 − y); a zero
  // logit is common (zero-initialised output layer), so it must get that gradient.
  Tensor logits = Tensor::from_data({2, 3}, {0.0f, 0.0f, 0.0f, 1.0f, -0.7f, 0.0f});
  logits.requires_grad_(true);
  Tensor target = Tensor::from_data({2, 3}, {1.0f, 0.0f, 0.3f, 1.0f, 0.0f, 0.8f});
  Fn f = [target](const std::vector<Tensor>& x) {
    return binary_cross_entropy_with_logits(x[0], target, Reduction::None);
  };
  EXPECT_TRUE(gradcheck(f, {logits}));
}

// ---- dropout ------------------------------------------------------------------------

TEST(GradcheckNN, DropoutTraining) {
  // A generator re-created with the same seed on every call: the same mask each time.
  Fn f = [](const std::vector<Tensor>& x) {
    Generator gen(42);
    return dropout(x[0], 0.5f, /*training=*/true, gen);
  };
  EXPECT_TRUE(gradcheck(f, {uniform({4, 5}, -1, 1, 30)}));
}

// ---- second order -------------------------------------------------------------------

TEST(GradcheckNN, BatchNormTraining4dSecondOrder) {
  EXPECT_TRUE(gradgradcheck(batch_norm_train(true),
                            {uniform({3, 2, 2, 2}, -1, 1, 31), uniform({2}, 0.5f, 1.5f, 32),
                             uniform({2}, -0.5f, 0.5f, 33)}));
}

TEST(GradcheckNN, BatchNormTraining2dSecondOrder) {
  EXPECT_TRUE(gradgradcheck(batch_norm_train(true), {uniform({5, 3}, -1, 1, 34),
                                                     uniform({3}, 0.5f, 1.5f, 35),
                                                     uniform({3}, -0.5f, 0.5f, 36)}));
  EXPECT_TRUE(gradgradcheck(batch_norm_train(false), {uniform({5, 3}, -1, 1, 37)}));
}

TEST(GradcheckNN, LogSoftmaxSecondOrder) {
  for (int64_t dim : {0, 1}) {
    Fn f = [dim](const std::vector<Tensor>& x) { return log_softmax(x[0], dim); };
    EXPECT_TRUE(gradgradcheck(f, {uniform({3, 4}, -2, 2, 38)})) << "dim " << dim;
  }
}

TEST(GradcheckNN, SoftmaxSecondOrder) {
  Fn f = [](const std::vector<Tensor>& x) { return softmax(x[0], 1); };
  EXPECT_TRUE(gradgradcheck(f, {uniform({3, 4}, -2, 2, 39)}));
}

TEST(GradcheckNN, CrossEntropySecondOrder) {
  Tensor t = targets({0, 3, 4, 1});
  for (Reduction r : {Reduction::Mean, Reduction::Sum}) {
    Fn f = [t, r](const std::vector<Tensor>& x) { return cross_entropy(x[0], t, r); };
    EXPECT_TRUE(gradgradcheck(f, {uniform({4, 5}, -2, 2, 40)})) << "reduction " << static_cast<int>(r);
  }
}

TEST(GradcheckNN, MseLossSecondOrder) {
  Fn f = [](const std::vector<Tensor>& x) { return mse_loss(x[0], x[1]); };
  EXPECT_TRUE(gradgradcheck(f, {uniform({3, 4}, -1, 1, 41), uniform({3, 4}, -1, 1, 42)}));
}

TEST(GradcheckNN, BinaryCrossEntropyWithLogitsSecondOrder) {
  Fn f = [](const std::vector<Tensor>& x) { return binary_cross_entropy_with_logits(x[0], x[1]); };
  EXPECT_TRUE(gradgradcheck(f, {away_from_zero({3, 4}, -3, 3, 0.05f, 43), uniform({3, 4}, 0, 1, 44)}));
}

TEST(GradcheckNN, BinaryCrossEntropyWithLogitsAtZeroLogitSecondOrder) {
  // d²/dx² at x = 0 is σ'(0) = 0.25.
  Tensor logits = Tensor::from_data({4}, {0.0f, 0.0f, 0.5f, -1.2f});
  logits.requires_grad_(true);
  Tensor target = Tensor::from_data({4}, {1.0f, 0.2f, 0.0f, 0.6f});
  Fn f = [target](const std::vector<Tensor>& x) {
    return binary_cross_entropy_with_logits(x[0], target, Reduction::Sum);
  };
  EXPECT_TRUE(gradgradcheck(f, {logits}));
}
