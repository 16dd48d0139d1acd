// `adx experiment`'s library: configs and their errors, the grid, the reports, and a
// small grid on real MNIST that is interrupted and resumed.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "data_util.h"
#include "experiment/config.h"
#include "experiment/grid.h"
#include "experiment/report.h"
#include "experiment/runner.h"

namespace adx::experiment {
namespace {
namespace fs = std::filesystem;

Json base_config() {
  return Json::parse(R"({
    "name": "t", "protocol": "thesis", "datasets": ["mnist"], "classes": [0, 1], "seeds": [0, 1],
    "epochs": [2, 5],
    "methods": [{"name": "gan", "method": "fanogan", "params": {"arch": "mlp"}},
                {"method": "knn", "params": {"k": 3}}]
  })");
}

std::string config_error(const Json& j) {
  try {
    parse_config(j, "cfg.json");
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error for " << j.dump();
  return "";
}

TEST(ExperimentConfig, ParsesMethodsDatasetsAndDefaults) {
  const ExperimentConfig c = parse_config(base_config(), "cfg.json");
  ASSERT_EQ(c.methods.size(), 2u);
  EXPECT_TRUE(c.methods[0].deep());
  EXPECT_EQ(c.methods[1].name, "knn");
  EXPECT_EQ(c.methods[1].params.at("k"), "3");
  EXPECT_EQ(c.threshold_percentile, 95);
  Json j = base_config();
  j["datasets"] = Json::parse(R"(["usps", {"name": "usps-e", "source": "usps", "contrast": 2}])");
  j["classes"] = "all";
  const ExperimentConfig u = parse_config(j, "cfg.json");
  EXPECT_EQ(u.datasets[0].size, 28);  // USPS is brought to MNIST's 28×28
  EXPECT_EQ(u.datasets[1].contrast, 2.0f);
  EXPECT_EQ(u.classes.size(), 10u);
}

TEST(ExperimentConfig, ErrorsNameTheFileAndKey) {
  Json j = base_config();
  j["epoch"] = 3;
  EXPECT_EQ(config_error(j), "cfg.json: epoch: unknown key");
  j = base_config();
  j.erase("datasets");
  EXPECT_EQ(config_error(j), "cfg.json: datasets: missing");
  j = base_config();
  j["protocol"] = "andrews";
  EXPECT_NE(config_error(j).find("'andrews' is not one of thesis"), std::string::npos);
  j = base_config();
  j["methods"][1]["method"] = "lof";
  EXPECT_NE(config_error(j).find("methods[1]: unknown method 'lof'"), std::string::npos);
  j = base_config();
  j["methods"][1]["name"] = "gan";
  EXPECT_NE(config_error(j).find("two methods are named 'gan'"), std::string::npos);
  j = base_config();
  j["datasets"] = Json::parse(R"(["imagenet"])");
  EXPECT_NE(config_error(j).find("unknown dataset 'imagenet'"), std::string::npos);
  j = base_config();
  j["datasets"] = Json::parse(R"(["usps", {"source": "usps", "contrast": 2}])");
  EXPECT_NE(config_error(j).find("two datasets are named 'usps'"), std::string::npos);
  j = base_config();
  j["seeds"] = Json::parse("[1, 1]");
  EXPECT_EQ(config_error(j), "cfg.json: seeds: lists a value twice");
  j = base_config();
  j.erase("epochs");  // a deep method needs epochs
  EXPECT_EQ(config_error(j), "cfg.json: epochs: missing");
}

TEST(ExperimentConfig, OverridesReachNestedKeys) {
  const fs::path path = testing::scratch_dir() / "cfg.json";
  std::ofstream(path) << base_config().dump();
  const ExperimentConfig c =
      load_config(path.string(), {"seeds=[7]", "methods.0.params.arch=conv", "name=renamed", "epochs=3"});
  EXPECT_EQ(c.seeds, std::vector<uint64_t>{7});
  EXPECT_EQ(c.methods[0].params.at("arch"), "conv");
  EXPECT_EQ(c.name, "renamed");
  EXPECT_EQ(c.epochs, std::vector<int64_t>{3});
  EXPECT_THROW(load_config(path.string(), {"methods.5.name=x"}), Error);
  EXPECT_THROW(load_config(path.string(), {"noequals"}), Error);
  EXPECT_THROW(load_config((testing::scratch_dir() / "missing.json").string()), Error);
  std::ofstream(path) << "{ not json";
  EXPECT_NE(testing::io_error([&] { load_config(path.string()); }).find("not valid JSON"), std::string::npos);
}

TEST(ExperimentGrid, ExpandsInSeedThenClassOrder) {
  const std::vector<RunSpec> g = expand_grid(parse_config(base_config(), "cfg.json"));
  // fanogan: 2 epochs × 2 seeds × 2 classes; knn: 2 seeds × 2 classes.
  ASSERT_EQ(g.size(), 12u);
  EXPECT_EQ(g[0].id, "mnist/gan/class0/e2/seed0");
  EXPECT_EQ(g[1].id, "mnist/gan/class1/e2/seed0");
  EXPECT_EQ(g[2].id, "mnist/gan/class0/e2/seed1");
  EXPECT_EQ(g[4].id, "mnist/gan/class0/e5/seed0");
  EXPECT_EQ(g[8].id, "mnist/knn/class0/seed0");
  EXPECT_EQ(g[8].epochs, 0);
}

TEST(ExperimentRunner, PercentileIsNumpys) {
  // numpy.percentile([1, 2, 3, 4], 95) = 3.85; of [5] anything is 5.
  EXPECT_NEAR(percentile({4, 1, 3, 2}, 95), 3.85, 1e-9);
  EXPECT_EQ(percentile({5}, 95), 5);
  EXPECT_EQ(percentile({1, 2, 3}, 100), 3);
  EXPECT_EQ(percentile({1, 2, 3}, 0), 1);
}

TEST(ExperimentReport, MeanOverClassesThenMeanAndStdOverSeeds) {
  const ExperimentConfig c = parse_config(base_config(), "cfg.json");
  std::vector<RunResult> results;
  // seed 0: classes at 0.8 and 0.9 (mean 0.85); seed 1: 0.6 and 0.9 (mean 0.75); seed 2
  // has only class 0 so far and must not enter the summary. Averaging the other way
  // round (classes of seed means) would give a std of 14.14, not 7.07.
  for (auto [seed, k, auc] : {std::tuple{0, 0, 0.8}, {0, 1, 0.9}, {1, 0, 0.6}, {1, 1, 0.9}, {2, 0, 0.1}}) {
    RunResult r;
    r.spec = {0, 0, k, 2, static_cast<uint64_t>(seed), ""};
    r.dataset = "mnist";
    r.method = "gan";
    r.auroc = auc;
    results.push_back(r);
  }
  const std::string md = markdown_report(c, results, 12, "adx experiment cfg.json");
  // mean 80.00, std of (85, 75) with n − 1 = 7.07.
  EXPECT_NE(md.find("| gan | mnist | 2 | 80.00 ± 7.07 |"), std::string::npos) << md;
  EXPECT_NE(md.find("5 of 12 runs finished"), std::string::npos);
  // Per class, over every seed that has it.
  EXPECT_NE(md.find("| gan | mnist | 2 | 50.00 ± 36.06 | 90.00 ± 0.00 | 80.00 ± 7.07 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| gan | mnist | 2 | 2 | 10.00 | – |"), std::string::npos) << md;  // the per-seed table
  const std::string csv = csv_report(results);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 6);
  // A method name with a comma or a quote is one quoted CSV field.
  RunResult named = results[0];
  named.method = "f-AnoGAN mlp, \"pixel\" score";
  const std::string row = csv_report({named}).substr(csv.find('\n') + 1);
  EXPECT_NE(row.find(",\"f-AnoGAN mlp, \"\"pixel\"\" score\","), std::string::npos) << row;
  // A result survives the round trip through JSON.
  const RunResult back = RunResult::from_json(results[1].to_json(), "r.json");
  EXPECT_EQ(back.auroc, 0.9);
  EXPECT_EQ(back.spec.normal_class, 1);
  EXPECT_THROW(RunResult::from_json(Json::object(), "r.json"), Error);
}

// A small grid on real MNIST: f-AnoGAN and kNN on digit 1, stopped after its first
// epoch and resumed; the resumed run must equal an uninterrupted one.
TEST(ExperimentGrid, RunsStopsAndResumesOnRealMnist) {
  ADX_REQUIRE_DATASET(mnist, "mnist");
  Json j = Json::parse(R"({
    "name": "small", "protocol": "thesis", "datasets": ["mnist"], "classes": [1], "seeds": [0],
    "epochs": [2], "train_limit": 96, "test_limit": 400, "anomaly_maps": 2,
    "methods": [{"name": "gan", "method": "fanogan"}, {"method": "knn", "params": {"k": 2}}]
  })");
  const ExperimentConfig c = parse_config(j, "small.json");
  const fs::path root = testing::scratch_dir() / "grid";
  fs::remove_all(root);
  std::FILE* log = std::tmpfile();
  const std::string data = fs::path(mnist).parent_path().string();

