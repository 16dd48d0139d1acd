// Image transforms against values worked out by hand and values PIL 9.4 produced
// (ImageEnhance, convert('L')) for a fixed 4×5 RGB image; PyTorch's bilinear
// interpolation for resize.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/autograd.h"
#include "io/transforms.h"

using namespace adx;

namespace {

void expect_values(const Tensor& t, const Shape& shape, const std::vector<float>& want,
                   float tol = 1e-6f) {
  ASSERT_EQ(t.shape(), shape);
  const std::vector<float> got = t.to_vector();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "element " << i;
}

Tensor arange_images(const Shape& shape) {
  return Tensor::arange(0, static_cast<float>(shape_numel(shape))).reshape(shape);
}

// A 4×5 RGB image (H, W, C bytes) and what PIL 9.4 made of it.
// clang-format off
const std::vector<int> kPixels = {
    106, 152, 249, 131, 184, 200, 0,   21,  253, 147, 202, 107, 249, 169, 138,
    149, 119, 166, 224, 148, 172, 93,  167, 142, 248, 26,  81,  218, 150, 66,
    2,   191, 60,  129, 179, 90,  69,  104, 110, 97,  157, 106, 152, 251, 62,
    7,   248, 171, 33,  123, 79,  176, 37,  20,  94,  49,  149, 127, 206, 244};
const std::vector<int> kPilGrey = {149, 170, 41, 175, 189, 133, 173, 142, 99, 161,
                                   120, 154, 94, 133, 200, 167, 91,  77, 74, 187};
const std::vector<int> kPilContrast15 = {
    91,  160, 255, 128, 208, 232, 0,   0,   255, 152, 235, 92,  255, 185, 139,
    155, 110, 181, 255, 154, 190, 71,  182, 145, 255, 0,   53,  255, 157, 31,
    0,   218, 22,  125, 200, 67,  35,  88,  97,  77,  167, 91,  160, 255, 25,
    0,   255, 188, 0,   116, 50,  196, 0,   0,   73,  5,   155, 122, 241, 255};
const std::vector<int> kPilContrast03 = {
    127, 140, 169, 134, 150, 155, 95,  101, 171, 139, 155, 127, 169, 145, 136,
    139, 130, 145, 162, 139, 146, 123, 145, 137, 169, 103, 119, 160, 140, 115,
    95,  152, 113, 133, 148, 122, 115, 126, 128, 124, 142, 127, 140, 170, 113,
    97,  169, 146, 105, 132, 118, 148, 106, 101, 123, 109, 139, 133, 157, 168};
const std::vector<int> kPilSharpness2 = {
    106, 152, 249, 131, 184, 200, 0,   21,  253, 147, 202, 107, 249, 169, 138,
    149, 119, 166, 255, 153, 180, 70,  191, 143, 255, 0,   55,  218, 150, 66,
    2,   191, 60,  150, 202, 75,  27,  100, 113, 66,  177, 104, 152, 251, 62,
    7,   248, 171, 33,  123, 79,  176, 37,  20,  94,  49,  149, 127, 206, 244};
const std::vector<int> kPilSharpness0 = {
    106, 152, 249, 131, 184, 200, 0,   21,  253, 147, 202, 107, 249, 169, 138,
    149, 119, 166, 138, 143, 164, 116, 143, 141, 174, 104, 107, 218, 150, 66,
    2,   191, 60,  108, 156, 105, 111, 108, 107, 128, 137, 108, 152, 251, 62,
    7,   248, 171, 33,  123, 79,  176, 37,  20,  94,  49,  149, 127, 206, 244};
// clang-format on

// (H, W, C) bytes -> (1, C, H, W) in [0, 1].
Tensor from_hwc(const std::vector<int>& bytes, int64_t h, int64_t w, int64_t c) {
  std::vector<float> v(bytes.size());
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t k = 0; k < c; ++k)
        v[static_cast<size_t>((k * h + y) * w + x)] =
            static_cast<float>(bytes[static_cast<size_t>((y * w + x) * c + k)]) / 255.0f;
  return Tensor::from_data({1, c, h, w}, v);
}

