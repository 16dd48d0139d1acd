#include "io/transforms.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fmt/format.h>

#include "engine/autograd.h"
#include "engine/cpu/parallel.h"
#include "engine/ops.h"

namespace adx::io {
namespace {

void check_batch(const Tensor& x, const char* op) {
  if (!x.defined()) throw Error(fmt::format("{}: the input is an undefined tensor", op));
  if (x.dim() != 4)
    throw Error(
        fmt::format("{}: expected images (N, C, H, W), got shape {}", op, shape_str(x.shape())));
  if (!x.device().is_cpu()) throw Error(fmt::format("{}: the input must be on the CPU", op));
}

void check_channels(const Tensor& x, const char* op, int64_t c1, int64_t c2 = -1) {
  const int64_t c = x.size(1);
  if (c != c1 && c != c2)
    throw Error(fmt::format("{}: expected {} channels{}, got shape {}", op, c1,
                            c2 >= 0 ? fmt::format(" or {}", c2) : "", shape_str(x.shape())));
}

float clamp01(float v) { return std::min(1.0f, std::max(0.0f, v)); }

}  // namespace

Tensor resize(const Tensor& x, int64_t out_h, int64_t out_w) {
  check_batch(x, "resize");
  if (out_h < 1 || out_w < 1)
    throw Error(fmt::format("resize: output size {}×{} must be at least 1×1", out_h, out_w));
  NoGradGuard no_grad;
  return upsample(x.detach(), out_h, out_w, UpsampleMode::Bilinear, /*align_corners=*/false);
}

Tensor center_crop(const Tensor& x, int64_t h, int64_t w) {
  check_batch(x, "center_crop");
  const int64_t n = x.size(0), c = x.size(1), in_h = x.size(2), in_w = x.size(3);
  if (h < 1 || w < 1 || h > in_h || w > in_w)
    throw Error(fmt::format("center_crop: cannot crop {}×{} from {}×{} images", h, w, in_h, in_w));
  // std::nearbyint rounds halves to even in the default rounding mode, as Python's round.
  const auto top = static_cast<int64_t>(std::nearbyint(static_cast<double>(in_h - h) / 2.0));
  const auto left = static_cast<int64_t>(std::nearbyint(static_cast<double>(in_w - w) / 2.0));
  Tensor out = Tensor::empty({n, c, h, w});
  const float* src = x.data();
  float* dst = out.data();
  cpu::parallel_for(0, n * c, h * w, [&](int64_t plane) {
    for (int64_t r = 0; r < h; ++r)
      std::memcpy(dst + (plane * h + r) * w, src + (plane * in_h + top + r) * in_w + left,
                  static_cast<size_t>(w) * sizeof(float));
  });
  return out;
}

Tensor grey_to_rgb(const Tensor& x) {
  check_batch(x, "grey_to_rgb");
  check_channels(x, "grey_to_rgb", 1);
  const int64_t n = x.size(0), hw = x.size(2) * x.size(3);
  Tensor out = Tensor::empty({n, 3, x.size(2), x.size(3)});
  const float* src = x.data();
  float* dst = out.data();
  cpu::parallel_for(0, n, 3 * hw, [&](int64_t i) {
    for (int64_t c = 0; c < 3; ++c)
      std::memcpy(dst + (i * 3 + c) * hw, src + i * hw, static_cast<size_t>(hw) * sizeof(float));
  });
  return out;
}

Tensor rgb_to_grey(const Tensor& x) {
  check_batch(x, "rgb_to_grey");
  check_channels(x, "rgb_to_grey", 3);
  const int64_t n = x.size(0), hw = x.size(2) * x.size(3);
  Tensor out = Tensor::empty({n, 1, x.size(2), x.size(3)});
  const float* src = x.data();
  float* dst = out.data();
  cpu::parallel_for(0, n, 3 * hw, [&](int64_t i) {
    const float* r = src + i * 3 * hw;
    const float *g = r + hw, *b = r + 2 * hw;
    for (int64_t k = 0; k < hw; ++k)
      dst[i * hw + k] = 0.299f * r[k] + 0.587f * g[k] + 0.114f * b[k];
  });
  return out;
}

Tensor normalize(const Tensor& x, const std::vector<float>& mean, const std::vector<float>& std) {
  check_batch(x, "normalize");
  const int64_t n = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3);
  if (static_cast<int64_t>(mean.size()) != c || static_cast<int64_t>(std.size()) != c)
    throw Error(
        fmt::format("normalize: {} means and {} stds for {} channels", mean.size(), std.size(), c));
  for (float s : std)
    if (!(s > 0.0f)) throw Error(fmt::format("normalize: std {} is not positive", s));
  Tensor out = Tensor::empty(x.shape());
  const float* src = x.data();
  float* dst = out.data();
  cpu::parallel_for(0, n * c, hw, [&](int64_t plane) {
    const auto ch = static_cast<size_t>(plane % c);
    const float m = mean[ch], inv = 1.0f / std[ch];
    for (int64_t k = 0; k < hw; ++k) dst[plane * hw + k] = (src[plane * hw + k] - m) * inv;
  });
  return out;
}

