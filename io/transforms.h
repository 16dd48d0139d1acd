// Image transforms on batches (N, C, H, W) of float images, usually in [0, 1]. Each
// returns a new tensor without autograd history; the input must be a 4-D CPU tensor,
// else an adx::Error names the transform and what it expected.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/tensor.h"

namespace adx::io {

// Bilinear resize to (out_h, out_w), equal to PyTorch's
// F.interpolate(x, size=(out_h, out_w), mode='bilinear', align_corners=False): the
// output pixel centre (o + 0.5)·in/out − 0.5, clamped at 0, is interpolated from its
// two nearest rows and columns. No antialiasing when shrinking.
Tensor resize(const Tensor& x, int64_t out_h, int64_t out_w);

// The central (h, w) window, placed as torchvision's CenterCrop places it: top =
// round((H − h) / 2), left = round((W − w) / 2), with Python's round (halves to even).
// A crop larger than the image is an error (torchvision would pad with zeros).
Tensor center_crop(const Tensor& x, int64_t h, int64_t w);

// Grey (C = 1) to RGB (C = 3) by repeating the channel, as PIL's convert('RGB').
Tensor grey_to_rgb(const Tensor& x);

// RGB (C = 3) to grey (C = 1) by ITU-R 601-2 luma, as PIL's convert('L'):
// L = 0.299 R + 0.587 G + 0.114 B (PIL also rounds L to 8 bits; this does not).
Tensor rgb_to_grey(const Tensor& x);

// (x − mean[c]) / std[c] per channel, as torchvision's Normalize; mean and std hold
// one value per channel, every std > 0.
Tensor normalize(const Tensor& x, const std::vector<float>& mean, const std::vector<float>& std);

// The mean image of a batch, (1, C, H, W): the average over N of each pixel.
Tensor mean_image(const Tensor& x);

// x minus a mean image (1, C, H, W) or (C, H, W) of the same C, H, W, for every image
// in the batch (MatConvNet's normalisation of ImageNet networks' input).
Tensor subtract_mean_image(const Tensor& x, const Tensor& mean);

// Contrast enhancement as PIL's ImageEnhance.Contrast(image).enhance(factor): each
// image is blended with a uniform "degenerate" image at its mean grey level m (the mean
// over the image of the luma 0.299 R + 0.587 G + 0.114 B for RGB, of the pixel values
// for grey): out = clamp(m + factor · (x − m), 0, 1). factor 0 gives the uniform grey
// image, 1 the original, > 1 more contrast. C must be 1 or 3. PIL works on 8-bit
// images, so it rounds m to a whole grey level and truncates the result to 8 bits;
// this works in float without either.
Tensor adjust_contrast(const Tensor& x, float factor);

// Sharpness enhancement as PIL's ImageEnhance.Sharpness(image).enhance(factor): each
// channel is blended with its smoothed version s, PIL's ImageFilter.SMOOTH, the 3×3
// kernel [[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13 applied to interior pixels while the
// one-pixel border keeps its values: out = clamp(s + factor · (x − s), 0, 1). factor 0
// gives the smoothed image, 1 the original, 2 a sharpened one. PIL rounds s and the
// result to 8 bits; this works in float.
Tensor adjust_sharpness(const Tensor& x, float factor);

}  // namespace adx::io
