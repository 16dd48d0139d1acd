// adx's CUDA kernels (engine/cuda/*.cu), run on the CPU through engine/cuda/emu.h,
// against the engine's CPU ops: the kernels' index arithmetic, bounds and formulas
// checked in CI, where there is no GPU. The launchers are called directly with host
// memory, with the argument structs the host code of engine/cuda/ops.cpp would build.
// (What this cannot check: device memory, copies, cuBLAS/cuDNN and the float rounding
// of a real device; tests/cuda_ops_test.cpp covers those where a GPU is visible.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/autograd.h"
#include "engine/cpu/broadcast.h"
#include "engine/cuda/kernels.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/random.h"

using namespace adx;
namespace k = adx::cuda::kernels;

namespace {

Tensor random(const Shape& shape, uint64_t seed, float lo = -2.0f, float hi = 2.0f) {
  Generator gen(seed);
  return Tensor::rand(shape, gen) * (hi - lo) + lo;
}

// |a − b| ≤ 1e-5·max(|a|, |b|) + abs_tol (the emulated kernels run on this CPU, so only
// the order of float operations can differ from the CPU ops'); NaN matches NaN.
::testing::AssertionResult close(const std::vector<float>& got, const Tensor& want, const char* what,
                                 float abs_tol = 1e-6f) {
  const std::vector<float> w = want.to_vector();
  if (got.size() != w.size())
    return ::testing::AssertionFailure() << what << ": " << got.size() << " values, expected " << w.size();
  for (size_t i = 0; i < w.size(); ++i) {
    const float tol = 1e-5f * std::max(std::fabs(got[i]), std::fabs(w[i])) + abs_tol;
    if (!(std::fabs(got[i] - w[i]) <= tol) && !(std::isnan(got[i]) && std::isnan(w[i])))
      return ::testing::AssertionFailure() << what << ": element " << i << " is " << got[i] << ", expected " << w[i];
  }
  return ::testing::AssertionSuccess();
}

void ok(cudaError_t e) { ASSERT_EQ(e, cudaSuccess); }

}  // namespace

TEST(CudaEmulation, FillAndSaxpy) {
  std::vector<float> out(1000, -1.0f), x(1000), y(1000);
  for (int i = 0; i < 1000; ++i) x[i] = static_cast<float>(i), y[i] = 1.0f;
  ok(k::fill(1000, 2.5f, out.data()));
  for (float v : out) ASSERT_EQ(v, 2.5f);
  // saxpy launches one thread per element (no grid-stride loop), three blocks here;
  // elements past n stay as they were.
  ok(k::saxpy(700, 2.0f, x.data(), y.data(), out.data()));
  for (int i = 0; i < 700; ++i) ASSERT_EQ(out[static_cast<size_t>(i)], 2.0f * static_cast<float>(i) + 1.0f) << i;
  for (int i = 700; i < 1000; ++i) ASSERT_EQ(out[static_cast<size_t>(i)], 2.5f) << i;
}

namespace {
// Output shape `shape`, operand k of `in_shape`: the kernels' broadcast index.
k::Broadcast broadcast_index(const Shape& shape, std::initializer_list<Shape> operands) {
  k::Broadcast b;
  b.nd = static_cast<int>(shape.size());
  for (size_t d = 0; d < shape.size(); ++d) b.shape[d] = shape[d];
  int op = 0;
  for (const Shape& in : operands) {
    const Shape strides = cpu::broadcast_strides(in, shape);
    for (size_t d = 0; d < shape.size(); ++d) b.stride[op][d] = strides[d];
    ++op;
  }
  return b;
}
std::vector<float> host(const Tensor& t) { return t.to_vector(); }
}  // namespace

