// Device memory for tensors: a caching allocator, and copies between host and device.
//
// cudaMalloc and cudaFree synchronise the device and cost tens of microseconds, so a
// training step that freed and re-allocated its activations through them would stall
// on every op. Freed blocks wait in size classes (four per power of two, as on the
// CPU: engine/memory.h) for the next request of their size, per device. All of adx's
// work on a device runs on its default stream, in order, so a block freed by the host
// after it queued kernels that use it can be handed to the next op at once: that op's
// kernels run after them (PyTorch's caching allocator relies on the same ordering).
//
// Every function here exists in every build; without the CUDA backend, or without a
// device, they throw adx::Error saying so.
#pragma once

#include <cstddef>
#include <cstdint>

namespace adx::cuda {

struct DeviceMemoryStats {
  uint64_t requests = 0;     // blocks handed out
  uint64_t cuda_mallocs = 0; // of those, how many the cache could not serve
  uint64_t live_bytes = 0;
  uint64_t peak_live_bytes = 0;
  uint64_t cached_bytes = 0;
};
DeviceMemoryStats device_memory_stats(int device);
// Gives every cached block of `device` back to the driver.
void release_cached_device_memory(int device);

// `bytes` of memory on `device`; `capacity` receives the block's size class, which
// device_free wants back.
void* device_allocate(int device, size_t bytes, size_t& capacity);
void device_free(int device, void* ptr, size_t capacity, size_t bytes) noexcept;

// One block from the cache, given back when it goes out of scope. Giving it back right
// after queueing the kernels that use it is safe: the next op to get the block runs after
// them on the same stream (see above). Kernel workspaces, index lists.
class DeviceBlock {
 public:
  DeviceBlock(int device, size_t bytes) : device_(device), bytes_(bytes) {
    if (bytes_ > 0) ptr_ = device_allocate(device_, bytes_, capacity_);
  }
  ~DeviceBlock() { device_free(device_, ptr_, capacity_, bytes_); }
  DeviceBlock(const DeviceBlock&) = delete;
  DeviceBlock& operator=(const DeviceBlock&) = delete;
  void* get() const { return ptr_; }
  size_t size() const { return bytes_; }

 private:
  int device_;
  size_t bytes_, capacity_ = 0;
  void* ptr_ = nullptr;
};

// Copies through a pinned staging buffer (one per thread): the driver copies pageable
// memory through its own staging anyway, one page-locked bounce at a time.
void copy_host_to_device(int device, float* dst, const float* src, size_t count);
void copy_device_to_host(int device, float* dst, const float* src, size_t count);
void copy_device_to_device(int device, float* dst, const float* src, size_t count);

// Waits for the device's queued work (the host reading results needs it).
void synchronize(int device);

// Throws adx::Error unless `device` is a visible device of a CUDA build: the message
// says which is missing (the backend, a driver, the device).
void check_device(int device);

}  // namespace adx::cuda
