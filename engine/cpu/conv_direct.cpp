// Direct convolution for layers with few input channels and stride 1 (LeNet-5's and
// the DeepSVDD LeNet's first layers on grey digits). There im2col would copy every
// input pixel KH·KW times to feed a GEMM with a handful of output channels, which is
// the GEMM's worst shape; here each output row is summed straight from a zero-padded
// copy of the input, eight output pixels per vector and up to eight output channels
// per pass, so one input load feeds that many multiply-adds.
#include "engine/cpu/conv_direct.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <omp.h>
#include <vector>

#include "engine/cpu/parallel.h"
#include "engine/cpu/vec8.h"

namespace adx::cpu {
namespace {

constexpr int64_t kMaxBlock = 8;  // output channels per pass: 8 accumulators + input + weight

// v with lanes count and above set to +0.0.
typedef int32_t Vec8i __attribute__((vector_size(32)));
inline Vec8 mask_lanes(Vec8 v, int64_t count) {
  const Vec8i lane = {0, 1, 2, 3, 4, 5, 6, 7};
  const Vec8i keep = lane < static_cast<int32_t>(count);  // all ones where kept
  return reinterpret_cast<Vec8>(reinterpret_cast<Vec8i>(v) & keep);
}

int64_t round_up(int64_t v, int64_t to) { return (v + to - 1) / to * to; }

// One image's input, zero-padded by PH rows and PW columns on each side, with rows
// long enough that a full vector read at the last output block stays inside.
struct PaddedImage {
  int64_t rows, cols;
  std::vector<float> data;
};

void pad_image(const ConvGeometry& g, const float* x, PaddedImage& p) {
  p.rows = g.h + 2 * g.opt.pad_h;
  p.cols = round_up(g.ow, kLanes) + g.kw - 1;
  p.data.assign(static_cast<size_t>(g.c * p.rows * p.cols), 0.0f);
  for (int64_t c = 0; c < g.c; ++c)
    for (int64_t y = 0; y < g.h; ++y)
      std::copy_n(x + (c * g.h + y) * g.w, g.w,
                  p.data.data() + (c * p.rows + y + g.opt.pad_h) * p.cols + g.opt.pad_w);
}

// y[o0 + b][oy][:] for b < kBlock: Σ_{c,i,j} w[o0 + b][c][i][j] · x_pad[c][oy + i][ox + j].
// The block's weights are first laid out tap by tap (packed[tap·kBlock + b]), so that
// the inner loop broadcasts them from one pointer instead of kBlock.
template <int kBlock>
void forward_block(const ConvGeometry& g, const PaddedImage& p, const float* w, const float* bias,
                   int64_t o0, float* y) {
  const int64_t k = g.c * g.kh * g.kw, hw = g.oh * g.ow;
  thread_local std::vector<float> packed;
  packed.resize(static_cast<size_t>(k * kBlock));
  for (int64_t t = 0; t < k; ++t)
    for (int b = 0; b < kBlock; ++b) packed[static_cast<size_t>(t * kBlock + b)] = w[(o0 + b) * k + t];
  const float* const weights = packed.data();
  for (int64_t oy = 0; oy < g.oh; ++oy)
    for (int64_t ox = 0; ox < g.ow; ox += kLanes) {
      Vec8 acc[kBlock];
      for (int b = 0; b < kBlock; ++b) acc[b] = splat(bias ? bias[o0 + b] : 0.0f);
      const float* wt = weights;
      for (int64_t c = 0; c < g.c; ++c)
        for (int64_t i = 0; i < g.kh; ++i) {
          const float* row = p.data.data() + (c * p.rows + oy + i) * p.cols + ox;
          for (int64_t j = 0; j < g.kw; ++j, wt += kBlock) {
            const Vec8 in = load(row + j);
            for (int b = 0; b < kBlock; ++b) acc[b] += splat(wt[b]) * in;
          }
        }
      float* out = y + o0 * hw + oy * g.ow + ox;
      if (ox + kLanes <= g.ow) {
        for (int b = 0; b < kBlock; ++b) store(out + b * hw, acc[b]);
      } else {
        for (int b = 0; b < kBlock; ++b)
          for (int64_t l = 0; l < g.ow - ox; ++l) out[b * hw + l] = acc[b][l];
      }
    }
}

// dw[o0 + b][c][i][j] += Σ_{oy,ox} gy[o0 + b][oy][ox] · x_pad[c][oy + i][ox + j], with
// gy's rows zero-padded to whole vectors (gy_pad, ow_pad floats per row).
template <int kBlock>
void weight_grad_block(const ConvGeometry& g, const PaddedImage& p, const float* gy_pad, int64_t ow_pad,
                       int64_t o0, float* dw) {
  const int64_t k = g.c * g.kh * g.kw;
  for (int64_t c = 0; c < g.c; ++c)
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j) {
        Vec8 acc[kBlock];
        for (int b = 0; b < kBlock; ++b) acc[b] = splat(0.0f);
        for (int64_t oy = 0; oy < g.oh; ++oy) {
          const float* row = p.data.data() + (c * p.rows + oy + i) * p.cols + j;
          const float* grad_row = gy_pad + (o0 * g.oh + oy) * ow_pad;
          auto add = [&](int64_t ox, Vec8 in) {
            for (int b = 0; b < kBlock; ++b) acc[b] += load(grad_row + b * g.oh * ow_pad + ox) * in;
          };
          int64_t ox = 0;
          for (; ox + kLanes <= g.ow; ox += kLanes) add(ox, load(row + ox));
          // The last vector's lanes past the row read real pixels (or padding) that no
          // output reads with this tap: zeroed, so that an inf there cannot become
          // 0 · inf = NaN in the sum.
          if (ox < g.ow) add(ox, mask_lanes(load(row + ox), g.ow - ox));
        }
        const int64_t tap = (c * g.kh + i) * g.kw + j;
        for (int b = 0; b < kBlock; ++b) {
          float sum = 0.0f;
          for (int64_t l = 0; l < kLanes; ++l) sum += acc[b][l];
          dw[(o0 + b) * k + tap] += sum;
        }
      }
}

// Calls body.template operator()<B>(o0) for blocks of up to kMaxBlock output channels.
template <class F>
void for_each_block(int64_t channels, F&& body) {
  for (int64_t o0 = 0; o0 < channels; o0 += kMaxBlock) {
    switch (std::min(kMaxBlock, channels - o0)) {
      case 1: body.template operator()<1>(o0); break;
      case 2: body.template operator()<2>(o0); break;
      case 3: body.template operator()<3>(o0); break;
      case 4: body.template operator()<4>(o0); break;
      case 5: body.template operator()<5>(o0); break;
      case 6: body.template operator()<6>(o0); break;
      case 7: body.template operator()<7>(o0); break;
      default: body.template operator()<8>(o0); break;
    }
  }
}

thread_local PaddedImage t_padded;
thread_local std::vector<float> t_grad_rows;

}  // namespace