TEST(CudaEmulation, ElementwiseWithBroadcasting) {
  // 1,001 outputs: four blocks of 256 threads, the last one partly idle.
  const Tensor a = random({7, 1, 11}, 1), b = random({13, 1}, 2, 0.5f, 2.0f);
  const Shape out{7, 13, 11};
  const int64_t n = shape_numel(out);
  const k::Broadcast index = broadcast_index(out, {a.shape(), b.shape()});
  std::vector<float> av = host(a), bv = host(b), got(static_cast<size_t>(n));
  ok(k::binary(cuda::Binary::Div, 0.0f, n, av.data(), 0.0f, bv.data(), 0.0f, &index, got.data()));
  EXPECT_TRUE(close(got, div(a, b), "div, broadcast"));
  ok(k::binary(cuda::Binary::Sub, 0.0f, n, nullptr, 1.5f, bv.data(), 0.0f, &index, got.data()));
  EXPECT_TRUE(close(got, sub(Tensor::scalar(1.5f), b.expand(out)), "sub, a scalar"));
  const Tensor g = random(out, 3), x = random(out, 4);
  std::vector<float> gv = host(g), xv = host(x), same(static_cast<size_t>(n));
  ok(k::binary(cuda::Binary::LeakyReluBackward, 0.2f, n, gv.data(), 0.0f, xv.data(), 0.0f, nullptr, same.data()));
  const Tensor xg = x.detach().requires_grad_();
  EXPECT_TRUE(close(same, grad({sum(mul(leaky_relu(xg, 0.2f), g))}, {xg})[0], "leaky_relu backward"));
  ok(k::unary(cuda::Unary::Softplus, 2.0f, 20.0f, n, xv.data(), nullptr, same.data()));
  EXPECT_TRUE(close(same, softplus(x, 2.0f, 20.0f), "softplus"));
  const k::Broadcast expand = broadcast_index(out, {a.shape()});
  ok(k::unary(cuda::Unary::Identity, 0, 0, n, av.data(), &expand, got.data()));
  EXPECT_TRUE(close(got, a.expand(out), "expand"));
  const Tensor c = gt(random({7, 13, 1}, 5), Tensor::scalar(0.0f));
  const k::Broadcast three = broadcast_index(out, {c.shape(), x.shape(), b.shape()});
  std::vector<float> cv = host(c);
  ok(k::where(n, cv.data(), xv.data(), 0.0f, bv.data(), 0.0f, three, got.data()));
  EXPECT_TRUE(close(got, where(c, x, b), "where"));
}

TEST(CudaEmulation, SumsOverAnyDims) {
  const Tensor x = random({3, 4, 5, 6}, 6);
  const std::vector<float> xv = host(x);
  for (const Dims& dims : {Dims{1}, Dims{0, 2}, Dims{0, 1, 2, 3}, Dims{3}}) {
    // The Reduction that engine/cuda/ops.cpp's sum_keepdim builds.
    k::Reduction r;
    int64_t stride = 1;
    std::vector<std::pair<int64_t, int64_t>> kept, reduced;  // (size, stride), last dim first
    for (int64_t d = x.dim() - 1; d >= 0; --d) {
      (std::find(dims.begin(), dims.end(), d) != dims.end() ? reduced : kept).push_back({x.size(d), stride});
      stride *= x.size(d);
    }
    for (auto it = kept.rbegin(); it != kept.rend(); ++it) {
      r.kept_shape[r.kept_nd] = it->first;
      r.kept_stride[r.kept_nd++] = it->second;
      r.outputs *= it->first;
    }
    for (auto it = reduced.rbegin(); it != reduced.rend(); ++it) {
      r.reduced_shape[r.reduced_nd] = it->first;
      r.reduced_stride[r.reduced_nd++] = it->second;
      r.reduced_count *= it->first;
    }
    std::vector<float> got(static_cast<size_t>(r.outputs));
    ok(k::sum(r, xv.data(), got.data()));
    EXPECT_TRUE(close(got, sum(x, dims, true), "sum", 1e-5f)) << "dims " << dims.size();
  }
}

