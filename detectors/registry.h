// Classical detectors by name with key=value parameters, for `adx detect` and the
// experiment harness. Unknown methods, unknown keys and bad values are errors that
// list what is accepted.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "detectors/detector.h"

namespace adx::detectors {

using Params = std::map<std::string, std::string>;

// ocsvm (kernel=linear|rbf, nu, gamma=scale|number), iforest (n_estimators,
// max_samples), knn (k, aggregate=mean|kth), kmeans (k, n_init), mean,
// pca (components, whiten=0|1), gmm (components).
std::unique_ptr<Detector> make_detector(const std::string& method, const Params& params, uint64_t seed);
const std::vector<std::string>& detector_names();  // the methods above, plus ocsvm-sweep

// Parses "key=value" strings (as given on the command line).
Params parse_params(const std::vector<std::string>& items);

}  // namespace adx::detectors
