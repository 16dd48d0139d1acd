// `adx info`: version, build, threads and devices.
#include <fmt/format.h>

#include "adx/version.h"
#include "engine/cpu/parallel.h"
#include "tools/commands.h"

namespace adx::cli {

void add_info_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("info", "Print the version, build and devices");
  cmd->callback([] {
    fmt::print("adx {}\n", ADX_VERSION_STRING);
    fmt::print("cpu threads: {}\n", cpu::num_threads());
    fmt::print("devices: cpu (CUDA backend not built)\n");
  });
}

}  // namespace adx::cli
