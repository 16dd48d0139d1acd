// `adx bench WORKLOAD`: a warm-up, then K timed iterations; one JSON line on stdout.
#include <chrono>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/resource.h>

#include "engine/cpu/parallel.h"
#include "engine/cuda/memory.h"
#include "engine/cuda/runtime.h"
#include "engine/memory.h"
#include "engine/random.h"
#include "tools/bench_workloads.h"
#include "tools/commands.h"
#include "tools/heap_counter.h"

namespace adx::cli {
namespace {

struct BenchArgs {
  std::string workload;
  int64_t batch = 0;
  int threads = 0;
  int64_t iters = 20;
  int64_t warmup = 3;
  std::string device = "cpu";
  bool tf32 = false;
  bool verbose = false;
  bool trace_allocs = false;
  bool list = false;
};

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

void run(const BenchArgs& a) {
  if (a.list || a.workload.empty()) {
    for (const bench::Workload& w : bench::workloads())
      fmt::print("{:20} batch {:5}  {}\n", w.name, w.default_batch, w.description);
    return;
  }
  const bench::Workload& w = bench::find_workload(a.workload);
  if (a.threads > 0) cpu::set_num_threads(a.threads);
  manual_seed(1);
  const int64_t batch = a.batch > 0 ? a.batch : w.default_batch;
  const Device device = Device::parse(a.device, "--device");
  cuda::set_allow_tf32(a.tf32);
  // A GPU runs the queued work later: wait for it before reading the clock.
  auto wait = [&] {
    if (device.is_cuda()) cuda::synchronize(device.index);
  };
  std::function<void()> step = w.setup(batch, device);
  for (int64_t i = 0; i < a.warmup; ++i) step();
  wait();
  const AllocationStats before = allocation_stats();
  const cuda::DeviceMemoryStats device_before = device.is_cuda() ? cuda::device_memory_stats(device.index)
                                                                 : cuda::DeviceMemoryStats{};
  const uint64_t heap_before = heap_allocations();
  const auto start = std::chrono::steady_clock::now();
  trace_heap_allocations(a.trace_allocs);
  for (int64_t i = 0; i < a.iters; ++i) step();
  wait();
  trace_heap_allocations(false);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const AllocationStats after = allocation_stats();
  const uint64_t heap_after = heap_allocations();

  const double ms = 1e3 * seconds / static_cast<double>(a.iters);
  nlohmann::ordered_json out;
  out["workload"] = w.name;
  out["device"] = device.str();
  if (a.tf32) out["tf32"] = true;
  if (w.name == "gemm") {
    out["n"] = batch;
    out["threads"] = cpu::num_threads();
    out["gflops"] = 2.0 * static_cast<double>(batch) * batch * batch / (ms * 1e-3) / 1e9;
  } else {
    out["batch"] = batch;
    out["threads"] = cpu::num_threads();
    out["items_per_s"] = static_cast<double>(batch) / (ms * 1e-3);
  }
  out["ms_per_iter"] = ms;
  if (a.verbose) {
    const double iters = static_cast<double>(a.iters);
    // Tensor storages asked for per step, and how many of those reached the system
    // allocator (0 once the caching allocator is warm).
    out["tensor_allocs_per_iter"] = static_cast<double>(after.requests - before.requests) / iters;
    out["system_allocs_per_iter"] = static_cast<double>(after.system_allocs - before.system_allocs) / iters;
    out["tensor_mb_per_iter"] = static_cast<double>(after.bytes - before.bytes) / 1048576.0 / iters;
    // Every operator new (autograd nodes, shared pointers, index lists, ...).
    out["heap_allocs_per_iter"] = static_cast<double>(heap_after - heap_before) / iters;
    out["peak_tensor_mb"] = static_cast<double>(after.peak_live_bytes) / 1048576.0;
    out["peak_rss_mb"] = peak_rss_mb();
    if (device.is_cuda()) {
      const cuda::DeviceMemoryStats d = cuda::device_memory_stats(device.index);
      out["cuda_mallocs_per_iter"] = static_cast<double>(d.cuda_mallocs - device_before.cuda_mallocs) / iters;
      out["peak_device_mb"] = static_cast<double>(d.peak_live_bytes) / 1048576.0;
    }
  }
  fmt::print("{}\n", out.dump());
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand("bench", "Time a workload; prints one JSON line");
  cmd->add_option("workload", args->workload, "workload name (--list shows them)");
  cmd->add_option("--batch", args->batch, "batch size (for gemm: n); 0 = the workload's default");
  cmd->add_option("--threads", args->threads, "CPU threads (0 = OpenMP's default)");
  cmd->add_option("--device", args->device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_flag("--tf32", args->tf32, "on a GPU, let cuBLAS and cuDNN use TF32 tensor cores (default: FP32)");
  cmd->add_option("--iters", args->iters, "timed iterations")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--warmup", args->warmup, "untimed iterations first")->capture_default_str();
  cmd->add_flag("--verbose", args->verbose, "add allocation counts and peak memory");
  cmd->add_flag("--trace-allocs", args->trace_allocs,
                "print the call stack of every heap allocation in the timed iterations (stderr)");
  cmd->add_flag("--list", args->list, "list the workloads");
  cmd->callback([args] { run(*args); });
}

}  // namespace adx::cli