TEST(CudaEmulation, MaxPoolingForwardBackwardAndAdjoint) {
  Tensor x = random({5, 5, 9, 8}, 7);  // 25 planes: 625 outputs, 1,800 inputs
  x.data()[5] = x.data()[6];  // a tie inside a window
  x.data()[40] = std::nanf("");
  const Pool2dOptions o = Pool2dOptions::make(3, 2, 1, true);
  const int64_t oh = pool_output_size(9, 3, 2, 1, 1, true), ow = pool_output_size(8, 3, 2, 1, 1, true);
  const k::PoolWindows p{25, 9, 8, oh, ow, 3, 3, 2, 2, 1, 1};
  const std::vector<float> xv = host(x);
  std::vector<float> values(static_cast<size_t>(25 * oh * ow)), index(values.size());
  ok(k::max_pool_forward(p, xv.data(), values.data(), index.data()));
  const Tensor xg = x.detach().requires_grad_();
  const Tensor y = max_pool2d(xg, o);
  EXPECT_TRUE(close(values, y, "max_pool2d values"));
  const Tensor g = random(y.shape(), 8);
  const Tensor want = grad({sum(mul(y, g))}, {xg})[0];
  std::vector<float> gv = host(g), back(xv.size());
  ok(k::max_pool_scatter(p, gv.data(), index.data(), back.data()));
  EXPECT_TRUE(close(back, want, "max_pool2d gradient"));
  std::vector<float> taken(values.size());
  ok(k::max_pool_gather(p, xv.data(), index.data(), taken.data()));
  EXPECT_TRUE(close(taken, y, "max_pool2d gather"));
}

TEST(CudaEmulation, ReductionsAlongADimAndTheirAdjoints) {
  Tensor x = random({30, 6, 20}, 9);  // 600 outputs
  x.data()[7] = x.data()[27];  // a tie along dim 1
  x.data()[33] = std::nanf("");
  const std::vector<float> xv = host(x);
  for (bool take_max : {true, false}) {
    std::vector<float> values(600), index(600);
    ok(k::extreme_values(30, 6, 20, take_max, xv.data(), values.data()));
    EXPECT_TRUE(close(values, take_max ? max(x, 1, false) : min(x, 1, false), "max/min values"));
    ok(k::arg_extreme(30, 6, 20, take_max, xv.data(), index.data()));
    if (take_max) {
      EXPECT_TRUE(close(index, argmax(x, 1), "argmax"));
    }
    std::vector<float> taken(600);
    ok(k::take_along(30, 6, 20, xv.data(), index.data(), taken.data()));
    EXPECT_TRUE(close(taken, take_max ? max(x, 1, false) : min(x, 1, false), "values at the arg-max"));
    const Tensor xg = x.detach().requires_grad_();
    const Tensor m = take_max ? max(xg, 1, false) : min(xg, 1, false);
    const Tensor g = random(m.shape(), 10);
    const Tensor want = grad({sum(mul(m, g))}, {xg})[0];
    std::vector<float> gv = host(g), back(xv.size(), 0.0f);
    ok(k::put_along(30, 6, 20, gv.data(), index.data(), back.data()));
    EXPECT_TRUE(close(back, want, "max/min gradient"));
  }
}

