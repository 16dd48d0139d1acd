// The one-class protocols, on small label lists and on the real MNIST labels.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "data_util.h"
#include "engine/tensor.h"
#include "io/idx.h"
#include "io/protocols.h"

using namespace adx;
using io::SampleRef;
using io::Split;

TEST(Protocols, ThesisSplitOnAToyLabelList) {
  // Target 1 occurs at train positions 1, 2, 4, 6, 7 → first int(5·0.8) = 4 train.
  const std::vector<int> train = {0, 1, 1, 2, 1, 0, 1, 1}, test = {1, 2, 0};
  io::OneClassTask t = io::thesis_split(train, test, 1);
  EXPECT_EQ(t.train, (std::vector<SampleRef>{{Split::Train, 1}, {Split::Train, 2}, {Split::Train, 4}, {Split::Train, 6}}));
  // Test: the remaining target (7), the other train classes (0, 3, 5), the whole test split.
  EXPECT_EQ(t.test, (std::vector<SampleRef>{{Split::Train, 7}, {Split::Train, 0}, {Split::Train, 3},
                                            {Split::Train, 5}, {Split::Test, 0}, {Split::Test, 1}, {Split::Test, 2}}));
  EXPECT_EQ(t.test_labels, (std::vector<int>{0, 1, 1, 1, 0, 1, 1}));
  EXPECT_THROW(io::thesis_split(train, test, 7), Error);
}

TEST(Protocols, ThesisSplitOnRealMnist) {
  ADX_REQUIRE_DATASET(dir, "mnist");
  const auto train = io::load_mnist(dir, "train").labels, test = io::load_mnist(dir, "test").labels;
  io::OneClassTask t = io::thesis_split(train, test, 0);
  // 5,923 zeros in the training split: int(0.8 · 5923) = 4,738 train (as ANCHORS.md's epoch).
  EXPECT_EQ(t.train.size(), 4738u);
  EXPECT_EQ(t.test.size(), 60000u - 4738u + 10000u);
  EXPECT_EQ(t.test_normals(), 1185 + 980);  // 20 % of the train zeros + the test split's zeros
  // Normal:anomaly is about 1:29, not the 1:9 the thesis text states.
  EXPECT_NEAR(static_cast<double>(t.test_anomalies()) / t.test_normals(), 29.0, 1.0);
}

TEST(Protocols, AndrewsTestSetIsFixedAcrossTrials) {
  std::vector<int> labels;
  for (int i = 0; i < 6000; ++i) labels.push_back(i % 10);
  io::OneClassTask a = io::andrews_split(labels, {5}, {2}, 0, 42, Split::Train, 400, 50, 50);
  io::OneClassTask b = io::andrews_split(labels, {5}, {2}, 1, 42, Split::Train, 400, 50, 50);
  EXPECT_EQ(a.test, b.test);
  EXPECT_NE(a.train, b.train);
  EXPECT_EQ(a.train.size(), 400u);
  EXPECT_EQ(a.test_normals(), 50);
  EXPECT_EQ(a.test_anomalies(), 50);
  std::set<int64_t> test_idx;
  for (const auto& r : a.test) test_idx.insert(r.index);
  for (const auto& r : a.train) {
    EXPECT_EQ(labels[static_cast<size_t>(r.index)], 5);
    EXPECT_FALSE(test_idx.count(r.index)) << "a training normal is in the test set";
  }
  for (size_t i = 0; i < a.test.size(); ++i)
    EXPECT_EQ(labels[static_cast<size_t>(a.test[i].index)], a.test_labels[i] ? 2 : 5);
  EXPECT_THROW(io::andrews_split(labels, {5}, {2}, 0, 42, Split::Train, 2048, 512, 512), Error);  // 600 fives
}

TEST(Protocols, EidnAnomalyFractions) {
  std::vector<int> train, test = {0, 1, 2};
  for (int i = 0; i < 1000; ++i) train.push_back(i % 10);  // 100 per class
  for (double f : {1.0, 0.5, 0.1, 0.05, 0.01}) {
    io::OneClassTask t = io::eidn_split(train, test, 3, f, 7);
    int normals = 0, anomalies = 0;
    for (size_t i = 0; i < t.train.size(); ++i) {
      const int label = train[static_cast<size_t>(t.train[i].index)];
      EXPECT_EQ(t.train_labels[i], label != 3);
      (label == 3 ? normals : anomalies)++;
    }
    EXPECT_EQ(normals, 100);
    EXPECT_EQ(anomalies, static_cast<int>(std::llround(100 * f)));
  }
  io::OneClassTask restricted = io::eidn_split(train, test, 0, 0.05, 7, {1, 2, 3, 4, 5});
  for (size_t i = 0; i < restricted.train.size(); ++i) {
    if (restricted.train_labels[i]) {
      EXPECT_LE(train[static_cast<size_t>(restricted.train[i].index)], 5);
    }
  }
  EXPECT_EQ(io::eidn_split(train, test, 3, 0.1, 7).train, io::eidn_split(train, test, 3, 0.1, 7).train);
  EXPECT_THROW(io::eidn_split(train, test, 3, 1.5, 7), Error);
}

TEST(Protocols, OneVsRest) {
  io::OneClassTask t = io::one_vs_rest({0, 1, 0, 2}, {2, 0}, 0);
  EXPECT_EQ(t.train, (std::vector<SampleRef>{{Split::Train, 0}, {Split::Train, 2}}));
  EXPECT_EQ(t.test_labels, (std::vector<int>{1, 0}));
}