bool conv2d_direct_applies(const ConvGeometry& g) {
  const auto& o = g.opt;
  return o.groups == 1 && o.stride_h == 1 && o.stride_w == 1 && o.dilation_h == 1 && o.dilation_w == 1 &&
         g.c <= kMaxDirectChannels && g.o <= kMaxBlock && g.oh > 0 && g.ow > 0;
}

void conv2d_direct_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias,
                           float* y) {
  parallel_for(0, g.n, g.o * g.c * g.kh * g.kw * g.oh * g.ow, [&](int64_t n) {
    PaddedImage& p = t_padded;
    pad_image(g, x + n * g.c * g.h * g.w, p);
    float* out = y + n * g.o * g.oh * g.ow;
    for_each_block(g.o, [&]<int B>(int64_t o0) { forward_block<B>(g, p, w, bias, o0, out); });
  });
}

void conv2d_direct_backward_weight(const ConvGeometry& g, const float* x, const float* y_grad,
                                   float* w_grad) {
  const int64_t w_size = g.o * g.c * g.kh * g.kw, ow_pad = round_up(g.ow, kLanes);
  // One partial sum per thread over its images, added in thread order at the end: the
  // same result on every run with the same thread count.
  const int threads = (g.n > 1 && !omp_in_parallel()) ? omp_get_max_threads() : 1;
  thread_local std::vector<float> partial;  // grows only: no allocation per step
  partial.assign(static_cast<size_t>(w_size * threads), 0.0f);
  float* const sums = partial.data();  // the caller's buffer (each thread has its own `partial`)
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const int64_t t = omp_get_thread_num(), count = omp_get_num_threads();
    float* dw = sums + t * w_size;
    std::vector<float>& gy_pad = t_grad_rows;
    gy_pad.assign(static_cast<size_t>(g.o * g.oh * ow_pad), 0.0f);
    for (int64_t n = g.n * t / count; n < g.n * (t + 1) / count; ++n) {
      PaddedImage& p = t_padded;
      pad_image(g, x + n * g.c * g.h * g.w, p);
      for (int64_t row = 0; row < g.o * g.oh; ++row)
        std::copy_n(y_grad + n * g.o * g.oh * g.ow + row * g.ow, g.ow, gy_pad.data() + row * ow_pad);
      for_each_block(g.o, [&]<int B>(int64_t o0) { weight_grad_block<B>(g, p, gy_pad.data(), ow_pad, o0, dw); });
    }
  }
  std::copy_n(sums, w_size, w_grad);
  for (int t = 1; t < threads; ++t)
    for (int64_t i = 0; i < w_size; ++i) w_grad[i] += sums[t * w_size + i];
}

}  // namespace adx::cpu
