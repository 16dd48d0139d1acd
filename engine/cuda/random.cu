// Random numbers on the device: Philox4x32-10 (Salmon et al., SC'11), the same
// counter-based stream as engine/random.cpp, so a tensor drawn on a GPU holds the
// values the CPU would have drawn from the same generator state.
#include "engine/cuda/kernels.h"
#include "engine/cuda/launch.cuh"

namespace adx::cuda::kernels {
namespace {

// engine/random.cpp's constants and rounds.
__device__ uint4 philox_block(uint64_t seed, uint64_t counter) {
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    const uint32_t hi0 = __umulhi(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
    const uint32_t hi1 = __umulhi(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
    const uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0;
    c1 = n1;
    c2 = n2;
    c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return make_uint4(c0, c1, c2, c3);
}

__device__ uint32_t word_at(const PhiloxStream& s, int64_t j) {
  if (j < s.lead_count) return s.lead[j];
  j -= s.lead_count;
  const uint4 b = philox_block(s.seed, s.counter + static_cast<uint64_t>(j / 4));
  switch (j % 4) {
    case 0: return b.x;
    case 1: return b.y;
    case 2: return b.z;
    default: return b.w;
  }
}

__device__ float to_uniform(uint32_t word) { return static_cast<float>(word >> 8) * (1.0f / 16777216.0f); }

// Thread b draws block counter + b once, for the four outputs its words feed; the
// outputs before them take the generator's cached words.
__global__ void uniform_kernel(int64_t n, PhiloxStream s, float* __restrict out) {
  const int64_t blocks = n > s.lead_count ? (n - s.lead_count + 3) / 4 : 0;
  const int64_t first = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  for (int64_t b = first; b < blocks; b += int64_t{gridDim.x} * blockDim.x) {
    const uint4 w = philox_block(s.seed, s.counter + static_cast<uint64_t>(b));
    const uint32_t words[4] = {w.x, w.y, w.z, w.w};
    for (int r = 0; r < 4; ++r) {
      const int64_t i = s.lead_count + 4 * b + r;
      if (i < n) out[i] = to_uniform(words[r]);
    }
  }
  if (first < s.lead_count && first < n) out[first] = to_uniform(s.lead[first]);
}

// Box–Muller in double precision, as Generator::normal: u1 ∈ (0, 1], u2 ∈ [0, 1).
__global__ void normal_kernel(int64_t pairs, int64_t n, PhiloxStream s, int first, float* __restrict out) {
  for (int64_t k = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; k < pairs; k += int64_t{gridDim.x} * blockDim.x) {
    const double u1 = (static_cast<double>(word_at(s, 2 * k) >> 8) + 1.0) / 16777216.0;
    const double u2 = static_cast<double>(word_at(s, 2 * k + 1) >> 8) / 16777216.0;
    const double r = sqrt(-2.0 * log(u1));
    const double theta = 2.0 * 3.14159265358979323846 * u2;
    const int64_t at = first + 2 * k;
    out[at] = static_cast<float>(r * cos(theta));
    if (at + 1 < n) out[at + 1] = static_cast<float>(r * sin(theta));
  }
}

__global__ void set_first_kernel(float value, float* out) { out[0] = value; }

}  // namespace

cudaError_t philox_uniform(int64_t n, const PhiloxStream& s, float* out) {
  const int64_t blocks = n > s.lead_count ? (n - s.lead_count + 3) / 4 : 0;
  if (n > 0) uniform_kernel<<<blocks_for(blocks > s.lead_count ? blocks : s.lead_count), kThreads>>>(n, s, out);
  return cudaGetLastError();
}

cudaError_t philox_normal(int64_t n, const PhiloxStream& s, int first, float spare, float* out) {
  if (n <= 0) return cudaGetLastError();
  if (first == 1) set_first_kernel<<<1, 1>>>(spare, out);
  const int64_t pairs = (n - first + 1) / 2;
  if (pairs > 0) normal_kernel<<<blocks_for(pairs), kThreads>>>(pairs, n, s, first, out);
  return cudaGetLastError();
}

}  // namespace adx::cuda::kernels
