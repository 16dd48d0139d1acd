#include "engine/cuda/runtime.h"

#include <atomic>
#include <fmt/format.h>
#include <vector>

#include "engine/tensor.h"

#ifdef ADX_HAVE_CUDA
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <cmath>

#include "engine/cuda/cublas_api.h"
#include "engine/cuda/kernels.h"
#include "engine/cuda/status.h"
#endif

namespace adx::cuda {

namespace {
std::atomic<bool> g_allow_tf32{false};
}  // namespace
void set_allow_tf32(bool allow) { g_allow_tf32 = allow; }
bool allow_tf32() { return g_allow_tf32; }

#ifdef ADX_HAVE_CUDA

bool built() { return true; }

int device_count() {
  int n = 0;
  // Without a driver this fails (cudaErrorInsufficientDriver / NoDevice): no GPU.
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error state
    return 0;
  }
  return n;
}

RuntimeInfo runtime_info() {
  RuntimeInfo info;
  info.built = true;
  cudaRuntimeGetVersion(&info.runtime_version);
  if (cudaDriverGetVersion(&info.driver_version) != cudaSuccess) info.driver_version = 0;
  info.cudnn_version = cudnnGetVersion();
  try {
    const CublasApi& blas = cublas_api();
    int minor = 0;
    blas.get_property(MAJOR_VERSION, &info.cublas_version);
    blas.get_property(MINOR_VERSION, &minor);
    info.cublas_version = info.cublas_version * 100 + minor;
  } catch (const Error&) {
    info.cublas_version = 0;  // not loadable: reported as missing, not fatal for `adx info`
  }
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    info.unavailable = cudaGetErrorString(e);
    cudaGetLastError();
    return info;
  }
  if (n == 0) info.unavailable = "no CUDA device";
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    info.devices.push_back({i, p.name, p.major, p.minor, static_cast<uint64_t>(p.totalGlobalMem),
                            p.multiProcessorCount});
  }
  return info;
}

namespace {

// Owns one device allocation, straight from cudaMalloc: the self test checks the
// toolkit and the device without the engine's allocator in between.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t bytes) { check(cudaMalloc(&ptr_, bytes), "cudaMalloc"); }
  ~DeviceBuffer() { cudaFree(ptr_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  float* get() const { return static_cast<float*>(ptr_); }

 private:
  void* ptr_ = nullptr;
};

}  // namespace

bool self_test() {
  if (device_count() == 0) throw Error("CUDA self test: no CUDA device is visible");
  check(cudaSetDevice(0), "cudaSetDevice");
  const int n = 1000;
  const size_t bytes = n * sizeof(float);
  std::vector<float> x(n), y(n, 1.0f), out(n);
  for (int i = 0; i < n; ++i) x[static_cast<size_t>(i)] = static_cast<float>(i);
  DeviceBuffer dx(bytes), dy(bytes), dout(bytes);
  check(cudaMemcpy(dx.get(), x.data(), bytes, cudaMemcpyHostToDevice), "cudaMemcpy");
  check(cudaMemcpy(dy.get(), y.data(), bytes, cudaMemcpyHostToDevice), "cudaMemcpy");
  check(kernels::saxpy(n, 2.0f, dx.get(), dy.get(), dout.get()), "saxpy launch");
  check(cudaMemcpy(out.data(), dout.get(), bytes, cudaMemcpyDeviceToHost), "cudaMemcpy");
  for (int i = 0; i < n; ++i)
    if (std::fabs(out[static_cast<size_t>(i)] - (2.0f * static_cast<float>(i) + 1.0f)) > 1e-6f) return false;
  return true;
}

#else

bool built() { return false; }
int device_count() { return 0; }
RuntimeInfo runtime_info() {
  RuntimeInfo info;
  info.unavailable = "this adx was built without the CUDA backend (-DADX_CUDA=OFF or no toolkit)";
  return info;
}
bool self_test() { throw Error("CUDA self test: this adx was built without the CUDA backend"); }

#endif

}  // namespace adx::cuda
