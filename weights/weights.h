// The adx weight format (docs/weights-format.md): one HDF5 file, one float32
// dataset per tensor at the slash path of its dotted name (layer1.0.conv1.weight →
// /layer1/0/conv1/weight), in the engine's layout, with provenance attributes on
// the root. Functions take named tensors (Module::named_parameters() and
// named_buffers() give them), so this library needs only the engine.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/random.h"
#include "engine/tensor.h"

namespace adx::weights {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
using Attributes = std::map<std::string, std::string>;

constexpr const char* kFormatName = "adx-weights";
constexpr int64_t kFormatVersion = 1;

std::string to_h5_path(const std::string& dotted_name);
std::string to_dotted_name(const std::string& h5_path);

// Writes `tensors` under `group` of a new file, atomically: a temporary file in the
// same folder, flushed and fsync'ed, then renamed over `path`. A failure leaves no
// file behind (and an existing file untouched).
void save(const std::string& path, const NamedTensors& tensors, const Attributes& attributes = {});

struct LoadOptions {
  // Tensors in the file that the model does not have: an error unless allowed.
  bool allow_unexpected = false;
  // Model tensors absent from the file: an error unless allowed (they keep their values).
  bool allow_missing = false;
};

// Copies every tensor of the file into the tensor of the same name. Every missing,
// unexpected or wrongly shaped tensor is reported by name in one error; NaN or Inf
// in the file is an error naming the tensor. Nothing is modified unless all checks pass.
void load(const std::string& path, const NamedTensors& into, const LoadOptions& options = {});

// The root attributes of a weight file or checkpoint (format, source, converter, kind,
// method, arch, options, ...) that are present.
Attributes read_attributes(const std::string& path);

// Checkpoints: model tensors under /model, optimiser state under /optimizer, the
// generator under /rng, and integer counters (step, epoch, ...) as root attributes.
struct Checkpoint {
  NamedTensors model;
  NamedTensors optimizer;
  std::map<std::string, int64_t> counters;
  Generator::State rng;
  Attributes attributes;
};
void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);
// Reads a checkpoint: model tensors are copied into `model_into` (checked as load()
// checks them), optimiser state and counters are returned.
Checkpoint load_checkpoint(const std::string& path, const NamedTensors& model_into);

}  // namespace adx::weights
