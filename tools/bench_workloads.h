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
  // Builds the networks and data for `batch` on `device` and returns one iteration
  // (on a GPU it only queues the work: the caller synchronises before reading a clock).
  // Throws adx::Error when the workload cannot run on that device.
  std::function<std::function<void()>(int64_t batch, Device device)> setup;
};

const std::vector<Workload>& workloads();
const Workload& find_workload(const std::string& name);

}  // namespace adx::bench
