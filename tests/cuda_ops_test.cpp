// CUDA twins of the engine's ops against the CPU reference: forward values and
// gradients (relative error ≤ 1e-4, FP32, TF32 off). Every test that needs a GPU
// skips with a message when none is visible (CI has the toolkit but no driver); the
// tests of what happens without one run everywhere.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <tuple>

#include "engine/autograd.h"
#include "engine/cuda/memory.h"
#include "engine/cuda/runtime.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/random.h"

using namespace adx;

namespace {

#define REQUIRE_GPU()                                                                         \
  do {                                                                                        \
    if (!cuda::built()) GTEST_SKIP() << "built without the CUDA backend";                     \
    if (cuda::device_count() == 0)                                                            \
      GTEST_SKIP() << "no CUDA device visible: " << cuda::runtime_info().unavailable;         \
  } while (0)

const Device kGpu = Device::cuda(0);

// |a − b| ≤ 1e-4·max(|a|, |b|) + abs_tol everywhere.
::testing::AssertionResult close(const Tensor& gpu, const Tensor& cpu, const char* what, float abs_tol = 1e-5f) {
  if (!gpu.defined() || !cpu.defined())
    return ::testing::AssertionFailure() << what << ": a result is undefined";
  if (gpu.shape() != cpu.shape())
    return ::testing::AssertionFailure() << what << ": shape " << shape_str(gpu.shape()) << " vs "
                                         << shape_str(cpu.shape());
  if (!gpu.device().is_cuda()) return ::testing::AssertionFailure() << what << ": not on the GPU";
  const std::vector<float> a = gpu.to_vector(), b = cpu.to_vector();
  for (size_t i = 0; i < a.size(); ++i) {
    const float tol = 1e-4f * std::max(std::fabs(a[i]), std::fabs(b[i])) + abs_tol;
    if (!(std::fabs(a[i] - b[i]) <= tol) && !(std::isnan(a[i]) && std::isnan(b[i])))
      return ::testing::AssertionFailure() << what << ": element " << i << " is " << a[i] << " on the GPU, "
                                           << b[i] << " on the CPU";
  }
  return ::testing::AssertionSuccess();
}

Tensor random(const Shape& shape, uint64_t seed, float lo = -2.0f, float hi = 2.0f) {
  Generator gen(seed);
  return Tensor::rand(shape, gen) * (hi - lo) + lo;
}

// f on the CPU and on the GPU: the values, and the gradients of Σ f·w in every input.
void expect_parity(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                   const std::vector<Tensor>& cpu_inputs, const char* what, float abs_tol = 1e-5f) {
  std::vector<Tensor> cpu_in, gpu_in;
  for (const Tensor& t : cpu_inputs) {
    cpu_in.push_back(t.detach().clone().requires_grad_());
    gpu_in.push_back(t.to(kGpu).detach().requires_grad_());
  }
  const Tensor y_cpu = f(cpu_in), y_gpu = f(gpu_in);
  EXPECT_TRUE(close(y_gpu, y_cpu, what, abs_tol));
  const Tensor w = random(y_cpu.shape(), 99);
  const TensorList g_cpu = grad({sum(mul(y_cpu, w))}, TensorList(cpu_in.begin(), cpu_in.end()), {}, false, true);
  const TensorList g_gpu =
      grad({sum(mul(y_gpu, w.to(kGpu)))}, TensorList(gpu_in.begin(), gpu_in.end()), {}, false, true);
  for (size_t i = 0; i < g_cpu.size(); ++i) {
    if (!g_cpu[i].defined()) {  // no path from the output on the CPU: none on the GPU either
      EXPECT_FALSE(g_gpu[i].defined()) << what << ": gradient of input " << i << " only on the GPU";
      continue;
    }
    EXPECT_TRUE(close(g_gpu[i], g_cpu[i], what, abs_tol)) << "gradient of input " << i;
  }
}

}  // namespace

TEST(CudaTensor, WithoutADeviceCreatingOneIsAnErrorThatSaysWhy) {
  if (cuda::device_count() > 0) GTEST_SKIP() << "a device is visible";
  try {
    Tensor::zeros({2, 3}, kGpu);
    FAIL() << "a CUDA tensor without a device";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("CUDA"), std::string::npos) << msg;
    EXPECT_TRUE(msg.find("no device is visible") != std::string::npos ||
                msg.find("built without the CUDA backend") != std::string::npos)
        << msg;
  }
  EXPECT_THROW(Tensor::ones({2}).to(kGpu), Error);
}

TEST(CudaTensor, CopiesRoundTripAndFill) {
  REQUIRE_GPU();
  const Tensor x = random({3, 1000, 7}, 1);  // 21,000 floats
  const Tensor back = x.to(kGpu).to(Device::cpu());
  EXPECT_EQ(back.to_vector(), x.to_vector());
  Tensor big = random({(int64_t{1} << 20) + 5}, 2);  // more than one staging piece
  EXPECT_EQ(big.to(kGpu).to_vector(), big.to_vector());
  Tensor f = Tensor::full({4, 5}, 2.5f, kGpu);
  EXPECT_EQ(f.to_vector(), std::vector<float>(20, 2.5f));
  f.fill_(-1.0f);
  EXPECT_FLOAT_EQ(f.at({3, 4}), -1.0f);
  EXPECT_FLOAT_EQ(Tensor::full({}, 7.0f, kGpu).item(), 7.0f);
  Tensor c = f.clone();
  c.copy_(x.slice(0, 0, 1).reshape({7, 1000}).slice(0, 0, 4).reshape({4, 1000}).slice(1, 0, 5).to(kGpu));
  EXPECT_TRUE(close(c, x.slice(0, 0, 1).reshape({7, 1000}).slice(0, 0, 4).slice(1, 0, 5), "copy_"));
}

