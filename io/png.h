// PNG output for the experiment harness: raw 8-bit pixels, and grids of float images
// (inputs, reconstructions, anomaly maps) for looking at what a detector sees.
#pragma once

#include <cstdint>
#include <string>

#include "engine/tensor.h"

namespace adx::io {

// Writes a width × height PNG of `channels` interleaved 8-bit samples per pixel
// (1 = grey, 3 = RGB, 4 = RGBA), row-major, top row first. Atomic: the PNG is encoded
// in memory, written to a temporary file in the same folder, fsync'ed and renamed over
// `path`, so a failure never leaves a partial file (and an existing file untouched).
// Throws an IoError naming `path` for a bad channel count, a zero or negative size, or
// a file that cannot be written.
void write_png(const std::string& path, const uint8_t* pixels, int width, int height, int channels);

// Writes the images of `images` (N, C, H, W), a float CPU tensor with C = 1 (grey) or
// 3 (RGB), as one PNG grid: image i goes to row i / columns, column i % columns.
// Values map linearly from [lo, hi] to 0..255, clamped (NaN is 0); every pixel becomes
// a scale × scale block. Tiles are separated by a 1-pixel white border (not scaled, no
// outer border); cells past the last image are white. So tile (r, c) has its top-left
// corner at (x, y) = (c · (W·scale + 1), r · (H·scale + 1)), and the PNG is
//   min(columns, N) · (W·scale + 1) − 1  wide,  ceil(N / columns) · (H·scale + 1) − 1  high.
// Throws an IoError naming `path` for a bad shape, device, range (hi <= lo), columns
// < 1, scale outside 1..4096, or a file that cannot be written.
void write_image_grid_png(const std::string& path, const Tensor& images, int64_t columns, float lo,
                          float hi, int scale = 1);

}  // namespace adx::io
