// cuBLAS, opened with dlopen on first use instead of linked. Loading libcublas (with
// the cublasLt it pulls in) costs about 215 MB of resident memory in every process,
// CPU-only runs included, as soon as the binary starts; adx should not pay that on a
// CPU node. Only the entry points adx calls are looked up, each by its exported name.
#pragma once

#ifdef ADX_HAVE_CUDA
#include <cublas_v2.h>

namespace adx::cuda {

struct CublasApi {
  decltype(&cublasCreate_v2) create;
  decltype(&cublasDestroy_v2) destroy;
  decltype(&cublasSetMathMode) set_math_mode;
  decltype(&cublasGetStatusName) status_name;
  decltype(&cublasGetStatusString) status_string;
  decltype(&cublasGetProperty) get_property;
  decltype(&cublasSgemm_v2) sgemm;
};

// The table, loading the library on the first call. Throws adx::Error naming the
// library and the loader's message when it or one of its entry points is missing.
const CublasApi& cublas_api();

}  // namespace adx::cuda
#endif
