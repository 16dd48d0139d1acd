// The one-class protocols of the papers, as index lists into the official splits.
// Labels in a task: 0 = normal, 1 = anomaly (the positive class of every metric).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace adx::io {

enum class Split : uint8_t { Train, Test };  // the data set's official splits

struct SampleRef {
  Split split;
  int64_t index;  // position in that split
  bool operator==(const SampleRef&) const = default;
};

struct OneClassTask {
  std::string name;
  std::vector<SampleRef> train;
  std::vector<int> train_labels;  // 0 except for EIDN's labelled anomalies
  std::vector<SampleRef> test;
  std::vector<int> test_labels;
  int64_t test_normals() const;
  int64_t test_anomalies() const;
};

// Robledo Díaz's "multimodal normality" split, as the f-AnoGAN reference code the
// thesis starts from builds it (SPECS.md 3.1): train on the first
// floor(0.8·n) images of the target class in the official training split (no
// shuffle); test on the remaining target images, every other class of the training
// split and the whole test split; anomaly ⇔ label ≠ target.
OneClassTask thesis_split(const std::vector<int>& train_labels, const std::vector<int>& test_labels,
                          int target, double train_fraction = 0.8);

// Andrews et al. (SPECS.md 1.5): from one pool of labelled images, a fixed test set of
// `test_normal` normal + `test_anomaly` anomalous images (drawn once from `seed`), and
// for each trial `train_normal` training normals drawn from the remaining normals
// (seed + 1 + trial). Draws are uniform over the pool's normal (anomalous) images,
// not stratified by digit (the paper does not say). Indices refer to `pool_split`.
OneClassTask andrews_split(const std::vector<int>& pool_labels, const std::vector<int>& normal_classes,
                           const std::vector<int>& anomaly_classes, int trial, uint64_t seed,
                           Split pool_split = Split::Train, int64_t train_normal = 2048,
                           int64_t test_normal = 512, int64_t test_anomaly = 512);

// Lappas et al.'s EIDN (SPECS.md 4.3): one-vs-rest with labelled anomalies. Training
// holds every image of `normal_class` in the training split plus round(fraction · n)
// anomalies drawn uniformly without replacement from the other classes (fixed by
// `seed`; fraction 1, 0.5, 0.1, 0.05, 0.01 in the paper); the test set is the whole
// test split. `allowed_anomaly_classes` (empty = all others) restricts the training
// anomalies, as the paper's unseen-anomaly experiment does.
OneClassTask eidn_split(const std::vector<int>& train_labels, const std::vector<int>& test_labels,
                        int normal_class, double anomaly_fraction, uint64_t seed,
                        const std::vector<int>& allowed_anomaly_classes = {});

// The standard protocol (PANDA, DeepSVDD): train on the training images of
// `normal_class`, test on the whole test split.
OneClassTask one_vs_rest(const std::vector<int>& train_labels, const std::vector<int>& test_labels,
                         int normal_class);

}  // namespace adx::io
