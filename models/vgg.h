// VGG-F (Chatfield et al. 2014, "Return of the Devil in the Details"), the
// MatConvNet ImageNet network Andrews et al. take features from (P5, FC6, FC7, FC8).
// Stages are named as in MatConvNet: conv1 relu1 norm1 pool1 ... conv5 relu5 pool5
// fc6 relu6 fc7 relu7 fc8. Local response normalisation uses MatConvNet's form
// k + α Σ x² with (n, k, α, β) = (5, 2, 1e-4, 0.75), i.e. torch's
// LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2); pooling rounds up (ceil) as
// MatConvNet's pads do for this net.
#pragma once

#include "layers/layers.h"

namespace adx {

class VggF : public Sequential {
 public:
  explicit VggF(int64_t classes = 1000);
  std::string type_name() const override { return "VggF"; }
};

}  // namespace adx
