// A first gradient check of the harness itself, on ops whose derivatives are
// easy to get right; the op families have their own gradcheck_*.cpp files.
#include "gradcheck.h"

using namespace adx;
using namespace adx::testing;

TEST(GradcheckHarness, DetectsAWrongGradient) {
  // stop-gradient through detach makes autograd's answer 0 where the true one is 2x.
  Fn wrong = [](const std::vector<Tensor>& x) { return add(mul(x[0].detach(), x[0].detach()), mul(x[0], Tensor::scalar(0.0f))); };
  EXPECT_FALSE(gradcheck(wrong, {uniform({3}, 0.5f, 1.0f, 1)}));
}

TEST(GradcheckHarness, MulSecondOrder) {
  Fn f = [](const std::vector<Tensor>& x) { return mul(mul(x[0], x[1]), x[0]); };
  EXPECT_TRUE(gradcheck(f, {uniform({2, 3}, -1, 1, 1), uniform({3}, -1, 1, 2)}));
  EXPECT_TRUE(gradgradcheck(f, {uniform({2, 3}, -1, 1, 1), uniform({3}, -1, 1, 2)}));
}
