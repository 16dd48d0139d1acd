// Parity with PyTorch for f-AnoGAN's three losses and their gradients
// (detectors/fanogan.cpp): the WGAN-GP critic loss with its second-order gradient
// penalty (Eq. 4.1), the generator loss −mean D(G(z)), the encoder's izi_f loss
// (Eq. 4.2), and the anomaly score (Eq. 4.3). tools/make_fanogan_fixture.py wrote
// PyTorch 1.13's answers (computed in float64 from the same float32 weights and
// inputs) to tests/fixtures/parity/fanogan_{mlp,conv}.h5; the networks there are
// written as the thesis's reference code writes them (A03ki/f-AnoGAN mnist/model.py).
//
// No weights are stored: both sides set every parameter and batch-norm buffer from
// its name ("generator.3.weight", ...) by tests/parity_util.h's rule, the same as
// tools/adx_philox.py's named_tensor(); the fixture holds each tensor's sum to check
// that the two rules agree. The inputs (real images, z, α, images to score) are read
// from the fixture.
//
// Order, on both sides: encoder loss and scores first (G in eval mode uses the
// initial running statistics), then the critic and generator losses (G in training
// mode, each updating the running statistics once, which is checked at the end).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "detectors/fanogan.h"
#include "engine/autograd.h"
#include "io/h5.h"
#include "parity_util.h"

using namespace adx;

