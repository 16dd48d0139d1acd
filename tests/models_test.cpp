// The papers' networks: torchvision-compatible names and parameter counts, shapes.
#include <gtest/gtest.h>

#include "engine/autograd.h"
#include "models/lenet.h"
#include "models/resnet.h"
#include "models/vgg.h"

using namespace adx;

TEST(ResNet, ParameterCountsMatchTorchvision) {
  // torchvision.models.resnetXX(num_classes=1000): sum(p.numel() for p in m.parameters())
  const std::pair<const char*, int64_t> expected[] = {
      {"resnet18", 11689512}, {"resnet34", 21797672}, {"resnet50", 25557032},
      {"resnet101", 44549160}, {"resnet152", 60192808}};
  for (const auto& [name, count] : expected) EXPECT_EQ(make_resnet(name)->parameter_count(), count) << name;
  EXPECT_THROW(make_resnet("resnet20"), Error);
}

TEST(ResNet, NamesFollowTorchvision) {
  auto net = make_resnet("resnet50");
  auto params = net->named_parameters();
  auto has = [&](const std::string& n) {
    for (auto& [name, t] : params)
      if (name == n) return true;
    return false;
  };
  EXPECT_TRUE(has("conv1.weight"));
  EXPECT_TRUE(has("layer1.0.downsample.0.weight"));
  EXPECT_TRUE(has("layer3.5.conv3.weight"));
  EXPECT_TRUE(has("layer4.2.bn3.bias"));
  EXPECT_TRUE(has("fc.weight"));
  EXPECT_FALSE(has("layer1.1.downsample.0.weight"));
  bool found_buffer = false;
  for (auto& [name, t] : net->named_buffers()) found_buffer |= name == "layer2.0.bn1.running_var";
  EXPECT_TRUE(found_buffer);
}

TEST(ResNet, StageShapesOnSmallImages) {
  NoGradGuard no_grad;
  auto net = make_resnet("resnet18", 10);
  net->eval();
  Tensor x = Tensor::zeros({2, 3, 64, 64});
  EXPECT_EQ(net->forward_until(x, "conv1").shape(), (Shape{2, 64, 32, 32}));
  EXPECT_EQ(net->forward_until(x, "maxpool").shape(), (Shape{2, 64, 16, 16}));
  EXPECT_EQ(net->forward_until(x, "layer3").shape(), (Shape{2, 256, 4, 4}));
  EXPECT_EQ(net->forward_until(x, "avgpool").shape(), (Shape{2, 512}));
  EXPECT_EQ(net->forward(x).shape(), (Shape{2, 10}));
  EXPECT_THROW(net->forward_until(x, "layer5"), Error);
  EXPECT_EQ(net->feature_dim(), 512);
  EXPECT_EQ(make_resnet("resnet50")->feature_dim(), 2048);
}

TEST(VggF, ParameterCountAndPool5Shape) {
  NoGradGuard no_grad;
  VggF net(1000);
  EXPECT_EQ(net.parameter_count(), 60834536);
  net.eval();
  EXPECT_EQ(net.forward_until(Tensor::zeros({1, 3, 224, 224}), "pool5").shape(), (Shape{1, 256, 6, 6}));
}
