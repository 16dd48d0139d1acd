// A CPU emulation of the little of CUDA that adx's kernels use, so that the kernel
// files (engine/cuda/*.cu) can run, and be tested, on a machine without a GPU: the
// test target cuda_emulation_test compiles each .cu file as C++ with this header,
// after rewriting `kernel<<<grid, block>>>(args)` as emu::launch(grid, block, kernel,
// args) (tests/CMakeLists.txt). Only for tests: it says nothing about speed, memory
// spaces or the device's float rounding, and the host launchers (engine/cuda/ops.cpp)
// with their device memory are not part of it.
//
// Semantics: the blocks of a launch run one after another, all of them, with the real
// gridDim (so tests should use sizes of several blocks, or a wrong block offset goes
// unseen); the threads of a block run at once, on real threads, so that
// __syncthreads() and __shared__ arrays (one per kernel, shared by the block's threads
// as on a device) behave as CUDA's. A thread that returns leaves the block's barrier,
// so the others do not wait for it. Unlike a device, __shared__ memory starts at zero
// and keeps its values between launches.
#pragma once

#include <math.h>

#include <atomic>
#include <barrier>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __shared__ static

enum cudaError_t { cudaSuccess = 0, cudaErrorInvalidConfiguration = 9, cudaErrorLaunchFailure = 719 };

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
};
struct uint4 {
  uint32_t x, y, z, w;
};
inline uint4 make_uint4(uint32_t x, uint32_t y, uint32_t z, uint32_t w) { return {x, y, z, w}; }
inline uint32_t __umulhi(uint32_t a, uint32_t b) {
  return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32);
}

namespace adx::cuda::emu {

inline thread_local dim3 t_block_idx, t_thread_idx, t_block_dim, t_grid_dim;
inline thread_local std::barrier<>* t_sync = nullptr;
inline thread_local cudaError_t t_last_error = cudaSuccess;

// grid blocks of `block` threads, each thread running kernel(args...).
template <class... Params, class... Args>
void launch(unsigned grid, unsigned block, void (*kernel)(Params...), Args&&... args) {
  if (grid == 0 || block == 0 || block > 1024) {
    t_last_error = cudaErrorInvalidConfiguration;
    return;
  }
  std::function<void()> body = [&] { kernel(args...); };
  std::atomic<bool> failed{false};
  for (unsigned b = 0; b < grid && !failed; ++b) {
    std::barrier<> sync(block);
    std::vector<std::thread> threads;
    threads.reserve(block);
    for (unsigned t = 0; t < block; ++t)
      threads.emplace_back([&, b, t] {
        t_block_idx = {b, 0, 0};
        t_thread_idx = {t, 0, 0};
        t_block_dim = {block, 1, 1};
        t_grid_dim = {grid, 1, 1};
        t_sync = &sync;
        try {
          body();
        } catch (...) {  // reported as a failed launch, not std::terminate
          failed = true;
        }
        sync.arrive_and_drop();
      });
    for (std::thread& t : threads) t.join();
  }
  if (failed) t_last_error = cudaErrorLaunchFailure;
}

}  // namespace adx::cuda::emu

#define blockIdx (::adx::cuda::emu::t_block_idx)
#define threadIdx (::adx::cuda::emu::t_thread_idx)
#define blockDim (::adx::cuda::emu::t_block_dim)
#define gridDim (::adx::cuda::emu::t_grid_dim)

inline void __syncthreads() { ::adx::cuda::emu::t_sync->arrive_and_wait(); }
// Every thread of every block adds through this, so it must be atomic here too.
inline float atomicAdd(float* at, float value) { return std::atomic_ref<float>(*at).fetch_add(value); }
inline cudaError_t cudaGetLastError() {
  const cudaError_t e = ::adx::cuda::emu::t_last_error;
  ::adx::cuda::emu::t_last_error = cudaSuccess;
  return e;
}