namespace {

using detectors::Fanogan;
using detectors::FanoganOptions;

// Tolerances. The reference is float64; adx computes in float32, where every value
// is a sum of hundreds to thousands of products (784·512 weights in a layer, two
// passes through the critic for the penalty's second-order gradient), so a value's
// error is relative to the magnitudes summed, not to the value itself: PyTorch's own
// float32 run is 1e-7..1e-6 of each gradient tensor's largest entry away from the
// float64 one. Hence the tolerances below, of which PyTorch's float32 run uses at
// most 3% (the script prints it) and adx at most 5% (printed by this test):
//   losses and scores: 1e-5·max(|value|, 1) (they are means of O(1) terms that can
//     cancel: the generator loss −mean D(G(z)) is a few hundredths);
//   gradient samples: |Δ| ≤ 1e-4·max|g| of the tensor + 1e-5·max|g| of the whole
//     network (the second term for tensors whose gradient is 0 in exact arithmetic:
//     biases before a training-mode batch norm and the critic's last bias, where
//     only rounding noise is left);
//   gradient sums: |Δ| ≤ 1e-4·Σ|g| (+ the same floor), Σg²: relative 2e-4.
// A real mistake (λ, a missing square root, the wrong ε, a missing mode switch)
// moves these by percents or more.
constexpr double kLossRtol = 1e-5;
constexpr double kGradRtol = 1e-4;
constexpr double kFloor = 1e-5;

std::string fixture_path(const std::string& arch) {
  return (std::filesystem::path(__FILE__).parent_path() / "fixtures" / "parity" / ("fanogan_" + arch + ".h5"))
      .string();
}

std::vector<std::string> split_names(const std::string& joined) {
  std::vector<std::string> out;
  std::stringstream ss(joined);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(item);
  return out;
}

Module::Named sorted_by_name(Module::Named named) {
  std::sort(named.begin(), named.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return named;
}

// Every parameter and buffer of `net` from its name, prefixed with the network's.
void set_deterministic(const std::string& prefix, const Module& net) {
  NoGradGuard no_grad;
  for (auto& [n, t] : net.named_parameters()) Tensor(t).copy_(adx::testing::named_tensor(prefix + n, t.shape()));
  for (auto& [n, t] : net.named_buffers()) Tensor(t).copy_(adx::testing::named_tensor(prefix + n, t.shape()));
}

double sum_of(const Tensor& t) {
  double s = 0;
  for (int64_t i = 0; i < t.numel(); ++i) s += t.data()[i];
  return s;
}

// PyTorch's summary of a list of tensors (tools/make_fanogan_fixture.py write_summary).
struct Summary {
  std::vector<std::string> names;
  std::vector<float> sum, abs_sum, sumsq, max_abs;
  std::vector<int64_t> index;  // (T, 32)
  std::vector<float> values;   // (T, 32)
  int64_t samples = 0;

  Summary(const io::h5::File& f, const std::string& group)
      : names(split_names(f.string_attribute(group, "names"))),
        sum(f.read_floats(group + "/sum")),
        abs_sum(f.read_floats(group + "/abs_sum")),
        sumsq(f.read_floats(group + "/sumsq")),
        max_abs(f.read_floats(group + "/max_abs")),
        index(f.read_ints(group + "/index")),
        values(f.read_floats(group + "/values")) {
    samples = static_cast<int64_t>(index.size() / std::max<size_t>(names.size(), 1));
  }
};

// Compares adx's tensors (name, value), sorted by name, with PyTorch's summary.
void expect_matches(const std::string& what, const Module::Named& ours, const Summary& ref) {
  ASSERT_EQ(ours.size(), ref.names.size()) << what;
  const double network_scale = *std::max_element(ref.max_abs.begin(), ref.max_abs.end());
  const double floor = kFloor * network_scale;
  double worst = 0;  // the largest |Δ| / tolerance of all the checks below
  auto check = [&](double got, double expected, double tol, const std::string& where) {
    EXPECT_NEAR(got, expected, tol) << what << " " << where;
    worst = std::max(worst, std::fabs(got - expected) / tol);
  };
  for (size_t t = 0; t < ours.size(); ++t) {
    const auto& [name, v] = ours[t];
    ASSERT_EQ(name, ref.names[t]) << what << ": the networks' parameter names differ";
    ASSERT_TRUE(v.defined()) << what << " " << name << ": no gradient";
    double s = 0, sq = 0;
    for (int64_t i = 0; i < v.numel(); ++i) {
      s += v.data()[i];
      sq += static_cast<double>(v.data()[i]) * v.data()[i];
    }
    check(s, ref.sum[t], kGradRtol * ref.abs_sum[t] + floor, name + ": sum");
    check(sq, ref.sumsq[t], 2 * kGradRtol * ref.sumsq[t] + floor * floor, name + ": sum of squares");
    const double tol = kGradRtol * ref.max_abs[t] + floor;
    for (int64_t j = 0; j < ref.samples; ++j) {
      const int64_t i = ref.index[t * ref.samples + j];
      ASSERT_LT(i, v.numel()) << what << " " << name;
      check(v.data()[i], ref.values[t * ref.samples + j], tol, name + " element " + std::to_string(i));
    }
  }
  std::printf("  %-26s %2zu tensors: largest |Δ| / tolerance %.3f\n", what.c_str(), ours.size(), worst);
}

Module::Named gradients(const Tensor& loss, const Module& net) {
  const Module::Named params = sorted_by_name(net.named_parameters());
  TensorList wrt;
  for (auto& p : params) wrt.push_back(p.second);
  const TensorList g = grad({loss}, wrt);
  Module::Named out;
  for (size_t i = 0; i < params.size(); ++i) out.emplace_back(params[i].first, g[i]);
  return out;
}

void expect_loss(const char* what, const Tensor& loss, const io::h5::File& f) {
  const double expected = f.read_floats(std::string("losses/") + what)[0];
  const double got = loss.item();
  const double tol = kLossRtol * std::max(std::fabs(expected), 1.0);
  std::printf("  %-9s loss %.8g (PyTorch %.8g): |Δ| / tolerance %.3f\n", what, got, expected,
              std::fabs(got - expected) / tol);
  EXPECT_NEAR(got, expected, tol) << what << " loss";
}

void check_arch(const std::string& arch) {
  const io::h5::File f = io::h5::File::open_read(fixture_path(arch));
  ASSERT_EQ(f.string_attribute("/", "arch"), arch);
  FanoganOptions o;
  o.shape.arch = arch;
  o.shape.channels = 1;
  o.shape.size = 28;
  o.shape.latent = 100;
  ASSERT_EQ(o.gp_lambda, 10.0f);  // the fixture's λ and κ
  ASSERT_EQ(o.kappa, 1.0f);
  Fanogan model(o);
  const FanoganNets& nets = model.nets();
  const std::pair<const char*, const Module*> networks[] = {
      {"generator", nets.generator.get()}, {"critic", nets.critic.get()}, {"encoder", nets.encoder.get()}};
  for (auto [name, net] : networks) {
    set_deterministic(std::string(name) + ".", *net);
    // Same names (the rule's seeds) and the same values as in PyTorch.
    const std::string group = std::string("params/") + name;
    const std::vector<std::string> names = split_names(f.string_attribute(group, "names"));
    const std::vector<float> sums = f.read_floats(group + "/sum");
    const Module::Named params = sorted_by_name(net->named_parameters());
    ASSERT_EQ(params.size(), names.size()) << name;
    for (size_t i = 0; i < params.size(); ++i) {
      ASSERT_EQ(params[i].first, names[i]) << name;
      // The same float32 values summed in double: equal to ~1e-12 when the rules agree.
      EXPECT_NEAR(sum_of(params[i].second), sums[i], 1e-6 * (1 + std::fabs(sums[i])))
          << name << " " << names[i] << ": the parameter rule differs from PyTorch's side";
    }
  }
  const Tensor real = f.read("inputs/real"), z = f.read("inputs/z"), alpha = f.read("inputs/alpha");
  const Tensor images = f.read("inputs/images");
  std::printf("f-AnoGAN %s vs PyTorch:\n", arch.c_str());

  // Eq. 4.2 (G, D in eval mode) and Eq. 4.3, before anything touches the running statistics.
  const Tensor e_loss = model.encoder_loss(real);
  expect_loss("encoder", e_loss, f);
  expect_matches("encoder loss gradients", gradients(e_loss, *nets.encoder), Summary(f, "grads/encoder"));
  const Tensor scores = model.score(images);
  const std::vector<float> expected_scores = f.read_floats("score");
  ASSERT_EQ(scores.numel(), static_cast<int64_t>(expected_scores.size()));
  for (int64_t i = 0; i < scores.numel(); ++i)
    EXPECT_NEAR(scores.data()[i], expected_scores[i], kLossRtol * std::max(std::fabs(expected_scores[i]), 1.0f))
        << "image " << i;
  std::printf("  score     %.6f %.6f … (PyTorch %.6f %.6f …)\n", scores.data()[0], scores.data()[1],
              expected_scores[0], expected_scores[1]);

  // Eq. 4.1 with the second-order gradient penalty, then the generator's loss.
  const Tensor d_loss = model.critic_loss(real, z, alpha);
  expect_loss("critic", d_loss, f);
  expect_matches("critic loss gradients", gradients(d_loss, *nets.critic), Summary(f, "grads/critic"));
  const Tensor g_loss = model.generator_loss(z);
  expect_loss("generator", g_loss, f);
  expect_matches("generator loss gradients", gradients(g_loss, *nets.generator), Summary(f, "grads/generator"));

  // Two training-mode passes of G updated batch norm's running statistics as torch's do.
  expect_matches("running statistics", sorted_by_name(nets.generator->named_buffers()),
                 Summary(f, "buffers_after_gan"));
}

}  // namespace

TEST(FanoganParity, MlpLossesAndGradientsMatchPyTorch) { check_arch("mlp"); }
TEST(FanoganParity, ConvLossesAndGradientsMatchPyTorch) { check_arch("conv"); }
