// Small pieces shared by the CPU convolution kernels (conv.cpp, conv_direct.cpp,
// conv_winograd.cpp): eight floats as one vector, and scratch buffers that only grow.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

namespace adx::cpu {

// Eight floats in one AVX register (GCC and Clang vector extension; two SSE registers
// on targets without AVX). Loads and stores go through memcpy: no alignment assumed.
typedef float Vec8 __attribute__((vector_size(32)));
inline constexpr int64_t kLanes = 8;

inline Vec8 load(const float* p) {
  Vec8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, Vec8 v) { std::memcpy(p, &v, sizeof v); }
inline Vec8 splat(float s) { return Vec8{s, s, s, s, s, s, s, s}; }  // one vbroadcastss

// A scratch buffer of at least `count` floats that only grows: after the first step of
// a training loop, the kernels that keep one allocate nothing.
inline float* scratch(std::vector<float>& buffer, int64_t count) {
  if (static_cast<int64_t>(buffer.size()) < count) buffer.resize(static_cast<size_t>(count));
  return buffer.data();
}

}  // namespace adx::cpu