TEST(CudaOps, UnaryParity) {
  REQUIRE_GPU();
  const Tensor x = random({4, 33}, 3), positive = random({4, 33}, 4, 0.1f, 3.0f);
  expect_parity([](const std::vector<Tensor>& v) { return neg(v[0]); }, {x}, "neg");
  expect_parity([](const std::vector<Tensor>& v) { return exp(v[0]); }, {x}, "exp");
  expect_parity([](const std::vector<Tensor>& v) { return log(v[0]); }, {positive}, "log");
  expect_parity([](const std::vector<Tensor>& v) { return sqrt(v[0]); }, {positive}, "sqrt");
  expect_parity([](const std::vector<Tensor>& v) { return pow(v[0], 2.0f); }, {x}, "pow 2");
  expect_parity([](const std::vector<Tensor>& v) { return pow(v[0], 1.7f); }, {positive}, "pow 1.7");
  expect_parity([](const std::vector<Tensor>& v) { return abs(v[0]); }, {x}, "abs");
  expect_parity([](const std::vector<Tensor>& v) { return relu(v[0]); }, {x}, "relu");
  expect_parity([](const std::vector<Tensor>& v) { return leaky_relu(v[0], 0.2f); }, {x}, "leaky_relu");
  expect_parity([](const std::vector<Tensor>& v) { return elu(v[0], 1.0f); }, {x}, "elu");
  expect_parity([](const std::vector<Tensor>& v) { return sigmoid(v[0]); }, {x}, "sigmoid");
  expect_parity([](const std::vector<Tensor>& v) { return tanh(v[0]); }, {x}, "tanh");
  expect_parity([](const std::vector<Tensor>& v) { return softplus(v[0], 2.0f, 3.0f); }, {x}, "softplus");
  expect_parity([](const std::vector<Tensor>& v) { return clamp(v[0], -0.5f, 1.0f); }, {x}, "clamp");
}

TEST(CudaOps, BinaryParityWithBroadcastingAndScalars) {
  REQUIRE_GPU();
  const Tensor a = random({2, 3, 5}, 5), row = random({5}, 6), col = random({3, 1}, 7);
  const Tensor away_from_zero = random({3, 1}, 8, 0.5f, 2.0f);
  expect_parity([](const std::vector<Tensor>& v) { return add(v[0], v[1]); }, {a, row}, "add");
  expect_parity([](const std::vector<Tensor>& v) { return sub(v[0], v[1]); }, {col, a}, "sub");
  expect_parity([](const std::vector<Tensor>& v) { return mul(v[0], v[1]); }, {a, col}, "mul");
  expect_parity([](const std::vector<Tensor>& v) { return div(v[0], v[1]); }, {a, away_from_zero}, "div");
  expect_parity([](const std::vector<Tensor>& v) { return v[0] * 3.0f - 1.0f; }, {a}, "CPU scalars");
  expect_parity([](const std::vector<Tensor>& v) { return 2.0f / v[0]; }, {away_from_zero}, "scalar / x");
  const Tensor g = a.to(kGpu), r = row.to(kGpu);
  for (auto [name, op] : std::vector<std::pair<const char*, Tensor (*)(const Tensor&, const Tensor&)>>{
           {"gt", gt}, {"lt", lt}, {"ge", ge}, {"le", le}, {"eq", eq}})
    EXPECT_TRUE(close(op(g, r), op(a, row), name));
  const Tensor cond = gt(a, Tensor::scalar(0.0f));
  expect_parity([&](const std::vector<Tensor>& v) { return where(v[0].device().is_cuda() ? cond.to(kGpu) : cond, v[1], v[2]); },
                {cond, a, row}, "where");
  // A non-scalar CPU tensor with a CUDA one is an error, not a silent copy.
  EXPECT_THROW(add(g, row), Error);
}

TEST(CudaOps, SumsMeansAndExpandParity) {
  REQUIRE_GPU();
  const Tensor x = random({3, 4, 5, 6}, 9);
  for (const Dims& dims : {Dims{0}, Dims{1}, Dims{3}, Dims{0, 2, 3}, Dims{1, 2}, Dims{0, 1, 2, 3}, Dims{}})
    for (bool keep : {false, true})
      expect_parity([&](const std::vector<Tensor>& v) { return sum(v[0], dims, keep); }, {x}, "sum");
  expect_parity([](const std::vector<Tensor>& v) { return mean(v[0]); }, {x}, "mean");
  expect_parity([](const std::vector<Tensor>& v) { return var(v[0], {0, 2}, true, true); }, {x}, "var");
  expect_parity([](const std::vector<Tensor>& v) { return expand(v[0], {3, 4, 5}); }, {random({4, 1}, 10)},
                "expand");
  // One output summing a million values: the block reduction, not one thread.
  const Tensor big = random({1 << 20}, 11, 0.0f, 1.0f);
  EXPECT_NEAR(sum(big.to(kGpu)).item(), sum(big).item(), 1e-4 * sum(big).item());
}

TEST(CudaOps, MatmulAndLinearParity) {
  REQUIRE_GPU();
  const Tensor a = random({7, 5}, 12), b = random({5, 3}, 13), at = random({5, 7}, 14), bt = random({3, 5}, 15);
  expect_parity([](const std::vector<Tensor>& v) { return matmul(v[0], v[1]); }, {a, b}, "matmul");
  expect_parity([](const std::vector<Tensor>& v) { return matmul(v[0], v[1], true, false); }, {at, b}, "Aᵀ·B");
  expect_parity([](const std::vector<Tensor>& v) { return matmul(v[0], v[1], false, true); }, {a, bt}, "A·Bᵀ");
  expect_parity([](const std::vector<Tensor>& v) { return matmul(v[0], v[1], true, true); }, {at, bt}, "Aᵀ·Bᵀ");
  expect_parity([](const std::vector<Tensor>& v) { return matmul(v[0], v[1]); },
                {random({4, 7, 5}, 16), random({4, 5, 3}, 17)}, "batched");
  expect_parity([](const std::vector<Tensor>& v) { return matmul(v[0], v[1]); },
                {random({4, 7, 5}, 18), b}, "batched × shared");
  expect_parity([](const std::vector<Tensor>& v) { return linear(v[0], v[1], v[2]); },
                {random({6, 5}, 19), random({4, 5}, 20), random({4}, 21)}, "linear");
  const Tensor big_a = random({300, 200}, 22), big_b = random({200, 100}, 23);
  EXPECT_TRUE(close(matmul(big_a.to(kGpu), big_b.to(kGpu)), matmul(big_a, big_b), "300×200×100"));
}

