// Launch sizes shared by the kernel files: 256 threads a block, and enough blocks to
// fill the device, each thread then striding over the rest (grid-stride loops).
#pragma once

#include <cstdint>

namespace adx::cuda::kernels {

constexpr int kThreads = 256;

inline unsigned blocks_for(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b < 1 ? 1 : b > 65535 ? 65535 : b);
}

}  // namespace adx::cuda::kernels
