#include "engine/cuda/conv.h"

#include <fmt/format.h>

#include "engine/tensor.h"

#ifdef ADX_HAVE_CUDA
#include <cudnn.h>

#include <array>
#include <map>
#include <mutex>

#include "engine/cuda/context.h"
#include "engine/cuda/memory.h"
#include "engine/cuda/runtime.h"
#include "engine/cuda/status.h"
#endif

namespace adx::cuda {

#ifdef ADX_HAVE_CUDA

namespace {

using cuda::check;  // CUDA runtime calls (engine/cuda/status.h), beside cuDNN's below
void check(cudnnStatus_t s, const char* call) {
  if (s != CUDNN_STATUS_SUCCESS) throw Error(fmt::format("cuDNN: {} failed: {}", call, cudnnGetErrorString(s)));
}

int as_int(int64_t v) {
  if (v > INT32_MAX) throw Error(fmt::format("cuDNN: size {} is too large", v));
  return static_cast<int>(v);
}

// RAII owners of the descriptors of one convolution.
class TensorDesc {
 public:
  TensorDesc(int64_t n, int64_t c, int64_t h, int64_t w) {
    check(cudnnCreateTensorDescriptor(&desc_), "cudnnCreateTensorDescriptor");
    const cudnnStatus_t s =
        cudnnSetTensor4dDescriptor(desc_, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, as_int(n), as_int(c), as_int(h), as_int(w));
    if (s != CUDNN_STATUS_SUCCESS) cudnnDestroyTensorDescriptor(desc_);
    check(s, "cudnnSetTensor4dDescriptor");
  }
  ~TensorDesc() { cudnnDestroyTensorDescriptor(desc_); }
  TensorDesc(const TensorDesc&) = delete;
  TensorDesc& operator=(const TensorDesc&) = delete;
  cudnnTensorDescriptor_t get() const { return desc_; }

 private:
  cudnnTensorDescriptor_t desc_ = nullptr;
};

class FilterDesc {
 public:
  FilterDesc(int64_t o, int64_t c, int64_t kh, int64_t kw) {
    check(cudnnCreateFilterDescriptor(&desc_), "cudnnCreateFilterDescriptor");
    const cudnnStatus_t s =
        cudnnSetFilter4dDescriptor(desc_, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, as_int(o), as_int(c), as_int(kh), as_int(kw));
    if (s != CUDNN_STATUS_SUCCESS) cudnnDestroyFilterDescriptor(desc_);
    check(s, "cudnnSetFilter4dDescriptor");
  }
  ~FilterDesc() { cudnnDestroyFilterDescriptor(desc_); }
  FilterDesc(const FilterDesc&) = delete;
  FilterDesc& operator=(const FilterDesc&) = delete;
  cudnnFilterDescriptor_t get() const { return desc_; }

