#include "weights/weights.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <set>

#include "adx/version.h"
#include "io/h5.h"

namespace adx::weights {
namespace h5 = io::h5;
using io::h5::write_atomically;
namespace {

constexpr const char* kModelGroup = "/model";
constexpr const char* kOptimizerGroup = "/optimizer";

void write_header(h5::File& file, const Attributes& attributes) {
  file.set_attribute("/", "format", kFormatName);
  file.set_attribute("/", "format_version", kFormatVersion);
  file.set_attribute("/", "writer", std::string("adx ") + ADX_VERSION_STRING);
  for (const auto& [k, v] : attributes) file.set_attribute("/", k, v);
}

void check_finite(const Tensor& t, const std::string& file, const std::string& name) {
  const float* p = t.data();
  for (int64_t i = 0, n = t.numel(); i < n; ++i)
    if (!std::isfinite(p[i]))
      throw Error(fmt::format("{}: tensor '{}' holds {} at element {}", file, name, p[i], i));
}

// Reads the tensors below `group` into `into`, all-or-nothing.
void load_group(const h5::File& file, const std::string& group, const NamedTensors& into,
                const LoadOptions& options) {
  std::vector<std::string> present = file.datasets(group);
  std::set<std::string> in_file;
  for (const std::string& p : present) in_file.insert(to_dotted_name(p));
  std::vector<std::string> problems;
  std::vector<std::pair<Tensor, Tensor>> copies;  // (destination, value)
  std::set<std::string> wanted;
  for (const auto& [name, dest] : into) {
    wanted.insert(name);
    if (!in_file.count(name)) {
      if (!options.allow_missing) problems.push_back(fmt::format("missing '{}' {}", name, shape_str(dest.shape())));
      continue;
    }
    const std::string path = (group == "/" ? "" : group) + to_h5_path(name);
    const Shape shape = file.shape(path);
    if (shape != dest.shape()) {
      problems.push_back(fmt::format("'{}' has shape {} in the file, {} in the model", name,
                                     shape_str(shape), shape_str(dest.shape())));
      continue;
    }
    Tensor value = file.read(path);
    check_finite(value, file.path(), name);
    copies.emplace_back(dest, value);
  }
  if (!options.allow_unexpected)
    for (const std::string& name : in_file)
      if (!wanted.count(name)) problems.push_back(fmt::format("unexpected '{}'", name));
  if (!problems.empty()) {
    std::string msg = fmt::format("{}: {} problem(s) loading weights:", file.path(), problems.size());
    // All of them for a near miss; the first 20 for a file of another network.
    const size_t shown = std::min<size_t>(problems.size(), 20);
    for (size_t i = 0; i < shown; ++i) msg += "\n  " + problems[i];
    if (shown < problems.size()) msg += fmt::format("\n  ... and {} more (is this the right model?)", problems.size() - shown);
    throw Error(msg);
  }
  for (auto& [dest, value] : copies) {
    Tensor d = dest;
    d.copy_(value);
  }
}

}  // namespace

std::string to_h5_path(const std::string& dotted) {
  std::string p = "/" + dotted;
  std::replace(p.begin(), p.end(), '.', '/');
  return p;
}

std::string to_dotted_name(const std::string& h5_path) {
  std::string n = h5_path;
  if (!n.empty() && n[0] == '/') n.erase(0, 1);
  std::replace(n.begin(), n.end(), '/', '.');
  return n;
}

void save(const std::string& path, const NamedTensors& tensors, const Attributes& attributes) {
  write_atomically(path, [&](h5::File& file) {
    write_header(file, attributes);
    for (const auto& [name, t] : tensors) file.write(to_h5_path(name), t);
  });
}

void load(const std::string& path, const NamedTensors& into, const LoadOptions& options) {
  h5::File file = h5::File::open_read(path);
  if (file.has_attribute("/", "format") && file.string_attribute("/", "format") != kFormatName)
    throw Error(path + ": not an adx weight file (format attribute is '" +
                file.string_attribute("/", "format") + "')");
  load_group(file, "/", into, options);
}

Attributes read_attributes(const std::string& path) {
  h5::File file = h5::File::open_read(path);
  Attributes out;
  for (const char* key : {"format", "writer", "source", "converter", "model", "kind", "method", "arch", "options"})
    if (file.has_attribute("/", key)) out[key] = file.string_attribute("/", key);
  if (file.has_attribute("/", "format_version"))
    out["format_version"] = std::to_string(file.int_attribute("/", "format_version"));
  return out;
}

void save_checkpoint(const std::string& path, const Checkpoint& c) {
  write_atomically(path, [&](h5::File& file) {
    Attributes attributes = c.attributes;
    attributes["kind"] = "checkpoint";
    write_header(file, attributes);
    for (const auto& [name, t] : c.model) file.write(kModelGroup + to_h5_path(name), t);
    for (const auto& [name, t] : c.optimizer) file.write(kOptimizerGroup + to_h5_path(name), t);
    const Generator::State& r = c.rng;
    file.write_ints("/rng/state", {static_cast<int64_t>(r.seed), static_cast<int64_t>(r.counter),
                                   r.buffer[0], r.buffer[1], r.buffer[2], r.buffer[3], r.cached,
                                   r.has_spare_normal ? 1 : 0});
    file.write("/rng/spare_normal", Tensor::from_data({1}, {r.spare_normal}));
    for (const auto& [k, v] : c.counters) file.set_attribute("/", "counter." + k, v);
    // The counters' names, so that a reader can list them.
    std::string names;
    for (const auto& [k, v] : c.counters) names += (names.empty() ? "" : ",") + k;
    file.set_attribute("/", "counters", names);
  });
}

Checkpoint load_checkpoint(const std::string& path, const NamedTensors& model_into) {
  h5::File file = h5::File::open_read(path);
  if (!file.has_attribute("/", "kind") || file.string_attribute("/", "kind") != "checkpoint")
    throw Error(path + ": not an adx checkpoint");
  Checkpoint c;
  load_group(file, kModelGroup, model_into, {});
  c.model = model_into;
  if (file.has(kOptimizerGroup))
    for (const std::string& p : file.datasets(kOptimizerGroup))
      c.optimizer.emplace_back(to_dotted_name(p), file.read(std::string(kOptimizerGroup) + "/" + p));
  const std::vector<int64_t> r = file.read_ints("/rng/state");
  if (r.size() != 8) throw Error(path + ": /rng/state must hold 8 integers");
  c.rng.seed = static_cast<uint64_t>(r[0]);
  c.rng.counter = static_cast<uint64_t>(r[1]);
  for (int i = 0; i < 4; ++i) c.rng.buffer[static_cast<size_t>(i)] = static_cast<uint32_t>(r[static_cast<size_t>(2 + i)]);
  c.rng.cached = static_cast<int>(r[6]);
  c.rng.has_spare_normal = r[7] != 0;
  c.rng.spare_normal = file.read("/rng/spare_normal").data()[0];
  const std::string names = file.has_attribute("/", "counters") ? file.string_attribute("/", "counters") : "";
  for (size_t at = 0; at < names.size();) {
    const size_t comma = std::min(names.find(',', at), names.size());
    const std::string k = names.substr(at, comma - at);
    c.counters[k] = file.int_attribute("/", "counter." + k);
    at = comma + 1;
  }
  return c;
}

}  // namespace adx::weights
