// The CUDA backend's foundation. Tests that need a GPU skip with a message when none is
// visible (as on CI, where even the driver is absent).
#include <gtest/gtest.h>

#include "engine/cuda/runtime.h"
#include "engine/tensor.h"

using namespace adx;

TEST(CudaRuntime, ReportsWithoutThrowing) {
  cuda::RuntimeInfo info = cuda::runtime_info();
  EXPECT_EQ(info.built, cuda::built());
  EXPECT_EQ(static_cast<int>(info.devices.size()), cuda::device_count());
  if (info.devices.empty()) {
    EXPECT_FALSE(info.unavailable.empty()) << "no device, so the reason must be given";
  }
#ifdef ADX_HAVE_CUDA
  EXPECT_GE(info.runtime_version, 12000);
  EXPECT_GE(info.cudnn_version, 9000u);
  EXPECT_GT(info.cublas_version, 0);
#endif
}

TEST(CudaRuntime, KernelRunsOnTheDevice) {
  if (!cuda::built()) GTEST_SKIP() << "built without the CUDA backend";
  if (cuda::device_count() == 0)
    GTEST_SKIP() << "no CUDA device visible: " << cuda::runtime_info().unavailable;
  EXPECT_TRUE(cuda::self_test());
}

TEST(CudaRuntime, SelfTestWithoutADeviceIsAnError) {
  if (cuda::device_count() > 0) GTEST_SKIP() << "a device is visible";
  EXPECT_THROW(cuda::self_test(), Error);
}

#include "engine/cuda/context.h"

TEST(CudaContext, HandlesOrAnErrorNamingTheCall) {
  if (cuda::device_count() == 0) {
    // Without a device (or driver) the context cannot exist; the error says which call failed.
    try {
      cuda::Context::get(0);
      FAIL() << "a context without a device";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("CUDA"), std::string::npos) << msg;
      EXPECT_TRUE(msg.find("cudaGetDeviceCount failed") != std::string::npos ||
                  msg.find("built without the CUDA backend") != std::string::npos) << msg;
    }
    return;
  }
  cuda::Context& a = cuda::Context::get(0);
  EXPECT_EQ(&a, &cuda::Context::get(0));  // one per device and thread
  EXPECT_NE(a.cublas(), nullptr);
  EXPECT_NE(a.cudnn(), nullptr);
  EXPECT_THROW(cuda::Context::get(cuda::device_count()), Error);
}
