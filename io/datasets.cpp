#include "io/datasets.h"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>

#include "io/cifar.h"
#include "io/error.h"
#include "io/svhn.h"
#include "io/usps.h"

namespace adx::io {

const std::vector<std::string>& dataset_names() {
  static const std::vector<std::string> names = {"mnist", "fashion-mnist", "cifar10", "cifar100", "usps", "svhn"};
  return names;
}

bool is_dataset_spec(const std::string& text) {
  const size_t colon = text.find(':');
  if (colon == std::string::npos) return false;
  const std::string name = text.substr(0, colon);
  return std::find(dataset_names().begin(), dataset_names().end(), name) != dataset_names().end();
}

DatasetSpec parse_dataset_spec(const std::string& spec) {
  const size_t colon = spec.find(':');
  std::string known;
  for (const std::string& n : dataset_names()) known += (known.empty() ? "" : ", ") + n;
  if (colon == std::string::npos)
    throw IoError(fmt::format("'{}' is not a data set spec NAME:SPLIT (names: {})", spec, known));
  DatasetSpec s{spec.substr(0, colon), spec.substr(colon + 1)};
  if (std::find(dataset_names().begin(), dataset_names().end(), s.name) == dataset_names().end())
    throw IoError(fmt::format("unknown data set '{}' (names: {})", s.name, known));
  const bool split_ok = s.split == "train" || s.split == "test" || (s.name == "svhn" && s.split == "extra");
  if (!split_ok) throw IoError(fmt::format("'{}': unknown split '{}' (train or test)", spec, s.split));
  return s;
}

LabelledImages load_dataset(const DatasetSpec& spec, const std::string& data_dir) {
  const std::string dir = data_dir + "/" + spec.name;
  if (!std::filesystem::is_directory(dir))
    throw IoError(fmt::format("{}: no such folder (data set '{}'; set ADX_DATA or --data)", dir, spec.name));
  if (spec.name == "mnist" || spec.name == "fashion-mnist") return load_mnist(dir, spec.split);
  if (spec.name == "cifar10") return load_cifar10(dir, spec.split);
  if (spec.name == "cifar100") return load_cifar100(dir, spec.split);
  if (spec.name == "usps") return load_usps(dir, spec.split);
  return load_svhn(dir, spec.split);
}

}  // namespace adx::io
