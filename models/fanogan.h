// The three networks of f-AnoGAN (Schlegl et al. 2019): a WGAN-GP generator G and
// critic D, and an encoder E trained afterwards to invert G. Two architectures:
//
//   mlp  — the one the thesis's reference code (A03ki/f-AnoGAN, mnist/) uses for 28×28
//          digits (SPECS.md 3.3):
//          G: z(100) → 128 LReLU → 256 BN LReLU → 512 BN LReLU → 1024 BN LReLU → 784 tanh,
//             batch norm with ε = 0.8 (the reference code passes 0.8 as BatchNorm1d's
//             second positional argument, which is ε);
//          D: 784 → 512 LReLU → 256 LReLU [= f, the features of Eq. 4.2] → 1;
//          E: 784 → 512 LReLU → 256 LReLU → 100 tanh.  (All LeakyReLU slopes 0.2.)
//   conv — DCGAN-style for 28×28 or 32×32, grey or colour (our choice; docs/results.md):
//          G: z → linear 128·s·s, BN, ReLU → ConvT 128→64 k4 s2 p1, BN, ReLU →
//             ConvT 64→C k4 s2 p1, tanh      (s = size/4)
//          D: conv C→64 k4 s2 p1, LReLU → conv 64→128 k4 s2 p1, LReLU [= f] → linear 1
//             (no batch norm: the gradient penalty is per sample)
//          E: conv C→64 k4 s2 p1, LReLU → conv 64→128 k4 s2 p1, LReLU → linear z, tanh.
//          The critic is the `wgangp-critic-step` benchmark's, so that figure applies.
#pragma once

#include <memory>
#include <string>

#include "layers/layers.h"

namespace adx {

struct FanoganShape {
  std::string arch = "mlp";  // mlp or conv
  int64_t channels = 1;
  int64_t size = 28;         // square images: 28 (mlp, conv) or 32 (conv)
  int64_t latent = 100;
};

// The critic, split at the feature layer f of Eq. 4.2: forward(x) = head(features(x)).
class FanoganCritic : public Module {
 public:
  explicit FanoganCritic(const FanoganShape& shape);
  Tensor features(const Tensor& x);  // (N, n_d)
  Tensor forward(const Tensor& x) override;  // (N, 1), the critic's value
  std::string type_name() const override { return "FanoganCritic"; }
  int64_t feature_dim() const { return feature_dim_; }

 private:
  std::shared_ptr<Sequential> features_, head_;
  int64_t feature_dim_ = 0;
};

struct FanoganNets {
  std::shared_ptr<Module> generator;  // (N, latent) → (N, C, size, size) in [−1, 1]
  std::shared_ptr<FanoganCritic> critic;
  std::shared_ptr<Module> encoder;  // (N, C, size, size) → (N, latent) in [−1, 1]
};

// Builds the three networks, initialised from the default generator (seed it first).
// Throws adx::Error for an unknown architecture or an image size it cannot take.
FanoganNets make_fanogan_nets(const FanoganShape& shape);

}  // namespace adx