TEST(CudaOps, ConvolutionParity) {
  REQUIRE_GPU();
  // Plain, strided and padded, grouped, dilated; each with its input and weight gradients.
  struct Case {
    Shape x, w;
    Conv2dOptions o;
  };
  for (const Case& c : {Case{{2, 3, 9, 9}, {4, 3, 3, 3}, Conv2dOptions::make(1, 0)},
                        Case{{2, 4, 14, 14}, {8, 4, 4, 4}, Conv2dOptions::make(2, 1)},
                        Case{{1, 4, 8, 7}, {6, 2, 3, 3}, Conv2dOptions::make(1, 1, 1, 2)},
                        Case{{1, 2, 11, 11}, {3, 2, 3, 3}, Conv2dOptions::make(2, 2, 2)}}) {
    const Tensor x = random(c.x, 50), w = random(c.w, 51, -0.5f, 0.5f), b = random({c.w[0]}, 52);
    // An absolute 1e-4 as well: cuDNN may pick Winograd or FFT, whose rounding differs
    // most where terms cancel to near zero.
    expect_parity([&](const std::vector<Tensor>& v) { return conv2d(v[0], v[1], v[2], c.o); }, {x, w, b},
                  "conv2d", 1e-4f);
  }
  // The generator's layer: a transposed convolution 128 → 64, 4×4, stride 2, 7 → 14.
  expect_parity([](const std::vector<Tensor>& v) { return conv_transpose2d(v[0], v[1], v[2], Conv2dOptions::make(2, 1)); },
                {random({2, 16, 7, 7}, 53), random({16, 8, 4, 4}, 54, -0.3f, 0.3f), random({8}, 55)},
                "conv_transpose2d", 1e-4f);
  expect_parity([](const std::vector<Tensor>& v) { return conv_transpose2d(v[0], v[1], Tensor(), Conv2dOptions::make(2, 1), 1, 1); },
                {random({1, 3, 5, 5}, 56), random({3, 2, 3, 3}, 57)}, "conv_transpose2d, output padding", 1e-4f);
  expect_parity([](const std::vector<Tensor>& v) { return conv_transpose2d(v[0], v[1], Tensor(), Conv2dOptions::make(2, 1, 1, 2)); },
                {random({1, 4, 5, 5}, 58), random({4, 3, 3, 3}, 59)}, "grouped conv_transpose2d", 1e-4f);
  // An output padding of at least the stride (below the dilation): the input gets
  // zero rows and columns appended with concat, on the device too.
  expect_parity([](const std::vector<Tensor>& v) {
    return conv_transpose2d(v[0], v[1], Tensor(), Conv2dOptions{1, 1, 0, 0, 3, 3, 1}, 2, 1);
  }, {random({1, 2, 4, 5}, 60), random({2, 3, 3, 3}, 61)}, "conv_transpose2d, output padding ≥ stride", 1e-4f);
}

TEST(CudaOps, ConvolutionalCriticPenaltyAsOnTheCpu) {
  REQUIRE_GPU();
  // WGAN-GP's critic shape: conv 4×4 s2, leaky ReLU, linear; the gradient of the input
  // gradient's norm with respect to every weight (three convolution passes, twice).
  auto penalty_grads = [](Device d) {
    Tensor w1 = random({8, 1, 4, 4}, 60, -0.3f, 0.3f).to(d).detach().requires_grad_();
    Tensor b1 = random({8}, 61).to(d).detach().requires_grad_();
    Tensor w2 = random({1, 8 * 7 * 7}, 62, -0.1f, 0.1f).to(d).detach().requires_grad_();
    Tensor x = random({3, 1, 14, 14}, 63).to(d).detach().requires_grad_();
    auto critic = [&](const Tensor& in) {
      Tensor h = leaky_relu(conv2d(in, w1, b1, Conv2dOptions::make(2, 1)), 0.2f);
      return linear(h.reshape({h.size(0), -1}), w2, Tensor());
    };
    const Tensor gx = grad({sum(critic(x))}, {x}, {}, true)[0];
    const Tensor norm = sqrt(sum(mul(gx, gx), {1, 2, 3}));
    return grad({mean(pow(sub(norm, Tensor::scalar(1.0f)), 2.0f))}, {w1, b1, w2}, {}, false, true);
  };
  const TensorList gpu = penalty_grads(kGpu), cpu = penalty_grads(Device::cpu());
  EXPECT_TRUE(close(gpu[0], cpu[0], "∂penalty/∂w1"));
  EXPECT_TRUE(close(gpu[2], cpu[2], "∂penalty/∂w2"));
  // The bias reaches the input gradient only through leaky ReLU's mask: no gradient.
  if (cpu[1].defined()) EXPECT_TRUE(close(gpu[1], cpu[1], "∂penalty/∂b1"));
  else EXPECT_FALSE(gpu[1].defined());
}

TEST(CudaOps, GradientsCrossDevicesAndAccumulate) {
  REQUIRE_GPU();
  // A CPU leaf used on the GPU: its gradient comes back to the CPU.
  Tensor x = random({3, 4}, 24).requires_grad_();
  sum(mul(x.to(kGpu), x.to(kGpu))).backward();
  EXPECT_TRUE(x.grad().device().is_cpu());
  EXPECT_EQ(x.grad().to_vector(), (x.detach() * 2.0f).to_vector());
  // A GPU leaf: two backward passes accumulate on the device.
  Tensor w = random({3, 4}, 25).to(kGpu).detach().requires_grad_();
  sum(mul(w, Tensor::scalar(3.0f))).backward();
  sum(mul(w, Tensor::scalar(3.0f))).backward();
  EXPECT_TRUE(w.grad().device().is_cuda());
  EXPECT_EQ(w.grad().to_vector(), std::vector<float>(12, 6.0f));
}

TEST(CudaOps, SecondOrderGradientsAsOnTheCpu) {
  REQUIRE_GPU();
  // ∂/∂W ‖∂(Σ σ(x·Wᵀ)·v)/∂x‖², the shape of WGAN-GP's penalty. (σ, not tanh: the
  // CPU's tanh is Eigen's approximation, within 1e-6 of tanhf, which two derivatives
  // can amplify past the tolerance.)
  auto penalty_grad = [](Device d) {
    Tensor w = random({4, 3}, 26).to(d).detach().requires_grad_();
    Tensor x = random({5, 3}, 27).to(d).detach().requires_grad_();
    const Tensor v = random({5, 4}, 28).to(d);
    const Tensor gx = grad({sum(mul(sigmoid(matmul(x, w, false, true)), v))}, {x}, {}, true)[0];
    return grad({sum(mul(gx, gx))}, {w})[0];
  };
  EXPECT_TRUE(close(penalty_grad(kGpu), penalty_grad(Device::cpu()), "second order"));
}

TEST(CudaMemory, ASteadyStepCallsNoCudaMalloc) {
  REQUIRE_GPU();
  Tensor w = random({64, 32}, 29).to(kGpu).detach().requires_grad_();
  const Tensor x = random({16, 32}, 30).to(kGpu);
  auto step = [&] {
    w.zero_grad();
    sum(relu(matmul(x, w, false, true))).backward();
  };
  step();
  step();
  const uint64_t before = cuda::device_memory_stats(0).cuda_mallocs;
  for (int i = 0; i < 5; ++i) step();
  EXPECT_EQ(cuda::device_memory_stats(0).cuda_mallocs, before);
  EXPECT_GT(cuda::device_memory_stats(0).requests, 0u);
}

