#include "detectors/registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <set>

#include "detectors/gmm.h"
#include "detectors/isolation_forest.h"
#include "detectors/kmeans.h"
#include "detectors/knn.h"
#include "detectors/mean_distance.h"
#include "detectors/ocsvm.h"
#include "detectors/pca.h"

namespace adx::detectors {
namespace {

// Reads typed values out of a Params map, remembering which keys were used.
class Reader {
 public:
  Reader(const std::string& method, const Params& p) : method_(method), params_(p) {}

  double number(const std::string& key, double fallback) {
    used_.insert(key);
    auto it = params_.find(key);
    if (it == params_.end()) return fallback;
    try {
      size_t end = 0;
      const double v = std::stod(it->second, &end);
      if (end == it->second.size()) return v;
    } catch (const std::exception&) {
    }
    throw Error(fmt::format("{}: parameter {}={} is not a number", method_, key, it->second));
  }
  int64_t integer(const std::string& key, int64_t fallback, int64_t min) {
    const double v = number(key, static_cast<double>(fallback));
    if (v != static_cast<double>(static_cast<int64_t>(v)) || v < static_cast<double>(min))
      throw Error(fmt::format("{}: parameter {} must be an integer ≥ {}", method_, key, min));
    return static_cast<int64_t>(v);
  }
  std::string choice(const std::string& key, const std::string& fallback, const std::vector<std::string>& allowed) {
    used_.insert(key);
    auto it = params_.find(key);
    const std::string v = it == params_.end() ? fallback : it->second;
    for (const std::string& a : allowed)
      if (a == v) return v;
    throw Error(fmt::format("{}: parameter {}={} is not one of {}", method_, key, v, fmt::join(allowed, ", ")));
  }
  bool has(const std::string& key) const { return params_.count(key) > 0; }
  std::string raw(const std::string& key) {
    used_.insert(key);
    return params_.at(key);
  }
  // Every key given must have been read by the method.
  void finish() const {
    for (const auto& [k, v] : params_)
      if (!used_.count(k))
        throw Error(fmt::format("{}: unknown parameter '{}' (accepted: {})", method_, k,
                                used_.empty() ? "none" : fmt::format("{}", fmt::join(used_, ", "))));
  }

 private:
  std::string method_;
  const Params& params_;
  std::set<std::string> used_;
};

}  // namespace

const std::vector<std::string>& detector_names() {
  static const std::vector<std::string> names = {"ocsvm", "ocsvm-sweep", "iforest", "knn", "kmeans", "mean", "pca", "gmm"};
  return names;
}

Params parse_params(const std::vector<std::string>& items) {
  Params p;
  for (const std::string& item : items) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) throw Error(fmt::format("parameter '{}' is not key=value", item));
    if (!p.emplace(item.substr(0, eq), item.substr(eq + 1)).second)
      throw Error(fmt::format("parameter '{}' given twice", item.substr(0, eq)));
  }
  return p;
}

std::unique_ptr<Detector> make_detector(const std::string& method, const Params& params, uint64_t seed) {
  Reader r(method, params);
  std::unique_ptr<Detector> d;
  if (method == "ocsvm") {
    OneClassSvmOptions o;
    o.kernel = r.choice("kernel", "rbf", {"linear", "rbf"}) == "linear" ? SvmKernel::Linear : SvmKernel::Rbf;
    o.nu = r.number("nu", 0.5);
    if (!(o.nu > 0.0 && o.nu <= 1.0)) throw Error("ocsvm: nu must be in (0, 1]");
    if (r.has("gamma") && params.at("gamma") != "scale") {
      o.gamma = r.number("gamma", 0.0);
      if (!(o.gamma > 0.0)) throw Error("ocsvm: gamma must be > 0 (or 'scale')");
    } else if (r.has("gamma")) {
      r.raw("gamma");
    }
    d = std::make_unique<OneClassSvm>(o);
  } else if (method == "iforest") {
    IsolationForestOptions o;
    o.n_estimators = r.integer("n_estimators", 100, 1);
    o.max_samples = r.integer("max_samples", 256, 2);
    o.seed = seed;
    d = std::make_unique<IsolationForest>(o);
  } else if (method == "knn") {
    KnnOptions o;
    o.k = r.integer("k", 5, 1);
    o.aggregate = r.choice("aggregate", "mean", {"mean", "kth"}) == "kth" ? KnnScore::Kth : KnnScore::Mean;
    d = std::make_unique<KnnDetector>(o);
  } else if (method == "kmeans") {
    KMeansOptions o;
    o.k = r.integer("k", 8, 1);
    o.n_init = r.integer("n_init", 10, 1);
    o.seed = seed;
    d = std::make_unique<KMeans>(o);
  } else if (method == "mean") {
    d = std::make_unique<MeanDistance>();
  } else if (method == "pca") {
    PcaOptions o;
    o.components = r.integer("components", 0, 0);
    o.score = r.integer("whiten", 0, 0) ? PcaScore::Whitened : PcaScore::Reconstruction;
    d = std::make_unique<Pca>(o);
  } else if (method == "gmm") {
    GmmOptions o;
    o.components = r.integer("components", 1, 1);
    o.seed = seed;
    d = std::make_unique<GaussianMixture>(o);
  } else {
    throw Error(fmt::format("unknown method '{}' (choose one of: {})", method, fmt::join(detector_names(), ", ")));
  }
  r.finish();
  return d;
}

}  // namespace adx::detectors
