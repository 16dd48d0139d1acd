#include "tools/bench_workloads.h"

#include <fmt/format.h>

#include "engine/autograd.h"
#include "engine/cpu/gemm.h"
#include "engine/cuda/ops.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/random.h"
#include "detectors/fanogan.h"
#include "models/lenet.h"
#include "models/resnet.h"
#include "models/vgg.h"

namespace adx::bench {
namespace {

Tensor random_labels(int64_t n, int64_t classes, Generator& gen) {
  Tensor t = Tensor::empty({n});
  for (int64_t i = 0; i < n; ++i) t.data()[i] = static_cast<float>(gen.below(static_cast<uint64_t>(classes)));
  return t;
}

std::function<void()> gemm_step(int64_t n, Device device) {
  Generator gen(1);
  auto a = std::make_shared<Tensor>(Tensor::randn({n, n}, gen).to(device));
  auto b = std::make_shared<Tensor>(Tensor::randn({n, n}, gen).to(device));
  auto c = std::make_shared<Tensor>(Tensor::empty({n, n}, device));
  if (device.is_cuda())
    return [=] { cuda::gemm(device.index, false, false, n, n, n, 1.0f, a->data(), n, b->data(), n, 0.0f, c->data(), n); };
  return [=] { cpu::gemm(false, false, n, n, n, 1.0f, a->data(), n, b->data(), n, 0.0f, c->data(), n); };
}

// Supervised training step: forward, cross-entropy, backward, SGD with momentum 0.9.
std::function<void()> train_step(std::shared_ptr<Module> model, Shape input, int64_t classes, Device device) {
  Generator gen(1);
  model->train();
  model->to(device);
  auto x = std::make_shared<Tensor>(Tensor::randn(input, gen).to(device));
  auto y = std::make_shared<Tensor>(random_labels(input[0], classes, gen).to(device));
  auto sgd = std::make_shared<SGD>(model->parameters(), SGDOptions{.lr = 0.01f, .momentum = 0.9f});
  return [=] {
    Tensor loss = cross_entropy((*model)(*x), *y);
    sgd->zero_grad();
    loss.backward();
    sgd->step();
  };
}

std::function<void()> infer_step(std::shared_ptr<Module> model, Shape input, Device device) {
  Generator gen(1);
  model->eval();
  model->to(device);
  auto x = std::make_shared<Tensor>(Tensor::randn(input, gen).to(device));
  return [=] {
    NoGradGuard no_grad;
    (*model)(*x);
  };
}

// One WGAN-GP critic update (Gulrajani et al. 2017) on 28×28 grey images.
std::function<void()> wgangp_critic_step(int64_t batch, Device device) {
  auto generator = std::make_shared<Sequential>(Sequential{
      std::make_shared<Linear>(128, 128 * 7 * 7), relu_layer(),
      std::make_shared<Lambda>("Reshape", [](const Tensor& x) { return x.reshape({x.size(0), 128, 7, 7}); }),
      std::make_shared<ConvTranspose2d>(128, 64, 4, Conv2dOptions::make(2, 1)), relu_layer(),
      std::make_shared<ConvTranspose2d>(64, 1, 4, Conv2dOptions::make(2, 1)), tanh_layer()});
  auto critic = std::make_shared<Sequential>(Sequential{
      std::make_shared<Conv2d>(1, 64, 4, Conv2dOptions::make(2, 1)), leaky_relu_layer(0.2f),
      std::make_shared<Conv2d>(64, 128, 4, Conv2dOptions::make(2, 1)), leaky_relu_layer(0.2f),
      flatten_layer(), std::make_shared<Linear>(128 * 7 * 7, 1)});
  generator->to(device);
  critic->to(device);
  auto adam = std::make_shared<Adam>(critic->parameters(), AdamOptions{.lr = 1e-4f, .beta1 = 0.5f, .beta2 = 0.9f});
  auto gen = std::make_shared<Generator>(1);
  auto real = std::make_shared<Tensor>((Tensor::rand({batch, 1, 28, 28}, *gen) * 2.0f - 1.0f).to(device));
  return [=] {
    Tensor fake;
    {
      NoGradGuard no_grad;
      fake = (*generator)(Tensor::randn({batch, 128}, *gen, device));  // drawn where it is used
    }
    // Random interpolates x̂ = ε·real + (1 − ε)·fake, one ε per sample.
    Tensor eps = Tensor::rand({batch, 1, 1, 1}, *gen, device);
    Tensor x_hat = add(mul(eps, *real), mul(sub(Tensor::scalar(1.0f), eps), fake)).detach();
    x_hat.requires_grad_();
    Tensor g = grad({sum((*critic)(x_hat))}, {x_hat}, {}, /*create_graph=*/true)[0];
    Tensor norm = sqrt(sum(mul(g, g), {1, 2, 3}));
    Tensor penalty = mul(mean(pow(sub(norm, Tensor::scalar(1.0f)), 2.0f)), Tensor::scalar(10.0f));
    Tensor loss = add(sub(mean((*critic)(fake)), mean((*critic)(*real))), penalty);
    adam->zero_grad();
    loss.backward();
    adam->step();
  };
}

// f-AnoGAN training with the thesis's `mlp` networks on 28×28 digits in [−1, 1]: the
// WGAN-GP step (a critic update every iteration, a generator update every 5th, as
// n_critic = 5 schedules them) or the encoder's izi_f step.
std::function<void()> fanogan_step(int64_t batch, bool encoder, Device device) {
  detectors::FanoganOptions o;
  o.seed = 1;
  o.device = device;
  auto model = std::make_shared<detectors::Fanogan>(o);
  Generator gen(2);
  auto real = std::make_shared<Tensor>((Tensor::rand({batch, 1, 28, 28}, gen) * 2.0f - 1.0f).to(device));
  auto iteration = std::make_shared<int64_t>(0);
  if (encoder) return [=] { model->encoder_step(*real); };
  return [=] { model->gan_step(*real, (*iteration)++ % o.n_critic == 0); };
}

std::vector<Workload> make_workloads() {
  return {
      {"gemm", 2048, "n×n×n float32 matrix product (n = --batch)", gemm_step},
      {"lenet5-train", 64, "LeNet-5 training step, 1×28×28, SGD momentum 0.9",
       [](int64_t b, Device d) { return train_step(std::make_shared<LeNet5>(10), {b, 1, 28, 28}, 10, d); }},
      {"lenet5-infer", 256, "LeNet-5 inference, 1×28×28",
       [](int64_t b, Device d) { return infer_step(std::make_shared<LeNet5>(10), {b, 1, 28, 28}, d); }},
      {"resnet18-train", 64, "ResNet-18 (torchvision layout, 10 classes) training step, 3×32×32",
       [](int64_t b, Device d) { return train_step(std::make_shared<ResNet>(18, 10), {b, 3, 32, 32}, 10, d); }},
      {"resnet18-infer", 128, "ResNet-18 inference (batch norm in eval mode), 3×32×32",
       [](int64_t b, Device d) { return infer_step(std::make_shared<ResNet>(18, 10), {b, 3, 32, 32}, d); }},
      {"wgangp-critic-step", 64, "one WGAN-GP critic update with gradient penalty, 28×28",
       wgangp_critic_step},
      {"fanogan-gan-step", 64,
       "f-AnoGAN mlp WGAN-GP step (critic every step, generator every 5th), 28×28",
       [](int64_t b, Device d) { return fanogan_step(b, false, d); }},
      {"fanogan-encoder-step", 64, "f-AnoGAN mlp encoder step (izi_f loss, G and D frozen), 28×28",
       [](int64_t b, Device d) { return fanogan_step(b, true, d); }},
      {"vggf-infer", 16, "VGG-F inference, 3×224×224",
       [](int64_t b, Device d) { return infer_step(std::make_shared<VggF>(1000), {b, 3, 224, 224}, d); }},
  };
}

}  // namespace

const std::vector<Workload>& workloads() {
  static const std::vector<Workload> all = make_workloads();
  return all;
}

const Workload& find_workload(const std::string& name) {
  std::string names;
  for (const Workload& w : workloads()) {
    if (w.name == name) return w;
    names += (names.empty() ? "" : ", ") + w.name;
  }
  throw Error(fmt::format("unknown workload '{}' (choose one of: {})", name, names));
}

}  // namespace adx::bench
