#include "models/resnet.h"

#include <array>
#include <fmt/format.h>

namespace adx {
namespace {

std::shared_ptr<Conv2d> conv3x3(int64_t in, int64_t out, int64_t stride) {
  return std::make_shared<Conv2d>(in, out, 3, Conv2dOptions::make(stride, 1), false);
}
std::shared_ptr<Conv2d> conv1x1(int64_t in, int64_t out, int64_t stride = 1) {
  return std::make_shared<Conv2d>(in, out, 1, Conv2dOptions::make(stride, 0), false);
}
// The projection shortcut: 1×1 conv with stride + batch norm, named downsample.0/.1.
std::shared_ptr<Sequential> projection(int64_t in, int64_t out, int64_t stride) {
  if (stride == 1 && in == out) return nullptr;
  return std::make_shared<Sequential>(Sequential{conv1x1(in, out, stride), std::make_shared<BatchNorm>(out)});
}

}  // namespace

BasicBlock::BasicBlock(int64_t in_planes, int64_t planes, int64_t stride) {
  conv1_ = register_module("conv1", conv3x3(in_planes, planes, stride));
  bn1_ = register_module("bn1", std::make_shared<BatchNorm>(planes));
  conv2_ = register_module("conv2", conv3x3(planes, planes, 1));
  bn2_ = register_module("bn2", std::make_shared<BatchNorm>(planes));
  if (auto d = projection(in_planes, planes, stride)) downsample_ = register_module("downsample", d);
}

Tensor BasicBlock::forward(const Tensor& x) {
  Tensor out = relu((*bn1_)((*conv1_)(x)));
  out = (*bn2_)((*conv2_)(out));
  return relu(add(out, downsample_ ? (*downsample_)(x) : x));
}

Bottleneck::Bottleneck(int64_t in_planes, int64_t planes, int64_t stride) {
  conv1_ = register_module("conv1", conv1x1(in_planes, planes));
  bn1_ = register_module("bn1", std::make_shared<BatchNorm>(planes));
  conv2_ = register_module("conv2", conv3x3(planes, planes, stride));
  bn2_ = register_module("bn2", std::make_shared<BatchNorm>(planes));
  conv3_ = register_module("conv3", conv1x1(planes, planes * kExpansion));
  bn3_ = register_module("bn3", std::make_shared<BatchNorm>(planes * kExpansion));
  if (auto d = projection(in_planes, planes * kExpansion, stride))
    downsample_ = register_module("downsample", d);
}

Tensor Bottleneck::forward(const Tensor& x) {
  Tensor out = relu((*bn1_)((*conv1_)(x)));
  out = relu((*bn2_)((*conv2_)(out)));
  out = (*bn3_)((*conv3_)(out));
  return relu(add(out, downsample_ ? (*downsample_)(x) : x));
}

namespace {

template <class Block>
std::shared_ptr<Sequential> make_layer(int64_t& in_planes, int64_t planes, int blocks, int64_t stride) {
  auto layer = std::make_shared<Sequential>();
  for (int b = 0; b < blocks; ++b) {
    layer->push_back(std::make_shared<Block>(in_planes, planes, b == 0 ? stride : 1));
    in_planes = planes * Block::kExpansion;
  }
  return layer;
}

}  // namespace

ResNet::ResNet(int depth, int64_t classes, int64_t in_channels) : depth_(depth) {
  std::array<int, 4> blocks;
  bool bottleneck = depth >= 50;
  switch (depth) {
    case 18: blocks = {2, 2, 2, 2}; break;
    case 34: blocks = {3, 4, 6, 3}; break;
    case 50: blocks = {3, 4, 6, 3}; break;
    case 101: blocks = {3, 4, 23, 3}; break;
    case 152: blocks = {3, 8, 36, 3}; break;
    default: throw Error(fmt::format("ResNet: depth {} is not one of 18, 34, 50, 101, 152", depth));
  }
  auto add_stage = [this](const std::string& name, ModulePtr m) {
    register_module(name, m);
    stages_.emplace_back(name, m);
  };
  add_stage("conv1", std::make_shared<Conv2d>(in_channels, 64, 7, Conv2dOptions::make(2, 3), false));
  add_stage("bn1", std::make_shared<BatchNorm>(64));
  add_stage("relu", relu_layer());
  add_stage("maxpool", max_pool_layer(Pool2dOptions::make(3, 2, 1)));
  int64_t in_planes = 64;
  const int64_t planes[4] = {64, 128, 256, 512};
  for (int i = 0; i < 4; ++i) {
    const int64_t stride = i == 0 ? 1 : 2;
    ModulePtr layer = bottleneck ? ModulePtr(make_layer<Bottleneck>(in_planes, planes[i], blocks[i], stride))
                                 : ModulePtr(make_layer<BasicBlock>(in_planes, planes[i], blocks[i], stride));
    add_stage(fmt::format("layer{}", i + 1), layer);
  }
  feature_dim_ = in_planes;
  add_stage("avgpool", std::make_shared<Lambda>("AdaptiveAvgPool2d", [](const Tensor& x) {
              return adaptive_avg_pool2d(x, 1, 1).flatten(1);
            }));
  add_stage("fc", std::make_shared<Linear>(in_planes, classes));
}

Tensor ResNet::forward(const Tensor& x) { return forward_until(x, "fc"); }

Tensor ResNet::forward_until(const Tensor& x, const std::string& stage) {
  if (x.dim() != 4) throw Error("ResNet: input must be (N, C, H, W), got " + shape_str(x.shape()));
  Tensor h = x;
  for (auto& [name, m] : stages_) {
    h = m->forward(h);
    if (name == stage) return h;
  }
  throw Error(fmt::format("ResNet: no stage '{}' (conv1, bn1, relu, maxpool, layer1-4, avgpool, fc)", stage));
}

std::shared_ptr<ResNet> make_resnet(const std::string& name, int64_t classes, int64_t in_channels) {
  for (int depth : {18, 34, 50, 101, 152})
    if (name == "resnet" + std::to_string(depth)) return std::make_shared<ResNet>(depth, classes, in_channels);
  throw Error(fmt::format("unknown model '{}' (resnet18, resnet34, resnet50, resnet101, resnet152)", name));
}

}  // namespace adx