// PIL's 8-bit results differ from the float definitions by PIL's rounding of the
// grey level / smoothed image and its truncation of the blend: at most 1.5 levels.
void expect_like_pil(const Tensor& ours, const std::vector<int>& pil_hwc) {
  const Tensor want = from_hwc(pil_hwc, 4, 5, 3);
  const std::vector<float> a = ours.to_vector(), b = want.to_vector();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_NEAR(a[i] * 255.0f, b[i] * 255.0f, 1.5f) << "element " << i;
}

}  // namespace

TEST(Resize, UpsamplesAsTorchBilinear) {
  // F.interpolate(torch.arange(4.).view(1, 1, 2, 2), size=(4, 4), mode='bilinear',
  // align_corners=False)
  expect_values(io::resize(arange_images({1, 1, 2, 2}), 4, 4), {1, 1, 4, 4},
                {0.0f, 0.25f, 0.75f, 1.0f, 0.5f, 0.75f, 1.25f, 1.5f, 1.5f, 1.75f, 2.25f, 2.5f, 2.0f,
                 2.25f, 2.75f, 3.0f});
}

TEST(Resize, DownsamplesWithoutAntialias) {
  // Sample points at 0.5 and 2.5 in each axis of arange(16).view(4, 4).
  expect_values(io::resize(arange_images({1, 1, 4, 4}), 2, 2), {1, 1, 2, 2},
                {2.5f, 4.5f, 10.5f, 12.5f});
}

TEST(Resize, NonSquareAndBatched) {
  // 1 row -> 1 row: every output row is the input row; 2 columns -> 3: sample points
  // (o + 0.5)·2/3 − 0.5 = −1/6 (clamped to 0), 0.5, 7/6 (clamped to the last column).
  Tensor x = Tensor::from_data({2, 1, 1, 2}, {0.0f, 3.0f, 10.0f, 20.0f});
  expect_values(io::resize(x, 1, 3), {2, 1, 1, 3}, {0.0f, 1.5f, 3.0f, 10.0f, 15.0f, 20.0f});
}

TEST(Resize, RecordsNoHistoryAndRejectsBadSizes) {
  Tensor x = Tensor::ones({1, 1, 2, 2});
  x.requires_grad_();
  EXPECT_FALSE(io::resize(x, 3, 3).requires_grad());
  EXPECT_THROW(io::resize(x, 0, 3), Error);
  EXPECT_THROW(io::resize(Tensor::ones({2, 2}), 3, 3), Error);
}

TEST(CenterCrop, PlacesTheWindowAsTorchvision) {
  Tensor x = arange_images({1, 1, 5, 5});
  // top = left = round(1.5) = 2
  expect_values(io::center_crop(x, 2, 2), {1, 1, 2, 2}, {12, 13, 17, 18});
  // top = round(1) = 1, left = round(1.5) = 2
  expect_values(io::center_crop(x, 3, 2), {1, 1, 3, 2}, {7, 8, 12, 13, 17, 18});
  // 7 -> 2: round(2.5) = 2 (Python rounds halves to even), not 3
  expect_values(io::center_crop(arange_images({1, 1, 7, 7}), 2, 2), {1, 1, 2, 2}, {16, 17, 23, 24});
  expect_values(io::center_crop(x, 5, 5), {1, 1, 5, 5}, x.to_vector());
}

TEST(CenterCrop, CropsEveryChannelAndImage) {
  Tensor x = arange_images({2, 2, 3, 3});
  // The centre pixel of each 3×3 plane: 4, 13, 22, 31.
  expect_values(io::center_crop(x, 1, 1), {2, 2, 1, 1}, {4, 13, 22, 31});
  EXPECT_THROW(io::center_crop(x, 4, 3), Error);
}

TEST(GreyRgb, RepeatsGreyIntoThreeChannels) {
  Tensor g = Tensor::from_data({2, 1, 1, 2}, {0.1f, 0.2f, 0.3f, 0.4f});
  expect_values(io::grey_to_rgb(g), {2, 3, 1, 2},
                {0.1f, 0.2f, 0.1f, 0.2f, 0.1f, 0.2f, 0.3f, 0.4f, 0.3f, 0.4f, 0.3f, 0.4f});
  EXPECT_THROW(io::grey_to_rgb(Tensor::zeros({1, 3, 2, 2})), Error);
}

