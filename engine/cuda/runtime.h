// The CUDA runtime as the rest of adx sees it: whether the backend was built, which
// devices there are, and the library versions. Usable in every build: without the
// toolkit (or without a driver or GPU, as on CI machines, where cudaGetDeviceCount
// fails rather than returning 0) it reports no devices and never throws.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace adx::cuda {

struct DeviceInfo {
  int index = 0;
  std::string name;
  int compute_major = 0, compute_minor = 0;
  uint64_t memory_bytes = 0;
  int multiprocessors = 0;
};

struct RuntimeInfo {
  bool built = false;          // compiled with the CUDA backend
  int runtime_version = 0;     // e.g. 13000 for CUDA 13.0
  int driver_version = 0;      // 0 when no driver is installed
  std::string unavailable;     // why no device can be used ("" when one can)
  int cublas_version = 0;
  uint64_t cudnn_version = 0;
  std::vector<DeviceInfo> devices;
};

bool built();
RuntimeInfo runtime_info();

// TF32 tensor-core math for cuBLAS products and cuDNN convolutions (10-bit mantissas
// in the multiplies, FP32 sums): off by default, so that GPU results match the CPU's
// to FP32 rounding. On for every later product and convolution once set, as torch's
// allow_tf32 flags; `adx bench --tf32` sets it.
void set_allow_tf32(bool allow);
bool allow_tf32();
int device_count();  // 0 without a build, a driver or a device

// Runs a small kernel on device 0 and checks its result on the host: proof that the
// compiled kernels match the device. Throws adx::Error naming the failing call.
bool self_test();

}  // namespace adx::cuda
