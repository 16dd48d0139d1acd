// `adx experiment CONFIG`: runs a grid of (dataset, class, method, epochs, seed) and
// writes results.json, results.csv, results.md and ROC PNGs. Finished runs are kept in
// runs/<id>/result.json and skipped when the command is run again; an unfinished deep
// run continues from its last end-of-epoch checkpoint.
#include <filesystem>
#include <fmt/format.h>
#include <memory>

#include "engine/cpu/parallel.h"
#include "experiment/config.h"
#include "experiment/grid.h"
#include "experiment/report.h"
#include "experiment/runner.h"
#include "io/data_dir.h"
#include "io/error.h"
#include "tools/commands.h"

namespace adx::cli {
namespace {
namespace fs = std::filesystem;
using namespace adx::experiment;

struct ExperimentArgs {
  std::string config;
  std::string out;
  std::vector<std::string> set;
  std::string data;
  int threads = 0;
  double max_minutes = 0;
  bool list = false;
  bool report = false;
};

// The command line as a shell would need it typed: arguments with characters a shell
// treats specially are single-quoted (a ' inside becomes '\'').
std::string quoted_command(int argc, char** argv) {
  std::string s = "adx";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (!a.empty() && a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") ==
                          std::string::npos) {
      s += " " + a;
      continue;
    }
    std::string q = "'";
    for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    s += " " + q + "'";
  }
  return s;
}

void run(const ExperimentArgs& a, const std::string& command) {
  if (a.threads > 0) cpu::set_num_threads(a.threads);
  const ExperimentConfig config = load_config(a.config, a.set);
  const std::string out = a.out.empty() ? "experiments/out/" + config.name : a.out;
  if (a.list) {
    const std::vector<RunSpec> grid = expand_grid(config);
    for (size_t i = 0; i < grid.size(); ++i)
      fmt::print("{:4d} {} {}\n", i + 1, fs::exists(result_path(out, grid[i])) ? "done" : "todo", grid[i].id);
    return;
  }
  GridOptions options{out, a.data.empty() ? io::data_dir() : a.data, a.max_minutes, command};
  options.report_only = a.report;
  const GridSummary summary = run_grid(config, options);

  // The summary table on stdout, and where everything is.
  const std::string md = markdown_report(config, summary.results, summary.grid_size, "");
  const size_t table = md.find("## Summary"), next = md.find("## AUROC per");
  if (table != std::string::npos) fmt::print("{}", md.substr(table, next - table));
  fmt::print("results: {}/results.md, results.json, results.csv ({} of {} runs finished{})\n", out,
             summary.results.size(), summary.grid_size, summary.complete ? "" : "; run again to continue");
  for (const std::string& p : summary.roc_pngs) fmt::print("ROC curve: {}\n", p);
  for (const RunResult& r : summary.results)
    if (!r.anomaly_map.empty()) fmt::print("anomaly map: {}/{}\n", out, r.anomaly_map);
}

}  // namespace

void add_experiment_command(CLI::App& app, int argc, char** argv) {
  auto args = std::make_shared<ExperimentArgs>();
  CLI::App* cmd = app.add_subcommand(
      "experiment",
      "Run a grid of anomaly-detection runs from a JSON config (docs/experiments.md); resumable");
  cmd->add_option("config", args->config, "experiment configuration (JSON)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out", args->out, "output folder (default: experiments/out/<name>)");
  cmd->add_option("--set", args->set, "override a config key, e.g. --set seeds=[0] --set methods.0.params.arch=conv")
      ->take_all();
  cmd->add_option("--data", args->data, "data directory (default: $ADX_DATA, else ./data)");
  cmd->add_option("--threads", args->threads, "CPU threads (0 = OpenMP's default)")->capture_default_str();
  cmd->add_option("--max-minutes", args->max_minutes,
                  "stop cleanly after this many minutes (at an epoch's end); run again to continue")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--list", args->list, "list the grid's runs and which are finished, then exit");
  cmd->add_flag("--report", args->report,
                "write results.{md,json,csv} and the ROC curves from the finished runs only; run nothing");
  // results.md shows the command that reproduces the results: without --report.
  std::vector<char*> reproduce;
  for (int i = 0; i < argc; ++i)
    if (std::string(argv[i]) != "--report") reproduce.push_back(argv[i]);
  const std::string command = quoted_command(static_cast<int>(reproduce.size()), reproduce.data());
  cmd->callback([args, command] { run(*args, command); });
}

}  // namespace adx::cli
