// Known-value checks of tensors, shared by the op tests.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/tensor.h"

namespace adx::testing {

// Checks the shape and the values (to a float tolerance; infinities exactly) of `t`.
inline void expect_tensor(const Tensor& t, const Shape& shape, const std::vector<float>& values,
                          float tol = 1e-5f) {
  ASSERT_TRUE(t.defined());
  ASSERT_EQ(t.shape(), shape) << "got " << t.str();
  ASSERT_EQ(t.numel(), static_cast<int64_t>(values.size()));
  for (size_t i = 0; i < values.size(); ++i) {
    if (std::isinf(values[i])) EXPECT_EQ(t.data()[i], values[i]) << "element " << i;
    else EXPECT_NEAR(t.data()[i], values[i], tol) << "element " << i << " of " << t.str();
  }
}

}  // namespace adx::testing