TEST(CudaEmulation, GatherScatterAndStridedCopies) {
  const Tensor x = random({3, 4, 5}, 11);
  const std::vector<float> xv = host(x);
  const std::vector<int64_t> index = {7, -1, 0, 59, 7, 23};
  std::vector<float> got(6);
  ok(k::gather(6, xv.data(), index.data(), got.data()));
  for (size_t i = 0; i < index.size(); ++i) EXPECT_EQ(got[i], index[i] < 0 ? 0.0f : xv[static_cast<size_t>(index[i])]);
  std::vector<int64_t> many(700);  // four blocks' worth, some repeated, some −1
  for (size_t i = 0; i < many.size(); ++i) many[i] = i % 7 == 3 ? -1 : static_cast<int64_t>((i * 37) % 60);
  std::vector<float> gathered(700);
  ok(k::gather(700, xv.data(), many.data(), gathered.data()));
  for (size_t i = 0; i < many.size(); ++i)
    ASSERT_EQ(gathered[i], many[i] < 0 ? 0.0f : xv[static_cast<size_t>(many[i])]) << i;
  std::vector<float> ones(700, 1.0f), counts(60, 0.0f);
  ok(k::scatter_add(700, ones.data(), many.data(), counts.data()));
  for (size_t j = 0; j < 60; ++j)
    EXPECT_EQ(counts[j], static_cast<float>(std::count(many.begin(), many.end(), static_cast<int64_t>(j)))) << j;
  std::vector<float> src = {1, 2, 3, 4, 5, 6}, out(60, 0.0f);
  ok(k::scatter_add(6, src.data(), index.data(), out.data()));
  EXPECT_EQ(out[7], 1.0f + 5.0f);
  EXPECT_EQ(out[0], 3.0f);
  EXPECT_EQ(out[59], 4.0f);
  // permute (2, 0, 1) of a (9, 10, 11) tensor: the strided copy engine/ops/shape.cpp sets up.
  const Tensor big = random({9, 10, 11}, 19);
  const std::vector<float> bigv = host(big);
  const Shape shape{11, 9, 10};
  k::Broadcast b;
  b.nd = 3;
  const int64_t src_strides[] = {1, 110, 11}, dst_strides[] = {90, 10, 1};
  for (int d = 0; d < 3; ++d) {
    b.shape[d] = shape[static_cast<size_t>(d)];
    b.stride[0][d] = src_strides[d];
    b.stride[1][d] = dst_strides[d];
  }
  std::vector<float> permuted(990);
  ok(k::strided_copy(990, bigv.data(), permuted.data(), b));
  EXPECT_TRUE(close(permuted, permute(big, {2, 0, 1}), "permute"));
}

TEST(CudaEmulation, LrnChannelSumAndChannelAffine) {
  const Tensor x = random({3, 7, 5, 9}, 12);  // 945 values
  const std::vector<float> xv = host(x);
  std::vector<float> got(xv.size());
  ok(k::channel_window_sum(3, 7, 45, 2, 1, xv.data(), got.data()));
  EXPECT_TRUE(close(got, channel_window_sum(x, 2, 1), "channel_window_sum"));
  const Tensor scale = random({7}, 13), shift = random({7}, 14);
  const std::vector<float> sv = host(scale), hv = host(shift);
  ok(k::channel_affine(static_cast<int64_t>(xv.size()), 7, 45, xv.data(), sv.data(), hv.data(), got.data()));
  EXPECT_TRUE(close(got, add(mul(x, scale.reshape({1, 7, 1, 1})), shift.reshape({1, 7, 1, 1})), "channel affine"));
}

#include "engine/cuda/plans.h"

namespace {
// torch's avg_pool2d windows along one axis (engine/ops/pool.cpp's avg_axis).
struct Axis {
  IndexList start, end;
  PoolVector<float> weight;
};
Axis avg_axis(int64_t in, int64_t k, int64_t s, int64_t pad, int64_t out, bool count_pad) {
  Axis a;
  for (int64_t o = 0; o < out; ++o) {
    const int64_t lo = o * s - pad, hi = std::min(lo + k, in + pad);
    a.start.push_back(std::max<int64_t>(lo, 0));
    a.end.push_back(std::min(hi, in));
    const int64_t count = count_pad ? hi - lo : a.end.back() - a.start.back();
    a.weight.push_back(count > 0 ? 1.0f / static_cast<float>(count) : 0.0f);
  }
  return a;
}
// Bilinear, corners not aligned (engine/ops/pool.cpp's interp_axis).
struct Taps {
  IndexList i0, i1;
  PoolVector<float> w0, w1;
};
Taps bilinear_axis(int64_t in, int64_t out) {
  Taps t;
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  for (int64_t o = 0; o < out; ++o) {
    const double src = std::max((o + 0.5) * scale - 0.5, 0.0);
    const int64_t i0 = std::min<int64_t>(static_cast<int64_t>(src), in - 1);
    t.i0.push_back(i0);
    t.i1.push_back(i0 < in - 1 ? i0 + 1 : i0);
    const float l1 = static_cast<float>(src - static_cast<double>(i0));
    t.w0.push_back(1.0f - l1);
    t.w1.push_back(l1);
  }
  return t;
}
}  // namespace

