#include "experiment/runner.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <fmt/format.h>
#include <sys/resource.h>

#include "detectors/fanogan.h"
#include "detectors/metrics.h"
#include "detectors/registry.h"
#include "engine/clock.h"
#include "engine/memory.h"
#include "engine/ops.h"
#include "engine/random.h"
#include "io/datasets.h"
#include "io/atomic_file.h"
#include "io/error.h"
#include "io/png.h"
#include "io/protocols.h"
#include "io/transforms.h"

namespace adx::experiment {
namespace fs = std::filesystem;
namespace {

constexpr double kCheckpointSeconds = 30;

// runs/<id>/scores.csv: one row per training and test image, so that a score can be
// studied or re-weighted without retraining (label 1 = anomaly; training images are
// all normal). `pixel` and `feature` are f-AnoGAN's two terms of Eq. 4.3.
void write_scores(const std::string& path, const RunData& data, const Tensor& train_scores, const Tensor& test_scores,
                  const std::array<Tensor, 2>& pixel = {}, const std::array<Tensor, 2>& feature = {}) {
  const bool terms = pixel[0].defined();
  std::string csv = terms ? "split,label,score,pixel,feature\n" : "split,label,score\n";
  csv.reserve(static_cast<size_t>(train_scores.numel() + test_scores.numel()) * (terms ? 48 : 24));
  for (int s = 0; s < 2; ++s) {
    const std::vector<float> score = (s ? test_scores : train_scores).to_vector();
    std::vector<float> px, ft;
    if (terms) px = pixel[s].to_vector(), ft = feature[s].to_vector();
    for (size_t i = 0; i < score.size(); ++i) {
      const int label = s ? data.test_labels[i] : 0;
      // {} is the shortest text that reads back as the same float.
      csv += terms ? fmt::format("{},{},{},{},{}\n", s ? "test" : "train", label, score[i], px[i], ft[i])
                   : fmt::format("{},{},{}\n", s ? "test" : "train", label, score[i]);
    }
  }
  io::write_file_atomically(path, csv);
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
}

// Rows `refs` of the two splits, stacked in order.
Tensor gather(const io::LabelledImages& train, const io::LabelledImages& test, const std::vector<io::SampleRef>& refs) {
  Shape shape = train.images.shape();
  shape[0] = static_cast<int64_t>(refs.size());
  Tensor out = Tensor::empty(shape);
  const int64_t row = train.images.numel() / train.images.size(0);
  for (size_t i = 0; i < refs.size(); ++i) {
    const Tensor& src = refs[i].split == io::Split::Train ? train.images : test.images;
    std::memcpy(out.data() + static_cast<int64_t>(i) * row, src.data() + refs[i].index * row,
                sizeof(float) * static_cast<size_t>(row));
  }
  return out;
}

// The protocol's index lists for one normal class.
io::OneClassTask make_task(const std::string& protocol, const io::LabelledImages& train,
                           const io::LabelledImages& test, int normal_class) {
  if (protocol == "thesis") return io::thesis_split(train.labels, test.labels, normal_class);
  if (protocol == "one-vs-rest") return io::one_vs_rest(train.labels, test.labels, normal_class);
  // thesis-val: choosing settings without the official test split. Train on the first
  // 60 % of the class, validate on the next 20 % against the other classes of the
  // training split (the last 20 % of the class is never seen).
  io::OneClassTask t = io::thesis_split(train.labels, test.labels, normal_class, 0.6);
  const int64_t n_class = std::count(train.labels.begin(), train.labels.end(), normal_class);
  const auto n_val = static_cast<int64_t>(static_cast<double>(n_class) * 0.8) - static_cast<int64_t>(t.train.size());
  io::OneClassTask v{"thesis-val-" + std::to_string(normal_class), t.train, t.train_labels, {}, {}};
  int64_t normals = 0;
  for (size_t i = 0; i < t.test.size(); ++i) {
    if (t.test[i].split != io::Split::Train) continue;
    if (t.test_labels[i] == 0 && normals++ >= n_val) continue;
    v.test.push_back(t.test[i]);
    v.test_labels.push_back(t.test_labels[i]);
  }
  return v;
}

// Typed fields of a method's params; unknown keys are errors.
class Params {
 public:
  Params(const MethodConfig& m) : m_(m) {}
  double num(const std::string& key, double fallback) {
    used_.push_back(key);
    auto it = m_.params.find(key);
    if (it == m_.params.end()) return fallback;
    char* end = nullptr;
    const double v = std::strtod(it->second.c_str(), &end);
    if (end == it->second.c_str() || *end || !std::isfinite(v))
      throw Error(fmt::format("method {}: {}={} is not a number", m_.name, key, it->second));
    return v;
  }
  int64_t integer(const std::string& key, int64_t fallback, int64_t min) {
    const double v = num(key, static_cast<double>(fallback));
    if (v != std::floor(v) || v < static_cast<double>(min) || v > 1e9)
      throw Error(fmt::format("method {}: {} must be an integer ≥ {}", m_.name, key, min));
    return static_cast<int64_t>(v);
  }
  std::string str(const std::string& key, const std::string& fallback) {
    used_.push_back(key);
    auto it = m_.params.find(key);
    return it == m_.params.end() ? fallback : it->second;
  }
  void check_all_known() const {
    for (const auto& [k, v] : m_.params)
      if (std::find(used_.begin(), used_.end(), k) == used_.end())
        throw Error(fmt::format("method {}: unknown parameter '{}' (accepted: {})", m_.name, k, fmt::join(used_, ", ")));
  }