 private:
  cudnnFilterDescriptor_t desc_ = nullptr;
};

class ConvDesc {
 public:
  ConvDesc(const Conv2dOptions& o, bool tf32) {
    check(cudnnCreateConvolutionDescriptor(&desc_), "cudnnCreateConvolutionDescriptor");
    try {
      check(cudnnSetConvolution2dDescriptor(desc_, as_int(o.pad_h), as_int(o.pad_w), as_int(o.stride_h),
                                            as_int(o.stride_w), as_int(o.dilation_h), as_int(o.dilation_w),
                                            CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
            "cudnnSetConvolution2dDescriptor");
      check(cudnnSetConvolutionGroupCount(desc_, as_int(o.groups)), "cudnnSetConvolutionGroupCount");
      // Plain FP32 FMA: no TF32 tensor-core math unless a user asks for it (issue 7).
      check(cudnnSetConvolutionMathType(desc_, tf32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH),
            "cudnnSetConvolutionMathType");
    } catch (...) {
      cudnnDestroyConvolutionDescriptor(desc_);
      throw;
    }
  }
  ~ConvDesc() { cudnnDestroyConvolutionDescriptor(desc_); }
  ConvDesc(const ConvDesc&) = delete;
  ConvDesc& operator=(const ConvDesc&) = delete;
  cudnnConvolutionDescriptor_t get() const { return desc_; }

 private:
  cudnnConvolutionDescriptor_t desc_ = nullptr;
};

struct Descriptors {
  TensorDesc x, y;
  FilterDesc w;
  ConvDesc conv;
  Descriptors(const cpu::ConvGeometry& g, bool tf32)
      : x(g.n, g.c, g.h, g.w), y(g.n, g.o, g.oh, g.ow), w(g.o, g.c_group(), g.kh, g.kw), conv(g.opt, tf32) {}
};

// The chosen algorithm of one pass for one geometry.
enum class Pass { Forward, BackwardData, BackwardFilter };
struct Choice {
  int algo = 0;
  cudnnMathType_t math = CUDNN_FMA_MATH;
  size_t workspace = 0;
};
// Everything that decides a convolution (the output size follows from the rest).
using Key = std::array<int64_t, 17>;

Key key_of(Pass pass, int device, const cpu::ConvGeometry& g, bool tf32) {
  const auto& o = g.opt;
  return {static_cast<int64_t>(pass), device, g.n, g.c, g.h, g.w, g.o, g.kh, g.kw,
          o.stride_h, o.stride_w, o.pad_h, o.pad_w, o.dilation_h, o.dilation_w, o.groups, tf32};
}

// The fastest successful algorithm that is deterministic and, unless TF32 is allowed
// (cuda::set_allow_tf32), does plain FP32 FMA math; cudnnFind* returns them sorted by time.
template <class Perf>
Choice pick(const Perf* perf, int count, const char* pass, bool tf32) {
  for (int i = 0; i < count; ++i) {
    const Perf& p = perf[i];
    if (p.status != CUDNN_STATUS_SUCCESS || p.determinism != CUDNN_DETERMINISTIC) continue;
    // DEFAULT_MATH and TENSOR_OP_MATH would allow TF32 on Ampere and later; never
    // FP16 down-conversion.
    if (!tf32 && p.mathType != CUDNN_FMA_MATH) continue;
    if (p.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) continue;
    return {static_cast<int>(p.algo), p.mathType, p.memory};
  }
  throw Error(fmt::format("cuDNN: no deterministic {} algorithm for this convolution's {} pass",
                          tf32 ? "FP32/TF32" : "FP32", pass));
}

std::mutex g_cache_mutex;
std::map<Key, Choice>& choices() {
  static auto* cache = new std::map<Key, Choice>();  // never destroyed, as the allocator's
  return *cache;
}

Choice choose(Pass pass, int device, const cpu::ConvGeometry& g, const Descriptors& d, cudnnHandle_t handle,
              bool tf32) {
  const Key key = key_of(pass, device, g, tf32);
  {
    std::lock_guard lock(g_cache_mutex);
    auto it = choices().find(key);
    if (it != choices().end()) return it->second;
  }
  constexpr int kMaxAlgos = 16;
  int count = 0;
  Choice c;
  if (pass == Pass::Forward) {
    cudnnConvolutionFwdAlgoPerf_t perf[kMaxAlgos];
    check(cudnnFindConvolutionForwardAlgorithm(handle, d.x.get(), d.w.get(), d.conv.get(), d.y.get(), kMaxAlgos,
                                               &count, perf),
          "cudnnFindConvolutionForwardAlgorithm");
    c = pick(perf, count, "forward", tf32);
  } else if (pass == Pass::BackwardData) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[kMaxAlgos];
    check(cudnnFindConvolutionBackwardDataAlgorithm(handle, d.w.get(), d.y.get(), d.conv.get(), d.x.get(),
                                                    kMaxAlgos, &count, perf),
          "cudnnFindConvolutionBackwardDataAlgorithm");
    c = pick(perf, count, "backward-data", tf32);
  } else {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[kMaxAlgos];
    check(cudnnFindConvolutionBackwardFilterAlgorithm(handle, d.x.get(), d.y.get(), d.conv.get(), d.w.get(),
                                                      kMaxAlgos, &count, perf),
          "cudnnFindConvolutionBackwardFilterAlgorithm");
    c = pick(perf, count, "backward-filter", tf32);
  }
  std::lock_guard lock(g_cache_mutex);
  choices().emplace(key, c);
  return c;
}

// Handle, descriptors and the pass's algorithm (the descriptor's math type set to it).
cudnnHandle_t handle_for(int device) {
  check(cudaSetDevice(device), "cudaSetDevice");
  return static_cast<cudnnHandle_t>(Context::get(device).cudnn());
}

struct Prepared {
  Prepared(Pass pass, int device, const cpu::ConvGeometry& g)
      : handle(handle_for(device)), tf32(allow_tf32()), d(g, tf32), choice(choose(pass, device, g, d, handle, tf32)) {
    check(cudnnSetConvolutionMathType(d.conv.get(), choice.math), "cudnnSetConvolutionMathType");
  }
  cudnnHandle_t handle;
  bool tf32;
  Descriptors d;
  Choice choice;
};

}  // namespace

void conv2d_forward(int device, const cpu::ConvGeometry& g, const float* x, const float* w, float* y) {
  const Prepared p(Pass::Forward, device, g);
  const DeviceBlock ws(device, p.choice.workspace);  // workspace
  const float one = 1.0f, zero = 0.0f;
  check(cudnnConvolutionForward(p.handle, &one, p.d.x.get(), x, p.d.w.get(), w, p.d.conv.get(),
                                static_cast<cudnnConvolutionFwdAlgo_t>(p.choice.algo), ws.get(), ws.size(), &zero,
                                p.d.y.get(), y),
        "cudnnConvolutionForward");
}

void conv2d_backward_data(int device, const cpu::ConvGeometry& g, const float* y_grad, const float* w,
                          float* x_grad) {
  const Prepared p(Pass::BackwardData, device, g);
  const DeviceBlock ws(device, p.choice.workspace);  // workspace
  const float one = 1.0f, zero = 0.0f;
  check(cudnnConvolutionBackwardData(p.handle, &one, p.d.w.get(), w, p.d.y.get(), y_grad, p.d.conv.get(),
                                     static_cast<cudnnConvolutionBwdDataAlgo_t>(p.choice.algo), ws.get(), ws.size(),
                                     &zero, p.d.x.get(), x_grad),
        "cudnnConvolutionBackwardData");
}

void conv2d_backward_weight(int device, const cpu::ConvGeometry& g, const float* x, const float* y_grad,
                            float* w_grad) {
  const Prepared p(Pass::BackwardFilter, device, g);
  const DeviceBlock ws(device, p.choice.workspace);  // workspace
  const float one = 1.0f, zero = 0.0f;
  check(cudnnConvolutionBackwardFilter(p.handle, &one, p.d.x.get(), x, p.d.y.get(), y_grad, p.d.conv.get(),
                                       static_cast<cudnnConvolutionBwdFilterAlgo_t>(p.choice.algo), ws.get(),
                                       ws.size(), &zero, p.d.w.get(), w_grad),
        "cudnnConvolutionBackwardFilter");
}

#else  // no CUDA backend

namespace {
[[noreturn]] void not_built() {
  throw Error("conv2d: this adx was built without the CUDA backend (-DADX_CUDA=OFF or no toolkit)");
}
}  // namespace

void conv2d_forward(int, const cpu::ConvGeometry&, const float*, const float*, float*) { not_built(); }
void conv2d_backward_data(int, const cpu::ConvGeometry&, const float*, const float*, float*) { not_built(); }
void conv2d_backward_weight(int, const cpu::ConvGeometry&, const float*, const float*, float*) { not_built(); }

#endif

}  // namespace adx::cuda
