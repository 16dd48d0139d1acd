#include "layers/layers.h"

#include <cmath>
#include <fmt/format.h>

#include "engine/random.h"

namespace adx {
namespace {

// torch's default for Linear/Conv: U(−1/√fan_in, 1/√fan_in) for weight
// (kaiming_uniform with a = √5) and bias alike.
Tensor uniform_init(const Shape& shape, int64_t fan_in) {
  const float bound = fan_in > 0 ? 1.0f / std::sqrt(static_cast<float>(fan_in)) : 0.0f;
  Tensor t = Tensor::rand(shape, default_generator());
  float* p = t.data();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = (2.0f * p[i] - 1.0f) * bound;
  return t;
}

}  // namespace

Linear::Linear(int64_t in, int64_t out, bool with_bias) {
  if (in < 1 || out < 1) throw Error(fmt::format("Linear({}, {}): sizes must be ≥ 1", in, out));
  weight = register_parameter("weight", uniform_init({out, in}, in));
  if (with_bias) bias = register_parameter("bias", uniform_init({out}, in));
}

Tensor Linear::forward(const Tensor& x) { return linear(x, weight, bias); }

Conv2d::Conv2d(int64_t in, int64_t out, int64_t kernel, Conv2dOptions opt, bool with_bias)
    : options(opt) {
  if (in < 1 || out < 1 || kernel < 1 || in % opt.groups || out % opt.groups)
    throw Error(fmt::format("Conv2d({}, {}, {}, groups={}): bad sizes", in, out, kernel, opt.groups));
  const int64_t fan_in = in / opt.groups * kernel * kernel;
  weight = register_parameter("weight", uniform_init({out, in / opt.groups, kernel, kernel}, fan_in));
  if (with_bias) bias = register_parameter("bias", uniform_init({out}, fan_in));
}

Tensor Conv2d::forward(const Tensor& x) { return conv2d(x, weight, bias, options); }

ConvTranspose2d::ConvTranspose2d(int64_t in, int64_t out, int64_t kernel, Conv2dOptions opt,
                                 int64_t output_padding_, bool with_bias)
    : options(opt), output_padding(output_padding_) {
  if (in < 1 || out < 1 || kernel < 1 || in % opt.groups || out % opt.groups)
    throw Error(fmt::format("ConvTranspose2d({}, {}, {}): bad sizes", in, out, kernel));
  // torch computes fan_in from weight.size(1) · k²  (= out/groups · k²).
  const int64_t fan_in = out / opt.groups * kernel * kernel;
  weight = register_parameter("weight", uniform_init({in, out / opt.groups, kernel, kernel}, fan_in));
  if (with_bias) bias = register_parameter("bias", uniform_init({out}, fan_in));
}

Tensor ConvTranspose2d::forward(const Tensor& x) {
  return conv_transpose2d(x, weight, bias, options, output_padding, output_padding);
}

BatchNorm::BatchNorm(int64_t features, float eps_, float momentum_, bool affine)
    : eps(eps_), momentum(momentum_) {
  if (features < 1) throw Error("BatchNorm: features must be ≥ 1");
  if (affine) {
    weight = register_parameter("weight", Tensor::ones({features}));
    bias = register_parameter("bias", Tensor::zeros({features}));
  }
  running_mean = register_buffer("running_mean", Tensor::zeros({features}));
  running_var = register_buffer("running_var", Tensor::ones({features}));
}

Tensor BatchNorm::forward(const Tensor& x) {
  return batch_norm(x, running_mean, running_var, weight, bias, is_training(), momentum, eps);
}

ModulePtr relu_layer() { return std::make_shared<Lambda>("ReLU", [](const Tensor& x) { return relu(x); }); }
ModulePtr leaky_relu_layer(float slope) {
  return std::make_shared<Lambda>("LeakyReLU", [slope](const Tensor& x) { return leaky_relu(x, slope); });
}
ModulePtr tanh_layer() { return std::make_shared<Lambda>("Tanh", [](const Tensor& x) { return tanh(x); }); }
ModulePtr sigmoid_layer() {
  return std::make_shared<Lambda>("Sigmoid", [](const Tensor& x) { return sigmoid(x); });
}
ModulePtr flatten_layer() {
  return std::make_shared<Lambda>("Flatten", [](const Tensor& x) { return x.flatten(1); });
}
ModulePtr max_pool_layer(const Pool2dOptions& opt) {
  return std::make_shared<Lambda>("MaxPool2d", [opt](const Tensor& x) { return max_pool2d(x, opt); });
}
ModulePtr avg_pool_layer(const Pool2dOptions& opt) {
  return std::make_shared<Lambda>("AvgPool2d", [opt](const Tensor& x) { return avg_pool2d(x, opt); });
}

Tensor Dropout::forward(const Tensor& x) { return dropout(x, p_, is_training(), default_generator()); }

Sequential::Sequential(std::initializer_list<ModulePtr> modules) {
  for (const ModulePtr& m : modules) push_back(m);
}

void Sequential::push_back(ModulePtr m) { push_back(std::to_string(order_.size()), std::move(m)); }

void Sequential::push_back(const std::string& name, ModulePtr m) {
  register_module(name, m);
  order_.emplace_back(name, std::move(m));
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (auto& [name, m] : order_) h = m->forward(h);
  return h;
}

Tensor Sequential::forward_until(const Tensor& x, const std::string& until) {
  Tensor h = x;
  for (auto& [name, m] : order_) {
    h = m->forward(h);
    if (name == until) return h;
  }
  throw Error("Sequential: no child named '" + until + "'");
}

}  // namespace adx