TEST(CudaOps, MaxMinGatherAndCrossEntropyParity) {
  REQUIRE_GPU();
  Tensor x = random({5, 7, 3}, 84);
  x.data()[4] = std::nanf("");  // NaN wins, as torch.max
  for (int64_t dim : {0, 1, 2}) {
    EXPECT_TRUE(close(max(x.to(kGpu), dim, true), max(x, dim, true), "max values"));
    EXPECT_TRUE(close(min(x.to(kGpu), dim, false), min(x, dim, false), "min values"));
  }
  const Tensor y = random({5, 7, 3}, 85);
  expect_parity([](const std::vector<Tensor>& v) { return max(v[0], 1, false); }, {y}, "max with gradient");
  expect_parity([](const std::vector<Tensor>& v) { return min(v[0], 2, true); }, {y}, "min with gradient");
  expect_parity([](const std::vector<Tensor>& v) {  // the adjoint's backward takes at the arg-max again
    const Tensor m = max(v[0], 0, false);
    return grad({sum(mul(mul(m, m), m))}, {v[0]}, {}, true)[0];
  }, {y}, "max, second order");
  // A tie: the gradient goes to the first of the equal maxima, as on the CPU.
  Tensor tie = random({3, 4}, 87);
  tie.data()[1] = tie.data()[2] = 5.0f;
  expect_parity([](const std::vector<Tensor>& v) { return max(v[0], 1, false); }, {tie}, "max with a tie");
  const Tensor logits = random({6, 10}, 86), labels = Tensor::from_data({6}, {3, 0, 9, 9, 2, 5});
  expect_parity([&](const std::vector<Tensor>& v) {
    return cross_entropy(v[0], v[0].device().is_cuda() ? labels.to(kGpu) : labels);
  }, {logits}, "cross_entropy");
}

TEST(CudaOps, BatchNormParity) {
  REQUIRE_GPU();
  const Tensor x = random({4, 3, 5, 5}, 87), w = random({3}, 88, 0.5f, 1.5f), b = random({3}, 89);
  // Training mode: the normalised output and every gradient, and the running statistics.
  Tensor rm_cpu = random({3}, 90), rv_cpu = random({3}, 91, 0.5f, 1.5f);
  Tensor rm_gpu = rm_cpu.to(kGpu), rv_gpu = rv_cpu.to(kGpu);
  expect_parity([&](const std::vector<Tensor>& v) {
    const bool gpu = v[0].device().is_cuda();
    return batch_norm(v[0], gpu ? rm_gpu : rm_cpu, gpu ? rv_gpu : rv_cpu, v[1], v[2], true, 0.1f, 1e-5f);
  }, {x, w, b}, "batch_norm training", 1e-4f);
  EXPECT_TRUE(close(rm_gpu, rm_cpu, "running mean"));
  EXPECT_TRUE(close(rv_gpu, rv_cpu, "running variance"));
  // Eval mode, with the running statistics.
  expect_parity([&](const std::vector<Tensor>& v) {
    const bool gpu = v[0].device().is_cuda();
    return batch_norm(v[0], gpu ? rm_gpu : rm_cpu, gpu ? rv_gpu : rv_cpu, v[1], v[2], false, 0.1f, 1e-5f);
  }, {x, w, b}, "batch_norm eval", 1e-4f);
  expect_parity([](const std::vector<Tensor>& v) { return adaptive_avg_pool2d(v[0], 1, 1); }, {x}, "global pool");
}

TEST(CudaOps, UpsampleParity) {
  REQUIRE_GPU();
  const Tensor x = random({2, 3, 5, 7}, 31);
  for (bool align : {false, true})
    expect_parity([align](const std::vector<Tensor>& v) { return upsample(v[0], 11, 9, UpsampleMode::Bilinear, align); },
                  {x}, align ? "bilinear, corners aligned" : "bilinear");
  expect_parity([](const std::vector<Tensor>& v) { return upsample(v[0], 3, 16, UpsampleMode::Nearest, false); }, {x},
                "nearest, down and up");
  // Down-sampling: some input pixels are read by no output.
  expect_parity([](const std::vector<Tensor>& v) { return upsample(v[0], 2, 3, UpsampleMode::Bilinear, false); }, {x},
                "bilinear, down");
  expect_parity([](const std::vector<Tensor>& v) { return upsample(v[0], 1, 4, UpsampleMode::Bilinear, true); }, {x},
                "bilinear to one row, corners aligned");
  expect_parity([](const std::vector<Tensor>& v) {
    const Tensor u = upsample(v[0], 8, 8, UpsampleMode::Bilinear, false);
    return grad({sum(mul(mul(u, u), u))}, {v[0]}, {}, true)[0];
  }, {x}, "bilinear, second order");
}

TEST(CudaOps, CompositesParity) {
  REQUIRE_GPU();
  const Tensor x = random({6, 10}, 43), y = random({4, 10}, 44);
  expect_parity([](const std::vector<Tensor>& v) { return softmax(v[0], 1); }, {x}, "softmax");
  expect_parity([](const std::vector<Tensor>& v) { return log_softmax(v[0], 0); }, {x}, "log_softmax");
  expect_parity([](const std::vector<Tensor>& v) { return pairwise_sq_dist(v[0], v[1]); }, {x, y},
                "pairwise_sq_dist", 1e-4f);
  expect_parity([](const std::vector<Tensor>& v) { return mse_loss(v[0], v[1]); },
                {x, random({6, 10}, 45)}, "mse_loss");
}

