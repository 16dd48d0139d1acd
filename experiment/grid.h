// Running a whole grid: finished runs (runs/<id>/result.json) are read back and
// skipped, an unfinished deep run continues from its checkpoint, and the reports are
// rewritten after every run so that a grid computed in chunks always shows its
// results so far.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "experiment/config.h"
#include "experiment/runner.h"

namespace adx::experiment {

struct GridOptions {
  std::string out_dir;
  std::string data_dir;
  double max_minutes = 0;  // stop at the first epoch end after this long (0 = never);
                           // an invocation always finishes at least one epoch first
  std::string command;     // shown in results.md as how to reproduce the results
  std::FILE* log = stderr; // progress lines
  bool report_only = false;  // write the reports from the finished runs; run nothing
};

struct GridSummary {
  std::vector<RunResult> results;  // every finished run, in grid order
  size_t grid_size = 0;
  size_t ran_now = 0;              // runs finished by this call
  bool complete = false;
  std::vector<std::string> roc_pngs;
};

GridSummary run_grid(const ExperimentConfig& config, const GridOptions& options);

// The path of a run's result file under `out_dir`.
std::string result_path(const std::string& out_dir, const RunSpec& run);

}  // namespace adx::experiment
