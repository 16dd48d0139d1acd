// The HDF5 weight format and checkpoints.
#include <gtest/gtest.h>

#include "data_util.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include "engine/autograd.h"
#include "engine/optim.h"
#include "models/lenet.h"
#include "io/h5.h"
#include "weights/weights.h"

using namespace adx;
namespace fs = std::filesystem;

namespace {

std::string temp_file(const std::string& name) {
  const fs::path dir = adx::testing::scratch_dir() / "weights";
  fs::create_directories(dir);
  return (dir / name).string();
}

weights::NamedTensors state_of(const Module& m) {
  weights::NamedTensors all = m.named_parameters();
  for (auto& b : m.named_buffers()) all.push_back(b);
  return all;
}

std::string load_error(const std::string& path, const weights::NamedTensors& into) {
  try {
    weights::load(path, into);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Weights, PathsMapDottedNamesToGroups) {
  EXPECT_EQ(weights::to_h5_path("layer1.0.conv1.weight"), "/layer1/0/conv1/weight");
  EXPECT_EQ(weights::to_dotted_name("/layer1/0/conv1/weight"), "layer1.0.conv1.weight");
  EXPECT_EQ(weights::to_dotted_name("fc/bias"), "fc.bias");
}

TEST(Weights, RoundTripRestoresEveryTensor) {
  manual_seed(1);
  LeNet5 a(10);
  const std::string path = temp_file("lenet.h5");
  weights::save(path, state_of(a), {{"source", "unit test"}});
  manual_seed(2);
  LeNet5 b(10);
  ASSERT_NE(a.named_parameters()[0].second.to_vector(), b.named_parameters()[0].second.to_vector());
  weights::load(path, state_of(b));
  for (size_t i = 0; i < a.named_parameters().size(); ++i)
    EXPECT_EQ(a.named_parameters()[i].second.to_vector(), b.named_parameters()[i].second.to_vector());
  auto attrs = weights::read_attributes(path);
  EXPECT_EQ(attrs["format"], "adx-weights");
  EXPECT_EQ(attrs["format_version"], "1");
  EXPECT_EQ(attrs["source"], "unit test");
}

TEST(Weights, EveryMismatchIsReportedByName) {
  const std::string path = temp_file("mismatch.h5");
  weights::save(path, {{"conv.weight", Tensor::zeros({4, 1, 3, 3})},
                       {"conv.bias", Tensor::zeros({4})},
                       {"extra.weight", Tensor::zeros({2})}});
  Tensor w = Tensor::zeros({4, 1, 5, 5}), b = Tensor::zeros({4}), fc = Tensor::zeros({3});
  const std::string msg = load_error(path, {{"conv.weight", w}, {"conv.bias", b}, {"fc.weight", fc}});
  EXPECT_NE(msg.find("3 problem(s)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'conv.weight' has shape [4, 1, 3, 3] in the file, [4, 1, 5, 5] in the model"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing 'fc.weight'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unexpected 'extra.weight'"), std::string::npos) << msg;
  // All-or-nothing: the matching bias was not modified either.
  b.fill_(7.0f);
  load_error(path, {{"conv.weight", w}, {"conv.bias", b}, {"fc.weight", fc}});
  EXPECT_EQ(b.data()[0], 7.0f);
  weights::LoadOptions lenient;
  lenient.allow_unexpected = true;
  lenient.allow_missing = true;
  EXPECT_NO_THROW(weights::load(path, {{"conv.bias", b}}, lenient));
  EXPECT_EQ(b.data()[0], 0.0f);
}

TEST(Weights, NonFiniteValuesAreRejected) {
  const std::string path = temp_file("nan.h5");
  weights::save(path, {{"w", Tensor::from_data({3}, {1.0f, std::nanf(""), 2.0f})}});
  Tensor w = Tensor::zeros({3});
  const std::string msg = load_error(path, {{"w", w}});
  EXPECT_NE(msg.find("'w' holds nan at element 1"), std::string::npos) << msg;
}

TEST(Weights, BadFilesGiveOneClearError) {
  Tensor w = Tensor::zeros({3});
  EXPECT_NE(load_error(temp_file("absent.h5"), {{"w", w}}).find("no such file"), std::string::npos);
  const std::string text = temp_file("text.h5");
  std::ofstream(text) << "not hdf5 at all";
  EXPECT_NE(load_error(text, {{"w", w}}).find("not an HDF5 file"), std::string::npos);
  // A truncated copy of a valid file.
  const std::string good = temp_file("good.h5"), cut = temp_file("cut.h5");
  weights::save(good, {{"w", Tensor::ones({20000})}});
  fs::copy_file(good, cut, fs::copy_options::overwrite_existing);
  fs::resize_file(cut, fs::file_size(good) / 2);
  Tensor big = Tensor::zeros({20000});
  EXPECT_FALSE(load_error(cut, {{"w", big}}).empty());
}

TEST(Weights, FailedSaveLeavesNoFileBehind) {
  const fs::path dir = adx::testing::scratch_dir() / "weights_atomic";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "w.h5").string();
  weights::save(path, {{"a", Tensor::ones({2})}});
  // Two tensors with the same name: the second write fails mid-file.
  EXPECT_THROW(weights::save(path, {{"b", Tensor::ones({2})}, {"b", Tensor::ones({2})}}), Error);
  int files = 0;
  for (auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);  // no temporary left
  Tensor a = Tensor::zeros({2});
  weights::load(path, {{"a", a}});  // the old file is intact
  EXPECT_EQ(a.data()[1], 1.0f);
}

namespace {

// A few Adam steps on LeNet-5 with data drawn from `gen`.
void train_steps(LeNet5& net, Adam& opt, Generator& gen, int steps) {
  for (int s = 0; s < steps; ++s) {
    Tensor x = Tensor::randn({8, 1, 28, 28}, gen);
    Tensor y = Tensor::empty({8});
    for (int i = 0; i < 8; ++i) y.data()[i] = static_cast<float>(gen.below(10));
    Tensor loss = cross_entropy(net(x), y);
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
}

}  // namespace

TEST(Checkpoint, ResumingIsBitIdentical) {
  const std::string path = temp_file("ckpt.h5");
  manual_seed(5);
  LeNet5 net(10);
  Adam opt(net.parameters(), AdamOptions{.lr = 1e-3f});
  Generator gen(11);
  train_steps(net, opt, gen, 3);
  gen.normal();  // leave a spare normal in the generator's state
  weights::save_checkpoint(path, {state_of(net), opt.state(), {{"step", 3}, {"epoch", 1}}, gen.state(), {}});
  train_steps(net, opt, gen, 4);
  const std::vector<float> expected = net.named_parameters()[0].second.to_vector();

  manual_seed(99);
  LeNet5 resumed(10);
  Adam opt2(resumed.parameters(), AdamOptions{.lr = 1e-3f});
  weights::Checkpoint c = weights::load_checkpoint(path, state_of(resumed));
  opt2.load_state(c.optimizer);
  Generator gen2(0);
  gen2.restore(c.rng);
  EXPECT_EQ(c.counters.at("step"), 3);
  EXPECT_EQ(c.counters.at("epoch"), 1);
  train_steps(resumed, opt2, gen2, 4);
  EXPECT_EQ(resumed.named_parameters()[0].second.to_vector(), expected);
}

TEST(Checkpoint, OptimizerStateMustMatch) {
  Tensor p = Tensor::zeros({3}).requires_grad_();
  SGD sgd({p}, SGDOptions{.lr = 0.1f, .momentum = 0.9f});
  EXPECT_THROW(sgd.load_state({{"momentum.0", Tensor::zeros({4})}}), Error);
  EXPECT_THROW(sgd.load_state({{"exp_avg.0", Tensor::zeros({3})}}), Error);
  EXPECT_THROW(sgd.load_state({{"momentum.7", Tensor::zeros({3})}}), Error);
  EXPECT_NO_THROW(sgd.load_state({{"momentum.0", Tensor::ones({3})}}));
  EXPECT_EQ(sgd.state().size(), 1u);
}
