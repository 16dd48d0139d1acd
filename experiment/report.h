// The outputs of an experiment: results.json, results.csv, results.md (the thesis's
// table layout) and ROC curves as PNG, written from the finished runs so far.
#pragma once

#include <string>
#include <vector>

#include "experiment/config.h"
#include "experiment/runner.h"

namespace adx::experiment {

// A text file written atomically (temporary file in the same folder, then rename).
void write_text_file(const std::string& path, const std::string& text);

// The Markdown report: a summary (mean ± std over seeds of the mean over classes, as
// Table 5.1), AUROC per class, and time and memory. `command` is shown as how to
// reproduce it.
std::string markdown_report(const ExperimentConfig& config, const std::vector<RunResult>& results,
                            size_t grid_size, const std::string& command);
std::string csv_report(const std::vector<RunResult>& results);

// Writes results.json, results.csv, results.md and roc/<dataset>-class<k>.png under
// `out_dir`; returns the ROC PNG paths.
std::vector<std::string> write_reports(const ExperimentConfig& config, const std::vector<RunResult>& results,
                                       size_t grid_size, const std::string& out_dir, const std::string& command);

}  // namespace adx::experiment