  // A second invocation on a folder in use is refused.
  fs::create_directories(root / "straight");
  {
    const int fd = ::open((root / "straight/.lock").c_str(), O_RDWR | O_CREAT, 0666);
    ASSERT_EQ(::flock(fd, LOCK_EX), 0);
    EXPECT_NE(testing::io_error([&] { run_grid(c, {(root / "straight").string(), data, 0, "", log}); })
                  .find("another `adx experiment` is running"), std::string::npos);
    ::close(fd);
  }
  const GridSummary straight = run_grid(c, {(root / "straight").string(), data, 0, "", log});
  ASSERT_TRUE(straight.complete);
  ASSERT_EQ(straight.results.size(), 2u);
  EXPECT_EQ(straight.results[0].n_train, 96);
  EXPECT_EQ(straight.results[0].n_test_normal + straight.results[0].n_test_anomaly, 400);
  EXPECT_GT(straight.results[1].auroc, 0.9);  // kNN finds non-ones easily
  for (const char* f : {"results.json", "results.csv", "results.md", "roc/mnist-class1.png",
                        "runs/mnist/gan/class1/e2/seed0/anomaly_map.png"})
    EXPECT_TRUE(fs::exists(root / "straight" / f)) << f;
  EXPECT_FALSE(fs::exists(root / "straight/runs/mnist/gan/class1/e2/seed0/checkpoint.h5"));
  // Both terms of Eq. 4.3 are scored alone too, and every image's scores are written.
  for (double a : {straight.results[0].auroc_pixel, straight.results[0].auroc_feature}) {
    EXPECT_GE(a, 0.0);  // two epochs on 96 images: any value, but a real one
    EXPECT_LE(a, 1.0);
  }
  EXPECT_TRUE(std::isnan(straight.results[1].auroc_pixel));
  const auto read_lines = [](const fs::path& p) {
    std::ifstream in(p);
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    return lines;
  };
  const auto gan_scores = read_lines(root / "straight/runs/mnist/gan/class1/e2/seed0/scores.csv");
  ASSERT_EQ(gan_scores.size(), 1u + 96 + 400);
  EXPECT_EQ(gan_scores[0], "split,label,score,pixel,feature");
  EXPECT_EQ(gan_scores[1].rfind("train,0,", 0), 0u) << gan_scores[1];
  EXPECT_EQ(gan_scores[97].rfind("test,", 0), 0u) << gan_scores[97];
  const auto knn_scores = read_lines(root / "straight/runs/mnist/knn/class1/seed0/scores.csv");
  ASSERT_EQ(knn_scores.size(), 1u + 96 + 400);
  EXPECT_EQ(knn_scores[0], "split,label,score");
  const RunResult back = RunResult::from_json(Json::parse(straight.results[0].to_json().dump()), "r.json");
  EXPECT_EQ(back.auroc_pixel, straight.results[0].auroc_pixel);
  // kNN has no such terms: null in JSON, NaN again when read back, empty in the CSV.
  const Json knn = straight.results[1].to_json();
  EXPECT_TRUE(knn.at("auroc_pixel").is_null());
  EXPECT_TRUE(std::isnan(RunResult::from_json(Json::parse(knn.dump()), "r.json").auroc_pixel));
  EXPECT_NE(csv_report({straight.results[1]}).find(",,"), std::string::npos);
  // Run again: everything is finished, nothing runs.
  EXPECT_EQ(run_grid(c, {(root / "straight").string(), data, 0, "", log}).ran_now, 0u);