 private:
  const MethodConfig& m_;
  std::vector<std::string> used_;
};

// Keeps at most ~400 points of a ROC curve, always its ends: enough to draw it.
void decimate_roc(const detectors::RocCurve& roc, RunResult& r) {
  const size_t n = roc.fpr.size();
  const size_t step = std::max<size_t>(1, n / 400);
  for (size_t i = 0; i < n; i += step) {
    r.roc_fpr.push_back(roc.fpr[i]);
    r.roc_tpr.push_back(roc.tpr[i]);
  }
  if ((n - 1) % step) {
    r.roc_fpr.push_back(roc.fpr.back());
    r.roc_tpr.push_back(roc.tpr.back());
  }
}

// Input, reconstruction and |residual| rows for the first k normal and k anomalous
// test images.
void write_anomaly_map(detectors::Fanogan& model, const RunData& data, int64_t k, const std::string& path) {
  std::vector<int64_t> picks;
  for (int want : {0, 1}) {
    int64_t found = 0;
    for (size_t i = 0; i < data.test_labels.size() && found < k; ++i)
      if (data.test_labels[i] == want) {
        picks.push_back(static_cast<int64_t>(i));
        ++found;
      }
  }
  if (picks.empty()) return;
  const Tensor x = index_select(data.test, 0, picks);
  const Tensor recon = model.reconstruct(x);
  // |x − G(E(x))| lies in [0, 2]; shifted to [−1, 1] so that one range maps all rows.
  const Tensor residual = sub(abs(sub(x, recon)), Tensor::scalar(1.0f));
  io::write_image_grid_png(path, concat({x, recon, residual}, 0), static_cast<int64_t>(picks.size()), -1.0f, 1.0f, 2);
}

}  // namespace

detectors::FanoganOptions fanogan_options(const MethodConfig& m, int64_t epochs, uint64_t seed, int64_t channels,
                                          int64_t size) {
  Params p(m);
  detectors::FanoganOptions o;
  o.shape.arch = p.str("arch", "mlp");
  if (o.shape.arch != "mlp" && o.shape.arch != "conv")
    throw Error(fmt::format("method {}: arch={} is not one of mlp, conv", m.name, o.shape.arch));
  o.shape.channels = channels;
  o.shape.size = size;
  o.shape.latent = p.integer("latent", 100, 1);
  o.epochs = epochs;
  o.encoder_epochs = p.integer("encoder_epochs", -1, -1);  // −1: as many as the GAN's
  o.batch = p.integer("batch", 64, 2);
  o.n_critic = p.integer("n_critic", 5, 1);
  o.gp_lambda = static_cast<float>(p.num("gp_lambda", 10));
  o.lr = static_cast<float>(p.num("lr", 1e-4));
  o.beta1 = static_cast<float>(p.num("beta1", 0.5));
  o.beta2 = static_cast<float>(p.num("beta2", 0.999));
  o.kappa = static_cast<float>(p.num("kappa", 1));
  o.score_kappa = static_cast<float>(p.num("score_kappa", -1));  // −1: as kappa
  if (!(o.score_kappa >= 0 || o.score_kappa == -1))
    throw Error(fmt::format("method {}: score_kappa={} must be ≥ 0 (or −1: the same as kappa)", m.name, o.score_kappa));
  o.seed = seed;
  o.device = Device::parse(p.str("device", "cpu"), fmt::format("method {}: device", m.name));
  p.check_all_known();
  return o;
}

const io::LabelledImages& DataCache::split(const DatasetConfig& d, const std::string& split) {
  const std::string key = d.name + ":" + split;
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  io::LabelledImages set = io::load_dataset({d.source, split}, dir_);
  Tensor& x = set.images;
  if (d.grey && x.size(1) == 3) x = io::rgb_to_grey(x);
  if (d.crop > 0) x = io::center_crop(x, d.crop, d.crop);
  if (d.size > 0 && (x.size(2) != d.size || x.size(3) != d.size)) x = io::resize(x, d.size, d.size);
  // The thesis's enhancement, on [0, 1] images, before scaling to [−1, 1].
  if (d.contrast != 1) x = io::adjust_contrast(clamp(x, 0, 1), d.contrast);
  if (d.sharpness != 1) x = io::adjust_sharpness(clamp(x, 0, 1), d.sharpness);
  x = add(mul(x, Tensor::scalar(2.0f)), Tensor::scalar(-1.0f));  // Normalize([0.5], [0.5])
  return cache_.emplace(key, std::move(set)).first->second;
}

RunData DataCache::run_data(const ExperimentConfig& c, const RunSpec& run) {
  const DatasetConfig& d = c.datasets[run.dataset];
  const io::LabelledImages& train = split(d, "train");
  const io::LabelledImages& test = split(d, "test");
  io::OneClassTask task = make_task(c.protocol, train, test, run.normal_class);
  if (c.train_limit > 0 && static_cast<int64_t>(task.train.size()) > c.train_limit) task.train.resize(static_cast<size_t>(c.train_limit));
  if (c.test_limit > 0 && static_cast<int64_t>(task.test.size()) > c.test_limit) {
    // A fixed random subset (the same for every run of the class), kept in order.
    Generator gen(0x7e57 + static_cast<uint64_t>(run.normal_class));
    std::vector<size_t> order(task.test.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[gen.below(i + 1)]);
    order.resize(static_cast<size_t>(c.test_limit));
    std::sort(order.begin(), order.end());
    io::OneClassTask sub{task.name, task.train, task.train_labels, {}, {}};
    for (size_t i : order) {
      sub.test.push_back(task.test[i]);
      sub.test_labels.push_back(task.test_labels[i]);
    }
    task = std::move(sub);
  }
  if (task.test_normals() == 0 || task.test_anomalies() == 0)
    throw Error(fmt::format("run {}: the test set needs both normal and anomalous images (normal {}, anomalous {})",
                            run.id, task.test_normals(), task.test_anomalies()));
  RunData out;
  out.train = gather(train, test, task.train);
  out.test = gather(train, test, task.test);
  out.test_labels = task.test_labels;
  for (const io::SampleRef& r : task.test)
    out.test_classes.push_back((r.split == io::Split::Train ? train.labels : test.labels)[static_cast<size_t>(r.index)]);
  return out;
}

double percentile(std::vector<float> v, double p) {
  if (v.empty()) throw Error("percentile of no values");
  std::sort(v.begin(), v.end());
  const double pos = p / 100.0 * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (static_cast<double>(v[hi]) - v[lo]);
}

RunResult execute_run(const ExperimentConfig& c, const RunSpec& run, const RunData& data, const std::string& out_dir,
                      const RunProgress& progress, const std::function<bool()>& should_stop) {
  const MethodConfig& m = c.methods[run.method];
  const fs::path dir = fs::path(out_dir) / "runs" / run.id;
  fs::create_directories(dir);
  // The settings this run's files (checkpoint, result) are made with; an existing run
  // folder with other settings is refused rather than resumed.
  const Json settings = run_settings(c, run);
  const fs::path settings_file = dir / "settings.json";
  if (fs::exists(settings_file)) {
    std::ifstream in(settings_file);
    const std::string diff = settings_difference(Json::parse(in, nullptr, false), settings);
    if (!diff.empty())
      throw io::IoError(fmt::format("{}: this run was started with other settings ({}); delete its folder or "
                                    "use another --out", settings_file.string(), diff));
  } else {
    io::write_file_atomically(settings_file.string(), settings.dump(1) + "\n");
  }
  RunResult r;
  r.settings = settings;
  r.spec = run;
  r.dataset = c.datasets[run.dataset].name;
  r.method = m.name;
  r.n_train = data.train.size(0);
  for (int l : data.test_labels) (l ? r.n_test_anomaly : r.n_test_normal)++;
  reset_peak_memory();

  Tensor train_scores, test_scores;
  if (m.deep()) {
    if (data.train.size(2) != data.train.size(3))
      throw Error(fmt::format("f-AnoGAN needs square images, not {}", shape_str(data.train.shape())));
    detectors::Fanogan model(fanogan_options(m, run.epochs, run.seed, data.train.size(1), data.train.size(2)));
    const std::string checkpoint = (dir / "checkpoint.h5").string();
    if (fs::exists(checkpoint)) model.load_checkpoint(checkpoint);
    const auto& o = model.options();
    const double total = static_cast<double>(o.epochs + o.encoder_epochs);
    const double done_before = static_cast<double>(model.gan_epochs_done() + model.encoder_epochs_done());
    auto last_checkpoint = Clock::now();
    model.fit(data.train, [&](const detectors::FanoganProgress& p) {
      const bool gan = p.phase == detectors::FanoganProgress::Phase::Gan;
      const double epochs_done = (gan ? 0 : o.epochs) + p.epoch + (p.epoch_done ? 1.0 : double(p.batch) / double(p.batches));
      const std::string status =
          gan ? fmt::format("GAN epoch {}/{} batch {}/{} D {:.3f} G {:.3f}", p.epoch + 1, p.epochs, p.batch,
                            p.batches, p.critic_loss, p.generator_loss)
              : fmt::format("encoder epoch {}/{} batch {}/{} loss {:.4f}", p.epoch + 1, p.epochs, p.batch,
                            p.batches, p.encoder_loss);
      if (progress) progress(status, (epochs_done - done_before) / std::max(1.0, total - done_before), p.epoch_done);
      if (!p.epoch_done) return;
      // A checkpoint (~30 MB for mlp) after every epoch would cost more than a short
      // epoch itself (USPS: 0.1 s), so one is written every kCheckpointSeconds and
      // always before stopping; resuming from any epoch gives the same model.
      const bool stop = should_stop && should_stop();
      if (stop || seconds_since(last_checkpoint) >= kCheckpointSeconds) {
        model.save_checkpoint(checkpoint);
        last_checkpoint = Clock::now();
      }
      if (stop) throw StopRequested("stopped after an epoch, checkpoint saved");
    });
    r.train_seconds = model.gan_seconds() + model.encoder_seconds();
    r.train_images_per_s = r.train_seconds > 0 ? static_cast<double>(r.n_train) * total / r.train_seconds : 0;
    const auto start = Clock::now();
    const auto train_terms = model.score_terms(data.train);
    const auto test_terms = model.score_terms(data.test);
    train_scores = model.combine(train_terms);  // Eq. 4.3
    test_scores = model.combine(test_terms);
    r.score_seconds = seconds_since(start);
    r.auroc_pixel = detectors::auroc(detectors::score_span(test_terms.pixel), data.test_labels);
    r.auroc_feature = detectors::auroc(detectors::score_span(test_terms.feature), data.test_labels);
    write_scores((dir / "scores.csv").string(), data, train_scores, test_scores, {train_terms.pixel, test_terms.pixel},
                 {train_terms.feature, test_terms.feature});
    if (c.anomaly_maps > 0) {
      write_anomaly_map(model, data, c.anomaly_maps, (dir / "anomaly_map.png").string());
      r.anomaly_map = (fs::path("runs") / run.id / "anomaly_map.png").string();
    }
  } else {
    const Tensor train = data.train.reshape({data.train.size(0), -1});
    const Tensor test = data.test.reshape({data.test.size(0), -1});
    auto detector = detectors::make_detector(m.method, m.params, run.seed);
    if (progress) progress("fitting " + m.method, 0, false);
    auto start = Clock::now();
    detector->fit(train);
    r.train_seconds = seconds_since(start);
    if (progress) progress("scoring " + m.method, 0.5, false);
    start = Clock::now();
    train_scores = detector->training_scores(train);
    test_scores = detector->score(test);
    r.score_seconds = seconds_since(start);
    write_scores((dir / "scores.csv").string(), data, train_scores, test_scores);
  }

  const std::span<const float> scores = detectors::score_span(test_scores);
  r.auroc = detectors::auroc(scores, data.test_labels);
  r.auprc = detectors::average_precision(scores, data.test_labels);
  r.threshold = percentile(train_scores.to_vector(), c.threshold_percentile);
  const auto bm = detectors::metrics_at_threshold(scores, data.test_labels, static_cast<float>(r.threshold));
  r.precision = bm.precision;
  r.recall = bm.recall;
  r.f1 = bm.f1;
  decimate_roc(detectors::roc_curve(scores, data.test_labels), r);
  r.peak_tensor_mb = static_cast<double>(allocation_stats().peak_live_bytes) / (1 << 20);
  r.peak_rss_mb = peak_rss_mb();
  return r;
}

Json RunResult::to_json() const {
  return Json{{"id", spec.id},
              {"dataset", dataset},
              {"method", method},
              {"normal_class", spec.normal_class},
              {"epochs", spec.epochs},
              {"seed", spec.seed},
              {"n_train", n_train},
              {"n_test_normal", n_test_normal},
              {"n_test_anomaly", n_test_anomaly},
              {"auroc", auroc},
              {"auprc", auprc},
              {"auroc_pixel", std::isfinite(auroc_pixel) ? Json(auroc_pixel) : Json()},
              {"auroc_feature", std::isfinite(auroc_feature) ? Json(auroc_feature) : Json()},
              {"threshold", std::isfinite(threshold) ? Json(threshold) : Json(fmt::format("{}", threshold))},
              {"precision", precision},
              {"recall", recall},
              {"f1", f1},
              {"train_seconds", train_seconds},
              {"score_seconds", score_seconds},
              {"train_images_per_s", train_images_per_s},
              {"peak_tensor_mb", peak_tensor_mb},
              {"peak_rss_mb", peak_rss_mb},
              {"anomaly_map", anomaly_map},
              {"settings", settings},
              {"roc_fpr", roc_fpr},
              {"roc_tpr", roc_tpr}};
}

RunResult RunResult::from_json(const Json& j, const std::string& origin) {
  RunResult r;
  try {
    r.spec.id = j.at("id");
    r.dataset = j.at("dataset");
    r.method = j.at("method");
    r.spec.normal_class = j.at("normal_class");
    r.spec.epochs = j.at("epochs");
    r.spec.seed = j.at("seed");
    r.n_train = j.at("n_train");
    r.n_test_normal = j.at("n_test_normal");
    r.n_test_anomaly = j.at("n_test_anomaly");
    r.auroc = j.at("auroc");
    r.auprc = j.at("auprc");
    // Absent from results written before they were recorded; null for other methods.
    for (auto [key, field] : {std::pair{"auroc_pixel", &r.auroc_pixel}, std::pair{"auroc_feature", &r.auroc_feature}})
      if (j.contains(key) && j.at(key).is_number()) *field = j.at(key);
    // A non-finite threshold (an infinite training score) is written as a string.
    const Json& t = j.at("threshold");
    r.threshold = t.is_string() ? std::stod(t.get<std::string>()) : t.get<double>();
    r.precision = j.at("precision");
    r.recall = j.at("recall");
    r.f1 = j.at("f1");
    r.train_seconds = j.at("train_seconds");
    r.score_seconds = j.at("score_seconds");
    r.train_images_per_s = j.at("train_images_per_s");
    r.peak_tensor_mb = j.at("peak_tensor_mb");
    r.peak_rss_mb = j.at("peak_rss_mb");
    r.anomaly_map = j.at("anomaly_map");
    r.settings = j.at("settings");
    r.roc_fpr = j.at("roc_fpr").get<std::vector<double>>();
    r.roc_tpr = j.at("roc_tpr").get<std::vector<double>>();
  } catch (const std::exception& e) {
    throw io::IoError(fmt::format("{}: not a run result ({})", origin, e.what()));
  }
  return r;
}

}  // namespace adx::experiment
