// `adx detect`: fit a classical detector on TRAIN, score TEST, write the scores.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <memory>
#include <unistd.h>

#include "detectors/andrews_sweep.h"
#include "detectors/metrics.h"
#include "detectors/registry.h"
#include "engine/cpu/parallel.h"
#include "io/features.h"
#include "tools/commands.h"

namespace adx::cli {
namespace {

struct DetectArgs {
  std::string method;
  std::vector<std::string> params;
  std::string train, test, out;
  uint64_t seed = 0;
  int threads = 0;
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// True when the CSV's first line names a column "y" (the labels).
bool csv_has_label_column(const std::string& path) {
  std::ifstream in(path);
  std::string header;
  std::getline(in, header);
  size_t start = 0;
  while (start <= header.size()) {
    const size_t comma = std::min(header.find(',', start), header.size());
    std::string field = header.substr(start, comma - start);
    while (!field.empty() && (field.back() == '\r' || field.back() == ' ')) field.pop_back();
    if (field == "y" || field == "\"y\"") return true;
    start = comma + 1;
  }
  return false;
}

io::FeatureMatrix read_matrix(const std::string& path) {
  if (ends_with(path, ".csv")) {
    io::CsvOptions opt;
    if (csv_has_label_column(path)) opt.label_column = "y";
    return io::read_features_csv(path, opt);
  }
  return io::read_features_h5(path);
}

// One score per line under a header, written to a temporary file and renamed.
void write_scores(const std::string& path, const Tensor& scores) {
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(tmp);
    if (!out) throw Error(path + ": cannot write (is the folder there and writable?)");
    out << "score\n";
    char buf[32];
    for (int64_t i = 0; i < scores.numel(); ++i) {
      std::snprintf(buf, sizeof buf, "%.9g\n", static_cast<double>(scores.data()[i]));
      out << buf;
    }
    out.flush();
    if (!out) {
      std::filesystem::remove(tmp);
      throw Error(path + ": write failed (disk full?)");
    }
  }
  std::filesystem::rename(tmp, path);
}

void run(const DetectArgs& a) {
  if (a.threads > 0) cpu::set_num_threads(a.threads);
  const io::FeatureMatrix train = read_matrix(a.train), test = read_matrix(a.test);
  if (train.x.size(1) != test.x.size(1))
    throw Error(fmt::format("{} has {} features per row but {} has {}", a.train, train.x.size(1), a.test, test.x.size(1)));
  const auto start = std::chrono::steady_clock::now();
  auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  Tensor scores;
  if (a.method == "ocsvm-sweep") {
    if (!a.params.empty()) throw Error("ocsvm-sweep takes no parameters (linear kernel, 21 nu in [0.01, 0.99])");
    if (test.y.empty()) throw Error(a.test + ": ocsvm-sweep reports AUROC and needs labels y");
    detectors::SweepResult r = detectors::andrews_ocsvm_sweep(train.x, test.x, test.y);
    for (size_t i = 0; i < r.nu.size(); ++i) fmt::print("nu {:.3f}  AUROC {:.4f}\n", r.nu[i], r.auroc[i]);
    fmt::print("mean AUROC over {} values of nu: {:.4f} (scores written: nu = 0.5)\n", r.nu.size(), r.mean_auroc);
    scores = r.median_scores;
  } else {
    auto detector = detectors::make_detector(a.method, detectors::parse_params(a.params), a.seed);
    detector->fit(train.x);
    scores = detector->score(test.x);
  }
  const double elapsed = seconds();
  write_scores(a.out, scores);
  fmt::print("{}: fit on {} × {}, scored {} rows in {:.3f} s; scores in {}\n", a.method, train.x.size(0),
             train.x.size(1), test.x.size(0), elapsed, a.out);
  if (!test.y.empty()) {
    const std::vector<int>& y = test.y;
    for (int v : y)
      if (v != 0 && v != 1) throw Error(a.test + ": labels y must be 0 (normal) or 1 (anomaly)");
    fmt::print("AUROC {:.4f}  AUPRC {:.4f}  ({} normal, {} anomalous)\n", detectors::auroc(scores, y),
               detectors::average_precision(scores, y), std::count(y.begin(), y.end(), 0),
               std::count(y.begin(), y.end(), 1));
  }
}

}  // namespace

void add_detect_command(CLI::App& app) {
  auto args = std::make_shared<DetectArgs>();
  CLI::App* cmd = app.add_subcommand("detect", "Fit a classical detector on TRAIN and score TEST (higher = more anomalous)");
  cmd->add_option("--method", args->method,
                  "ocsvm, ocsvm-sweep (Andrews: linear, unit-length, AUROC averaged over 21 nu), iforest, knn, "
                  "kmeans, mean, pca, gmm")->required();
  cmd->add_option("--param", args->params,
                  "key=value, repeatable: ocsvm kernel=linear|rbf nu gamma=scale|x; iforest n_estimators "
                  "max_samples; knn k aggregate=mean|kth; kmeans k n_init; pca components whiten=0|1; gmm components");
  cmd->add_option("--train", args->train, "training features: HDF5 (dataset x, N×D) or CSV")->required()->check(CLI::ExistingFile);
  cmd->add_option("--test", args->test, "test features: HDF5 (x, optional y: 0 normal, 1 anomaly) or CSV (column y)")
      ->required()->check(CLI::ExistingFile);
  cmd->add_option("--out", args->out, "scores CSV (header 'score', one row per test row)")->required();
  cmd->add_option("--seed", args->seed, "seed for iforest, kmeans, gmm")->capture_default_str();
  cmd->add_option("--threads", args->threads, "CPU threads (0 = OpenMP's default)")->capture_default_str();
  cmd->callback([args] { run(*args); });
}

}  // namespace adx::cli
