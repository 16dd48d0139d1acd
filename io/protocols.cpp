#include "io/protocols.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <numeric>

#include "engine/random.h"
#include "engine/tensor.h"

namespace adx::io {
namespace {

bool contains(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

void check_class_present(const std::vector<int>& labels, int c, const char* what) {
  if (!contains(labels, c)) throw Error(fmt::format("{}: class {} does not occur in the labels", what, c));
}

// k distinct elements of `from`, uniformly, in draw order (partial Fisher–Yates).
std::vector<int64_t> draw(std::vector<int64_t> from, int64_t k, Generator& gen, const char* what) {
  if (k > static_cast<int64_t>(from.size()))
    throw Error(fmt::format("{}: {} samples requested, only {} available", what, k, from.size()));
  for (int64_t i = 0; i < k; ++i) {
    const int64_t j = i + static_cast<int64_t>(gen.below(static_cast<uint64_t>(from.size() - i)));
    std::swap(from[static_cast<size_t>(i)], from[static_cast<size_t>(j)]);
  }
  from.resize(static_cast<size_t>(k));
  return from;
}

void add_all(OneClassTask& t, Split split, const std::vector<int>& labels, int normal_class) {
  for (size_t i = 0; i < labels.size(); ++i) {
    t.test.push_back({split, static_cast<int64_t>(i)});
    t.test_labels.push_back(labels[i] != normal_class);
  }
}

}  // namespace

int64_t OneClassTask::test_normals() const {
  return std::count(test_labels.begin(), test_labels.end(), 0);
}
int64_t OneClassTask::test_anomalies() const {
  return std::count(test_labels.begin(), test_labels.end(), 1);
}

OneClassTask thesis_split(const std::vector<int>& train_labels, const std::vector<int>& test_labels,
                          int target, double fraction) {
  check_class_present(train_labels, target, "thesis_split");
  if (!(fraction > 0.0 && fraction < 1.0)) throw Error("thesis_split: train fraction must be in (0, 1)");
  OneClassTask t;
  t.name = fmt::format("thesis-{}", target);
  std::vector<int64_t> targets;
  for (size_t i = 0; i < train_labels.size(); ++i)
    if (train_labels[i] == target) targets.push_back(static_cast<int64_t>(i));
  // int(len · 0.8), as the reference code's split.
  const auto n_train = static_cast<size_t>(static_cast<double>(targets.size()) * fraction);
  for (size_t k = 0; k < targets.size(); ++k) {
    if (k < n_train) {
      t.train.push_back({Split::Train, targets[k]});
      t.train_labels.push_back(0);
    } else {
      t.test.push_back({Split::Train, targets[k]});
      t.test_labels.push_back(0);
    }
  }
  for (size_t i = 0; i < train_labels.size(); ++i)
    if (train_labels[i] != target) {
      t.test.push_back({Split::Train, static_cast<int64_t>(i)});
      t.test_labels.push_back(1);
    }
  add_all(t, Split::Test, test_labels, target);
  return t;
}

OneClassTask andrews_split(const std::vector<int>& labels, const std::vector<int>& normal_classes,
                           const std::vector<int>& anomaly_classes, int trial, uint64_t seed,
                           Split pool_split, int64_t train_normal, int64_t test_normal,
                           int64_t test_anomaly) {
  std::vector<int64_t> normals, anomalies;
  for (size_t i = 0; i < labels.size(); ++i) {
    const bool n = contains(normal_classes, labels[i]), a = contains(anomaly_classes, labels[i]);
    if (n && a) throw Error(fmt::format("andrews_split: class {} is both normal and anomalous", labels[i]));
    if (n) normals.push_back(static_cast<int64_t>(i));
    if (a) anomalies.push_back(static_cast<int64_t>(i));
  }
  OneClassTask t;
  t.name = fmt::format("andrews-trial{}", trial);
  // The test set is fixed across trials: drawn from `seed` alone.
  Generator test_gen(seed);
  std::vector<int64_t> shuffled = draw(normals, static_cast<int64_t>(normals.size()), test_gen, "andrews_split");
  const std::vector<int64_t> test_n(shuffled.begin(), shuffled.begin() + std::min<int64_t>(test_normal, static_cast<int64_t>(shuffled.size())));
  if (static_cast<int64_t>(test_n.size()) < test_normal)
    throw Error(fmt::format("andrews_split: {} test normals requested, {} available", test_normal, normals.size()));
  const std::vector<int64_t> test_a = draw(anomalies, test_anomaly, test_gen, "andrews_split (anomalies)");
  const std::vector<int64_t> rest(shuffled.begin() + test_normal, shuffled.end());
  Generator train_gen(seed + 1 + static_cast<uint64_t>(trial));
  for (int64_t i : draw(rest, train_normal, train_gen, "andrews_split (training normals)")) {
    t.train.push_back({pool_split, i});
    t.train_labels.push_back(0);
  }
  for (int64_t i : test_n) {
    t.test.push_back({pool_split, i});
    t.test_labels.push_back(0);
  }
  for (int64_t i : test_a) {
    t.test.push_back({pool_split, i});
    t.test_labels.push_back(1);
  }
  return t;
}

OneClassTask eidn_split(const std::vector<int>& train_labels, const std::vector<int>& test_labels,
                        int normal_class, double fraction, uint64_t seed,
                        const std::vector<int>& allowed) {
  check_class_present(train_labels, normal_class, "eidn_split");
  if (!(fraction >= 0.0 && fraction <= 1.0)) throw Error("eidn_split: anomaly fraction must be in [0, 1]");
  OneClassTask t;
  t.name = fmt::format("eidn-{}-{}", normal_class, fraction);
  std::vector<int64_t> candidates;
  for (size_t i = 0; i < train_labels.size(); ++i) {
    const int l = train_labels[i];
    if (l == normal_class) {
      t.train.push_back({Split::Train, static_cast<int64_t>(i)});
      t.train_labels.push_back(0);
    } else if (allowed.empty() || contains(allowed, l)) {
      candidates.push_back(static_cast<int64_t>(i));
    }
  }
  const auto count = static_cast<int64_t>(std::llround(fraction * static_cast<double>(t.train.size())));
  Generator gen(seed);
  std::vector<int64_t> picked = draw(candidates, count, gen, "eidn_split (training anomalies)");
  std::sort(picked.begin(), picked.end());
  for (int64_t i : picked) {
    t.train.push_back({Split::Train, i});
    t.train_labels.push_back(1);
  }
  add_all(t, Split::Test, test_labels, normal_class);
  return t;
}

OneClassTask one_vs_rest(const std::vector<int>& train_labels, const std::vector<int>& test_labels,
                         int normal_class) {
  check_class_present(train_labels, normal_class, "one_vs_rest");
  OneClassTask t;
  t.name = fmt::format("one-vs-rest-{}", normal_class);
  for (size_t i = 0; i < train_labels.size(); ++i)
    if (train_labels[i] == normal_class) {
      t.train.push_back({Split::Train, static_cast<int64_t>(i)});
      t.train_labels.push_back(0);
    }
  add_all(t, Split::Test, test_labels, normal_class);
  return t;
}

}  // namespace adx::io
