// The batch loader: every row once per epoch, seeded order, prefetching.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "engine/memory.h"
#include "engine/ops.h"
#include "io/loader.h"

using namespace adx;

namespace {

// Image i is filled with the value i, so a batch tells which rows it holds.
Tensor numbered_images(int64_t n) {
  Tensor t = Tensor::empty({n, 1, 2, 2});
  for (int64_t i = 0; i < n; ++i) std::fill_n(t.data() + i * 4, 4, static_cast<float>(i));
  return t;
}

std::vector<int64_t> epoch_order(io::Loader& loader, int64_t epoch) {
  loader.start_epoch(epoch);
  std::vector<int64_t> seen;
  io::Batch b;
  while (loader.next(b)) {
    for (int64_t i = 0; i < b.x.size(0); ++i) {
      EXPECT_EQ(b.x.data()[i * 4], static_cast<float>(b.indices[static_cast<size_t>(i)]));
      EXPECT_EQ(b.y.data()[i], static_cast<float>(b.indices[static_cast<size_t>(i)] % 3));
    }
    seen.insert(seen.end(), b.indices.begin(), b.indices.end());
  }
  return seen;
}

}  // namespace

TEST(Loader, EveryRowOncePerEpochInASeededOrder) {
  std::vector<int> labels;
  for (int i = 0; i < 103; ++i) labels.push_back(i % 3);
  for (bool prefetch : {false, true}) {
    io::LoaderOptions opt;
    opt.batch = 10;
    opt.seed = 5;
    opt.prefetch = prefetch;
    io::Loader loader(numbered_images(103), labels, {}, opt);
    EXPECT_EQ(loader.batches_per_epoch(), 11);
    std::vector<int64_t> e0 = epoch_order(loader, 0), e1 = epoch_order(loader, 1);
    ASSERT_EQ(e0.size(), 103u);
    std::vector<int64_t> sorted = e0;
    std::sort(sorted.begin(), sorted.end());
    for (int64_t i = 0; i < 103; ++i) EXPECT_EQ(sorted[static_cast<size_t>(i)], i);
    EXPECT_NE(e0, e1);                       // reshuffled
    EXPECT_EQ(e0, epoch_order(loader, 0));   // an epoch can be replayed (resume)
    io::Loader other(numbered_images(103), labels, {}, opt);
    EXPECT_EQ(epoch_order(other, 1), e1);    // same seed, same order
  }
}

TEST(Loader, RowsSubsetAndDropLast) {
  io::LoaderOptions opt;
  opt.batch = 4;
  opt.shuffle = false;
  opt.drop_last = true;
  std::vector<int> labels(20, 0);
  for (int i = 0; i < 20; ++i) labels[static_cast<size_t>(i)] = i % 3;
  io::Loader loader(numbered_images(20), labels, {3, 5, 7, 9, 11, 13, 15}, opt);
  EXPECT_EQ(loader.batches_per_epoch(), 1);
  EXPECT_EQ(epoch_order(loader, 0), (std::vector<int64_t>{3, 5, 7, 9}));
  EXPECT_THROW(io::Loader(numbered_images(5), {}, {7}, opt), Error);
  EXPECT_THROW(io::Loader(numbered_images(5), {1, 2}, {}, opt), Error);
}

TEST(Loader, NoAllocationAfterWarmUp) {
  io::LoaderOptions opt;
  opt.batch = 16;
  io::Loader loader(numbered_images(64), {}, {}, opt);
  io::Batch b;
  loader.start_epoch(0);
  while (loader.next(b)) {
  }
  const uint64_t before = allocation_stats().requests;
  for (int e = 1; e < 4; ++e) {
    loader.start_epoch(e);
    while (loader.next(b)) {
    }
  }
  EXPECT_EQ(allocation_stats().requests, before);
}

TEST(Loader, AStaleBatchInAGraphFailsLoudly) {
  io::LoaderOptions opt;
  opt.batch = 2;
  opt.prefetch = false;
  io::Loader loader(numbered_images(8), {}, {}, opt);
  loader.start_epoch(0);
  io::Batch b;
  loader.next(b);
  Tensor w = Tensor::ones({1, 1, 2, 2}).requires_grad_();
  Tensor loss = sum(mul(b.x, w));
  loader.next(b);
  loader.next(b);  // refills the buffer the graph saved
  EXPECT_THROW(loss.backward(), Error);
}
