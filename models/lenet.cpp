#include "models/lenet.h"

namespace adx {

LeNet5::LeNet5(int64_t classes, int64_t in_channels) {
  push_back("conv1", std::make_shared<Conv2d>(in_channels, 6, 5, Conv2dOptions::make(1, 2)));
  push_back("relu1", relu_layer());
  push_back("pool1", max_pool_layer(Pool2dOptions::make(2)));
  push_back("conv2", std::make_shared<Conv2d>(6, 16, 5));
  push_back("relu2", relu_layer());
  push_back("pool2", max_pool_layer(Pool2dOptions::make(2)));
  push_back("flatten", flatten_layer());
  push_back("fc1", std::make_shared<Linear>(16 * 5 * 5, 120));
  push_back("relu3", relu_layer());
  push_back("fc2", std::make_shared<Linear>(120, 84));
  push_back("relu4", relu_layer());
  push_back("fc3", std::make_shared<Linear>(84, classes));
}

}  // namespace adx
