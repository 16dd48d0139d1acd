// LeNet-5 (LeCun et al. 1998) in its common modern form, as `adx bench` and the
// classifier demo use it: 1×28×28 → conv 6@5×5 pad 2, ReLU, max-pool 2 → conv 16@5×5,
// ReLU, max-pool 2 → 400 → 120 → 84 → classes. The thesis's 144-channel variant
// comes with the feature-extractor issue.
#pragma once

#include "layers/layers.h"

namespace adx {

class LeNet5 : public Sequential {
 public:
  explicit LeNet5(int64_t classes = 10, int64_t in_channels = 1);
  std::string type_name() const override { return "LeNet5"; }
};

}  // namespace adx
