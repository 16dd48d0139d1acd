// ResNet-18/34/50/101/152 (He et al. 2016) laid out exactly as torchvision's
// resnet.py, so that a converted torchvision state_dict loads by name:
// conv1, bn1, relu, maxpool, layer1..layer4 (blocks "0", "1", ... each with conv1,
// bn1, conv2, bn2[, conv3, bn3][, downsample.0, downsample.1]), avgpool, fc.
// Bottleneck blocks stride in their 3×3 convolution (torchvision's "v1.5").
#pragma once

#include <string>

#include "layers/layers.h"

namespace adx {

class BasicBlock : public Module {
 public:
  static constexpr int64_t kExpansion = 1;
  BasicBlock(int64_t in_planes, int64_t planes, int64_t stride);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "BasicBlock"; }

 private:
  std::shared_ptr<Conv2d> conv1_, conv2_;
  std::shared_ptr<BatchNorm> bn1_, bn2_;
  std::shared_ptr<Sequential> downsample_;  // null when the shapes already match
};

class Bottleneck : public Module {
 public:
  static constexpr int64_t kExpansion = 4;
  Bottleneck(int64_t in_planes, int64_t planes, int64_t stride);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Bottleneck"; }

 private:
  std::shared_ptr<Conv2d> conv1_, conv2_, conv3_;
  std::shared_ptr<BatchNorm> bn1_, bn2_, bn3_;
  std::shared_ptr<Sequential> downsample_;
};

class ResNet : public Module {
 public:
  // depth: 18, 34, 50, 101 or 152.
  ResNet(int depth, int64_t classes = 1000, int64_t in_channels = 3);
  Tensor forward(const Tensor& x) override;
  // The output of the named stage: conv1, bn1, relu, maxpool, layer1..layer4,
  // avgpool (flattened to N×C) or fc.
  Tensor forward_until(const Tensor& x, const std::string& stage);
  std::string type_name() const override { return "ResNet" + std::to_string(depth_); }
  int depth() const { return depth_; }
  int64_t feature_dim() const { return feature_dim_; }  // channels at avgpool

 private:
  int depth_;
  int64_t feature_dim_ = 0;
  std::vector<std::pair<std::string, ModulePtr>> stages_;
};

// "resnet18" ... "resnet152" → a ResNet; throws on an unknown name.
std::shared_ptr<ResNet> make_resnet(const std::string& name, int64_t classes = 1000,
                                    int64_t in_channels = 3);

}  // namespace adx
