// An experiment: a grid of runs (dataset × normal class × method × epochs × seed)
// under one protocol, described in a JSON file (docs/experiments.md has the schema).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace adx::experiment {

using Json = nlohmann::json;

// A data set as the runs see it: a source (mnist, usps, ...) plus preprocessing.
struct DatasetConfig {
  std::string name;    // how results name it (e.g. usps-enhanced)
  std::string source;  // a name io::load_dataset knows
  int64_t crop = 0;    // centre crop to crop×crop first (SVHN: 29, thesis §3.3); 0 = keep
  int64_t size = 0;    // then resize to size×size (bilinear); 0 = keep
  bool grey = false;   // RGB → grey
  float contrast = 1;  // PIL ImageEnhance factors (the thesis's unstated enhancement); 1 = off
  float sharpness = 1;
};

struct MethodConfig {
  std::string name;    // how results name it
  std::string method;  // fanogan, or a classical detector (knn, iforest, ocsvm, ...)
  std::map<std::string, std::string> params;
  bool deep() const { return method == "fanogan"; }
};

struct ExperimentConfig {
  std::string name;
  std::string description;
  std::string protocol = "thesis";  // thesis, thesis-val or one-vs-rest
  std::vector<DatasetConfig> datasets;
  std::vector<int> classes;  // normal classes
  std::vector<uint64_t> seeds;
  std::vector<int64_t> epochs;  // deep methods only
  std::vector<MethodConfig> methods;
  double threshold_percentile = 95;  // of training scores, for precision and recall
  int64_t anomaly_maps = 8;          // normal and anomalous test images shown per map
  int64_t train_limit = 0;           // first N training images only (0 = all)
  int64_t test_limit = 0;            // a fixed random N of the test images (0 = all)
  Json source;                       // the configuration as read, overrides applied
};

// One cell of the grid.
struct RunSpec {
  size_t dataset = 0, method = 0;  // indices into the config
  int normal_class = 0;
  int64_t epochs = 0;  // 0 for classical methods
  uint64_t seed = 0;
  std::string id;  // a path-safe name, unique in the grid: mnist/fanogan-mlp/class0/e20/seed0
};

// Reads `path` and applies "key=value" overrides (key may be dotted, value is JSON or
// else a string), then checks everything; errors name the file and the key.
ExperimentConfig load_config(const std::string& path, const std::vector<std::string>& overrides = {});
ExperimentConfig parse_config(const Json& json, const std::string& origin);

// The runs, in a fixed order: dataset, method, epochs, seed, class (so that a grid
// computed in chunks completes one seed over all classes first). Classical methods
// have no epochs axis.
std::vector<RunSpec> expand_grid(const ExperimentConfig& config);

// `name` as a folder name: characters other than letters, digits, '-', '_' and '.'
// become '-'.
std::string path_name(const std::string& name);

// Everything that determines a run's result: protocol, limits, threshold, the dataset's
// preprocessing, the method and its params, class, epochs and seed. Stored with each
// run's files, so that a finished result or a checkpoint made with other settings is
// refused rather than silently reused.
Json run_settings(const ExperimentConfig& config, const RunSpec& run);
// "" when equal, else the first differing key with both values, for error messages.
std::string settings_difference(const Json& before, const Json& now);

}  // namespace adx::experiment