TEST(CudaOps, ShapeCopiesParity) {
  REQUIRE_GPU();
  const Tensor x = random({3, 4, 5, 6}, 32);
  expect_parity([](const std::vector<Tensor>& v) { return permute(v[0], {2, 0, 3, 1}); }, {x}, "permute");
  expect_parity([](const std::vector<Tensor>& v) { return transpose(v[0], 1, 3); }, {x}, "transpose");
  expect_parity([](const std::vector<Tensor>& v) { return v[0].slice(1, 1, 4); }, {x}, "slice, inner dim");
  expect_parity([](const std::vector<Tensor>& v) { return v[0].slice(3, 0, 6, 2); }, {x}, "slice, step 2");
  expect_parity([](const std::vector<Tensor>& v) { return v[0].slice(0, 1, 3); }, {x}, "slice, a view");
  expect_parity([](const std::vector<Tensor>& v) { return concat({v[0], v[1], v[0]}, 1); },
                {x, random({3, 2, 5, 6}, 33)}, "concat dim 1");
  expect_parity([](const std::vector<Tensor>& v) { return concat({v[0], v[1]}, 0); },
                {x, random({1, 4, 5, 6}, 34)}, "concat dim 0");
  expect_parity([](const std::vector<Tensor>& v) { return stack({v[0], v[1]}, 2); },
                {x, random({3, 4, 5, 6}, 35)}, "stack");
  // Repeated indices: index_add adds both.
  expect_parity([](const std::vector<Tensor>& v) { return index_select(v[0], 2, {4, 0, 4, 2}); }, {x},
                "index_select");
  expect_parity([](const std::vector<Tensor>& v) { return index_add({3, 4, 7, 6}, 2, {6, 1, 6, 0, 3}, v[0]); },
                {x}, "index_add");
  // Second order through a slice (its backward is slice_backward, whose backward a slice).
  const Tensor y = random({4, 6}, 36);
  expect_parity([](const std::vector<Tensor>& v) {
    const Tensor s = v[0].slice(1, 1, 6, 2);
    return grad({sum(mul(mul(s, s), s))}, {v[0]}, {}, true)[0];
  }, {y}, "slice, second order");
  try {
    concat({x.to(kGpu), x}, 0);
    FAIL() << "concat of a GPU and a CPU tensor";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("concat: tensors on cuda:0 and cpu"), std::string::npos) << e.what();
  }
}

TEST(CudaOps, AveragePoolingAndLrnParity) {
  REQUIRE_GPU();
  const Tensor x = random({2, 3, 9, 11}, 37);
  expect_parity([](const std::vector<Tensor>& v) { return avg_pool2d(v[0], Pool2dOptions::make(2)); }, {x},
                "avg_pool2d 2×2");
  expect_parity([](const std::vector<Tensor>& v) { return avg_pool2d(v[0], Pool2dOptions::make(3, 2, 1, true)); },
                {x}, "avg_pool2d 3×3 s2 p1 ceil");
  Pool2dOptions exclude = Pool2dOptions::make(3, 2, 1);
  exclude.count_include_pad = false;
  exclude.pad_bottom = 0;
  expect_parity([exclude](const std::vector<Tensor>& v) { return avg_pool2d(v[0], exclude); }, {x},
                "avg_pool2d without the padding in the count");
  Pool2dOptions exclude_ceil = Pool2dOptions::make(3, 2, 1, true);
  exclude_ceil.count_include_pad = false;
  expect_parity([exclude_ceil](const std::vector<Tensor>& v) { return avg_pool2d(v[0], exclude_ceil); }, {x},
                "avg_pool2d in ceil mode without the padding in the count");
  expect_parity([](const std::vector<Tensor>& v) { return adaptive_avg_pool2d(v[0], 4, 3); }, {x},
                "adaptive_avg_pool2d 4×3");
  expect_parity([](const std::vector<Tensor>& v) { return adaptive_avg_pool2d(v[0], 6, 6); }, {x},
                "adaptive_avg_pool2d 6×6 (overlapping windows)");
  // Second order: the adjoint's backward is the pool again.
  expect_parity([](const std::vector<Tensor>& v) {
    const Tensor p = avg_pool2d(v[0], Pool2dOptions::make(3, 2, 1, true));
    return grad({sum(mul(mul(p, p), p))}, {v[0]}, {}, true)[0];
  }, {x}, "avg_pool2d, second order");
  const Tensor c = random({2, 7, 3, 4}, 38);
  expect_parity([](const std::vector<Tensor>& v) { return channel_window_sum(v[0], 2, 1); }, {c},
                "channel_window_sum");
  expect_parity([](const std::vector<Tensor>& v) { return local_response_norm(v[0], 5, 5e-4f, 0.75f, 2.0f); },
                {c}, "local_response_norm");
}

TEST(CudaOps, ArgmaxParity) {
  REQUIRE_GPU();
  Tensor x = random({5, 6, 7}, 39);
  x.data()[3] = x.data()[3 + 7];  // a tie along dim 1: the first wins
  x.data()[50] = std::nanf("");   // NaN wins
  for (int64_t dim : {0, 1, 2, -1})
    EXPECT_EQ(argmax(x.to(kGpu), dim).to_vector(), argmax(x, dim).to_vector()) << "dim " << dim;
  EXPECT_EQ(argmax(x.to(kGpu), 1).shape(), (Shape{5, 7}));
}

TEST(CudaRandom, TheSameStreamAsTheCpu) {
  REQUIRE_GPU();
  // Uneven counts, so that draws start with cached words and a spare normal.
  Generator on_cpu(11), on_gpu(11);
  // rand n ≡ 1, 2, 3 (mod 4) leaves 3, 2, 1 cached words for the next draw; randn
  // (odd n) pairs straddle a cached word and a fresh block, and leave a spare.
  const std::pair<int64_t, bool> draws[] = {{5, true}, {1, false}, {8, false}, {1003, true}, {2, false},
                                            {7, true},  {3, false}, {9, true},  {64, false}, {6, true},
                                            {3, false}, {4, true},  {13, false}};
  for (const auto& [n, normal] : draws) {
    const Tensor a = normal ? Tensor::randn({n}, on_cpu) : Tensor::rand({n}, on_cpu);
    const Tensor b = normal ? Tensor::randn({n}, on_gpu, kGpu) : Tensor::rand({n}, on_gpu, kGpu);
    ASSERT_TRUE(b.device().is_cuda());
    if (normal) {
      EXPECT_TRUE(close(b, a, "randn", 1e-6f)) << n;
    } else {
      EXPECT_EQ(b.to_vector(), a.to_vector()) << n;
    }
    const Generator::State a_state = on_gpu.state(), b_state = on_cpu.state();
    EXPECT_EQ(a_state.counter, b_state.counter) << "after " << n;
    EXPECT_EQ(a_state.cached, b_state.cached) << "after " << n;
    EXPECT_EQ(a_state.buffer, b_state.buffer) << "after " << n;
    EXPECT_EQ(a_state.has_spare_normal, b_state.has_spare_normal) << "after " << n;
    if (b_state.has_spare_normal) {
      EXPECT_EQ(a_state.spare_normal, b_state.spare_normal) << "after " << n;
    }
  }
  EXPECT_EQ(on_gpu.normal(), on_cpu.normal());  // the spare, or the next pair
  EXPECT_EQ(on_gpu.uniform(), on_cpu.uniform());
  // Dropout keeps the same units, scaled the same.
  Generator d_cpu(12), d_gpu(12);
  const Tensor x = random({6, 50}, 40);
  const Tensor kept_cpu = dropout(x, 0.3f, true, d_cpu);
  const Tensor kept_gpu = dropout(x.to(kGpu), 0.3f, true, d_gpu);
  EXPECT_TRUE(close(kept_gpu, kept_cpu, "dropout", 0.0f));
}

