// Data sets by name: "mnist:test", "cifar10:train", ... resolved under a data directory
// laid out as ../shared/data is (see its README).
#pragma once

#include <string>
#include <vector>

#include "io/idx.h"

namespace adx::io {

struct DatasetSpec {
  std::string name;   // mnist, fashion-mnist, cifar10, cifar100, usps, svhn
  std::string split;  // train or test (svhn: also extra)
};

// Parses "NAME:SPLIT"; throws an IoError listing the known names on a bad spec.
DatasetSpec parse_dataset_spec(const std::string& spec);
// True when `text` looks like a spec rather than a file path.
bool is_dataset_spec(const std::string& text);
// Loads the images (N, C, H, W) in [0, 1] and labels of a spec from `data_dir`.
LabelledImages load_dataset(const DatasetSpec& spec, const std::string& data_dir);
const std::vector<std::string>& dataset_names();

}  // namespace adx::io
