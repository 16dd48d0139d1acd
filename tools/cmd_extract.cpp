// `adx extract`: run a network over images and write its features at a named layer.
#include <chrono>
#include <cstdio>
#include <fmt/format.h>
#include <memory>
#include <unistd.h>

#include "engine/autograd.h"
#include "engine/cpu/parallel.h"
#include "engine/cuda/memory.h"
#include "engine/ops.h"
#include "io/data_dir.h"
#include "io/datasets.h"
#include "io/features.h"
#include "io/h5.h"
#include "io/transforms.h"
#include "models/resnet.h"
#include "tools/commands.h"
#include "weights/weights.h"

namespace adx::cli {
namespace {

struct ExtractArgs {
  std::string model = "resnet18";
  std::string weights;
  std::string input;
  std::string layer = "avgpool";
  std::string out;
  std::string data;
  int64_t batch = 64;
  int64_t size = 224;
  int64_t limit = 0;
  int threads = 0;
  std::string device = "cpu";
};

// The standard ImageNet preprocessing of torchvision's pretrained models: RGB,
// bilinear resize, normalise with ImageNet's channel statistics.
Tensor imagenet_preprocess(const Tensor& images, int64_t size) {
  Tensor x = images.size(1) == 1 ? io::grey_to_rgb(images) : images;
  if (x.size(2) != size || x.size(3) != size) x = io::resize(x, size, size);
  return io::normalize(x, {0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f});
}

// The classifier size the weight file was trained with, read from fc.weight.
int64_t classes_in(const std::string& weights_path) {
  const io::h5::File f = io::h5::File::open_read(weights_path);
  if (!f.has_dataset("/fc/weight")) throw Error(weights_path + ": no /fc/weight (is this a ResNet weight file?)");
  return f.shape("/fc/weight")[0];
}

void run(const ExtractArgs& a) {
  if (a.threads > 0) cpu::set_num_threads(a.threads);
  const Device device = Device::parse(a.device, "--device");
  if (device.is_cuda()) cuda::check_device(device.index);  // before reading the images
  const bool spec = io::is_dataset_spec(a.input);
  Tensor images;
  std::vector<int> labels;
  if (spec) {
    io::LabelledImages set = io::load_dataset(io::parse_dataset_spec(a.input), a.data.empty() ? io::data_dir() : a.data);
    images = set.images;
    labels = set.labels;
  } else {
    const io::h5::File f = io::h5::File::open_read(a.input);
    images = f.read("/x");
    if (images.dim() != 4) throw Error(fmt::format("{}: /x has shape {}, expected N×C×H×W", a.input, shape_str(images.shape())));
    if (f.has_dataset("/y"))
      for (int64_t v : f.read_ints("/y")) labels.push_back(static_cast<int>(v));
  }
  int64_t n = images.size(0);
  if (a.limit > 0 && a.limit < n) {
    n = a.limit;
    images = images.slice(0, 0, n);
    if (!labels.empty()) labels.resize(static_cast<size_t>(n));
  }

  auto net = make_resnet(a.model, a.weights.empty() ? 1000 : classes_in(a.weights));
  if (!a.weights.empty()) {
    weights::NamedTensors state = net->named_parameters();
    for (auto& b : net->named_buffers()) state.push_back(b);
    weights::load(a.weights, state);
  } else {
    fmt::print(stderr, "warning: no --weights given: features of a randomly initialised {}\n", a.model);
  }
  net->eval();
  net->to(device);
  NoGradGuard no_grad;
  const bool tty = isatty(fileno(stderr));
  const auto start = std::chrono::steady_clock::now();
  Tensor features;
  for (int64_t begin = 0; begin < n; begin += a.batch) {
    const int64_t end = std::min(n, begin + a.batch);
    Tensor x = images.slice(0, begin, end);
    if (spec) x = imagenet_preprocess(x, a.size);
    // Preprocessing on the CPU (upsampling is cheap next to the network), the network
    // on `device`, the features back on the CPU.
    Tensor f = net->forward_until(x.to(device), a.layer).flatten(1).to(Device::cpu());
    if (!features.defined()) features = Tensor::empty({n, f.size(1)});
    std::copy_n(f.data(), f.numel(), features.data() + begin * f.size(1));
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double rate = static_cast<double>(end) / s;
    fmt::print(stderr, "{}extract {}/{} images, {:.0f} images/s, ETA {:.0f} s{}", tty ? "\r" : "", end, n, rate,
               static_cast<double>(n - end) / rate, tty && end < n ? "" : "\n");
  }
  io::write_features_h5(a.out, features, labels);
  fmt::print("wrote {} × {} features of {} at {} to {}{}\n", features.size(0), features.size(1), a.model,
             a.layer, a.out, labels.empty() ? "" : " (with labels y)");
}

}  // namespace

void add_extract_command(CLI::App& app) {
  auto args = std::make_shared<ExtractArgs>();
  CLI::App* cmd = app.add_subcommand("extract", "Write a network's features at a named layer (HDF5, dataset x)");
  cmd->add_option("--model", args->model, "resnet18, resnet34, resnet50, resnet101 or resnet152")->capture_default_str();
  cmd->add_option("--weights", args->weights, "weight file (adx HDF5; tools/torch2h5.py converts torchvision's)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--input", args->input,
                  "an HDF5 file with x (N×C×H×W, preprocessed), or a data set spec such as cifar10:test "
                  "(then resized to --size and ImageNet-normalised)")->required();
  cmd->add_option("--layer", args->layer, "conv1, bn1, relu, maxpool, layer1..layer4, avgpool or fc")->capture_default_str();
  cmd->add_option("--out", args->out, "output HDF5 file (x: N×D features, y: labels when known)")->required();
  cmd->add_option("--data", args->data, "data directory for specs (default: $ADX_DATA, else ./data)");
  cmd->add_option("--batch", args->batch, "images per forward pass")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--size", args->size, "input size for data set specs")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--limit", args->limit, "only the first N images (0 = all)")->capture_default_str();
  cmd->add_option("--threads", args->threads, "CPU threads (0 = OpenMP's default)")->capture_default_str();
  cmd->add_option("--device", args->device, "cpu, cuda or cuda:N (a build with the CUDA backend)")
      ->capture_default_str();
  cmd->callback([args] { run(*args); });
}

}  // namespace adx::cli