TEST(CudaOps, ClipGradNormAsOnTheCpu) {
  REQUIRE_GPU();
  auto clipped = [](Device d) {
    Tensor a = random({30, 20}, 41).to(d).requires_grad_(), b = random({7}, 42).to(d).requires_grad_();
    sum(mul(mul(a, a), Tensor::scalar(3.0f))).backward();
    sum(mul(b, b)).backward();
    const float norm = clip_grad_norm({a, b}, 1.5f);
    return std::make_tuple(norm, a.grad(), b.grad());
  };
  const auto [n_cpu, a_cpu, b_cpu] = clipped(Device::cpu());
  const auto [n_gpu, a_gpu, b_gpu] = clipped(kGpu);
  EXPECT_NEAR(n_gpu, n_cpu, 1e-4f * n_cpu);
  EXPECT_TRUE(close(a_gpu, a_cpu, "clipped gradient"));
  EXPECT_TRUE(close(b_gpu, b_cpu, "clipped gradient"));
}

TEST(CudaOps, MaxPoolParity) {
  REQUIRE_GPU();
  // LeNet's 2×2, ResNet's overlapping 3×3 stride 2 pad 1, VGG-F's 3×3 stride 2 ceil mode.
  // Values below 0.9 and every third one 1.0: most windows hold several equal maxima,
  // and the gradient (which goes to the arg-max) checks that the first one wins.
  Tensor ties = random({2, 3, 9, 9}, 80, 0.0f, 0.9f);
  for (int64_t i = 0; i < ties.numel(); i += 3) ties.data()[i] = 1.0f;
  Tensor with_nan = ties.clone();
  with_nan.data()[10] = std::nanf("");  // NaN wins its windows
  for (const Pool2dOptions& o : {Pool2dOptions::make(2), Pool2dOptions::make(3, 2, 1), Pool2dOptions::make(3, 2, 0, true)}) {
    const Tensor x = random({2, 3, 10, 10}, 81);
    expect_parity([&](const std::vector<Tensor>& v) { return max_pool2d(v[0], o); }, {x}, "max_pool2d");
    expect_parity([&](const std::vector<Tensor>& v) { return max_pool2d(v[0], o); }, {ties}, "max_pool2d ties");
    EXPECT_TRUE(close(max_pool2d(with_nan.to(kGpu), o), max_pool2d(with_nan, o), "max_pool2d NaN"));
  }
  // Second order: the gradient of the pooled gradient's square (the scatter's adjoint).
  auto second = [](Device d) {
    Tensor x = random({1, 2, 8, 8}, 82).to(d).detach().requires_grad_();
    Tensor w = random({1, 2, 4, 4}, 83).to(d).detach().requires_grad_();
    const Tensor gx = grad({sum(mul(max_pool2d(x, Pool2dOptions::make(3, 2, 1)), w))}, {x}, {}, true)[0];
    return grad({sum(mul(gx, gx))}, {w})[0];
  };
  EXPECT_TRUE(close(second(kGpu), second(Device::cpu()), "max_pool2d second order"));
}

#include "engine/optim.h"
#include "layers/layers.h"

namespace {

// A two-layer perceptron trained for a few steps; returns its parameters on the host.
// Starts on the CPU and moves to `device` after the first step, so that the state made
// by that step has to follow the parameters.
std::vector<std::vector<float>> train_mlp(Device device, bool adam) {
  Sequential net{std::make_shared<Linear>(6, 16),
                 std::make_shared<Lambda>("ReLU", [](const Tensor& x) { return relu(x); }),
                 std::make_shared<Linear>(16, 3)};
  uint64_t seed = 40;
  for (Tensor& p : net.parameters()) p.copy_(random(p.shape(), seed++, -0.5f, 0.5f));  // the same start
  std::unique_ptr<Optimizer> opt;
  if (adam)
    opt = std::make_unique<Adam>(net.parameters(),
                                 AdamOptions{.lr = 1e-2f, .beta1 = 0.5f, .beta2 = 0.9f, .weight_decay = 1e-2f});
  else
    opt = std::make_unique<SGD>(net.parameters(),
                                SGDOptions{.lr = 0.05f, .momentum = 0.9f, .weight_decay = 1e-3f, .nesterov = true});
  const Tensor x_host = random({8, 6}, 41), y_host = random({8, 3}, 42);
  for (int step = 0; step < 4; ++step) {
    if (step == 1) net.to(device);
    const Tensor x = x_host.to(net.parameters()[0].device()), y = y_host.to(net.parameters()[0].device());
    opt->zero_grad();
    mse_loss(net(x), y).backward();
    opt->step();
  }
  std::vector<std::vector<float>> out;
  for (const Tensor& p : net.parameters()) {
    EXPECT_EQ(p.device(), device);
    out.push_back(p.to_vector());
  }
  return out;
}

}  // namespace

TEST(CudaTraining, ModuleToAndOptimisersMatchTheCpu) {
  REQUIRE_GPU();
  for (bool adam : {false, true}) {
    const auto cpu = train_mlp(Device::cpu(), adam), gpu = train_mlp(kGpu, adam);
    ASSERT_EQ(cpu.size(), gpu.size());
    for (size_t i = 0; i < cpu.size(); ++i)
      for (size_t k = 0; k < cpu[i].size(); ++k)
        EXPECT_NEAR(gpu[i][k], cpu[i][k], 1e-4f * std::fabs(cpu[i][k]) + 1e-5f)
            << (adam ? "Adam" : "SGD") << ", parameter " << i << " element " << k;
  }
}

#include "models/lenet.h"

TEST(CudaTraining, LeNet5InferenceMatchesTheCpu) {
  REQUIRE_GPU();
  LeNet5 net(10);
  uint64_t seed = 90;
  for (Tensor& p : net.parameters()) p.copy_(random(p.shape(), seed++, -0.3f, 0.3f));
  net.eval();
  const Tensor x = random({4, 1, 28, 28}, 99);
  const Tensor cpu = net(x);
  net.to(kGpu);
  EXPECT_TRUE(close(net(x.to(kGpu)), cpu, "LeNet-5 logits", 1e-4f));
}

