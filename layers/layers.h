// The basic layers. Parameter names and default initialisations follow torch.nn,
// so that converted weights load by name and untrained networks behave alike.
#pragma once

#include <functional>

#include "engine/ops.h"
#include "layers/module.h"

namespace adx {

class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Linear"; }
  Tensor weight, bias;  // (out, in), (out)
};

class Conv2d : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel, Conv2dOptions opt = {},
         bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Conv2d"; }
  Tensor weight, bias;  // (out, in/groups, k, k), (out)
  Conv2dOptions options;
};

class ConvTranspose2d : public Module {
 public:
  ConvTranspose2d(int64_t in_channels, int64_t out_channels, int64_t kernel,
                  Conv2dOptions opt = {}, int64_t output_padding = 0, bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ConvTranspose2d"; }
  Tensor weight, bias;  // (in, out/groups, k, k), (out)
  Conv2dOptions options;
  int64_t output_padding;
};

// Batch norm over (N, C) or (N, C, H, W); torch's BatchNorm1d/2d.
class BatchNorm : public Module {
 public:
  explicit BatchNorm(int64_t features, float eps = 1e-5f, float momentum = 0.1f, bool affine = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "BatchNorm"; }
  Tensor weight, bias, running_mean, running_var;
  float eps, momentum;
};

// A parameter-free layer given by a function (activations, pooling, flatten, ...).
class Lambda : public Module {
 public:
  Lambda(std::string name, std::function<Tensor(const Tensor&)> fn)
      : name_(std::move(name)), fn_(std::move(fn)) {}
  Tensor forward(const Tensor& x) override { return fn_(x); }
  std::string type_name() const override { return name_; }

 private:
  std::string name_;
  std::function<Tensor(const Tensor&)> fn_;
};

ModulePtr relu_layer();
ModulePtr leaky_relu_layer(float slope);
ModulePtr tanh_layer();
ModulePtr sigmoid_layer();
ModulePtr flatten_layer();
ModulePtr max_pool_layer(const Pool2dOptions& opt);
ModulePtr avg_pool_layer(const Pool2dOptions& opt);

class Dropout : public Module {
 public:
  explicit Dropout(float p) : p_(p) {}
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Dropout"; }

 private:
  float p_;
};

// Children named "0", "1", ... run in order, as torch.nn.Sequential.
class Sequential : public Module {
 public:
  Sequential() = default;
  Sequential(std::initializer_list<ModulePtr> modules);
  void push_back(ModulePtr m);
  void push_back(const std::string& name, ModulePtr m);
  Tensor forward(const Tensor& x) override;
  // Runs the children up to and including `name`, returning its output.
  Tensor forward_until(const Tensor& x, const std::string& name);
  size_t size() const { return order_.size(); }
  std::string type_name() const override { return "Sequential"; }

 private:
  std::vector<std::pair<std::string, ModulePtr>> order_;
};

}  // namespace adx
