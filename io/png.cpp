#include "io/png.h"

#include <algorithm>
#include <climits>
#include <fmt/format.h>
#include <vector>

#include "io/atomic_file.h"
#include "io/error.h"

#define STB_IMAGE_WRITE_STATIC  // private to this file: no clash with another copy of stb
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

namespace adx::io {
namespace {

void check_image(const std::string& path, int width, int height, int channels) {
  if (channels != 1 && channels != 3 && channels != 4)
    throw IoError(fmt::format("{}: a PNG needs 1, 3 or 4 channels, not {}", path, channels));
  if (width <= 0 || height <= 0)
    throw IoError(fmt::format("{}: cannot write a {}×{} image (zero size)", path, width, height));
  // stb_image_write counts bytes in int.
  if (int64_t{width} * height * channels >= INT_MAX / 2)
    throw IoError(fmt::format("{}: a {}×{}×{} image is too large to write", path, width, height, channels));
}

std::vector<uint8_t> encode_png(const std::string& path, const uint8_t* pixels, int width, int height,
                                int channels) {
  std::vector<uint8_t> png;
  auto append = [](void* context, void* data, int size) {
    auto& out = *static_cast<std::vector<uint8_t>*>(context);
    const auto* bytes = static_cast<const uint8_t*>(data);
    out.insert(out.end(), bytes, bytes + size);
  };
  if (!stbi_write_png_to_func(append, &png, width, height, channels, pixels, width * channels))
    throw IoError(path + ": PNG encoding failed (out of memory?)");
  return png;
}

// [lo, hi] → 0..255, rounded and clamped; NaN (which fails every comparison) → 0.
uint8_t to_byte(float v, float lo, float gain) {
  const float t = (v - lo) * gain;
  if (!(t > 0.0f)) return 0;
  if (t >= 255.0f) return 255;
  return static_cast<uint8_t>(t + 0.5f);
}

void check_grid(const std::string& path, const Tensor& images, int64_t columns, float lo, float hi, int scale) {
  if (images.dim() != 4 || (images.size(1) != 1 && images.size(1) != 3))
    throw IoError(fmt::format("{}: an image grid needs (N, 1 or 3, H, W) images, not {}", path,
                              shape_str(images.shape())));
  if (!images.device().is_cpu())
    throw IoError(fmt::format("{}: an image grid needs CPU images, not {}", path, images.device().str()));
  if (images.numel() == 0) throw IoError(fmt::format("{}: no images to write ({})", path, shape_str(images.shape())));
  if (!(hi > lo)) throw IoError(fmt::format("{}: the value range [{}, {}] is empty", path, lo, hi));
  if (columns < 1 || scale < 1 || scale > 4096)
    throw IoError(fmt::format("{}: columns ({}) must be at least 1 and scale ({}) in 1..4096", path, columns,
                              scale));
}

// Where the tiles go (see png.h): each tile is followed by its 1-pixel border.
struct Grid {
  int64_t n, c, h, w, columns, scale;
  int64_t tile_w() const { return w * scale + 1; }
  int64_t tile_h() const { return h * scale + 1; }
  int64_t width() const { return std::min(columns, n) * tile_w() - 1; }
  int64_t height() const { return (n + columns - 1) / columns * tile_h() - 1; }
};

}  // namespace

void write_png(const std::string& path, const uint8_t* pixels, int width, int height, int channels) {
  check_image(path, width, height, channels);
  write_file_atomically(path, encode_png(path, pixels, width, height, channels));
}

void write_image_grid_png(const std::string& path, const Tensor& images, int64_t columns, float lo, float hi,
                          int scale) {
  check_grid(path, images, columns, lo, hi, scale);
  const Grid g{images.size(0), images.size(1), images.size(2), images.size(3), columns, scale};
  const int64_t width = g.width(), height = g.height();
  // Checked here, in 64 bits, before write_png's int arguments could wrap.
  if (width > 1'000'000 || height > 1'000'000 || width * height * g.c >= INT_MAX / 2)
    throw IoError(fmt::format("{}: a {}×{} grid is too large to write", path, width, height));
  std::vector<uint8_t> pixels(static_cast<size_t>(width * height * g.c), 255);  // white borders
  const float gain = 255.0f / (hi - lo);
  const float* src = images.data();
  for (int64_t i = 0; i < g.n; ++i) {
    const int64_t x0 = (i % columns) * g.tile_w(), y0 = (i / columns) * g.tile_h();
    for (int64_t y = 0; y < g.h * scale; ++y)
      for (int64_t x = 0; x < g.w * scale; ++x)
        for (int64_t k = 0; k < g.c; ++k) {
          const float v = src[((i * g.c + k) * g.h + y / scale) * g.w + x / scale];
          pixels[static_cast<size_t>(((y0 + y) * width + x0 + x) * g.c + k)] = to_byte(v, lo, gain);
        }
  }
  write_png(path, pixels.data(), static_cast<int>(width), static_cast<int>(height), static_cast<int>(g.c));
}

}  // namespace adx::io