TEST(CudaTraining, LeNet5TrainingStepsMatchTheCpu) {
  REQUIRE_GPU();
  auto train = [](Device d) {
    LeNet5 net(10);
    uint64_t seed = 100;
    for (Tensor& p : net.parameters()) p.copy_(random(p.shape(), seed++, -0.3f, 0.3f));
    net.to(d);
    SGD sgd(net.parameters(), SGDOptions{.lr = 0.01f, .momentum = 0.9f});
    const Tensor x = random({8, 1, 28, 28}, 110).to(d);
    const Tensor y = Tensor::from_data({8}, {0, 1, 2, 3, 4, 5, 6, 7}).to(d);
    for (int step = 0; step < 3; ++step) {
      sgd.zero_grad();
      cross_entropy(net(x), y).backward();
      sgd.step();
    }
    return net.parameters();
  };
  const std::vector<Tensor> gpu = train(kGpu), cpu = train(Device::cpu());
  for (size_t i = 0; i < cpu.size(); ++i) EXPECT_TRUE(close(gpu[i], cpu[i], "LeNet-5 parameter", 1e-4f)) << i;
}

#include "models/resnet.h"

TEST(CudaTraining, ResNet18TrainingStepsMatchTheCpu) {
  REQUIRE_GPU();
  auto train = [](Device d) {
    ResNet net(18, 10);
    uint64_t seed = 200;
    for (Tensor& p : net.parameters()) p.copy_(random(p.shape(), seed++, -0.1f, 0.1f));
    net.to(d);
    net.train();
    SGD sgd(net.parameters(), SGDOptions{.lr = 0.01f, .momentum = 0.9f});
    // 16 images: layer4 runs on 1×1 maps, so its batch norm sees N values per channel,
    // and a handful would let float-vs-double statistics differ by more than rounding.
    const Tensor x = random({16, 3, 32, 32}, 210).to(d);
    const Tensor y = Tensor::from_data({16}, {1, 3, 5, 7, 0, 2, 4, 6, 8, 9, 1, 3, 5, 7, 0, 2}).to(d);
    for (int step = 0; step < 2; ++step) {
      sgd.zero_grad();
      cross_entropy(net(x), y).backward();
      sgd.step();
    }
    net.eval();
    return net(x);  // eval mode: the running statistics are compared too
  };
  EXPECT_TRUE(close(train(kGpu), train(Device::cpu()), "ResNet-18 logits after two steps", 1e-3f));
}

TEST(CudaTensor, MoveInPlaceThereAndBack) {
  REQUIRE_GPU();
  const Tensor values = random({3, 5}, 70);
  Tensor w = values.clone().detach().requires_grad_();
  Tensor same = w;  // another handle: it sees the move
  w.move_to_(kGpu);
  EXPECT_EQ(same.device(), kGpu);
  EXPECT_TRUE(w.requires_grad());
  EXPECT_EQ(w.to_vector(), values.to_vector());
  w.move_to_(Device::cpu());
  EXPECT_EQ(same.to_vector(), values.to_vector());
}

TEST(CudaTensor, OnlyLeavesMoveInPlace) {
  Tensor w = Tensor::ones({2}).requires_grad_();
  Tensor y = mul(w, Tensor::scalar(2.0f));
  EXPECT_THROW(y.move_to_(Device::cpu()), Error);
  EXPECT_NO_THROW(w.move_to_(Device::cpu()));  // already there: nothing happens
  EXPECT_TRUE(w.requires_grad());
}

#include "detectors/fanogan.h"

// The f-AnoGAN detector on a GPU follows the CPU run: the same z and α (drawn on the
// device from the same stream), so after a few steps of each kind the networks agree.
TEST(CudaTraining, FanoganStepsAndScoresMatchTheCpu) {
  REQUIRE_GPU();
  auto run = [](Device d) {
    detectors::FanoganOptions o;
    o.shape.size = 16;
    o.shape.latent = 8;
    o.seed = 5;
    o.device = d;
    auto model = std::make_unique<detectors::Fanogan>(o);
    const Tensor real = random({6, 1, 16, 16}, 120, -1.0f, 1.0f);
    std::vector<float> losses;
    for (int i = 0; i < 3; ++i) {
      auto [d_loss, g_loss] = model->gan_step(real, i == 0);
      losses.push_back(d_loss);
      losses.push_back(g_loss);
    }
    for (int i = 0; i < 2; ++i) losses.push_back(model->encoder_step(real));
    const Tensor scores = model->score(real, 4);
    return std::make_tuple(std::move(model), losses, scores);
  };
  const auto [gpu, gpu_losses, gpu_scores] = run(kGpu);
  const auto [cpu, cpu_losses, cpu_scores] = run(Device::cpu());
  for (size_t i = 0; i < cpu_losses.size(); ++i)
    EXPECT_NEAR(gpu_losses[i], cpu_losses[i], 1e-3f * std::max(1.0f, std::fabs(cpu_losses[i]))) << "loss " << i;
  EXPECT_TRUE(gpu_scores.device().is_cpu());
  EXPECT_TRUE(close(gpu_scores.to(kGpu), cpu_scores, "scores", 1e-4f));
  const auto gp = gpu->nets().encoder->parameters(), cp = cpu->nets().encoder->parameters();
  for (size_t i = 0; i < cp.size(); ++i) EXPECT_TRUE(close(gp[i], cp[i], "encoder parameter", 1e-4f)) << i;
}

#include "models/vgg.h"

TEST(CudaTraining, VggFInferenceMatchesTheCpu) {
  REQUIRE_GPU();
  VggF net(20);
  uint64_t seed = 300;
  for (Tensor& p : net.parameters()) p.copy_(random(p.shape(), seed++, -0.05f, 0.05f));
  net.eval();
  const Tensor x = random({2, 3, 224, 224}, 301);
  const Tensor cpu = net(x);
  net.to(kGpu);
  EXPECT_TRUE(close(net(x.to(kGpu)), cpu, "VGG-F logits", 1e-4f));
}

