#include "engine/cuda/cublas_api.h"

#ifdef ADX_HAVE_CUDA
#include <dlfcn.h>
#include <fmt/format.h>

#include "engine/tensor.h"

namespace adx::cuda {
namespace {

// The soname first (so that LD_LIBRARY_PATH can choose), then the toolkit's copy that
// the build found.
void* open_cublas() {
  for (const char* name : {ADX_CUBLAS_SONAME, ADX_CUBLAS_PATH})
    if (void* lib = dlopen(name, RTLD_NOW | RTLD_LOCAL)) return lib;
  throw Error(fmt::format("cuBLAS: cannot load {} or {}: {}", ADX_CUBLAS_SONAME, ADX_CUBLAS_PATH, dlerror()));
}

template <class Fn>
void bind(void* lib, const char* symbol, Fn& fn) {
  fn = reinterpret_cast<Fn>(dlsym(lib, symbol));
  if (!fn) throw Error(fmt::format("cuBLAS: {} has no {}", ADX_CUBLAS_SONAME, symbol));
}

CublasApi load() {
  void* lib = open_cublas();  // kept open for the life of the process
  CublasApi api{};
  bind(lib, "cublasCreate_v2", api.create);
  bind(lib, "cublasDestroy_v2", api.destroy);
  bind(lib, "cublasSetMathMode", api.set_math_mode);
  bind(lib, "cublasGetStatusName", api.status_name);
  bind(lib, "cublasGetStatusString", api.status_string);
  bind(lib, "cublasGetProperty", api.get_property);
  bind(lib, "cublasSgemm_v2", api.sgemm);
  return api;
}

}  // namespace

const CublasApi& cublas_api() {
  static const CublasApi api = load();  // thread-safe one-time initialisation
  return api;
}

}  // namespace adx::cuda
#endif
