#include "engine/cuda/memory.h"

#include <fmt/format.h>

#include "engine/cuda/runtime.h"
#include "engine/tensor.h"

#ifdef ADX_HAVE_CUDA
#include "engine/cuda/status.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>
#endif

namespace adx::cuda {

#ifdef ADX_HAVE_CUDA

namespace {

// Makes `device` current for the calling thread (a no-op when it already is).
void use_device(int device) {
  int current = -1;
  check(cudaGetDevice(&current), "cudaGetDevice");
  if (current != device) check(cudaSetDevice(device), "cudaSetDevice");
}

// Size classes: four per power of two, 512-byte granularity (cudaMalloc's own).
size_t size_class(size_t bytes) {
  bytes = std::max<size_t>(bytes, 512);
  const size_t step = std::max<size_t>(std::bit_floor(bytes) / 4, 512);
  return (bytes + step - 1) / step * step;
}

struct DeviceCache {
  std::map<size_t, std::vector<void*>> free_blocks;  // by size class
  DeviceMemoryStats stats;
};

struct Caches {
  std::mutex mutex;
  std::map<int, DeviceCache> by_device;
};

// Never destroyed: tensors freed during static destruction still find it.
Caches& caches() {
  static Caches* c = new Caches();
  return *c;
}

void release_locked(int device, DeviceCache& cache) {
  use_device(device);
  for (auto& [size, blocks] : cache.free_blocks)
    for (void* p : blocks) cudaFree(p);
  cache.free_blocks.clear();
  cache.stats.cached_bytes = 0;
}

}  // namespace

void check_device(int device) {
  const int count = device_count();
  if (count == 0) {
    throw Error(fmt::format("CUDA: no device is visible ({})", runtime_info().unavailable));
  }
  if (device < 0 || device >= count)
    throw Error(fmt::format("CUDA: device {} does not exist ({} visible)", device, count));
}

DeviceMemoryStats device_memory_stats(int device) {
  Caches& c = caches();
  std::lock_guard lock(c.mutex);
  auto it = c.by_device.find(device);
  return it == c.by_device.end() ? DeviceMemoryStats{} : it->second.stats;
}

void release_cached_device_memory(int device) {
  Caches& c = caches();
  std::lock_guard lock(c.mutex);
  auto it = c.by_device.find(device);
  if (it != c.by_device.end()) release_locked(device, it->second);
}

void* device_allocate(int device, size_t bytes, size_t& capacity) {
  capacity = size_class(bytes);
  Caches& c = caches();
  std::lock_guard lock(c.mutex);
  DeviceCache& cache = c.by_device[device];
  DeviceMemoryStats& s = cache.stats;
  ++s.requests;
  auto it = cache.free_blocks.find(capacity);
  if (it != cache.free_blocks.end() && !it->second.empty()) {
    void* p = it->second.back();
    it->second.pop_back();
    s.cached_bytes -= capacity;
    s.live_bytes += capacity;
    s.peak_live_bytes = std::max(s.peak_live_bytes, s.live_bytes);
    return p;
  }
  use_device(device);
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, capacity);
  if (e == cudaErrorMemoryAllocation && s.cached_bytes > 0) {  // free the cache, try again
    cudaGetLastError();
    release_locked(device, cache);
    e = cudaMalloc(&p, capacity);
  }
  if (e != cudaSuccess) {
    cudaGetLastError();
    throw Error(fmt::format("CUDA: cudaMalloc of {} bytes on device {} failed: {}", capacity, device,
                            cudaGetErrorString(e)));
  }
  ++s.cuda_mallocs;
  s.live_bytes += capacity;
  s.peak_live_bytes = std::max(s.peak_live_bytes, s.live_bytes);
  return p;
}

