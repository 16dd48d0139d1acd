#include "detectors/fanogan.h"

#include <chrono>
#include <cmath>
#include <fmt/format.h>

#include "engine/autograd.h"
#include "engine/clock.h"
#include "engine/ops.h"
#include "io/loader.h"
#include "weights/weights.h"

namespace adx::detectors {
namespace {

AdamOptions adam_options(const FanoganOptions& o) {
  return {.lr = o.lr, .beta1 = o.beta1, .beta2 = o.beta2};
}

// Sets each parameter's .grad to d(loss)/d(parameter) for `params` only, so that the
// frozen networks in the graph get no gradient computed at all.
void set_grads(const Tensor& loss, const std::vector<Tensor>& params) {
  const TensorList g = grad({loss}, TensorList(params.begin(), params.end()));
  for (size_t i = 0; i < params.size(); ++i) params[i].impl().grad = g[i].impl_shared();
}

void check_finite(float value, const char* what, int64_t epoch, int64_t batch) {
  if (!std::isfinite(value))
    throw Error(fmt::format("f-AnoGAN: the {} became {} at epoch {}, batch {}; training stopped "
                            "(the last checkpoint, if any, is kept)",
                            what, value, epoch + 1, batch));
}

// Per-row mean of squares of a (N, ...) tensor: (N).
Tensor row_mean_sq(const Tensor& d) { return mean(mul(d, d).flatten(1), {1}); }

void check_images(const Tensor& x, const FanoganShape& s, const char* who) {
  if (x.dim() != 4 || x.size(1) != s.channels || x.size(2) != s.size || x.size(3) != s.size)
    throw Error(fmt::format("f-AnoGAN {}: expected images (N, {}, {}, {}), got {}", who, s.channels, s.size,
                            s.size, shape_str(x.shape())));
  if (x.size(0) == 0) throw Error(fmt::format("f-AnoGAN {}: no images", who));
}

// Every option that changes a trained model, as one line (stored in checkpoints).
std::string options_text(const FanoganOptions& o) {
  return fmt::format("arch={} channels={} size={} latent={} epochs={} encoder_epochs={} batch={} n_critic={} "
                     "gp_lambda={} lr={} beta1={} beta2={} kappa={} seed={}",
                     o.shape.arch, o.shape.channels, o.shape.size, o.shape.latent, o.epochs, o.encoder_epochs,
                     o.batch, o.n_critic, o.gp_lambda, o.lr, o.beta1, o.beta2, o.kappa, o.seed);
}

weights::NamedTensors prefixed(const std::string& prefix, const Module& m) {
  weights::NamedTensors out;
  for (auto& [name, t] : m.named_parameters()) out.emplace_back(prefix + name, t);
  for (auto& [name, t] : m.named_buffers()) out.emplace_back(prefix + name, t);
  return out;
}

}  // namespace

Fanogan::Fanogan(const FanoganOptions& options) : opt_(options), gen_(options.seed ^ 0x6a09e667f3bcc908ULL) {
  if (opt_.encoder_epochs < 0) opt_.encoder_epochs = opt_.epochs;
  if (opt_.epochs < 0 || opt_.batch < 2 || opt_.n_critic < 1 || !(opt_.lr > 0) || !(opt_.kappa >= 0) ||
      !(opt_.score_kappa >= 0 || opt_.score_kappa == -1) || !(opt_.gp_lambda >= 0))
    throw Error(fmt::format("f-AnoGAN: bad options (epochs {}, batch {}, n_critic {}, lr {}, kappa {}, "
                            "score_kappa {}, gp_lambda {}): need epochs ≥ 0, batch ≥ 2, n_critic ≥ 1, lr > 0, "
                            "κ ≥ 0, score κ ≥ 0 or −1, λ ≥ 0",
                            opt_.epochs, opt_.batch, opt_.n_critic, opt_.lr, opt_.kappa, opt_.score_kappa,
                            opt_.gp_lambda));
  manual_seed(opt_.seed);  // the layers initialise from the default generator
  nets_ = make_fanogan_nets(opt_.shape);
  nets_.generator->to(opt_.device);
  nets_.critic->to(opt_.device);
  nets_.encoder->to(opt_.device);
  opt_g_ = std::make_unique<Adam>(nets_.generator->parameters(), adam_options(opt_));
  opt_d_ = std::make_unique<Adam>(nets_.critic->parameters(), adam_options(opt_));
  opt_e_ = std::make_unique<Adam>(nets_.encoder->parameters(), adam_options(opt_));
}

bool Fanogan::trained() const {
  return gan_epochs_done_ >= opt_.epochs && encoder_epochs_done_ >= opt_.encoder_epochs;
}

Tensor Fanogan::critic_loss(const Tensor& real, const Tensor& z, const Tensor& alpha) {
  nets_.generator->train();
  FanoganCritic& critic = *nets_.critic;
  Tensor fake;
  {
    NoGradGuard no_grad;  // the critic's update does not reach the generator
    fake = nets_.generator->forward(z);
  }
  // Eq. 4.1's gradient penalty on x̂ = α·x + (1 − α)·G(z), one α per image.
  Tensor x_hat = add(mul(alpha, real), mul(sub(Tensor::scalar(1.0f), alpha), fake)).detach();
  x_hat.requires_grad_();
  const Tensor grad_x = grad({sum(critic(x_hat))}, {x_hat}, {}, /*create_graph=*/true)[0];
  // ‖g‖₂; the tiny ε keeps the derivative finite where g = 0 (torch's norm uses 0 there).
  const Tensor grad_norm = sqrt(add(sum(mul(grad_x, grad_x).flatten(1), {1}), Tensor::scalar(1e-12f)));
  const Tensor penalty = mean(pow(sub(grad_norm, Tensor::scalar(1.0f)), 2.0f));
  // The critic has no batch norm, so real and fake go through it in one batch.
  const int64_t n = real.size(0);
  const Tensor values = critic(concat({real, fake}, 0));
  return add(sub(mean(values.slice(0, n, 2 * n)), mean(values.slice(0, 0, n))),
             mul(penalty, Tensor::scalar(opt_.gp_lambda)));
}

Tensor Fanogan::generator_loss(const Tensor& z) {
  nets_.generator->train();
  return neg(mean((*nets_.critic)(nets_.generator->forward(z))));
}

std::pair<float, float> Fanogan::gan_step(const Tensor& real_in, bool update_generator) {
  const Tensor real = real_in.to(opt_.device);
  const int64_t n = real.size(0);
  const Tensor z = Tensor::randn({n, opt_.shape.latent}, gen_, opt_.device);
  const Tensor alpha = Tensor::rand({n, 1, 1, 1}, gen_, opt_.device);
  const Tensor d_loss = critic_loss(real, z, alpha);
  set_grads(d_loss, opt_d_->params());
  opt_d_->step();
  float g_loss = 0;
  if (update_generator) {  // with the same z, as the reference code
    const Tensor loss = generator_loss(z);
    set_grads(loss, opt_g_->params());
    opt_g_->step();
    g_loss = loss.item();
  }
  return {d_loss.item(), g_loss};
}

void Fanogan::encoder_phase_mode() {
  nets_.generator->eval();  // frozen, with batch norm's running statistics
  nets_.critic->eval();
  nets_.encoder->train();
}

Tensor Fanogan::encoder_loss(const Tensor& real) {
  encoder_phase_mode();
  FanoganCritic& critic = *nets_.critic;
  const Tensor recon = nets_.generator->forward(nets_.encoder->forward(real));
  Tensor real_features;
  {
    NoGradGuard no_grad;  // f(x) does not depend on E
    real_features = critic.features(real);
  }
  // Eq. 4.2: mean squared pixel residual + κ · mean squared feature residual.
  return add(mse_loss(recon, real), mul(mse_loss(critic.features(recon), real_features), Tensor::scalar(opt_.kappa)));
}

void Fanogan::inference_mode() {
  encoder_phase_mode();
  nets_.encoder->eval();
}

float Fanogan::encoder_step(const Tensor& real) {
  const Tensor loss = encoder_loss(real.to(opt_.device));
  set_grads(loss, opt_e_->params());
  opt_e_->step();
  return loss.item();
}

void Fanogan::fit(const Tensor& images, const std::function<void(const FanoganProgress&)>& on_progress) {
  check_images(images, opt_.shape, "training");
  const int64_t n = images.size(0);
  if (n < 2) throw Error("f-AnoGAN training: need at least 2 images");
  // A last batch of one image would give batch norm no variance: drop it.
  io::LoaderOptions lo{.batch = opt_.batch, .shuffle = true, .drop_last = n % opt_.batch == 1, .seed = opt_.seed};
  io::Loader loader(images, {}, {}, lo);
  const int64_t batches = loader.batches_per_epoch();
  io::Batch batch;

  while (gan_epochs_done_ < opt_.epochs) {
    const auto start = Clock::now();
    const int64_t e = gan_epochs_done_;
    loader.start_epoch(e);
    FanoganProgress p{FanoganProgress::Phase::Gan, e, opt_.epochs, 0, batches};
    for (int64_t i = 0; loader.next(batch); ++i) {
      const bool update_g = i % opt_.n_critic == 0;  // the reference code's schedule
      auto [d_loss, g_loss] = gan_step(batch.x, update_g);
      check_finite(d_loss, "critic loss", e, i + 1);
      p.batch = i + 1;
      p.critic_loss = d_loss;
      if (update_g) {
        check_finite(g_loss, "generator loss", e, i + 1);
        p.generator_loss = g_loss;
      }
      if (on_progress) on_progress(p);
    }
    gan_seconds_ += seconds_since(start);
    ++gan_epochs_done_;  // before the hook, so that a checkpoint written there resumes after it
    p.epoch_done = true;
    if (on_progress) on_progress(p);
  }

  // Encoder epochs use their own shuffles (epoch numbers after the GAN's).
  while (encoder_epochs_done_ < opt_.encoder_epochs) {
    const auto start = Clock::now();
    const int64_t e = encoder_epochs_done_;
    loader.start_epoch(opt_.epochs + e);
    FanoganProgress p{FanoganProgress::Phase::Encoder, e, opt_.encoder_epochs, 0, batches};
    for (int64_t i = 0; loader.next(batch); ++i) {
      p.encoder_loss = encoder_step(batch.x);
      check_finite(p.encoder_loss, "encoder loss", e, i + 1);
      p.batch = i + 1;
      if (on_progress) on_progress(p);
    }
    encoder_seconds_ += seconds_since(start);
    ++encoder_epochs_done_;
    p.epoch_done = true;
    if (on_progress) on_progress(p);
  }
}

Tensor Fanogan::reconstruct(const Tensor& images, int64_t batch) {
  check_images(images, opt_.shape, "reconstruction");
  NoGradGuard no_grad;
  inference_mode();
  const int64_t n = images.size(0);
  Tensor out = Tensor::empty(images.shape());
  for (int64_t i = 0; i < n; i += batch) {
    const int64_t j = std::min(n, i + batch);
    out.slice(0, i, j).copy_(nets_.generator->forward(nets_.encoder->forward(images.slice(0, i, j).to(opt_.device))));
  }
  return out;
}

Fanogan::ScoreTerms Fanogan::score_terms(const Tensor& images, int64_t batch) {
  check_images(images, opt_.shape, "scoring");
  NoGradGuard no_grad;
  inference_mode();
  const int64_t n = images.size(0);
  ScoreTerms terms{Tensor::empty({n}), Tensor::empty({n})};
  for (int64_t i = 0; i < n; i += batch) {
    const int64_t j = std::min(n, i + batch);
    const Tensor x = images.slice(0, i, j).to(opt_.device);
    const Tensor recon = nets_.generator->forward(nets_.encoder->forward(x));
    terms.pixel.slice(0, i, j).copy_(row_mean_sq(sub(x, recon)));
    terms.feature.slice(0, i, j).copy_(row_mean_sq(sub(nets_.critic->features(x), nets_.critic->features(recon))));
  }
  return terms;
}

Tensor Fanogan::combine(const ScoreTerms& terms) const {
  NoGradGuard no_grad;
  const float kappa = opt_.score_weight();
  if (kappa == 0) return terms.pixel.clone();
  return add(terms.pixel, mul(terms.feature, Tensor::scalar(kappa)));  // Eq. 4.3
}

Tensor Fanogan::score(const Tensor& images, int64_t batch) { return combine(score_terms(images, batch)); }

Tensor Fanogan::anomaly_map(const Tensor& images) {
  NoGradGuard no_grad;
  return abs(sub(images.to(Device::cpu()), reconstruct(images)));
}

void Fanogan::save_checkpoint(const std::string& path) const {
  weights::Checkpoint c;
  c.model = prefixed("generator.", *nets_.generator);
  for (auto& t : prefixed("critic.", *nets_.critic)) c.model.push_back(t);
  for (auto& t : prefixed("encoder.", *nets_.encoder)) c.model.push_back(t);
  const std::pair<const char*, Adam*> optimisers[] = {{"opt_g.", opt_g_.get()}, {"opt_d.", opt_d_.get()},
                                                      {"opt_e.", opt_e_.get()}};
  for (auto [prefix, o] : optimisers) {
    for (auto& [name, t] : o->state()) c.optimizer.emplace_back(prefix + name, t);
    c.counters[std::string(prefix) + "steps"] = o->steps();
  }
  c.counters["gan_epochs_done"] = gan_epochs_done_;
  c.counters["encoder_epochs_done"] = encoder_epochs_done_;
  c.counters["gan_microseconds"] = static_cast<int64_t>(gan_seconds_ * 1e6);
  c.counters["encoder_microseconds"] = static_cast<int64_t>(encoder_seconds_ * 1e6);
  c.rng = gen_.state();
  c.attributes["method"] = "fanogan";
  c.attributes["arch"] = opt_.shape.arch;
  c.attributes["options"] = options_text(opt_);
  weights::save_checkpoint(path, c);
}

void Fanogan::load_checkpoint(const std::string& path) {
  const weights::Attributes attributes = weights::read_attributes(path);
  const auto written = attributes.find("options");
  if (written == attributes.end() || written->second != options_text(opt_))
    throw Error(fmt::format("{}: an f-AnoGAN checkpoint made with other options ({}), not these ({}); delete it "
                            "to start again", path, written == attributes.end() ? "none recorded" : written->second,
                            options_text(opt_)));
  weights::NamedTensors model = prefixed("generator.", *nets_.generator);
  for (auto& t : prefixed("critic.", *nets_.critic)) model.push_back(t);
  for (auto& t : prefixed("encoder.", *nets_.encoder)) model.push_back(t);
  const weights::Checkpoint c = weights::load_checkpoint(path, model);
  auto counter = [&](const std::string& k) {
    auto it = c.counters.find(k);
    if (it == c.counters.end()) throw Error(fmt::format("{}: not an f-AnoGAN checkpoint (no counter '{}')", path, k));
    return it->second;
  };
  const std::pair<const char*, Adam*> optimisers[] = {{"opt_g.", opt_g_.get()}, {"opt_d.", opt_d_.get()},
                                                      {"opt_e.", opt_e_.get()}};
  for (auto [prefix, o] : optimisers) {
    std::vector<std::pair<std::string, Tensor>> state;
    const std::string p = prefix;
    for (auto& [name, t] : c.optimizer)
      if (name.compare(0, p.size(), p) == 0) state.emplace_back(name.substr(p.size()), t);
    try {
      o->load_state(state);
    } catch (const Error& e) {
      throw Error(fmt::format("{}: {}", path, e.what()));
    }
    o->set_steps(counter(p + "steps"));
  }
  gan_epochs_done_ = counter("gan_epochs_done");
  encoder_epochs_done_ = counter("encoder_epochs_done");
  gan_seconds_ = static_cast<double>(counter("gan_microseconds")) * 1e-6;
  encoder_seconds_ = static_cast<double>(counter("encoder_microseconds")) * 1e-6;
  gen_.restore(c.rng);
}

}  // namespace adx::detectors