TEST(CudaEmulation, AveragePoolingAndItsAdjointFromThePackedPlan) {
  const Tensor x = random({4, 5, 9, 11}, 15);  // 20 planes: 600 outputs
  for (bool count_pad : {true, false}) {
    Pool2dOptions o = Pool2dOptions::make(3, 2, 1, true);
    o.count_include_pad = count_pad;
    const Tensor xg = x.detach().requires_grad_();
    const Tensor y = avg_pool2d(xg, o);
    const int64_t oh = y.size(2), ow = y.size(3);
    const Axis rows = avg_axis(9, 3, 2, 1, oh, count_pad), cols = avg_axis(11, 3, 2, 1, ow, count_pad);
    const cuda::WindowPlan plan{9,  11, oh, ow, rows.start.data(), rows.end.data(), cols.start.data(), cols.end.data(),
                                rows.weight.data(), cols.weight.data()};
    IndexList bounds;
    PoolVector<float> weights;
    cuda::pack_window_plan(plan, bounds, weights);
    const k::Windows w{20, 9, 11, oh, ow, bounds.data(), weights.data()};
    const std::vector<float> xv = host(x);
    std::vector<float> got(static_cast<size_t>(20 * oh * ow));
    ok(k::window_sum(w, xv.data(), got.data()));
    EXPECT_TRUE(close(got, y, "avg_pool2d")) << count_pad;
    const Tensor g = random(y.shape(), 16);
    const std::vector<float> gv = host(g);
    std::vector<float> back(xv.size());
    ok(k::window_sum_adjoint(w, gv.data(), back.data()));
    EXPECT_TRUE(close(back, grad({sum(mul(y, g))}, {xg})[0], "avg_pool2d gradient")) << count_pad;
  }
}

TEST(CudaEmulation, BilinearUpsamplingAndItsAdjoint) {
  const Tensor x = random({4, 4, 5, 7}, 17);  // 16 planes
  for (const auto& [oh, ow] : {std::pair<int64_t, int64_t>{11, 9}, {3, 2}}) {  // up, and down (unread pixels)
    const Tensor xg = x.detach().requires_grad_();
    const Tensor y = upsample(xg, oh, ow, UpsampleMode::Bilinear, false);
    const Taps rows = bilinear_axis(5, oh), cols = bilinear_axis(7, ow);
    const cuda::InterpPlan plan{5, 7, oh, ow, rows.i0.data(), rows.i1.data(), cols.i0.data(), cols.i1.data(),
                                rows.w0.data(), rows.w1.data(), cols.w0.data(), cols.w1.data()};
    IndexList bounds;
    PoolVector<float> weights;
    cuda::pack_interp_plan(plan, bounds, weights);
    const k::Windows w{16, 5, 7, oh, ow, bounds.data(), weights.data()};
    const std::vector<float> xv = host(x);
    std::vector<float> got(static_cast<size_t>(16 * oh * ow));
    ok(k::interp(w, xv.data(), got.data()));
    EXPECT_TRUE(close(got, y, "upsample")) << oh;
    const Tensor g = random(y.shape(), 18);
    const std::vector<float> gv = host(g);
    std::vector<float> back(xv.size());
    ok(k::interp_adjoint(w, gv.data(), back.data()));
    EXPECT_TRUE(close(back, grad({sum(mul(y, g))}, {xg})[0], "upsample gradient")) << oh;
  }
}

