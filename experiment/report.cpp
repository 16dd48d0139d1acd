#include "experiment/report.h"

#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <set>
#include <tuple>

#include "adx/version.h"
#include "detectors/roc_plot.h"
#include "io/atomic_file.h"
#include "io/error.h"

namespace adx::experiment {
namespace fs = std::filesystem;
namespace {

struct MeanStd {
  double mean = 0, std = 0;
  size_t n = 0;
};

// Sample standard deviation (n − 1), as numpy.std(ddof=1); 0 for one value.
MeanStd mean_std(const std::vector<double>& v) {
  MeanStd m;
  m.n = v.size();
  if (v.empty()) return m;
  for (double x : v) m.mean += x;
  m.mean /= static_cast<double>(v.size());
  if (v.size() > 1) {
    for (double x : v) m.std += (x - m.mean) * (x - m.mean);
    m.std = std::sqrt(m.std / static_cast<double>(v.size() - 1));
  }
  return m;
}

std::string pct(const MeanStd& m) {
  if (m.n == 0) return "–";
  return m.n > 1 ? fmt::format("{:.2f} ± {:.2f}", 100 * m.mean, 100 * m.std) : fmt::format("{:.2f}", 100 * m.mean);
}

// A row of the tables: one method on one dataset, at one epoch setting (0 = all of them
// pooled, the thesis's "average over all epochs"; −1 = a classical method).
using RowKey = std::tuple<std::string, std::string, int64_t>;  // dataset, method, epochs

std::string epochs_label(int64_t e) { return e > 0 ? std::to_string(e) : e == 0 ? "all" : "–"; }

// Per seed: the mean over classes of `metric`; then mean ± std over seeds. Seeds
// with fewer classes than the most complete seed are left out, so that a partial
// grid does not mix different class sets.
MeanStd over_seeds(const std::vector<const RunResult*>& runs, double RunResult::*metric) {
  std::map<uint64_t, std::vector<double>> by_seed;
  for (const RunResult* r : runs) by_seed[r->spec.seed].push_back(r->*metric);
  size_t most = 0;
  for (auto& [s, v] : by_seed) most = std::max(most, v.size());
  std::vector<double> means;
  for (auto& [s, v] : by_seed)
    if (v.size() == most) means.push_back(mean_std(v).mean);
  return mean_std(means);
}

std::map<RowKey, std::vector<const RunResult*>> group_rows(const ExperimentConfig& c, const std::vector<RunResult>& results) {
  std::map<RowKey, std::vector<const RunResult*>> rows;
  std::map<std::string, bool> deep;
  for (const MethodConfig& m : c.methods) deep[m.name] = m.deep();
  for (const RunResult& r : results) {
    const bool is_deep = deep.count(r.method) ? deep[r.method] : r.spec.epochs > 0;
    rows[{r.dataset, r.method, is_deep ? r.spec.epochs : -1}].push_back(&r);
    if (is_deep && c.epochs.size() > 1) rows[{r.dataset, r.method, 0}].push_back(&r);
  }
  return rows;
}

std::string fmt_seconds(double s) { return s < 100 ? fmt::format("{:.1f}", s) : fmt::format("{:.0f}", s); }

}  // namespace

void write_text_file(const std::string& path, const std::string& text) { io::write_file_atomically(path, text); }

std::string markdown_report(const ExperimentConfig& c, const std::vector<RunResult>& results, size_t grid_size,
                            const std::string& command) {
  std::string md = fmt::format("# {}\n\n", c.name);
  if (!c.description.empty()) md += c.description + "\n\n";
  md += fmt::format("adx {} · protocol `{}` · {} of {} runs finished · precision and recall at the {}th "
                    "percentile of the training scores · anomalies are the positive class.\n\n",
                    ADX_VERSION_STRING, c.protocol, results.size(), grid_size, c.threshold_percentile);
  if (!command.empty()) md += fmt::format("Reproduce: `{}`\n\n", command);
  const auto rows = group_rows(c, results);

  md += "## Summary (%, mean ± std over seeds of the mean over classes)\n\n";
  md += "| Model | Dataset | Epochs | AUC | Precision | Recall | AUPRC | Runs |\n|---|---|---|---|---|---|---|---|\n";
  for (const auto& [key, runs] : rows) {
    const auto& [dataset, method, epochs] = key;
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} |\n", method, dataset, epochs_label(epochs),
                      pct(over_seeds(runs, &RunResult::auroc)), pct(over_seeds(runs, &RunResult::precision)),
                      pct(over_seeds(runs, &RunResult::recall)), pct(over_seeds(runs, &RunResult::auprc)),
                      runs.size());
  }
  md += "\n";
  if (c.epochs.size() > 1)
    md += "Epochs `all` pools every epoch setting, as the thesis's Table 5.1 averages \"across all epochs\".\n\n";

  std::set<int> classes(c.classes.begin(), c.classes.end());
  md += "## AUROC per normal class (%, mean ± std over seeds)\n\n| Model | Dataset | Epochs |";
  for (int k : classes) md += fmt::format(" {} |", k);
  md += " mean |\n|---|---|---|";
  for (size_t i = 0; i <= classes.size(); ++i) md += "---|";
  md += "\n";
  for (const auto& [key, runs] : rows) {
    const auto& [dataset, method, epochs] = key;
    md += fmt::format("| {} | {} | {} |", method, dataset, epochs_label(epochs));
    for (int k : classes) {
      std::vector<double> v;
      for (const RunResult* r : runs)
        if (r->spec.normal_class == k) v.push_back(r->auroc);
      md += fmt::format(" {} |", pct(mean_std(v)));
    }
    md += fmt::format(" {} |\n", pct(over_seeds(runs, &RunResult::auroc)));
  }

  // Every run's AUROC: one row per (method, dataset, epochs, seed).
  std::map<std::tuple<std::string, std::string, int64_t, uint64_t>, std::map<int, double>> by_seed;
  for (const RunResult& r : results) by_seed[{r.method, r.dataset, r.spec.epochs, r.spec.seed}][r.spec.normal_class] = r.auroc;
  md += "\n## AUROC per normal class and seed (%)\n\n| Model | Dataset | Epochs | Seed |";
  for (int k : classes) md += fmt::format(" {} |", k);
  md += "\n|---|---|---|---|";
  for (size_t i = 0; i < classes.size(); ++i) md += "---|";
  md += "\n";
  for (const auto& [key, aurocs] : by_seed) {
    const auto& [method, dataset, epochs, seed] = key;
    md += fmt::format("| {} | {} | {} | {} |", method, dataset, epochs > 0 ? std::to_string(epochs) : "–", seed);
    for (int k : classes) md += aurocs.count(k) ? fmt::format(" {:.2f} |", 100 * aurocs.at(k)) : " – |";
    md += "\n";
  }

  md += "\n## Time and memory (mean per run)\n\n"
        "| Model | Dataset | Epochs | Train s | Train images/s | Score s | Peak tensor MB | Peak RSS MB |\n"
        "|---|---|---|---|---|---|---|---|\n";
  for (const auto& [key, runs] : rows) {
    const auto& [dataset, method, epochs] = key;
    if (epochs == 0) continue;
    auto avg = [&](double RunResult::*f) {
      double s = 0;
      for (const RunResult* r : runs) s += r->*f;
      return s / static_cast<double>(runs.size());
    };
    const double ips = avg(&RunResult::train_images_per_s);
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {:.0f} | {:.0f} |\n", method, dataset, epochs_label(epochs),
                      fmt_seconds(avg(&RunResult::train_seconds)), ips > 0 ? fmt::format("{:.0f}", ips) : "–",
                      fmt_seconds(avg(&RunResult::score_seconds)), avg(&RunResult::peak_tensor_mb),
                      avg(&RunResult::peak_rss_mb));
  }
  return md;
}

