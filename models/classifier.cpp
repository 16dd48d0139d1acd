#include "models/classifier.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <numeric>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/random.h"

namespace adx {

Tensor batch_rows(const Tensor& x, int64_t begin, int64_t end) { return slice(x, 0, begin, end); }

namespace {
Device device_of(Module& model) {
  const std::vector<Tensor> params = model.parameters();
  return params.empty() ? Device::cpu() : params.front().device();
}
}  // namespace

std::vector<float> train_classifier(Module& model, const Tensor& images,
                                    const std::vector<int>& labels, const ClassifierTraining& opt) {
  const int64_t n = images.size(0);
  if (static_cast<int64_t>(labels.size()) != n)
    throw Error(fmt::format("train_classifier: {} labels for {} images", labels.size(), n));
  if (opt.batch < 1 || opt.epochs < 1) throw Error("train_classifier: batch and epochs must be ≥ 1");
  model.train();
  const Device device = device_of(model);
  SGD sgd(model.parameters(), {.lr = opt.lr, .momentum = opt.momentum});
  Generator gen(opt.seed);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::vector<float> epoch_losses;
  Shape sample_shape = images.shape();
  const int64_t sample_size = images.numel() / n;
  const int64_t batches = (n + opt.batch - 1) / opt.batch;
  for (int64_t epoch = 0; epoch < opt.epochs; ++epoch) {
    std::iota(order.begin(), order.end(), 0);
    for (int64_t i = n - 1; i > 0; --i)  // Fisher–Yates with the run's generator
      std::swap(order[static_cast<size_t>(i)], order[gen.below(static_cast<uint64_t>(i + 1))]);
    double loss_sum = 0.0, window = 0.0;
    for (int64_t b = 0; b < batches; ++b) {
      const int64_t begin = b * opt.batch, count = std::min(opt.batch, n - begin);
      sample_shape[0] = count;
      Tensor x = Tensor::empty(sample_shape), y = Tensor::empty({count});
      for (int64_t i = 0; i < count; ++i) {
        const int64_t src = order[static_cast<size_t>(begin + i)];
        std::copy_n(images.data() + src * sample_size, sample_size, x.data() + i * sample_size);
        y.data()[i] = static_cast<float>(labels[static_cast<size_t>(src)]);
      }
      Tensor loss = cross_entropy(model(x.to(device)), y.to(device));
      const float value = loss.item();
      if (!std::isfinite(value))
        throw Error(fmt::format("training diverged: loss is {} at epoch {}, batch {}", value, epoch + 1, b + 1));
      sgd.zero_grad();
      loss.backward();
      sgd.step();
      loss_sum += value;
      window += value;
      if (opt.progress && ((b + 1) % opt.report_every == 0 || b + 1 == batches)) {
        const int64_t in_window = (b % opt.report_every) + 1;
        opt.progress(epoch + 1, b + 1, batches, static_cast<float>(window / static_cast<double>(in_window)));
        window = 0.0;
      }
    }
    epoch_losses.push_back(static_cast<float>(loss_sum / static_cast<double>(batches)));
  }
  return epoch_losses;
}

float classification_accuracy(Module& model, const Tensor& images, const std::vector<int>& labels,
                              int64_t batch) {
  NoGradGuard no_grad;
  model.eval();
  const Device device = device_of(model);
  const int64_t n = images.size(0);
  int64_t correct = 0;
  for (int64_t begin = 0; begin < n; begin += batch) {
    const int64_t end = std::min(n, begin + batch);
    const std::vector<float> predicted = argmax(model(batch_rows(images, begin, end).to(device)), 1).to_vector();
    for (int64_t i = begin; i < end; ++i)
      correct += static_cast<int>(predicted[static_cast<size_t>(i - begin)]) == labels[static_cast<size_t>(i)];
  }
  model.train();
  return n ? static_cast<float>(correct) / static_cast<float>(n) : 0.0f;
}

}  // namespace adx
