// The adx command line: one executable, subcommands in the style of git.
#pragma once

#include <CLI/CLI.hpp>

namespace adx::cli {

// Each subcommand registers its options and a callback that runs it.
void add_train_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_extract_command(CLI::App& app);
void add_detect_command(CLI::App& app);
// argc/argv: the command line, recorded in the results so that they say how to reproduce them.
void add_experiment_command(CLI::App& app, int argc, char** argv);

}  // namespace adx::cli
