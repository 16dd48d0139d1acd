#include "engine/cuda/context.h"

#include <fmt/format.h>
#include <map>

#include "engine/cuda/cublas_api.h"
#include "engine/tensor.h"

#ifdef ADX_HAVE_CUDA
#include "engine/cuda/status.h"
#include <cudnn.h>
#endif

namespace adx::cuda {

#ifdef ADX_HAVE_CUDA

namespace {

void check(cublasStatus_t s, const char* call) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw Error(fmt::format("cuBLAS: {} failed: {} ({})", call, cublas_api().status_name(s),
                            cublas_api().status_string(s)));
}
void check(cudnnStatus_t s, const char* call) {
  if (s != CUDNN_STATUS_SUCCESS) throw Error(fmt::format("cuDNN: {} failed: {}", call, cudnnGetErrorString(s)));
}

}  // namespace

Context::Context(int device) : device_(device) {
  int count = 0;
  check(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
  if (device < 0 || device >= count)
    throw Error(fmt::format("CUDA: device {} does not exist ({} visible)", device, count));
  check(cudaSetDevice(device), "cudaSetDevice");
  cublasHandle_t blas = nullptr;
  check(cublas_api().create(&blas), "cublasCreate");
  cublas_ = blas;
  // FP32 by default: TF32 only when a user asks for it (issue 7).
  check(cublas_api().set_math_mode(blas, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
  cudnnHandle_t dnn = nullptr;
  const cudnnStatus_t s = cudnnCreate(&dnn);
  if (s != CUDNN_STATUS_SUCCESS) {
    cublas_api().destroy(blas);
    cublas_ = nullptr;
    check(s, "cudnnCreate");
  }
  cudnn_ = dnn;
}

Context::~Context() {
  if (cudnn_) cudnnDestroy(static_cast<cudnnHandle_t>(cudnn_));
  if (cublas_) cublas_api().destroy(static_cast<cublasHandle_t>(cublas_));
}

Context& Context::get(int device) {
  thread_local std::map<int, std::unique_ptr<Context>> contexts;
  auto it = contexts.find(device);
  if (it == contexts.end()) it = contexts.emplace(device, std::unique_ptr<Context>(new Context(device))).first;
  return *it->second;
}

#else

Context::Context(int device) : device_(device) {}
Context::~Context() = default;
Context& Context::get(int) {
  throw Error("CUDA: this adx was built without the CUDA backend (-DADX_CUDA=OFF or no toolkit)");
}

#endif

}  // namespace adx::cuda
