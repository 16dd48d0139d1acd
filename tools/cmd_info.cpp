// `adx info`: version, build, threads and devices.
#include <fmt/format.h>

#include "adx/version.h"
#include "engine/cpu/parallel.h"
#include "engine/cuda/runtime.h"
#include "tools/commands.h"

namespace adx::cli {

void add_info_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("info", "Print the version, build and devices");
  cmd->callback([] {
    fmt::print("adx {}\n", ADX_VERSION_STRING);
    fmt::print("cpu threads: {}\n", cpu::num_threads());
    fmt::print("devices: cpu{}\n", cuda::device_count() > 0 ? fmt::format(", {} cuda", cuda::device_count()) : "");
    const cuda::RuntimeInfo c = cuda::runtime_info();
    if (!c.built) {
      fmt::print("cuda: not built\n");
      return;
    }
    fmt::print("cuda: runtime {}.{}, driver {}, cuBLAS {}.{}, cuDNN {}\n", c.runtime_version / 1000,
               (c.runtime_version % 1000) / 10,
               c.driver_version ? fmt::format("{}.{}", c.driver_version / 1000, (c.driver_version % 1000) / 10)
                                : std::string("none"),
               c.cublas_version / 100, c.cublas_version % 100, c.cudnn_version);
    if (c.devices.empty()) fmt::print("cuda devices: none ({})\n", c.unavailable);
    for (const cuda::DeviceInfo& d : c.devices)
      fmt::print("cuda:{}: {} (sm_{}{}, {} SMs, {:.1f} GiB)\n", d.index, d.name, d.compute_major,
                 d.compute_minor, d.multiprocessors, static_cast<double>(d.memory_bytes) / (1 << 30));
  });
}

}  // namespace adx::cli
