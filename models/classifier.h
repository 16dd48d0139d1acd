// Supervised training of a classifier with cross-entropy and SGD: the engine's
// end-to-end check on real digits, and the demo until the detectors arrive.
#pragma once

#include <functional>
#include <vector>

#include "layers/module.h"

namespace adx {

struct ClassifierTraining {
  int64_t epochs = 1;
  int64_t batch = 64;
  float lr = 0.05f;
  float momentum = 0.9f;
  uint64_t seed = 0;
  // Called after every `report_every` batches with (epoch, batch, batches, mean loss).
  std::function<void(int64_t, int64_t, int64_t, float)> progress;
  int64_t report_every = 100;
};

// Trains `model` on images (N, C, H, W) with integer labels; returns the mean
// training loss of each epoch. Throws if the loss becomes NaN or infinite. Batches
// go to the model's device (where its parameters are: Module::to moves them).
std::vector<float> train_classifier(Module& model, const Tensor& images,
                                    const std::vector<int>& labels, const ClassifierTraining& opt);

// Fraction of images whose arg-max logit equals the label (model in eval mode), on
// the model's device.
float classification_accuracy(Module& model, const Tensor& images, const std::vector<int>& labels,
                              int64_t batch = 256);

// Rows [begin, end) of a batch-first tensor (a free view).
Tensor batch_rows(const Tensor& x, int64_t begin, int64_t end);

}  // namespace adx
