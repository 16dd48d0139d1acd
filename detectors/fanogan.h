// f-AnoGAN (Schlegl et al. 2019) as Robledo Díaz's thesis uses it (§4.2.1, SPECS.md 3.3).
//
// Step 1, WGAN-GP (Gulrajani et al. 2017), Eq. 4.1: the critic D minimises
//     mean D(G(z)) − mean D(x) + λ · mean_i (‖∇_x̂ D(x̂_i)‖₂ − 1)²,
//     x̂ = α·x + (1 − α)·G(z), α ~ U(0, 1) per image, z ~ N(0, I),
// and every n_critic-th batch the generator minimises −mean D(G(z)).
// Step 2, the encoder E with G and D frozen (eval mode), the izi_f loss, Eq. 4.2:
//     L = (1/n)‖x − G(E(x))‖² + κ/n_d · ‖f(x) − f(G(E(x)))‖²,
// f = the critic's last hidden layer, n pixels, n_d features.
// Score, Eq. 4.3: A(x) is the same expression per image; higher = more anomalous.
// The pixel residual |x − G(E(x))| is the anomaly map.
//
// Images are (N, C, H, W) in [−1, 1] (the generator's tanh range). Training can stop
// after any epoch and resume from a checkpoint to the same result.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "engine/optim.h"
#include "engine/random.h"
#include "models/fanogan.h"

namespace adx::detectors {

struct FanoganOptions {
  FanoganShape shape;
  int64_t epochs = 20;          // WGAN-GP epochs
  int64_t encoder_epochs = -1;  // encoder epochs; −1 = the same as `epochs`
  int64_t batch = 64;
  int64_t n_critic = 5;    // generator updates on every n_critic-th batch of an epoch
  float gp_lambda = 10.0f;  // λ
  float lr = 1e-4f;         // Adam, for all three networks
  float beta1 = 0.5f, beta2 = 0.999f;
  float kappa = 1.0f;       // κ, weight of the feature residual in the encoder's loss
  float score_kappa = -1;   // κ in the score, Eq. 4.3; −1 = the same as `kappa`
  float score_weight() const { return score_kappa < 0 ? kappa : score_kappa; }
  uint64_t seed = 0;        // initialisation, shuffling, z and α
  // Where the networks train and score. gan_step, encoder_step, score, score_terms,
  // reconstruct and anomaly_map take images on any device (they are moved) and return
  // results on the CPU; the three loss functions want their inputs on this device. z and α are drawn on the device from the same stream,
  // so a GPU run starts from the CPU run's numbers. Not part of a checkpoint's
  // options: a run may resume on another device.
  Device device = Device::cpu();
};

// What fit() reports after each batch and epoch.
struct FanoganProgress {
  enum class Phase { Gan, Encoder } phase;
  int64_t epoch;    // 0-based, within the phase
  int64_t epochs;   // of the phase
  int64_t batch;    // 1-based batch within the epoch
  int64_t batches;  // per epoch
  float critic_loss = 0, generator_loss = 0;  // Gan phase
  float encoder_loss = 0;                     // Encoder phase
  bool epoch_done = false;
};

class Fanogan {
 public:
  explicit Fanogan(const FanoganOptions& options);

  // Trains what is left of both phases. `on_progress` is called after every batch;
  // after each finished epoch it is called with epoch_done set, and a checkpoint
  // written then resumes at the next epoch. Stops with an adx::Error on a NaN loss.
  void fit(const Tensor& images, const std::function<void(const FanoganProgress&)>& on_progress = {});
  bool trained() const;
  int64_t gan_epochs_done() const { return gan_epochs_done_; }
  int64_t encoder_epochs_done() const { return encoder_epochs_done_; }
  int64_t generator_updates() const { return opt_g_->steps(); }
  double gan_seconds() const { return gan_seconds_; }          // time spent in each phase
  double encoder_seconds() const { return encoder_seconds_; }  // (summed over resumes)

  // One update of each kind on a batch of real images (also used by `adx bench`).
  // gan_step returns the critic loss and, when `update_generator`, the generator's.
  std::pair<float, float> gan_step(const Tensor& real, bool update_generator);
  float encoder_step(const Tensor& real);

  // The three losses, differentiable, with z (N, latent) and α (N, 1, 1, 1) given
  // (the steps above draw them): Eq. 4.1 for the critic (G run without gradients),
  // −mean D(G(z)) for the generator, Eq. 4.2 for the encoder (G and D in eval mode).
  Tensor critic_loss(const Tensor& real, const Tensor& z, const Tensor& alpha);
  Tensor generator_loss(const Tensor& z);
  Tensor encoder_loss(const Tensor& real);

  // Eq. 4.3 per image, in batches of `batch`: pixel + κ · feature (κ = score_weight()).
  Tensor score(const Tensor& images, int64_t batch = 256);
  // The two terms of Eq. 4.3 per image, unweighted: the mean squared pixel residual
  // and the mean squared feature residual (to study or re-weight the score).
  struct ScoreTerms {
    Tensor pixel, feature;  // (N)
  };
  ScoreTerms score_terms(const Tensor& images, int64_t batch = 256);
  // Eq. 4.3 from its terms: pixel + κ · feature. With κ = 0 the score is the pixel
  // term alone, even where the feature term overflowed (0 · ∞ would be NaN).
  Tensor combine(const ScoreTerms& terms) const;
  // G(E(x)) and the anomaly map |x − G(E(x))|, (N, C, H, W).
  Tensor reconstruct(const Tensor& images, int64_t batch = 256);
  Tensor anomaly_map(const Tensor& images);

  void save_checkpoint(const std::string& path) const;
  // Restores networks, optimisers, counters and the random stream; the options must
  // match the ones the checkpoint was written with (checked by name and shape).
  void load_checkpoint(const std::string& path);

  const FanoganNets& nets() const { return nets_; }
  const FanoganOptions& options() const { return opt_; }

 private:
  void encoder_phase_mode();  // G and D frozen in eval mode, E training
  void inference_mode();      // all three in eval mode

  FanoganOptions opt_;
  FanoganNets nets_;
  std::unique_ptr<Adam> opt_g_, opt_d_, opt_e_;
  Generator gen_;  // z, α
  int64_t gan_epochs_done_ = 0, encoder_epochs_done_ = 0;
  double gan_seconds_ = 0, encoder_seconds_ = 0;
};

}  // namespace adx::detectors
