// The workloads of `adx bench`, with exactly the architectures of the CPU-speed
// issue so that tools/bench/torch_bench.py runs the same in PyTorch.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace adx::bench {

struct Workload {
  std::string name;
  int64_t default_batch;
  std::string description;
  // Builds the networks and data for `batch` and returns one iteration.
  std::function<std::function<void()>(int64_t batch)> setup;
};

const std::vector<Workload>& workloads();
const Workload& find_workload(const std::string& name);

}  // namespace adx::bench
