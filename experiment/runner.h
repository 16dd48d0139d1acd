// One run of an experiment grid: build the protocol's train and test images, train
// (resuming from a checkpoint if one is there), score, and measure.
#pragma once

#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "detectors/fanogan.h"
#include "experiment/config.h"
#include "io/idx.h"

namespace adx::experiment {

// The images of one run, preprocessed and scaled to [−1, 1].
struct RunData {
  Tensor train;                   // (N, C, H, W), normal images
  Tensor test;                    // (M, C, H, W)
  std::vector<int> test_labels;   // 1 = anomaly
  std::vector<int> test_classes;  // the original class of each test image
};

// Loads each data set once per process (both official splits, preprocessed) and cuts
// runs out of it.
class DataCache {
 public:
  explicit DataCache(std::string data_dir) : dir_(std::move(data_dir)) {}
  RunData run_data(const ExperimentConfig& config, const RunSpec& run);

 private:
  const io::LabelledImages& split(const DatasetConfig& d, const std::string& split);
  std::string dir_;
  std::map<std::string, io::LabelledImages> cache_;
};

struct RunResult {
  RunSpec spec;
  std::string dataset, method;
  int64_t n_train = 0, n_test_normal = 0, n_test_anomaly = 0;
  double auroc = 0, auprc = 0;
  // f-AnoGAN: the AUROC of each term of Eq. 4.3 alone (NaN for other methods).
  double auroc_pixel = std::nan(""), auroc_feature = std::nan("");
  double threshold = 0;  // the threshold_percentile-th percentile of training scores
  double precision = 0, recall = 0, f1 = 0;
  double train_seconds = 0, score_seconds = 0;
  double train_images_per_s = 0;  // images × epochs / second, deep methods
  double peak_tensor_mb = 0;      // peak of live tensor memory during the run
  double peak_rss_mb = 0;         // the process's peak resident memory so far
  std::vector<double> roc_fpr, roc_tpr;  // decimated to at most ~400 points
  std::string anomaly_map;               // PNG path relative to the output folder, or ""
  Json settings;                         // run_settings() of the run that made it
  Json to_json() const;
  static RunResult from_json(const Json& j, const std::string& origin);
};

// What a run reports while it trains: a short status ("GAN epoch 3/20 batch 12/74
// D −1.21 G 0.40") and the fraction of its training done in this invocation.
using RunProgress = std::function<void(const std::string& status, double fraction_done, bool epoch_done)>;

// Thrown out of a run when `should_stop` answered true after an epoch: its checkpoint
// is on disk and the next invocation continues from it.
struct StopRequested : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Executes one run with its files under `out_dir`/runs/<id>/ (checkpoint.h5 while
// training, anomaly_map.png, scores.csv). Returns the result without writing it.
RunResult execute_run(const ExperimentConfig& config, const RunSpec& run, const RunData& data,
                      const std::string& out_dir, const RunProgress& progress,
                      const std::function<bool()>& should_stop);

// f-AnoGAN's options from a method's params (arch, latent, batch, n_critic, gp_lambda,
// lr, beta1, beta2, kappa, encoder_epochs); unknown or malformed params are errors.
detectors::FanoganOptions fanogan_options(const MethodConfig& method, int64_t epochs, uint64_t seed,
                                          int64_t channels, int64_t size);

// The p-th percentile (0–100) with linear interpolation, as numpy.percentile.
double percentile(std::vector<float> values, double p);

}  // namespace adx::experiment
