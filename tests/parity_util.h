// Deterministic tensors from a name, the same rule as tools/adx_philox.py's
// named_tensor(): parity fixtures made in PyTorch then need no weight files.
#pragma once

#include <cmath>
#include <string>

#include "engine/random.h"
#include "engine/tensor.h"

namespace adx::testing {

inline uint64_t fnv1a64(const std::string& text) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char c : text) h = (h ^ c) * 0x100000001B3ull;
  return h;
}

inline Tensor named_tensor(const std::string& name, const Shape& shape) {
  Generator gen(fnv1a64(name));
  Tensor t = Tensor::empty(shape);
  const int64_t n = t.numel();
  auto ends_with = [&](const char* suffix) {
    const std::string s(suffix);
    return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  for (int64_t i = 0; i < n; ++i) {
    const double u = static_cast<double>(gen.uniform());
    double v;
    if (ends_with("running_var")) v = 0.5 + u;
    else if (ends_with("running_mean") || ends_with("bias")) v = 0.2 * (u - 0.5);
    else if (shape.size() == 1) v = 0.5 + u;  // batch-norm scale
    else v = (2 * u - 1) * std::sqrt(3.0 / static_cast<double>(n / shape[0]));
    t.data()[i] = static_cast<float>(v);
  }
  return t;
}

}  // namespace adx::testing
