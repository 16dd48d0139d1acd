// The inline Shape and the small-object pool behind tensors, nodes and their lists
// (issue 3: no heap allocation in a steady-state training step).
#include <gtest/gtest.h>

#include <cstring>
#include <set>

#include "engine/autograd.h"
#include "engine/memory.h"
#include "engine/ops.h"
#include "engine/pool.h"
#include "engine/random.h"

using namespace adx;

TEST(Shape, BehavesLikeAVectorOfDims) {
  Shape s = {2, 3, 4};
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(s.back(), 4);
  s.insert(s.begin() + 1, 7);
  EXPECT_EQ(s, (Shape{2, 7, 3, 4}));
  s.erase(s.begin());
  EXPECT_EQ(s, (Shape{7, 3, 4}));
  const int64_t nines[] = {9, 9};
  s.insert(s.end(), nines, nines + 2);
  EXPECT_EQ(s, (Shape{7, 3, 4, 9, 9}));
  s.erase(s.begin() + 1, s.begin() + 3);
  EXPECT_EQ(s, (Shape{7, 9, 9}));
  s.resize(5, 1);
  EXPECT_EQ(s, (Shape{7, 9, 9, 1, 1}));
  EXPECT_EQ(Shape(std::vector<int64_t>{1, 2}), (Shape{1, 2}));
  EXPECT_EQ((Shape{1, 2}).vec(), (std::vector<int64_t>{1, 2}));
  EXPECT_LT((Shape{1, 2}), (Shape{1, 3}));
  EXPECT_LT((Shape{1}), (Shape{1, 0}));
  EXPECT_NE((Shape{1, 2}), (Shape{1, 2, 1}));
  EXPECT_TRUE(Shape{}.empty());
  EXPECT_EQ(Shape(3).size(), 3u);  // parentheses: a count, as for std::vector
  EXPECT_EQ(Shape{3}.size(), 1u);  // braces: the dims
}

TEST(Shape, MoreThanEightDimsIsAnError) {
  Shape s(8, 1);
  EXPECT_THROW(s.push_back(1), Error);
  EXPECT_THROW(Tensor::zeros({1, 1, 1, 1, 1, 1, 1, 1, 1}), Error);
  EXPECT_THROW(Shape(9), Error);
  EXPECT_EQ(Tensor::zeros(Shape(8, 1)).numel(), 1);
}

TEST(Pool, AFreedBlockIsHandedOutAgain) {
  void* a = detail::pool_allocate(40);
  detail::pool_free(a, 40);
  // 33..48 bytes share a size class: the block just freed comes back.
  void* b = detail::pool_allocate(48);
  EXPECT_EQ(a, b);
  void* c = detail::pool_allocate(48);
  EXPECT_NE(b, c);
  detail::pool_free(b, 48);
  detail::pool_free(c, 48);
}

TEST(Pool, SizeClassesDoNotMix) {
  std::set<void*> live;
  std::vector<std::pair<void*, size_t>> blocks;
  for (size_t bytes : {1, 16, 17, 500, 512, 513, 4000, 65536}) {
    void* p = detail::pool_allocate(bytes);
    EXPECT_TRUE(live.insert(p).second);
    std::memset(p, 0xab, bytes);  // under ASan, a block smaller than asked would show here
    blocks.push_back({p, bytes});
  }
  for (auto [p, bytes] : blocks) detail::pool_free(p, bytes);
}

TEST(Pool, LargeBlocksComeFromTheTensorCache) {
  const uint64_t before = allocation_stats().requests;
  void* p = detail::pool_allocate(detail::kPoolMaxBytes + 1);
  EXPECT_EQ(allocation_stats().requests, before + 1);
  detail::pool_free(p, detail::kPoolMaxBytes + 1);
}

TEST(Pool, ContainersAndSharedObjectsUseIt) {
  const uint64_t before = pool_stats().requests;
  PoolVector<int> v = {1, 2, 3};
  auto shared = make_pooled<std::pair<int, int>>(1, 2);
  EXPECT_GE(pool_stats().requests, before + 2);
  EXPECT_EQ(v[2], 3);
  EXPECT_EQ(shared->second, 2);
}

// One SGD step of a small network with a second-order term, as in WGAN-GP.
void training_step(Tensor& w1, Tensor& w2, const Tensor& x) {
  Tensor xg = x.detach();
  xg.requires_grad_();
  Tensor h = relu(matmul(xg, w1));
  Tensor y = sum(tanh(matmul(h, w2)));
  Tensor gx = grad({y}, {xg}, {}, /*create_graph=*/true)[0];
  Tensor loss = add(y, sum(mul(gx, gx)));
  w1.zero_grad();
  w2.zero_grad();
  loss.backward();
  NoGradGuard no_grad;
  for (Tensor* w : {&w1, &w2}) {
    float* p = w->data();
    const float* g = w->grad().data();
    for (int64_t i = 0; i < w->numel(); ++i) p[i] -= 0.01f * g[i];
  }
}

TEST(Pool, ASteadyTrainingStepNeedsNoNewMemory) {
  Generator gen(3);
  Tensor w1 = Tensor::randn({8, 16}, gen).requires_grad_();
  Tensor w2 = Tensor::randn({16, 4}, gen).requires_grad_();
  const Tensor x = Tensor::randn({5, 8}, gen);
  for (int i = 0; i < 2; ++i) training_step(w1, w2, x);  // warm-up
  const PoolStats pool_before = pool_stats();
  const AllocationStats tensors_before = allocation_stats();
  for (int i = 0; i < 3; ++i) training_step(w1, w2, x);
  EXPECT_GT(pool_stats().requests, pool_before.requests);  // nodes, handles, lists
  EXPECT_EQ(pool_stats().system_allocs, pool_before.system_allocs);
  EXPECT_EQ(allocation_stats().system_allocs, tensors_before.system_allocs);
}

// The pool keeps freed blocks, so ASan would not see a use after free on its own:
// the pool poisons them (engine/pool.cpp).
TEST(Pool, AUseAfterFreeIsCaughtUnderAsan) {
#if !defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "needs a build with -fsanitize=address";
#else
  EXPECT_DEATH(
      {
        auto* p = static_cast<volatile int*>(detail::pool_allocate(24));
        detail::pool_free(const_cast<int*>(p), 24);
        std::printf("%d\n", p[3]);  // past the free list's link
      },
      "use-after-poison");
#endif
}