TEST(GreyRgb, LumaIsItu601) {
  // Pure red, green, blue, white and (0.2, 0.4, 0.6).
  Tensor rgb = Tensor::from_data({1, 3, 1, 5}, {1, 0, 0, 1, 0.2f,  //
                                                0, 1, 0, 1, 0.4f,  //
                                                0, 0, 1, 1, 0.6f});
  expect_values(io::rgb_to_grey(rgb), {1, 1, 1, 5}, {0.299f, 0.587f, 0.114f, 1.0f, 0.363f});
  EXPECT_THROW(io::rgb_to_grey(Tensor::zeros({1, 1, 2, 2})), Error);
}

TEST(GreyRgb, LumaMatchesPilConvertL) {
  // PIL rounds L to 8 bits: within half a grey level.
  const Tensor grey = io::rgb_to_grey(from_hwc(kPixels, 4, 5, 3));
  const std::vector<float> got = grey.to_vector();
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i] * 255.0f, kPilGrey[i], 0.5f) << i;
}

TEST(Normalize, SubtractsMeanAndDividesByStdPerChannel) {
  Tensor x = Tensor::from_data({2, 2, 1, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  expect_values(io::normalize(x, {1.0f, 2.0f}, {2.0f, 0.5f}), {2, 2, 1, 2},
                {0.0f, 0.5f, 2.0f, 4.0f, 2.0f, 2.5f, 10.0f, 12.0f});
  EXPECT_THROW(io::normalize(x, {1.0f}, {1.0f}), Error);
  EXPECT_THROW(io::normalize(x, {0.0f, 0.0f}, {1.0f, 0.0f}), Error);
}

TEST(MeanImage, AveragesOverTheBatchAndSubtracts) {
  Tensor x = Tensor::from_data({3, 1, 1, 2}, {1, 10, 2, 20, 6, 60});
  const Tensor m = io::mean_image(x);
  expect_values(m, {1, 1, 1, 2}, {3.0f, 30.0f});
  expect_values(io::subtract_mean_image(x, m), {3, 1, 1, 2}, {-2, -20, -1, -10, 3, 30});
  expect_values(io::subtract_mean_image(x, m.reshape({1, 1, 2})), {3, 1, 1, 2},
                {-2, -20, -1, -10, 3, 30});
  EXPECT_THROW(io::subtract_mean_image(x, Tensor::zeros({1, 1, 2, 1})), Error);
}

TEST(Contrast, BlendsWithTheMeanGreyLevel) {
  // Grey image with mean 0.4.
  Tensor x = Tensor::from_data({1, 1, 2, 2}, {0.0f, 0.2f, 0.4f, 1.0f});
  expect_values(io::adjust_contrast(x, 0.5f), {1, 1, 2, 2}, {0.2f, 0.3f, 0.4f, 0.7f});
  expect_values(io::adjust_contrast(x, 2.0f), {1, 1, 2, 2}, {0.0f, 0.0f, 0.4f, 1.0f});  // clamped
  expect_values(io::adjust_contrast(x, 0.0f), {1, 1, 2, 2}, {0.4f, 0.4f, 0.4f, 0.4f});
  expect_values(io::adjust_contrast(x, 1.0f), {1, 1, 2, 2}, x.to_vector());
  // Each image has its own mean: a second, constant image is left as it is.
  Tensor two = Tensor::from_data({2, 1, 1, 2}, {0.0f, 1.0f, 0.3f, 0.3f});
  expect_values(io::adjust_contrast(two, 0.5f), {2, 1, 1, 2}, {0.25f, 0.75f, 0.3f, 0.3f});
}

TEST(Contrast, RgbUsesTheLumaMeanForEveryChannel) {
  // One pixel red (luma 0.299), one black: mean grey 0.1495, the same for R, G and B.
  Tensor x = Tensor::from_data({1, 3, 1, 2}, {1, 0, 0, 0, 0, 0});
  const float m = 0.1495f;
  expect_values(io::adjust_contrast(x, 0.0f), {1, 3, 1, 2}, {m, m, m, m, m, m});
  expect_values(io::adjust_contrast(x, 0.5f), {1, 3, 1, 2},
                {0.5f * m + 0.5f, 0.5f * m, 0.5f * m, 0.5f * m, 0.5f * m, 0.5f * m});
  EXPECT_THROW(io::adjust_contrast(Tensor::zeros({1, 2, 2, 2}), 1.0f), Error);
}

TEST(Contrast, MatchesPilImageEnhance) {
  const Tensor x = from_hwc(kPixels, 4, 5, 3);
  expect_like_pil(io::adjust_contrast(x, 1.5f), kPilContrast15);
  expect_like_pil(io::adjust_contrast(x, 0.3f), kPilContrast03);
}

TEST(Sharpness, BlendsWithTheSmoothKernelAndKeepsTheBorder) {
  // A single bright centre pixel: SMOOTH gives it 5·0.65/13 = 0.25; the border is 0
  // in both the image and its smoothed version.
  Tensor x = Tensor::from_data({1, 1, 3, 3}, {0, 0, 0, 0, 0.65f, 0, 0, 0, 0});
  expect_values(io::adjust_sharpness(x, 0.0f), {1, 1, 3, 3}, {0, 0, 0, 0, 0.25f, 0, 0, 0, 0});
  expect_values(io::adjust_sharpness(x, 1.5f), {1, 1, 3, 3}, {0, 0, 0, 0, 0.85f, 0, 0, 0, 0});
  expect_values(io::adjust_sharpness(x, 2.0f), {1, 1, 3, 3},
                {0, 0, 0, 0, 1.0f, 0, 0, 0, 0});  // clamped
  // A 3×4 ramp: the two interior pixels are smoothed, the ten border ones are kept.
  Tensor r = Tensor::from_data(
      {1, 1, 3, 4}, {0.0f, 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f, 1.0f, 1.0f});
  // (1,1): (0+.1+.2+.4+.6+.8+.9+1 + 5·.5)/13 = 6.5/13; (1,2): (.1+.2+.3+.5+.7+.9+1+1 + 5·.6)/13
  // = 7.7/13
  const float s1 = 6.5f / 13.0f, s2 = 7.7f / 13.0f;
  expect_values(io::adjust_sharpness(r, 0.0f), {1, 1, 3, 4},
                {0.0f, 0.1f, 0.2f, 0.3f, 0.4f, s1, s2, 0.7f, 0.8f, 0.9f, 1.0f, 1.0f});
  expect_values(io::adjust_sharpness(r, 3.0f), {1, 1, 3, 4},
                {0.0f, 0.1f, 0.2f, 0.3f, 0.4f, s1 + 3 * (0.5f - s1), s2 + 3 * (0.6f - s2), 0.7f,
                 0.8f, 0.9f, 1.0f, 1.0f});
  // Images of fewer than 3 rows or columns are all border.
  Tensor small = Tensor::from_data({1, 1, 2, 2}, {0.1f, 0.9f, 0.5f, 0.3f});
  expect_values(io::adjust_sharpness(small, 0.0f), {1, 1, 2, 2}, small.to_vector());
}

TEST(Sharpness, MatchesPilImageEnhance) {
  const Tensor x = from_hwc(kPixels, 4, 5, 3);
  expect_like_pil(io::adjust_sharpness(x, 2.0f), kPilSharpness2);
  expect_like_pil(io::adjust_sharpness(x, 0.0f), kPilSharpness0);
}

TEST(Transforms, RejectNonImageInput) {
  EXPECT_THROW(io::adjust_sharpness(Tensor::zeros({3, 3}), 1.0f), Error);
  EXPECT_THROW(io::mean_image(Tensor::zeros({2, 3, 3})), Error);
  EXPECT_THROW(io::center_crop(Tensor(), 1, 1), Error);
}
