#include "experiment/config.h"

#include <fmt/format.h>
#include <fstream>
#include <set>
#include <sstream>

#include "detectors/registry.h"
#include "experiment/runner.h"
#include "io/datasets.h"
#include "io/error.h"

namespace adx::experiment {
namespace {

// Reads typed fields out of a JSON object, naming the file and key in every error and
// refusing keys it does not know (a misspelt key would otherwise be silently ignored).
class Fields {
 public:
  Fields(const Json& j, std::string where) : j_(j), where_(std::move(where)) {
    if (!j.is_object()) fail("", "must be an object");
  }
  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw io::IoError(fmt::format("{}{}{}: {}", where_, key.empty() ? "" : ": ", key, what));
  }
  bool has(const std::string& key) {
    used_.insert(key);
    return j_.contains(key);
  }
  const Json& at(const std::string& key) {
    if (!has(key)) fail(key, "missing");
    return j_.at(key);
  }
  std::string str(const std::string& key, const std::string& fallback) {
    if (!has(key)) return fallback;
    if (!j_[key].is_string()) fail(key, "must be a string");
    return j_[key].get<std::string>();
  }
  double num(const std::string& key, double fallback, double lo, double hi) {
    if (!has(key)) return fallback;
    if (!j_[key].is_number()) fail(key, "must be a number");
    const double v = j_[key].get<double>();
    if (!(v >= lo && v <= hi)) fail(key, fmt::format("{} is outside [{}, {}]", v, lo, hi));
    return v;
  }
  int64_t integer(const std::string& key, int64_t fallback, int64_t lo, int64_t hi) {
    if (!has(key)) return fallback;
    if (!j_[key].is_number_integer()) fail(key, "must be an integer");
    const int64_t v = j_[key].get<int64_t>();
    if (v < lo || v > hi) fail(key, fmt::format("{} is outside [{}, {}]", v, lo, hi));
    return v;
  }
  bool boolean(const std::string& key, bool fallback) {
    if (!has(key)) return fallback;
    if (!j_[key].is_boolean()) fail(key, "must be true or false");
    return j_[key].get<bool>();
  }
  // A list of integers; a single integer is a list of one.
  std::vector<int64_t> int_list(const std::string& key, int64_t lo, int64_t hi) {
    Json v = at(key);
    if (v.is_number_integer()) v = Json::array({v});
    if (!v.is_array() || v.empty()) fail(key, "must be a non-empty list of integers");
    std::vector<int64_t> out;
    for (const Json& x : v) {
      if (!x.is_number_integer()) fail(key, fmt::format("{} is not an integer", x.dump()));
      const int64_t i = x.get<int64_t>();
      if (i < lo || i > hi) fail(key, fmt::format("{} is outside [{}, {}]", i, lo, hi));
      out.push_back(i);
    }
    if (std::set<int64_t>(out.begin(), out.end()).size() != out.size()) fail(key, "lists a value twice");
    return out;
  }
  void check_all_known() const {
    for (auto it = j_.begin(); it != j_.end(); ++it)
      if (!used_.count(it.key())) fail(it.key(), "unknown key");
  }