void device_free(int device, void* ptr, size_t capacity, size_t) noexcept {
  if (!ptr) return;
  Caches& c = caches();
  std::lock_guard lock(c.mutex);
  DeviceCache& cache = c.by_device[device];
  cache.stats.live_bytes -= capacity;
  cache.stats.cached_bytes += capacity;
  cache.free_blocks[capacity].push_back(ptr);
}

namespace {

// A page-locked host buffer, grown on demand, one per thread.
class PinnedBuffer {
 public:
  ~PinnedBuffer() {
    if (data_) cudaFreeHost(data_);
  }
  float* get(size_t count) {
    if (count > size_) {
      if (data_) cudaFreeHost(data_);
      data_ = nullptr;
      size_ = 0;
      check(cudaMallocHost(reinterpret_cast<void**>(&data_), count * sizeof(float)), "cudaMallocHost");
      size_ = count;
    }
    return data_;
  }

 private:
  float* data_ = nullptr;
  size_t size_ = 0;
};

// Copies go in pieces of at most 4 MB through the pinned buffer.
constexpr size_t kStagingFloats = size_t{1} << 20;

// The calling thread's staging buffer, for `count` floats at most.
float* staging(size_t count) {
  thread_local PinnedBuffer buffer;
  return buffer.get(std::min(count, kStagingFloats));
}

}  // namespace

void copy_host_to_device(int device, float* dst, const float* src, size_t count) {
  use_device(device);
  float* pinned = staging(count);
  for (size_t at = 0; at < count; at += kStagingFloats) {
    const size_t n = std::min(kStagingFloats, count - at);
    // The previous piece's copy must be done before its staging is overwritten (the
    // first piece's staging is free: every copy ends synchronised). The final wait
    // also waits for the work queued before the copy (one stream): a ring of staging
    // buffers with events would let small copies overlap it.
    if (at > 0) check(cudaStreamSynchronize(nullptr), "cudaStreamSynchronize");
    std::memcpy(pinned, src + at, n * sizeof(float));
    check(cudaMemcpyAsync(dst + at, pinned, n * sizeof(float), cudaMemcpyHostToDevice, nullptr),
          "cudaMemcpyAsync (host to device)");
  }
  check(cudaStreamSynchronize(nullptr), "cudaStreamSynchronize");
}

void copy_device_to_host(int device, float* dst, const float* src, size_t count) {
  use_device(device);
  float* pinned = staging(count);
  for (size_t at = 0; at < count; at += kStagingFloats) {
    const size_t n = std::min(kStagingFloats, count - at);
    check(cudaMemcpyAsync(pinned, src + at, n * sizeof(float), cudaMemcpyDeviceToHost, nullptr),
          "cudaMemcpyAsync (device to host)");
    check(cudaStreamSynchronize(nullptr), "cudaStreamSynchronize");
    std::memcpy(dst + at, pinned, n * sizeof(float));
  }
}

void copy_device_to_device(int device, float* dst, const float* src, size_t count) {
  use_device(device);
  check(cudaMemcpyAsync(dst, src, count * sizeof(float), cudaMemcpyDeviceToDevice, nullptr),
        "cudaMemcpyAsync (device to device)");
}

void synchronize(int device) {
  use_device(device);
  check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
}

#else  // no CUDA backend: every entry point says so

namespace {
[[noreturn]] void not_built() {
  throw Error("CUDA: this adx was built without the CUDA backend (-DADX_CUDA=OFF or no toolkit)");
}
}  // namespace

void check_device(int) { not_built(); }
DeviceMemoryStats device_memory_stats(int) { return {}; }
void release_cached_device_memory(int) {}
void* device_allocate(int, size_t, size_t&) { not_built(); }
void device_free(int, void*, size_t, size_t) noexcept {}
void copy_host_to_device(int, float*, const float*, size_t) { not_built(); }
void copy_device_to_host(int, float*, const float*, size_t) { not_built(); }
void copy_device_to_device(int, float*, const float*, size_t) { not_built(); }
void synchronize(int) { not_built(); }

#endif

}  // namespace adx::cuda
