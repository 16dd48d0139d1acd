// Per-device, per-thread cuBLAS and cuDNN handles, made on first use and owned by
// RAII wrappers (dlib's pattern: handles are never copied or destroyed by hand).
// Every CUDA, cuBLAS and cuDNN status is checked; a failure becomes an adx::Error
// that names the call and the library's own message.
#pragma once

#include <memory>

namespace adx::cuda {

class Context {
 public:
  // The calling thread's context for `device`; creates the handles on first use.
  // Throws adx::Error naming the failing call when the device or a library cannot be
  // initialised (for example without a driver).
  static Context& get(int device = 0);

  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  int device() const { return device_; }
  void* cublas() const { return cublas_; }  // a cublasHandle_t
  void* cudnn() const { return cudnn_; }    // a cudnnHandle_t

 private:
  explicit Context(int device);
  int device_;
  void* cublas_ = nullptr;
  void* cudnn_ = nullptr;
};

}  // namespace adx::cuda
