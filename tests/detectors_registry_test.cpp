// Detectors by name, parameters as key=value, and Andrews' ν sweep.
#include <gtest/gtest.h>

#include "detectors/andrews_sweep.h"
#include "detectors/registry.h"
#include "engine/random.h"

using namespace adx;
using namespace adx::detectors;

TEST(Registry, MakesEveryMethodAndRejectsBadParameters) {
  for (const std::string& m : detector_names()) {
    if (m == "ocsvm-sweep") continue;
    EXPECT_NO_THROW(make_detector(m, {}, 0)) << m;
  }
  EXPECT_NO_THROW(make_detector("ocsvm", parse_params({"kernel=linear", "nu=0.1", "gamma=scale"}), 0));
  EXPECT_THROW(make_detector("svm", {}, 0), Error);
  EXPECT_THROW(make_detector("knn", parse_params({"q=2"}), 0), Error);
  EXPECT_THROW(make_detector("knn", parse_params({"k=0"}), 0), Error);
  EXPECT_THROW(make_detector("knn", parse_params({"k=2.5"}), 0), Error);
  EXPECT_THROW(make_detector("ocsvm", parse_params({"nu=1.5"}), 0), Error);
  EXPECT_THROW(make_detector("ocsvm", parse_params({"kernel=poly"}), 0), Error);
  EXPECT_THROW(make_detector("ocsvm", parse_params({"gamma=-1"}), 0), Error);
  EXPECT_THROW(parse_params({"k"}), Error);
  EXPECT_THROW(parse_params({"k=1", "k=2"}), Error);
}

TEST(Registry, AnOutlierScoresHighestForEveryMethod) {
  Generator gen(3);
  Tensor train = Tensor::randn({200, 4}, gen);
  Tensor test = Tensor::randn({20, 4}, gen);
  for (int j = 0; j < 4; ++j) test.data()[j] = 8.0f;  // row 0 is far from the data
  const std::vector<std::string> methods = {"ocsvm", "iforest", "knn", "kmeans", "mean", "pca", "gmm"};
  for (const std::string& m : methods) {
    Params p;
    if (m == "pca") p.emplace("whiten", "1");  // (not operator=: GCC 12 -Wrestrict false positive)
    auto d = make_detector(m, p, 1);
    d->fit(train);
    Tensor s = d->score(test);
    for (int64_t i = 1; i < 20; ++i) EXPECT_GT(s.data()[0], s.data()[i]) << m << " row " << i;
  }
}

TEST(AndrewsSweep, UnitLengthAndTwentyOneNus) {
  Tensor x = Tensor::from_data({2, 2}, {3, 4, 0, 0});
  EXPECT_EQ(unit_length_rows(x).to_vector(), (std::vector<float>{0.6f, 0.8f, 0, 0}));
  Generator gen(5);
  Tensor train = Tensor::randn({100, 3}, gen) + 3.0f;  // normals lie around (3, 3, 3)
  Tensor test = Tensor::randn({40, 3}, gen) + 3.0f;
  std::vector<int> y(40, 0);
  for (int i = 0; i < 20; ++i) {  // anomalies point the other way
    for (int j = 0; j < 3; ++j) test.data()[i * 3 + j] *= (j == 0 ? -1.0f : 1.0f);
    y[static_cast<size_t>(i)] = 1;
  }
  SweepResult r = andrews_ocsvm_sweep(train, test, y);
  ASSERT_EQ(r.nu.size(), 21u);
  EXPECT_DOUBLE_EQ(r.nu.front(), 0.01);
  EXPECT_DOUBLE_EQ(r.nu.back(), 0.99);
  EXPECT_NEAR(r.nu[10], 0.5, 1e-12);
  EXPECT_GT(r.mean_auroc, 0.9);
  EXPECT_EQ(r.median_scores.numel(), 40);
}