 private:
  const Json& j_;
  std::string where_;
  std::set<std::string> used_;
};

DatasetConfig parse_dataset(const Json& j, const std::string& where) {
  DatasetConfig d;
  if (j.is_string()) {
    d.name = d.source = j.get<std::string>();
  } else {
    Fields f(j, where);
    d.source = f.str("source", "");
    d.name = f.str("name", d.source);
    d.crop = f.integer("crop", 0, 0, 1024);
    d.size = f.integer("size", 0, 0, 1024);
    d.grey = f.boolean("grey", false);
    d.contrast = static_cast<float>(f.num("contrast", 1, 0, 100));
    d.sharpness = static_cast<float>(f.num("sharpness", 1, 0, 100));
    f.check_all_known();
  }
  const auto& known = io::dataset_names();
  if (std::find(known.begin(), known.end(), d.source) == known.end())
    throw io::IoError(fmt::format("{}: unknown dataset '{}' (known: {})", where, d.source, fmt::join(known, ", ")));
  // USPS is 16×16; the thesis resizes it to 28×28 like MNIST.
  if (d.source == "usps" && d.size == 0) d.size = 28;
  return d;
}

std::string param_string(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "1" : "0";
  return v.dump();
}

MethodConfig parse_method(const Json& j, const std::string& where) {
  Fields f(j, where);
  MethodConfig m;
  m.method = f.str("method", "");
  if (m.method.empty()) f.fail("method", "missing");
  if (f.has("params")) {
    const Json& p = f.at("params");
    if (!p.is_object()) f.fail("params", "must be an object");
    for (auto it = p.begin(); it != p.end(); ++it) m.params[it.key()] = param_string(it.value());
  }
  m.name = f.str("name", m.method + (m.params.count("arch") ? "-" + m.params.at("arch") : ""));
  f.check_all_known();
  if (!m.deep()) {
    const auto& names = detectors::detector_names();
    if (std::find(names.begin(), names.end(), m.method) == names.end() || m.method == "ocsvm-sweep")
      throw io::IoError(fmt::format("{}: unknown method '{}' (fanogan, or one of: {})", where, m.method,
                                    fmt::join(names, ", ")));
  }
  return m;
}

// Sets a dotted key ("seeds", "methods.0.params.arch") to a value given as text.
void apply_override(Json& root, const std::string& item) {
  const size_t eq = item.find('=');
  if (eq == std::string::npos || eq == 0) throw Error(fmt::format("--set '{}': expected key=value", item));
  const std::string key = item.substr(0, eq), text = item.substr(eq + 1);
  Json value = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) value = text;  // a bare string
  Json* node = &root;
  std::stringstream parts(key);
  std::string part;
  std::vector<std::string> path;
  while (std::getline(parts, part, '.')) path.push_back(part);
  for (size_t i = 0; i < path.size(); ++i) {
    const std::string& p = path[i];
    if (node->is_array()) {
      size_t index = 0;
      try {
        index = std::stoul(p);
      } catch (const std::exception&) {
        throw Error(fmt::format("--set '{}': '{}' is a list; expected an index", item, p));
      }
      if (index >= node->size()) throw Error(fmt::format("--set '{}': index {} is past the list's end", item, p));
      node = &(*node)[index];
    } else {
      if (!node->is_object()) throw Error(fmt::format("--set '{}': '{}' is not an object", item, p));
      node = &(*node)[p];
    }
  }
  *node = value;
}

}  // namespace

ExperimentConfig parse_config(const Json& json, const std::string& origin) {
  Fields f(json, origin);
  ExperimentConfig c;
  c.source = json;
  c.name = f.str("name", "experiment");
  c.description = f.str("description", "");
  c.protocol = f.str("protocol", "thesis");
  if (c.protocol != "thesis" && c.protocol != "thesis-val" && c.protocol != "one-vs-rest")
    f.fail("protocol", fmt::format("'{}' is not one of thesis, thesis-val, one-vs-rest", c.protocol));
  const Json& datasets = f.at("datasets");
  if (!datasets.is_array() || datasets.empty()) f.fail("datasets", "must be a non-empty list");
  // Names become folder names: distinct after path_name(), and not "." or "..".
  auto check_name = [&](std::set<std::string>& seen, const std::string& name, const char* key) {
    const std::string folder = path_name(name);
    if (folder.empty() || folder == "." || folder == "..")
      f.fail(key, fmt::format("'{}' cannot be a name (it names folders)", name));
    if (!seen.insert(folder).second)
      f.fail(key, fmt::format("two {} are named '{}' (as folders); give them distinct \"name\"s", key, name));
  };
  std::set<std::string> dataset_names;
  for (size_t i = 0; i < datasets.size(); ++i) {
    c.datasets.push_back(parse_dataset(datasets[i], fmt::format("{}: datasets[{}]", origin, i)));
    check_name(dataset_names, c.datasets.back().name, "datasets");
  }
  if (f.has("classes") && f.at("classes") == "all") {
    for (int k = 0; k < 10; ++k) c.classes.push_back(k);
  } else {
    for (int64_t k : f.int_list("classes", 0, 99)) c.classes.push_back(static_cast<int>(k));
  }
  for (int64_t s : f.int_list("seeds", 0, INT64_MAX)) c.seeds.push_back(static_cast<uint64_t>(s));
  const Json& methods = f.at("methods");
  if (!methods.is_array() || methods.empty()) f.fail("methods", "must be a non-empty list");
  bool any_deep = false;
  std::set<std::string> names;
  for (size_t i = 0; i < methods.size(); ++i) {
    const std::string where = fmt::format("{}: methods[{}]", origin, i);
    c.methods.push_back(parse_method(methods[i], where));
    any_deep |= c.methods.back().deep();
    check_name(names, c.methods.back().name, "methods");
    // Check the params now, not when the method's first run starts hours later.
    try {
      if (c.methods.back().deep()) fanogan_options(c.methods.back(), 1, 0, 1, 28);
      else detectors::make_detector(c.methods.back().method, c.methods.back().params, 0);
    } catch (const Error& e) {
      throw io::IoError(fmt::format("{}: {}", where, e.what()));
    }
  }
  if (any_deep) c.epochs = f.int_list("epochs", 1, 100000);
  else if (f.has("epochs")) f.int_list("epochs", 1, 100000);  // allowed, unused
  c.threshold_percentile = f.num("threshold_percentile", 95, 0, 100);
  c.anomaly_maps = f.integer("anomaly_maps", 8, 0, 64);
  c.train_limit = f.integer("train_limit", 0, 0, INT64_MAX);
  c.test_limit = f.integer("test_limit", 0, 0, INT64_MAX);
  f.check_all_known();
  return c;
}