// The device's Philox words are the CPU generator's: the same uniforms bit for bit,
// from any cached state (the host code passes the cached words as `lead`).
TEST(CudaEmulation, PhiloxStreamsAreTheCpuGenerators) {
  for (int drawn : {0, 1, 2, 3, 5}) {
    Generator cpu(21), device(21);
    for (int i = 0; i < drawn; ++i) {
      cpu.next_u32();
      device.next_u32();
    }
    k::PhiloxStream s{device.seed(), device.offset(), {}, 0};
    s.lead_count = device.cached_words(s.lead);
    const int64_t n = 1037;
    std::vector<float> got(static_cast<size_t>(n));
    ok(k::philox_uniform(n, s, got.data()));
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(got[static_cast<size_t>(i)], cpu.uniform()) << "drawn " << drawn << ", " << i;
    Generator normal_cpu(22);
    for (int i = 0; i < drawn; ++i) normal_cpu.next_u32();
    Generator normal_device = normal_cpu;
    k::PhiloxStream t{normal_device.seed(), normal_device.offset(), {}, 0};
    t.lead_count = normal_device.cached_words(t.lead);
    std::vector<float> normals(1201);
    ok(k::philox_normal(1201, t, 0, 0.0f, normals.data()));
    for (size_t i = 0; i < normals.size(); ++i) ASSERT_NEAR(normals[i], normal_cpu.normal(), 1e-6f) << i;
  }
  // A generator holding the spare of a normal pair: it comes first.
  Generator cpu(31), device(31);
  cpu.normal();
  device.normal();
  float spare = 0.0f;
  ASSERT_TRUE(device.take_spare_normal(spare));
  k::PhiloxStream t{device.seed(), device.offset(), {}, 0};
  t.lead_count = device.cached_words(t.lead);
  std::vector<float> normals(1051);
  ok(k::philox_normal(1051, t, 1, spare, normals.data()));
  for (size_t i = 0; i < normals.size(); ++i) ASSERT_NEAR(normals[i], cpu.normal(), 1e-6f) << i;
}

TEST(CudaEmulation, FusedOptimiserStepsFollowTheFormulas) {
  const Tensor w0 = random({1000}, 23), g = random({1000}, 24);
  const std::vector<float> gv = host(g);
  // SGD with momentum 0.9, weight decay 0.01, two steps, against the CPU optimiser.
  Tensor p = w0.clone().requires_grad_();
  SGD sgd({p}, SGDOptions{.lr = 0.1f, .momentum = 0.9f, .weight_decay = 0.01f});
  std::vector<float> w = host(w0), buf(1000, 0.0f);
  for (int step = 0; step < 2; ++step) {
    p.impl().grad = g.clone().impl_shared();
    sgd.step();
    // The CPU's first step sets buf = d (keep 0, add 1), later ones buf = μ·buf + d.
    ok(k::sgd_step(1000, w.data(), gv.data(), buf.data(), 0.1f, 0.01f, 0.9f, step == 0 ? 0.0f : 0.9f, 1.0f, false));
  }
  EXPECT_TRUE(close(w, p.detach(), "SGD"));
  Tensor q = w0.clone().requires_grad_();
  Adam adam({q}, AdamOptions{.lr = 0.01f, .beta1 = 0.5f, .beta2 = 0.9f});
  std::vector<float> v = host(w0), m(1000, 0.0f), s(1000, 0.0f);
  for (int step = 1; step <= 3; ++step) {
    q.impl().grad = g.clone().impl_shared();
    adam.step();
    const float bias1 = 1.0f - std::pow(0.5f, static_cast<float>(step)), bias2 = 1.0f - std::pow(0.9f, static_cast<float>(step));
    ok(k::adam_step(1000, v.data(), m.data(), s.data(), gv.data(), 0.5f, 0.9f, 0.0f, 1e-8f, 0.01f / bias1,
                    1.0f / std::sqrt(bias2)));
  }
  EXPECT_TRUE(close(v, q.detach(), "Adam", 1e-6f));
}

