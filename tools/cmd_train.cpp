// `adx train`: trains a classifier on a digit data set and prints its test accuracy.
// (The anomaly-detection methods add their own training to this command later.)
#include <chrono>
#include <cstdio>
#include <unistd.h>
#include <fmt/format.h>
#include <memory>

#include "engine/cpu/parallel.h"
#include "engine/cuda/memory.h"
#include "engine/random.h"
#include "io/data_dir.h"
#include "io/idx.h"
#include "models/classifier.h"
#include "models/lenet.h"
#include "tools/commands.h"

namespace adx::cli {
namespace {

struct TrainArgs {
  std::string model = "lenet5";
  std::string dataset = "mnist";
  std::string data;
  int64_t epochs = 1;
  int64_t batch = 64;
  float lr = 0.05f;
  int64_t limit = 0;
  int threads = 0;
  uint64_t seed = 0;
  std::string device = "cpu";
};

ModulePtr make_model(const std::string& name) {
  if (name == "lenet5") return std::make_shared<LeNet5>(10);
  if (name == "mlp")
    return std::make_shared<Sequential>(Sequential{flatten_layer(), std::make_shared<Linear>(784, 256),
                                                   relu_layer(), std::make_shared<Linear>(256, 10)});
  throw Error(fmt::format("unknown model '{}' (choose lenet5 or mlp)", name));
}

io::LabelledImages take_first(io::LabelledImages set, int64_t limit) {
  if (limit <= 0 || limit >= set.images.size(0)) return set;
  set.images = set.images.slice(0, 0, limit).clone();
  set.labels.resize(static_cast<size_t>(limit));
  return set;
}

void run(const TrainArgs& a) {
  if (a.threads > 0) cpu::set_num_threads(a.threads);
  const Device device = Device::parse(a.device, "--device");
  if (device.is_cuda()) cuda::check_device(device.index);  // before minutes of loading data
  manual_seed(a.seed);
  if (a.dataset != "mnist" && a.dataset != "fashion-mnist")
    throw Error(fmt::format("unknown dataset '{}' (choose mnist or fashion-mnist)", a.dataset));
  const std::string dir = (a.data.empty() ? io::data_dir() : a.data) + "/" + a.dataset;
  const io::LabelledImages train = take_first(io::load_mnist(dir, "train"), a.limit);
  const io::LabelledImages test = io::load_mnist(dir, "test");
  ModulePtr model = make_model(a.model);
  model->to(device);
  fmt::print(stderr, "training {} ({} parameters) on {} {} images, on {} ({} CPU threads)\n", a.model,
             model->parameter_count(), train.images.size(0), a.dataset, device.str(), cpu::num_threads());

  ClassifierTraining opt;
  opt.epochs = a.epochs;
  opt.batch = a.batch;
  opt.lr = a.lr;
  opt.seed = a.seed;
  // One line rewritten in place on a terminal; plain lines in a log.
  const bool tty = isatty(fileno(stderr));
  opt.progress = [tty](int64_t epoch, int64_t b, int64_t batches, float loss) {
    fmt::print(stderr, "{}epoch {} batch {}/{} loss {:.4f}{}", tty ? "\r" : "", epoch, b, batches, loss,
               !tty || b == batches ? "\n" : "");
  };
  const auto start = std::chrono::steady_clock::now();
  const std::vector<float> losses = train_classifier(*model, train.images, train.labels, opt);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const float accuracy = classification_accuracy(*model, test.images, test.labels);
  fmt::print("model {} dataset {} epochs {} train-images {} final-loss {:.4f}\n", a.model, a.dataset,
             a.epochs, train.images.size(0), losses.back());
  fmt::print("test accuracy {:.2f}% on {} images; training {:.1f} s ({:.0f} images/s)\n",
             100.0f * accuracy, test.images.size(0), seconds,
             static_cast<double>(train.images.size(0) * a.epochs) / seconds);
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "Train a digit classifier and print its test accuracy");
  cmd->add_option("--model", args->model, "lenet5 or mlp")->capture_default_str();
  cmd->add_option("--dataset", args->dataset, "mnist or fashion-mnist")->capture_default_str();
  cmd->add_option("--data", args->data, "data directory (default: $ADX_DATA, else ./data)");
  cmd->add_option("--epochs", args->epochs, "training epochs")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--batch", args->batch, "batch size")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--lr", args->lr, "SGD learning rate (momentum 0.9)")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--limit", args->limit, "use only the first N training images (0 = all)")->capture_default_str();
  cmd->add_option("--threads", args->threads, "CPU threads (0 = OpenMP's default)")->capture_default_str();
  cmd->add_option("--seed", args->seed, "random seed")->capture_default_str();
  cmd->add_option("--device", args->device, "cpu, cuda or cuda:N (a build with the CUDA backend)")
      ->capture_default_str();
  cmd->callback([args] { run(*args); });
}

}  // namespace adx::cli
