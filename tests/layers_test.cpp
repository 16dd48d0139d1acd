// Module naming, containers and the layers' torch-compatible shapes and defaults.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/autograd.h"
#include "engine/random.h"
#include "layers/layers.h"
#include "models/lenet.h"

using namespace adx;

TEST(Module, FullNamesAreDotJoinedLikeTorchvision) {
  Sequential net;
  auto block = std::make_shared<Sequential>();
  block->push_back("conv1", std::make_shared<Conv2d>(3, 4, 3));
  block->push_back("bn1", std::make_shared<BatchNorm>(4));
  net.push_back("layer1", block);
  net.push_back(std::make_shared<Linear>(4, 2));
  std::vector<std::string> names;
  for (auto& [name, t] : net.named_parameters()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"layer1.conv1.weight", "layer1.conv1.bias",
                                             "layer1.bn1.weight", "layer1.bn1.bias", "1.weight",
                                             "1.bias"}));
  std::vector<std::string> buffers;
  for (auto& [name, t] : net.named_buffers()) buffers.push_back(name);
  EXPECT_EQ(buffers, (std::vector<std::string>{"layer1.bn1.running_mean", "layer1.bn1.running_var"}));
}

TEST(Module, LeNet5HasTheClassicParameterCount) {
  // conv1 6·(25+1) + conv2 16·(6·25+1) + 400·120+120 + 120·84+84 + 84·10+10 = 61,706
  LeNet5 net(10);
  EXPECT_EQ(net.parameter_count(), 61706);
  Tensor y = net(Tensor::zeros({2, 1, 28, 28}));
  EXPECT_EQ(y.shape(), (Shape{2, 10}));
  EXPECT_EQ(net.forward_until(Tensor::zeros({1, 1, 28, 28}), "pool2").shape(), (Shape{1, 16, 5, 5}));
  EXPECT_THROW(net.forward_until(Tensor::zeros({1, 1, 28, 28}), "nope"), Error);
}

TEST(Module, DefaultInitIsTorchsUniformBound) {
  manual_seed(3);
  Linear fc(100, 50);
  const float bound = 1.0f / std::sqrt(100.0f);
  float lo = 1, hi = -1;
  for (float v : fc.weight.to_vector()) lo = std::min(lo, v), hi = std::max(hi, v);
  EXPECT_GE(lo, -bound);
  EXPECT_LE(hi, bound);
  EXPECT_LT(lo, -0.9f * bound);  // the whole range is used
  EXPECT_GT(hi, 0.9f * bound);
}

TEST(Module, TrainAndEvalSwitchBatchNormRecursively) {
  Sequential net{std::make_shared<BatchNorm>(2)};
  auto bn = std::dynamic_pointer_cast<BatchNorm>(net.child("0"));
  Tensor x = Tensor::from_data({4, 2}, {1, 10, 2, 20, 3, 30, 4, 40});
  net.train();
  net(x);
  EXPECT_NEAR(bn->running_mean.data()[0], 0.1f * 2.5f, 1e-6);  // momentum 0.1
  net.eval();
  EXPECT_FALSE(bn->is_training());
  const std::vector<float> before = bn->running_mean.to_vector();
  net(x);
  EXPECT_EQ(bn->running_mean.to_vector(), before);  // eval leaves the statistics alone
}

TEST(Module, ConvTransposeAndDropoutShapes) {
  ConvTranspose2d up(8, 4, 4, Conv2dOptions::make(2, 1));
  EXPECT_EQ(up.weight.shape(), (Shape{8, 4, 4, 4}));
  EXPECT_EQ(up(Tensor::zeros({1, 8, 7, 7})).shape(), (Shape{1, 4, 14, 14}));
  Dropout drop(0.5f);
  drop.eval();
  Tensor x = Tensor::ones({10});
  EXPECT_EQ(drop(x).to_vector(), x.to_vector());
}

TEST(Module, ZeroGradClearsEveryParameter) {
  Linear fc(3, 2);
  sum(fc(Tensor::ones({1, 3}))).backward();
  ASSERT_TRUE(fc.weight.grad().defined());
  fc.zero_grad();
  EXPECT_FALSE(fc.weight.grad().defined());
  EXPECT_FALSE(fc.bias.grad().defined());
}