// The kernels switch on op codes whose formulas repeat the CPU lambdas case by case
// (engine/cuda/elementwise.cu): every code against its CPU op, on values that include
// 0, ±1, a tie and the edges of the parameters' ranges.
TEST(CudaEmulation, EveryOpCodeMatchesItsCpuOp) {
  using cuda::Binary;
  using cuda::Unary;
  std::vector<float> values = {-3.0f, -1.0f, -0.5f, 0.0f, 0.25f, 0.5f, 1.0f, 2.0f, 7.5f, 25.0f};
  // The ten values repeated to 1,000 elements: four blocks.
  const Tensor x = Tensor::from_data({10}, std::span<const float>(values.data(), values.size())).expand({100, 10}).reshape({1000}).clone();
  const Tensor positive = add(abs(x), Tensor::scalar(0.1f));
  struct UnaryCase {
    Unary op;
    float p0, p1;
    const Tensor& in;
    Tensor want;
  };
  const Tensor xg = x.detach().requires_grad_();
  const UnaryCase unary_cases[] = {
      {Unary::Neg, 0, 0, x, neg(x)},
      {Unary::Pow, 2.0f, 0, x, pow(x, 2.0f)},
      {Unary::Pow, 0.5f, 0, positive, pow(positive, 0.5f)},
      {Unary::Pow, 1.7f, 0, positive, pow(positive, 1.7f)},
      {Unary::Exp, 0, 0, x, exp(x)},
      {Unary::Log, 0, 0, positive, log(positive)},
      {Unary::Sqrt, 0, 0, positive, sqrt(positive)},
      {Unary::Abs, 0, 0, x, abs(x)},
      {Unary::Sign, 0, 0, x, grad({sum(abs(xg))}, {xg})[0]},
      {Unary::Relu, 0, 0, x, relu(x)},
      {Unary::LeakyRelu, 0.2f, 0, x, leaky_relu(x, 0.2f)},
      {Unary::Elu, 1.5f, 0, x, elu(x, 1.5f)},
      {Unary::Sigmoid, 0, 0, x, sigmoid(x)},
      {Unary::Tanh, 0, 0, x, tanh(x)},
      {Unary::Softplus, 1.0f, 20.0f, x, softplus(x, 1.0f, 20.0f)},
      {Unary::Softplus, 2.0f, 5.0f, x, softplus(x, 2.0f, 5.0f)},
      {Unary::Clamp, -1.0f, 2.0f, x, clamp(x, -1.0f, 2.0f)},
      {Unary::InRange, -1.0f, 2.0f, x, grad({sum(clamp(xg, -1.0f, 2.0f))}, {xg})[0]},
  };
  for (const UnaryCase& c : unary_cases) {
    const std::vector<float> in = host(c.in);
    std::vector<float> got(in.size());
    ok(k::unary(c.op, c.p0, c.p1, static_cast<int64_t>(in.size()), in.data(), nullptr, got.data()));
    EXPECT_TRUE(close(got, c.want, "unary op")) << "code " << static_cast<int>(c.op);
  }
  const Tensor y = Tensor::from_data({10}, {2.0f, -1.0f, -0.5f, 1.0f, 0.25f, -2.0f, 1.0f, 3.0f, -7.5f, 0.5f})
                       .expand({100, 10}).reshape({1000}).clone();
  const Tensor g = random({1000}, 30);
  struct BinaryCase {
    Binary op;
    float p;
    const Tensor &a, &b;
    Tensor want;
  };
  const BinaryCase binary_cases[] = {
      {Binary::Add, 0, x, y, add(x, y)},  {Binary::Sub, 0, x, y, sub(x, y)}, {Binary::Mul, 0, x, y, mul(x, y)},
      {Binary::Div, 0, x, y, div(x, y)},  {Binary::Gt, 0, x, y, gt(x, y)},   {Binary::Lt, 0, x, y, lt(x, y)},
      {Binary::Ge, 0, x, y, ge(x, y)},    {Binary::Le, 0, x, y, le(x, y)},   {Binary::Eq, 0, x, y, eq(x, y)},
      {Binary::LeakyReluBackward, 0.1f, g, x, grad({sum(mul(leaky_relu(xg, 0.1f), g))}, {xg})[0]},
  };
  for (const BinaryCase& c : binary_cases) {
    const std::vector<float> a = host(c.a), b = host(c.b);
    std::vector<float> got(a.size());
    ok(k::binary(c.op, c.p, static_cast<int64_t>(a.size()), a.data(), 0.0f, b.data(), 0.0f, nullptr, got.data()));
    EXPECT_TRUE(close(got, c.want, "binary op")) << "code " << static_cast<int>(c.op);
  }
}
