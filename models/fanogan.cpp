#include "models/fanogan.h"

#include <fmt/format.h>

namespace adx {
namespace {

constexpr float kSlope = 0.2f;  // every LeakyReLU of both architectures

ModulePtr linear(int64_t in, int64_t out) { return std::make_shared<Linear>(in, out); }
ModulePtr lrelu() { return leaky_relu_layer(kSlope); }

ModulePtr conv_down(int64_t in, int64_t out) {  // halves the image: k4 s2 p1
  return std::make_shared<Conv2d>(in, out, 4, Conv2dOptions::make(2, 1));
}
ModulePtr conv_up(int64_t in, int64_t out) {  // doubles the image: k4 s2 p1
  return std::make_shared<ConvTranspose2d>(in, out, 4, Conv2dOptions::make(2, 1));
}
ModulePtr unflatten(Shape shape) {
  return std::make_shared<Lambda>("Unflatten", [shape](const Tensor& x) {
    Shape s{x.size(0)};
    s.insert(s.end(), shape.begin(), shape.end());
    return x.reshape(s);
  });
}

std::shared_ptr<Sequential> mlp_generator(const FanoganShape& s) {
  // BatchNorm1d(out, 0.8) in the reference code: ε = 0.8, momentum torch's 0.1.
  auto block = [](Sequential& seq, int64_t in, int64_t out, bool bn) {
    seq.push_back(linear(in, out));
    if (bn) seq.push_back(std::make_shared<BatchNorm>(out, /*eps=*/0.8f));
    seq.push_back(lrelu());
  };
  auto g = std::make_shared<Sequential>();
  block(*g, s.latent, 128, false);
  block(*g, 128, 256, true);
  block(*g, 256, 512, true);
  block(*g, 512, 1024, true);
  g->push_back(linear(1024, s.channels * s.size * s.size));
  g->push_back(tanh_layer());
  g->push_back(unflatten({s.channels, s.size, s.size}));
  return g;
}

std::shared_ptr<Sequential> conv_generator(const FanoganShape& s) {
  const int64_t q = s.size / 4;
  return std::make_shared<Sequential>(Sequential{
      linear(s.latent, 128 * q * q), std::make_shared<BatchNorm>(128 * q * q), relu_layer(),
      unflatten({128, q, q}),
      conv_up(128, 64), std::make_shared<BatchNorm>(64), relu_layer(),
      conv_up(64, s.channels), tanh_layer()});
}

std::shared_ptr<Sequential> encoder(const FanoganShape& s) {
  const int64_t pixels = s.channels * s.size * s.size;
  if (s.arch == "mlp")
    return std::make_shared<Sequential>(Sequential{flatten_layer(), linear(pixels, 512), lrelu(),
                                                   linear(512, 256), lrelu(), linear(256, s.latent),
                                                   tanh_layer()});
  const int64_t q = s.size / 4;
  return std::make_shared<Sequential>(Sequential{conv_down(s.channels, 64), lrelu(), conv_down(64, 128),
                                                 lrelu(), flatten_layer(), linear(128 * q * q, s.latent),
                                                 tanh_layer()});
}

void check_shape(const FanoganShape& s) {
  if (s.arch != "mlp" && s.arch != "conv")
    throw Error(fmt::format("f-AnoGAN: unknown architecture '{}' (choose mlp or conv)", s.arch));
  if (s.channels != 1 && s.channels != 3)
    throw Error(fmt::format("f-AnoGAN: images must have 1 or 3 channels, not {}", s.channels));
  if (s.latent < 1) throw Error("f-AnoGAN: the latent dimension must be ≥ 1");
  if (s.arch == "conv" && s.size != 28 && s.size != 32)
    throw Error(fmt::format("f-AnoGAN conv: images must be 28×28 or 32×32, not {0}×{0}", s.size));
  if (s.size < 4) throw Error(fmt::format("f-AnoGAN: image size {} is too small", s.size));
}

}  // namespace

FanoganCritic::FanoganCritic(const FanoganShape& s) {
  check_shape(s);
  if (s.arch == "mlp") {
    features_ = std::make_shared<Sequential>(Sequential{flatten_layer(), linear(s.channels * s.size * s.size, 512),
                                                        lrelu(), linear(512, 256), lrelu()});
    feature_dim_ = 256;
  } else {
    const int64_t q = s.size / 4;
    features_ = std::make_shared<Sequential>(
        Sequential{conv_down(s.channels, 64), lrelu(), conv_down(64, 128), lrelu(), flatten_layer()});
    feature_dim_ = 128 * q * q;
  }
  head_ = std::make_shared<Sequential>(Sequential{linear(feature_dim_, 1)});
  // The reference code's names: features.*, last_layer.*.
  register_module("features", features_);
  register_module("last_layer", head_);
}

Tensor FanoganCritic::features(const Tensor& x) { return features_->forward(x); }
Tensor FanoganCritic::forward(const Tensor& x) { return head_->forward(features(x)); }

FanoganNets make_fanogan_nets(const FanoganShape& s) {
  check_shape(s);
  FanoganNets nets;
  nets.generator = s.arch == "mlp" ? mlp_generator(s) : conv_generator(s);
  nets.critic = std::make_shared<FanoganCritic>(s);
  nets.encoder = encoder(s);
  return nets;
}

}  // namespace adx