  // Stop at the first epoch's end (a limit of ~0 minutes), then resume.
  const GridSummary stopped = run_grid(c, {(root / "resumed").string(), data, 1e-9, "", log});
  EXPECT_FALSE(stopped.complete);
  EXPECT_TRUE(fs::exists(root / "resumed/runs/mnist/gan/class1/e2/seed0/checkpoint.h5"));
  const GridSummary resumed = run_grid(c, {(root / "resumed").string(), data, 0, "", log});
  ASSERT_TRUE(resumed.complete);
  EXPECT_EQ(resumed.results[0].auroc, straight.results[0].auroc);
  EXPECT_EQ(resumed.results[0].threshold, straight.results[0].threshold);

  // The same folder with other settings is refused, not silently reused.
  j["methods"][0]["params"] = Json{{"kappa", 0.5}};
  try {
    run_grid(parse_config(j, "small.json"), {(root / "resumed").string(), data, 0, "", log});
    ADD_FAILURE() << "no error";
  } catch (const io::IoError& e) {
    EXPECT_NE(std::string(e.what()).find("made with other settings (method.params.kappa: null then, \"0.5\" now)"),
              std::string::npos) << e.what();
  }
  std::fclose(log);
  fs::remove_all(root);
}

}  // namespace

TEST(ExperimentConfig, FanoganDeviceParam) {
  MethodConfig m{"gan", "fanogan", {}};
  EXPECT_EQ(fanogan_options(m, 1, 0, 1, 28).device, Device::cpu());
  m.params["device"] = "cuda:1";
  EXPECT_EQ(fanogan_options(m, 1, 0, 1, 28).device, Device::cuda(1));
  m.params["device"] = "gpu";
  try {
    fanogan_options(m, 1, 0, 1, 28);
    FAIL() << "device=gpu accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "method gan: device: 'gpu' is not cpu, cuda or cuda:N");
  }
}

}  // namespace adx::experiment