// Issue 7's check: a few WGAN-GP critic updates (bench's wgangp-critic-step at a
// smaller width) agree with the CPU. z and ε come from the device's Philox stream,
// the same numbers as the CPU's.
TEST(CudaTraining, WganGpCriticStepsMatchTheCpu) {
  REQUIRE_GPU();
  auto train = [](Device d) {
    manual_seed(7);
    auto generator = std::make_shared<Sequential>(Sequential{
        std::make_shared<Linear>(16, 16 * 7 * 7), relu_layer(),
        std::make_shared<Lambda>("Reshape", [](const Tensor& x) { return x.reshape({x.size(0), 16, 7, 7}); }),
        std::make_shared<ConvTranspose2d>(16, 8, 4, Conv2dOptions::make(2, 1)), relu_layer(),
        std::make_shared<ConvTranspose2d>(8, 1, 4, Conv2dOptions::make(2, 1)), tanh_layer()});
    auto critic = std::make_shared<Sequential>(Sequential{
        std::make_shared<Conv2d>(1, 8, 4, Conv2dOptions::make(2, 1)), leaky_relu_layer(0.2f),
        std::make_shared<Conv2d>(8, 16, 4, Conv2dOptions::make(2, 1)), leaky_relu_layer(0.2f), flatten_layer(),
        std::make_shared<Linear>(16 * 7 * 7, 1)});
    generator->to(d);
    critic->to(d);
    Adam adam(critic->parameters(), AdamOptions{.lr = 1e-2f, .beta1 = 0.5f, .beta2 = 0.9f});
    Generator gen(8);
    const Tensor real = random({4, 1, 28, 28}, 130, -1.0f, 1.0f).to(d);
    std::vector<float> losses;
    for (int step = 0; step < 3; ++step) {
      Tensor fake;
      {
        NoGradGuard no_grad;
        fake = (*generator)(Tensor::randn({4, 16}, gen, d));
      }
      const Tensor eps = Tensor::rand({4, 1, 1, 1}, gen, d);
      Tensor x_hat = add(mul(eps, real), mul(sub(Tensor::scalar(1.0f), eps), fake)).detach();
      x_hat.requires_grad_();
      const Tensor g = grad({sum((*critic)(x_hat))}, {x_hat}, {}, true)[0];
      const Tensor penalty = mean(pow(sub(sqrt(sum(mul(g, g), {1, 2, 3})), Tensor::scalar(1.0f)), 2.0f));
      const Tensor loss = add(sub(mean((*critic)(fake)), mean((*critic)(real))), mul(penalty, Tensor::scalar(10.0f)));
      adam.zero_grad();
      loss.backward();
      adam.step();
      losses.push_back(loss.item());
    }
    return std::make_pair(critic->parameters(), losses);
  };
  const auto [gpu, gpu_losses] = train(kGpu);
  const auto [cpu, cpu_losses] = train(Device::cpu());
  for (size_t i = 0; i < cpu_losses.size(); ++i)
    EXPECT_NEAR(gpu_losses[i], cpu_losses[i], 1e-4f * std::max(1.0f, std::fabs(cpu_losses[i]))) << "step " << i;
  for (size_t i = 0; i < cpu.size(); ++i) EXPECT_TRUE(close(gpu[i], cpu[i], "critic parameter", 1e-4f)) << i;
}

// TF32 only when asked for: off, products and convolutions match the CPU to FP32
// rounding (the tests above); on, to TF32's 10-bit mantissas: each product term may
// lose up to 2^-10 of itself (truncated inputs), so the bound is 4·2^-10·Σ|a·b|.
TEST(CudaOps, Tf32OnlyWhenAskedFor) {
  EXPECT_FALSE(cuda::allow_tf32());
  REQUIRE_GPU();
  struct Tf32On {  // off again even if an assertion or op throws
    Tf32On() { cuda::set_allow_tf32(true); }
    ~Tf32On() { cuda::set_allow_tf32(false); }
  };
  const Tensor a = random({64, 256}, 140), b = random({256, 48}, 141);
  const Tensor w = random({8, 3, 3, 3}, 142), x = random({2, 3, 16, 16}, 143);
  const Conv2dOptions same = Conv2dOptions::make(1, 1);
  const Tensor mm = matmul(a, b), conv = conv2d(x, w, Tensor(), same);
  const Tensor mm_bound = matmul(abs(a), abs(b)), conv_bound = conv2d(abs(x), abs(w), Tensor(), same);
  Tensor mm_gpu, conv_gpu;
  {
    const Tf32On tf32;
    mm_gpu = matmul(a.to(kGpu), b.to(kGpu));
    conv_gpu = conv2d(x.to(kGpu), w.to(kGpu), Tensor(), same);
  }
  EXPECT_FALSE(cuda::allow_tf32());
  auto within = [](const Tensor& gpu, const Tensor& cpu, const Tensor& bound, const char* what) {
    const std::vector<float> p = gpu.to_vector(), q = cpu.to_vector(), r = bound.to_vector();
    for (size_t i = 0; i < p.size(); ++i)
      EXPECT_LE(std::fabs(p[i] - q[i]), 4.0f / 1024.0f * r[i] + 1e-5f) << what << " element " << i;
  };
  within(mm_gpu, mm, mm_bound, "matmul");
  within(conv_gpu, conv, conv_bound, "conv2d");
  EXPECT_TRUE(close(matmul(a.to(kGpu), b.to(kGpu)), mm, "matmul with TF32 off again", 1e-4f));
}

#include "models/classifier.h"

// `adx train --device cuda`'s path: the classifier's batches follow the model to the
// GPU, the losses and the accuracy follow the CPU run.
TEST(CudaTraining, ClassifierTrainingFollowsTheModelsDevice) {
  REQUIRE_GPU();
  const Tensor images = random({24, 1, 28, 28}, 150, 0.0f, 1.0f);
  std::vector<int> labels;
  for (int i = 0; i < 24; ++i) labels.push_back(i % 10);
  auto run = [&](Device d) {
    LeNet5 net(10);
    uint64_t seed = 160;
    for (Tensor& p : net.parameters()) p.copy_(random(p.shape(), seed++, -0.3f, 0.3f));
    net.to(d);
    ClassifierTraining opt;
    opt.epochs = 2;
    opt.batch = 8;
    opt.lr = 0.01f;
    const std::vector<float> losses = train_classifier(net, images, labels, opt);
    return std::make_pair(losses, classification_accuracy(net, images, labels, 10));
  };
  const auto [gpu_losses, gpu_accuracy] = run(kGpu);
  const auto [cpu_losses, cpu_accuracy] = run(Device::cpu());
  ASSERT_EQ(gpu_losses.size(), cpu_losses.size());
  for (size_t i = 0; i < cpu_losses.size(); ++i) EXPECT_NEAR(gpu_losses[i], cpu_losses[i], 1e-4f * cpu_losses[i]);
  // One near-tie of two logits may go either way: at most one image of 24 differs.
  EXPECT_NEAR(gpu_accuracy, cpu_accuracy, 1.0f / 24.0f + 1e-6f);
}