// An empty cell for a value a method does not have.
static std::string csv_optional(double v) { return std::isfinite(v) ? fmt::format("{:.6f}", v) : ""; }

// A text field as RFC 4180 has it: quoted when it holds a comma, a quote or a line
// break (method names are free text: "f-AnoGAN mlp, pixel score"), quotes doubled.
static std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string csv_report(const std::vector<RunResult>& results) {
  std::string csv =
      "id,dataset,method,normal_class,epochs,seed,n_train,n_test_normal,n_test_anomaly,auroc,auprc,auroc_pixel,"
      "auroc_feature,threshold,precision,recall,f1,train_seconds,score_seconds,train_images_per_s,peak_tensor_mb,peak_rss_mb\n";
  for (const RunResult& r : results)
    csv += fmt::format(
        "{},{},{},{},{},{},{},{},{},{:.6f},{:.6f},{},{},{:.6g},{:.6f},{:.6f},{:.6f},{:.3f},{:.3f},{:.1f},{:.1f},{:.1f}\n",
        csv_field(r.spec.id), csv_field(r.dataset), csv_field(r.method), r.spec.normal_class, r.spec.epochs,
        r.spec.seed, r.n_train, r.n_test_normal, r.n_test_anomaly, r.auroc, r.auprc, csv_optional(r.auroc_pixel),
        csv_optional(r.auroc_feature), r.threshold, r.precision, r.recall, r.f1, r.train_seconds, r.score_seconds,
        r.train_images_per_s, r.peak_tensor_mb, r.peak_rss_mb);
  return csv;
}

std::vector<std::string> write_reports(const ExperimentConfig& c, const std::vector<RunResult>& results,
                                       size_t grid_size, const std::string& out_dir, const std::string& command) {
  fs::create_directories(fs::path(out_dir) / "roc");
  Json runs = Json::array();
  for (const RunResult& r : results) runs.push_back(r.to_json());
  const Json all{{"adx_version", ADX_VERSION_STRING}, {"config", c.source}, {"grid_size", grid_size},
                 {"command", command}, {"runs", runs}};
  write_text_file((fs::path(out_dir) / "results.json").string(), all.dump(1) + "\n");
  write_text_file((fs::path(out_dir) / "results.csv").string(), csv_report(results));
  write_text_file((fs::path(out_dir) / "results.md").string(), markdown_report(c, results, grid_size, command));

  // One plot per (dataset, class): a curve per method and epoch setting, lowest seed.
  std::map<std::pair<std::string, int>, std::map<std::string, const RunResult*>> plots;
  for (const RunResult& r : results) {
    const std::string label = r.spec.epochs > 0 ? fmt::format("{} {} ep", r.method, r.spec.epochs) : r.method;
    const RunResult*& slot = plots[{r.dataset, r.spec.normal_class}][label];
    if (!slot || r.spec.seed < slot->spec.seed) slot = &r;
  }
  std::vector<std::string> paths;
  for (const auto& [key, curves] : plots) {
    std::vector<detectors::RocSeries> series;
    for (const auto& [label, r] : curves) series.push_back({label, r->roc_fpr, r->roc_tpr, r->auroc});
    const std::string path = (fs::path(out_dir) / "roc" / fmt::format("{}-class{}.png", path_name(key.first), key.second)).string();
    detectors::write_roc_png(path, series, fmt::format("{}, normal class {}", key.first, key.second));
    paths.push_back(path);
  }
  return paths;
}

}  // namespace adx::experiment