Tensor mean_image(const Tensor& x) {
  check_batch(x, "mean_image");
  const int64_t n = x.size(0), chw = x.size(1) * x.size(2) * x.size(3);
  if (n < 1) throw Error("mean_image: the batch is empty");
  Tensor out = Tensor::empty({1, x.size(1), x.size(2), x.size(3)});
  const float* src = x.data();
  float* dst = out.data();
  cpu::parallel_for(0, chw, n, [&](int64_t k) {
    double s = 0;  // double: a mean over 50,000 images keeps its last digits
    for (int64_t i = 0; i < n; ++i) s += src[i * chw + k];
    dst[k] = static_cast<float>(s / static_cast<double>(n));
  });
  return out;
}

Tensor subtract_mean_image(const Tensor& x, const Tensor& mean) {
  check_batch(x, "subtract_mean_image");
  Shape want = {1, x.size(1), x.size(2), x.size(3)};
  if (!mean.defined() || !mean.device().is_cpu() ||
      (mean.shape() != want && mean.shape() != Shape(want.begin() + 1, want.end())))
    throw Error(fmt::format("subtract_mean_image: mean image {} does not fit images {}",
                            mean.defined() ? shape_str(mean.shape()) : "undefined",
                            shape_str(x.shape())));
  const int64_t n = x.size(0), chw = x.size(1) * x.size(2) * x.size(3);
  Tensor out = Tensor::empty(x.shape());
  const float* src = x.data();
  const float* m = mean.data();
  float* dst = out.data();
  cpu::parallel_for(0, n, chw, [&](int64_t i) {
    for (int64_t k = 0; k < chw; ++k) dst[i * chw + k] = src[i * chw + k] - m[k];
  });
  return out;
}

Tensor adjust_contrast(const Tensor& x, float factor) {
  check_batch(x, "adjust_contrast");
  check_channels(x, "adjust_contrast", 1, 3);
  const int64_t n = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3);
  Tensor out = Tensor::empty(x.shape());
  const float* src = x.data();
  float* dst = out.data();
  cpu::parallel_for(0, n, c * hw, [&](int64_t i) {
    const float* img = src + i * c * hw;
    double sum = 0;  // the mean grey level of this image
    for (int64_t k = 0; k < hw; ++k)
      sum += c == 1 ? img[k] : 0.299f * img[k] + 0.587f * img[hw + k] + 0.114f * img[2 * hw + k];
    const auto m = static_cast<float>(sum / static_cast<double>(std::max<int64_t>(hw, 1)));
    for (int64_t k = 0; k < c * hw; ++k) dst[i * c * hw + k] = clamp01(m + factor * (img[k] - m));
  });
  return out;
}

Tensor adjust_sharpness(const Tensor& x, float factor) {
  check_batch(x, "adjust_sharpness");
  const int64_t planes = x.size(0) * x.size(1), h = x.size(2), w = x.size(3);
  Tensor out = Tensor::empty(x.shape());
  const float* src = x.data();
  float* dst = out.data();
  cpu::parallel_for(0, planes, 12 * h * w, [&](int64_t p) {
    const float* in = src + p * h * w;
    float* o = dst + p * h * w;
    for (int64_t r = 0; r < h; ++r)
      for (int64_t col = 0; col < w; ++col) {
        const float v = in[r * w + col];
        float s = v;  // border pixels: the smoothed image keeps the original value
        if (r > 0 && r < h - 1 && col > 0 && col < w - 1) {
          float neighbours = 0;
          for (int64_t dr = -1; dr <= 1; ++dr)
            for (int64_t dc = -1; dc <= 1; ++dc) neighbours += in[(r + dr) * w + col + dc];
          s = (neighbours + 4.0f * v) / 13.0f;  // centre weight 5 = 1 in the sum + 4
        }
        o[r * w + col] = clamp01(s + factor * (v - s));
      }
  });
  return out;
}

}  // namespace adx::io