ExperimentConfig load_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path);
  if (!in) throw io::IoError(fmt::format("{}: cannot open the experiment configuration", path));
  Json json = Json::parse(in, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
  if (json.is_discarded()) throw io::IoError(fmt::format("{}: not valid JSON", path));
  for (const std::string& o : overrides) apply_override(json, o);
  return parse_config(json, path);
}

std::string path_name(const std::string& name) {
  std::string s = name;
  for (char& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_' && ch != '.') ch = '-';
  return s;
}

std::vector<RunSpec> expand_grid(const ExperimentConfig& c) {
  std::vector<RunSpec> runs;
  for (size_t d = 0; d < c.datasets.size(); ++d)
    for (size_t m = 0; m < c.methods.size(); ++m) {
      const std::vector<int64_t> epochs = c.methods[m].deep() ? c.epochs : std::vector<int64_t>{0};
      for (int64_t e : epochs)
        for (uint64_t s : c.seeds)
          for (int k : c.classes) {
            RunSpec r{d, m, k, e, s, ""};
            r.id = fmt::format("{}/{}/class{}/{}seed{}", path_name(c.datasets[d].name),
                               path_name(c.methods[m].name), k, e ? fmt::format("e{}/", e) : "", s);
            runs.push_back(r);
          }
    }
  return runs;
}

Json run_settings(const ExperimentConfig& c, const RunSpec& r) {
  const DatasetConfig& d = c.datasets[r.dataset];
  const MethodConfig& m = c.methods[r.method];
  return Json{{"protocol", c.protocol},
              {"dataset", {{"name", d.name}, {"source", d.source}, {"crop", d.crop}, {"size", d.size}, {"grey", d.grey},
                           {"contrast", d.contrast}, {"sharpness", d.sharpness}}},
              {"method", {{"name", m.name}, {"method", m.method}, {"params", m.params}}},
              {"train_limit", c.train_limit},
              {"test_limit", c.test_limit},
              {"threshold_percentile", c.threshold_percentile},
              {"normal_class", r.normal_class},
              {"epochs", r.epochs},
              {"seed", r.seed}};
}

namespace {
std::string difference_at(const Json& before, const Json& now, const std::string& path) {
  if (before == now) return "";
  if (before.is_object() && now.is_object()) {
    std::set<std::string> keys;
    for (auto it = before.begin(); it != before.end(); ++it) keys.insert(it.key());
    for (auto it = now.begin(); it != now.end(); ++it) keys.insert(it.key());
    for (const std::string& k : keys) {
      const std::string d = difference_at(before.value(k, Json()), now.value(k, Json()), path.empty() ? k : path + "." + k);
      if (!d.empty()) return d;
    }
  }
  return fmt::format("{}: {} then, {} now", path.empty() ? "settings" : path, before.dump(), now.dump());
}
}  // namespace

std::string settings_difference(const Json& before, const Json& now) { return difference_at(before, now, ""); }

}  // namespace adx::experiment
