// f-AnoGAN: the networks' shapes, training that resumes exactly, frozen networks in
// the encoder phase, Eq. 4.3's score, and clear errors. (tests/fanogan_parity_test.cpp
// checks the losses and gradients against PyTorch.)
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "data_util.h"
#include "detectors/fanogan.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/random.h"

namespace adx {
namespace {

using detectors::Fanogan;
using detectors::FanoganOptions;

// n images in [−1, 1]: a blurry blob with a per-image offset, so that they look alike.
Tensor toy_images(int64_t n, int64_t channels = 1, int64_t size = 28) {
  Tensor x = Tensor::empty({n, channels, size, size});
  float* p = x.data();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t h = 0; h < size; ++h)
        for (int64_t w = 0; w < size; ++w) {
          const double dy = (h - size / 2.0) / 6.0, dx = (w - size / 2.0 - 0.2 * (i % 5)) / 6.0;
          *p++ = static_cast<float>(2.0 * std::exp(-(dx * dx + dy * dy)) - 1.0);
        }
  return x;
}

FanoganOptions small_options(const std::string& arch = "mlp") {
  FanoganOptions o;
  o.shape.arch = arch;
  o.epochs = 2;
  o.batch = 8;
  o.seed = 3;
  return o;
}

TEST(FanoganNets, MlpShapesAndTheReferenceNames) {
  FanoganShape s;
  FanoganNets nets = make_fanogan_nets(s);
  NoGradGuard no_grad;
  nets.generator->eval();
  const Tensor z = Tensor::zeros({3, 100});
  const Tensor x = nets.generator->forward(z);
  EXPECT_EQ(x.shape(), (Shape{3, 1, 28, 28}));
  EXPECT_EQ(nets.critic->features(x).shape(), (Shape{3, 256}));
  EXPECT_EQ(nets.critic->forward(x).shape(), (Shape{3, 1}));
  EXPECT_EQ(nets.encoder->forward(x).shape(), (Shape{3, 100}));
  // G: 100·128+128 + (128·256+256) + (256·512+512) + (512·1024+1024) + 1024·784+784,
  // plus γ and β of the three batch norms.
  const int64_t g = 100 * 128 + 128 + 128 * 256 + 256 + 256 * 512 + 512 + 512 * 1024 + 1024 + 1024 * 784 + 784 +
                    2 * (256 + 512 + 1024);
  EXPECT_EQ(nets.generator->parameter_count(), g);
  EXPECT_EQ(nets.critic->parameter_count(), 784 * 512 + 512 + 512 * 256 + 256 + 256 + 1);
  EXPECT_EQ(nets.encoder->parameter_count(), 784 * 512 + 512 + 512 * 256 + 256 + 256 * 100 + 100);
  EXPECT_EQ(nets.critic->named_parameters().front().first, "features.1.weight");
  EXPECT_EQ(nets.critic->named_parameters().back().first, "last_layer.0.bias");
}

TEST(FanoganNets, MlpBatchNormUsesTheReferenceEpsilon) {
  // With ε = 0.8 a batch norm in eval mode (running var 1, mean 0) maps x to
  // x/√1.8; with torch's default 1e-5 it would leave x nearly unchanged.
  FanoganNets nets = make_fanogan_nets({});
  auto bn = std::dynamic_pointer_cast<BatchNorm>(std::dynamic_pointer_cast<Sequential>(nets.generator)->child("3"));
  ASSERT_TRUE(bn);
  EXPECT_FLOAT_EQ(bn->eps, 0.8f);
}

TEST(FanoganNets, ConvShapesForGreyAndColour) {
  for (auto [channels, size] : {std::pair<int64_t, int64_t>{1, 28}, {3, 32}}) {
    FanoganShape s{"conv", channels, size, 64};
    FanoganNets nets = make_fanogan_nets(s);
    NoGradGuard no_grad;
    nets.generator->eval();
    const Tensor x = nets.generator->forward(Tensor::zeros({2, 64}));
    EXPECT_EQ(x.shape(), (Shape{2, channels, size, size}));
    EXPECT_EQ(nets.critic->feature_dim(), 128 * (size / 4) * (size / 4));
    EXPECT_EQ(nets.critic->features(x).shape(), (Shape{2, nets.critic->feature_dim()}));
    EXPECT_EQ(nets.encoder->forward(x).shape(), (Shape{2, 64}));
  }
}

TEST(FanoganNets, BadShapesAreErrors) {
  EXPECT_THROW(make_fanogan_nets({"transformer", 1, 28, 100}), Error);
  EXPECT_THROW(make_fanogan_nets({"conv", 1, 30, 100}), Error);
  EXPECT_THROW(make_fanogan_nets({"mlp", 2, 28, 100}), Error);
}

TEST(Fanogan, EncoderStepLeavesGeneratorAndCriticUntouched) {
  Fanogan model(small_options());
  const Tensor x = toy_images(8);
  model.gan_step(x, true);
  // Parameters and buffers (batch norm's running statistics: G must run in eval mode).
  auto frozen_state = [&] {
    std::vector<std::vector<float>> v;
    for (const Module* m : {static_cast<const Module*>(model.nets().generator.get()),
                            static_cast<const Module*>(model.nets().critic.get())}) {
      for (const auto& [name, t] : m->named_parameters()) v.push_back(t.to_vector());
      for (const auto& [name, t] : m->named_buffers()) v.push_back(t.to_vector());
    }
    return v;
  };
  const auto before = frozen_state();
  const Tensor encoder_before = model.nets().encoder->parameters()[0].clone().detach();
  model.encoder_step(x);
  EXPECT_EQ(frozen_state(), before);
  EXPECT_NE(model.nets().encoder->parameters()[0].to_vector(), encoder_before.to_vector());
}

TEST(Fanogan, CriticStepMovesOnlyTheCriticUnlessTheGeneratorIsDue) {
  Fanogan model(small_options());
  const Tensor x = toy_images(8);
  const Tensor g_before = model.nets().generator->parameters()[0].clone().detach();
  const Tensor d_before = model.nets().critic->parameters()[0].clone().detach();
  model.gan_step(x, false);
  EXPECT_EQ(model.nets().generator->parameters()[0].to_vector(), g_before.to_vector());
  EXPECT_NE(model.nets().critic->parameters()[0].to_vector(), d_before.to_vector());
  model.gan_step(x, true);
  EXPECT_NE(model.nets().generator->parameters()[0].to_vector(), g_before.to_vector());
}

TEST(Fanogan, ScoreIsEquation43PerImage) {
  FanoganOptions o = small_options();
  o.kappa = 0.5f;  // κ ≠ 1, so that a score without κ would fail
  Fanogan model(o);
  const Tensor x = toy_images(3);
  model.gan_step(x, true);
  const std::vector<float> scores = model.score(x, 2).to_vector();  // batches of 2 and 1
  ASSERT_EQ(scores.size(), 3u);
  const Fanogan::ScoreTerms terms = model.score_terms(x, 2);
  const std::vector<float> pixels = terms.pixel.to_vector(), features = terms.feature.to_vector();
  // score_kappa re-weights the score only.
  o.score_kappa = 2.0f;
  Fanogan reweighted(o);
  reweighted.gan_step(x, true);
  const std::vector<float> rescored = reweighted.score(x).to_vector();
  for (size_t i = 0; i < 3; ++i)
    EXPECT_NEAR(rescored[i], pixels[i] + 2.0f * features[i], 1e-5f * (1 + pixels[i] + features[i]));
  // κ = 0 is the pixel term alone, even where the feature term overflowed.
  o.score_kappa = 0.0f;
  Fanogan pixel_only(o);
  const Fanogan::ScoreTerms overflowed{Tensor::from_data({2}, {1.0f, 2.0f}),
                                       Tensor::from_data({2}, {INFINITY, 3.0f})};
  EXPECT_EQ(pixel_only.combine(overflowed).to_vector(), (std::vector<float>{1.0f, 2.0f}));
  o.score_kappa = -0.5f;
  EXPECT_THROW(Fanogan{o}, Error);
  NoGradGuard no_grad;
  const Tensor recon = model.reconstruct(x);
  for (int64_t i = 0; i < 3; ++i) {
    const Tensor xi = x.slice(0, i, i + 1), ri = recon.slice(0, i, i + 1);
    const float pixel = mse_loss(ri, xi).item();
    const float feature = mse_loss(model.nets().critic->features(ri), model.nets().critic->features(xi)).item();
    EXPECT_NEAR(scores[static_cast<size_t>(i)], pixel + 0.5f * feature, 1e-5f * (1 + pixel + feature));
    EXPECT_NEAR(pixels[static_cast<size_t>(i)], pixel, 1e-5f * (1 + pixel));
    EXPECT_NEAR(features[static_cast<size_t>(i)], feature, 1e-5f * (1 + feature));
  }
  const std::vector<float> map = model.anomaly_map(x).to_vector();
  const std::vector<float> xs = x.to_vector(), rs = recon.to_vector();
  for (size_t i = 0; i < map.size(); i += 97) EXPECT_NEAR(map[i], std::fabs(xs[i] - rs[i]), 1e-6f);
}

TEST(Fanogan, ResumingFromACheckpointGivesTheSameModel) {
  const Tensor x = toy_images(20);  // 3 batches of 8, 8, 4
  FanoganOptions o = small_options();
  o.epochs = 2;
  o.encoder_epochs = 2;
  Fanogan straight(o);
  straight.fit(x);
  ASSERT_TRUE(straight.trained());
  // n_critic = 5 and 3 batches per epoch: the generator moves on batch 0 of each epoch.
  EXPECT_EQ(straight.generator_updates(), 2);

  // Stop after the 1st GAN epoch, and after the 1st encoder epoch (the 3rd in all), as
  // `adx experiment --max-minutes` does; resume from the checkpoint written there.
  for (int stop_after : {1, 3}) {
    const std::string path = (testing::scratch_dir() / "fanogan_resume.h5").string();
    {
      Fanogan first(o);
      int seen = 0;
      try {
        first.fit(x, [&](const detectors::FanoganProgress& p) {
          if (!p.epoch_done) return;
          first.save_checkpoint(path);
          if (++seen == stop_after) throw std::runtime_error("interrupted");
        });
      } catch (const std::runtime_error&) {
      }
      EXPECT_EQ(first.gan_epochs_done() + first.encoder_epochs_done(), stop_after);
    }
    Fanogan resumed(o);
    resumed.load_checkpoint(path);
    EXPECT_EQ(resumed.gan_epochs_done() + resumed.encoder_epochs_done(), stop_after);
    resumed.fit(x);
    EXPECT_TRUE(resumed.trained());
    EXPECT_EQ(resumed.generator_updates(), 2);
    EXPECT_EQ(resumed.score(x).to_vector(), straight.score(x).to_vector()) << "stopped after epoch " << stop_after;
    // A checkpoint is refused by a model with other options.
    FanoganOptions other = o;
    other.kappa = 0.5f;
    Fanogan different(other);
    EXPECT_THROW(different.load_checkpoint(path), Error);
    std::filesystem::remove(path);
  }
}

TEST(Fanogan, NanStopsTrainingWithAMessage) {
  Tensor x = toy_images(8);
  x.data()[5] = std::nanf("");
  Fanogan model(small_options());
  try {
    model.fit(x);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("became nan at epoch 1, batch 1"), std::string::npos) << e.what();
  }
}

TEST(Fanogan, WrongImagesAndOptionsAreErrors) {
  Fanogan model(small_options());
  EXPECT_THROW(model.fit(Tensor::zeros({4, 1, 32, 32})), Error);
  EXPECT_THROW(model.score(Tensor::zeros({4, 3, 28, 28})), Error);
  EXPECT_THROW(model.fit(Tensor::zeros({1, 1, 28, 28})), Error);
  FanoganOptions bad = small_options();
  bad.batch = 1;
  EXPECT_THROW(Fanogan{bad}, Error);
  EXPECT_THROW(model.load_checkpoint("/nonexistent/checkpoint.h5"), Error);
}

TEST(Fanogan, ConvTrainsAndScoresColourImages) {
  FanoganOptions o = small_options("conv");
  o.shape.channels = 3;
  o.shape.size = 32;
  o.shape.latent = 16;
  o.epochs = 1;
  Fanogan model(o);
  const Tensor x = toy_images(8, 3, 32);
  model.fit(x);
  const std::vector<float> s = model.score(x).to_vector();
  for (float v : s) EXPECT_TRUE(std::isfinite(v) && v >= 0);
}

}  // namespace
}  // namespace adx
