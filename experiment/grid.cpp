#include "experiment/grid.h"

#include <chrono>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <optional>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "engine/clock.h"
#include "experiment/report.h"
#include "io/error.h"

namespace adx::experiment {
namespace {
namespace fs = std::filesystem;

std::string duration(double s) {
  if (!(s >= 0) || s > 1e7) return "?";
  const auto t = static_cast<int64_t>(s + 0.5);
  if (t >= 3600) return fmt::format("{}h{:02d}m", t / 3600, (t % 3600) / 60);
  if (t >= 60) return fmt::format("{}m{:02d}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

// Relative cost of a run, for the grid's ETA: the epochs of both phases, or 1 for a
// classical detector.
double work_of(const ExperimentConfig& c, const RunSpec& r) {
  return c.methods[r.method].deep() ? 2.0 * static_cast<double>(r.epochs) : 1.0;
}

std::optional<RunResult> finished_result(const std::string& file) {
  if (!fs::exists(file)) return std::nullopt;
  std::ifstream in(file);
  const Json j = Json::parse(in, nullptr, false);
  if (j.is_discarded()) throw io::IoError(fmt::format("{}: not valid JSON (delete it to rerun that run)", file));
  return RunResult::from_json(j, file);
}

// Holds an exclusive lock on `dir`/.lock for its lifetime, so that two invocations
// never run the same grid's runs at once (they would overwrite each other's checkpoints).
class FolderLock {
 public:
  explicit FolderLock(const std::string& dir) {
    const std::string path = (fs::path(dir) / ".lock").string();
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd_ < 0) throw io::IoError(fmt::format("{}: cannot create the lock file", path));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      throw io::IoError(fmt::format("{}: another `adx experiment` is running on this folder", dir));
    }
  }
  ~FolderLock() { ::close(fd_); }  // closing releases the lock
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace

std::string result_path(const std::string& out_dir, const RunSpec& run) {
  return (fs::path(out_dir) / "runs" / run.id / "result.json").string();
}

GridSummary run_grid(const ExperimentConfig& config, const GridOptions& o) {
  const std::vector<RunSpec> grid = expand_grid(config);
  GridSummary summary;
  summary.grid_size = grid.size();
  fs::create_directories(o.out_dir);
  const FolderLock lock(o.out_dir);
  write_text_file((fs::path(o.out_dir) / "config.json").string(), config.source.dump(2) + "\n");

  const auto start = Clock::now();
  auto out_of_time = [&] { return o.max_minutes > 0 && seconds_since(start) > 60 * o.max_minutes; };
  const bool tty = isatty(fileno(o.log));
  std::map<size_t, RunResult> finished;  // by grid position
  double work_left = 0, work_done_here = 0, seconds_here = 0;
  for (size_t i = 0; i < grid.size(); ++i) {
    const std::string file = result_path(o.out_dir, grid[i]);
    if (auto r = finished_result(file)) {
      const std::string diff = settings_difference(r->settings, run_settings(config, grid[i]));
      if (!diff.empty())
        throw io::IoError(fmt::format("{}: a result made with other settings ({}); delete its run folder or use "
                                      "another --out", file, diff));
      finished.emplace(i, std::move(*r));
    } else {
      work_left += work_of(config, grid[i]);
    }
  }
  fmt::print(o.log, "experiment {}: {} runs, {} finished before; output in {}\n", config.name, grid.size(),
             finished.size(), o.out_dir);
  auto results = [&] {
    std::vector<RunResult> v;
    for (auto& [i, r] : finished) v.push_back(r);
    return v;
  };

  DataCache data(o.data_dir);
  bool stopped = false;
  for (size_t i = 0; i < grid.size() && !stopped && !o.report_only; ++i) {
    if (finished.count(i)) continue;
    if (summary.ran_now > 0 && out_of_time()) {  // every invocation makes some progress
      fmt::print(o.log, "stopping: --max-minutes {} reached; run the same command again to continue\n", o.max_minutes);
      break;
    }
    const RunSpec& spec = grid[i];
    const std::string head = fmt::format("[run {}/{}] {}", i + 1, grid.size(), spec.id);
    const RunData run_data = data.run_data(config, spec);
    const auto run_start = Clock::now();
    auto last_print = Clock::now() - std::chrono::seconds(10);
    const double run_work = work_of(config, spec);
    // One line rewritten in place on a terminal; a line per epoch in a log file.
    auto progress = [&](const std::string& status, double fraction, bool epoch_done) {
      if (!epoch_done && (!tty || seconds_since(last_print) < 0.5)) return;
      last_print = Clock::now();
      const double elapsed = seconds_since(run_start);
      const double run_eta = fraction > 0.01 ? elapsed * (1 - fraction) / fraction : -1;
      // The grid's ETA from the speed of the work done in this invocation.
      const double speed = (work_done_here + fraction * run_work) / std::max(1e-9, seconds_here + elapsed);
      const double grid_eta = speed > 0 ? (work_left - fraction * run_work) / speed : -1;
      fmt::print(o.log, "{}{} {} | run ETA {} | grid ETA {}{}", tty ? "\r\033[K" : "", head, status,
                 duration(run_eta), duration(grid_eta), tty ? "" : "\n");
      std::fflush(o.log);
    };
    RunResult r;
    try {
      r = execute_run(config, spec, run_data, o.out_dir, progress, out_of_time);
    } catch (const StopRequested&) {
      fmt::print(o.log, "{}stopping: --max-minutes {} reached during {}; its checkpoint is saved, run the same "
                        "command again to continue\n", tty ? "\n" : "", o.max_minutes, spec.id);
      stopped = true;
      break;
    } catch (const Error& e) {
      if (tty) fmt::print(o.log, "\n");
      throw Error(fmt::format("{}: {}", spec.id, e.what()));
    }
    write_text_file(result_path(o.out_dir, spec), r.to_json().dump(1) + "\n");
    std::error_code ec;
    fs::remove(fs::path(o.out_dir) / "runs" / spec.id / "checkpoint.h5", ec);  // the result is what a finished run keeps
    const double elapsed = seconds_since(run_start);
    seconds_here += elapsed;
    work_done_here += run_work;
    work_left -= run_work;
    fmt::print(o.log, "{}{} AUROC {:.4f} AUPRC {:.4f} precision {:.4f} recall {:.4f} (train {}, score {})\n",
               tty ? "\r\033[K" : "", head, r.auroc, r.auprc, r.precision, r.recall, duration(r.train_seconds),
               duration(r.score_seconds));
    finished.emplace(i, std::move(r));
    ++summary.ran_now;
    summary.roc_pngs = write_reports(config, results(), grid.size(), o.out_dir, o.command);
  }
  summary.results = results();
  if (!summary.results.empty()) summary.roc_pngs = write_reports(config, summary.results, grid.size(), o.out_dir, o.command);
  summary.complete = summary.results.size() == grid.size();
  return summary;
}

}  // namespace adx::experiment
