#include "models/vgg.h"

namespace adx {
namespace {

ModulePtr lrn_layer() {
  return std::make_shared<Lambda>("LRN", [](const Tensor& x) {
    return local_response_norm(x, 5, 1e-4f, 0.75f, 2.0f, /*alpha_per_size=*/false);
  });
}

ModulePtr pool3s2() { return max_pool_layer(Pool2dOptions::make(3, 2, 0, /*ceil_mode=*/true)); }

}  // namespace

VggF::VggF(int64_t classes) {
  push_back("conv1", std::make_shared<Conv2d>(3, 64, 11, Conv2dOptions::make(4, 0)));
  push_back("relu1", relu_layer());
  push_back("norm1", lrn_layer());
  push_back("pool1", pool3s2());
  push_back("conv2", std::make_shared<Conv2d>(64, 256, 5, Conv2dOptions::make(1, 2)));
  push_back("relu2", relu_layer());
  push_back("norm2", lrn_layer());
  push_back("pool2", pool3s2());
  push_back("conv3", std::make_shared<Conv2d>(256, 256, 3, Conv2dOptions::make(1, 1)));
  push_back("relu3", relu_layer());
  push_back("conv4", std::make_shared<Conv2d>(256, 256, 3, Conv2dOptions::make(1, 1)));
  push_back("relu4", relu_layer());
  push_back("conv5", std::make_shared<Conv2d>(256, 256, 3, Conv2dOptions::make(1, 1)));
  push_back("relu5", relu_layer());
  push_back("pool5", pool3s2());
  push_back("flatten", flatten_layer());
  push_back("fc6", std::make_shared<Linear>(256 * 6 * 6, 4096));
  push_back("relu6", relu_layer());
  push_back("fc7", std::make_shared<Linear>(4096, 4096));
  push_back("relu7", relu_layer());
  push_back("fc8", std::make_shared<Linear>(4096, classes));
}

}  // namespace adx
