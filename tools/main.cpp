// adx — a from-scratch deep-learning engine for image anomaly detection.
// Exit codes: 0 success, 1 a user error (one line on stderr), 2 an internal failure.
#include <cstdio>
#include <exception>

#include "adx/version.h"
#include "engine/tensor.h"
#include "tools/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"adx: deep anomaly detection in one static binary (engine, models, detectors)"};
  app.set_version_flag("--version", std::string("adx ") + ADX_VERSION_STRING);
  app.require_subcommand(1);
  adx::cli::add_train_command(app);
  adx::cli::add_info_command(app);
  adx::cli::add_bench_command(app);
  adx::cli::add_extract_command(app);
  adx::cli::add_detect_command(app);
  adx::cli::add_experiment_command(app, argc, argv);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  } catch (const adx::Error& e) {
    std::fprintf(stderr, "adx: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "adx: internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}
