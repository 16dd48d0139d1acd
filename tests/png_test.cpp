// PNG output (io/png.h) and the ROC plot (detectors/roc_plot.h): files written here
// are read back with stb_image.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <memory>
#include <random>

#include "data_util.h"
#include "detectors/metrics.h"
#include "detectors/roc_plot.h"
#include "io/error.h"
#include "io/png.h"

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>

using namespace adx;
namespace fs = std::filesystem;

using adx::testing::io_error;

namespace {

std::string scratch(const std::string& name) { return (adx::testing::scratch_dir() / name).string(); }

// A PNG read back with its own channel count.
struct Image {
  int width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;

  uint8_t at(int x, int y, int k = 0) const {
    return pixels[(static_cast<size_t>(y) * width + x) * channels + k];
  }
};

Image read_png(const std::string& path) {
  Image image;
  std::unique_ptr<uint8_t, void (*)(void*)> p(
      stbi_load(path.c_str(), &image.width, &image.height, &image.channels, 0), stbi_image_free);
  if (!p) {
    ADD_FAILURE() << path << ": " << stbi_failure_reason();
    return image;
  }
  image.pixels.assign(p.get(), p.get() + static_cast<size_t>(image.width) * image.height * image.channels);
  return image;
}

// Files in `dir` whose names start with the temporary prefix: none may be left behind.
int temporaries_in(const std::string& dir) {
  int n = 0;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().filename().string().starts_with(".adx-tmp-")) ++n;
  return n;
}

}  // namespace

TEST(Png, WritesPixelsThatReadBackExactly) {
  for (int channels : {1, 3, 4}) {
    const int w = 7, h = 5;
    std::vector<uint8_t> pixels;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int k = 0; k < channels; ++k) pixels.push_back(static_cast<uint8_t>(30 * y + 7 * x + k));
    const std::string path = scratch("pixels" + std::to_string(channels) + ".png");
    io::write_png(path, pixels.data(), w, h, channels);
    const Image image = read_png(path);
    EXPECT_EQ(image.width, w);
    EXPECT_EQ(image.height, h);
    ASSERT_EQ(image.channels, channels);
    EXPECT_EQ(image.pixels, pixels);
    EXPECT_EQ(image.at(6, 4, channels - 1), 30 * 4 + 7 * 6 + channels - 1);
  }
  EXPECT_EQ(temporaries_in(adx::testing::scratch_dir().string()), 0);
}

TEST(Png, ReplacesAnExistingFile) {
  const std::string path = scratch("replace.png");
  const uint8_t black = 0, white = 255;
  io::write_png(path, &black, 1, 1, 1);
  io::write_png(path, &white, 1, 1, 1);
  EXPECT_EQ(read_png(path).at(0, 0), 255);
}

TEST(Png, RefusesBadArgumentsNamingTheFile) {
  const std::string path = scratch("bad.png");
  const std::vector<uint8_t> pixels(64, 0);
  std::string why = io_error([&] { io::write_png(path, pixels.data(), 4, 4, 2); });
  EXPECT_NE(why.find(path), std::string::npos) << why;
  EXPECT_NE(why.find("1, 3 or 4 channels, not 2"), std::string::npos) << why;
  why = io_error([&] { io::write_png(path, pixels.data(), 0, 4, 1); });
  EXPECT_NE(why.find(path), std::string::npos) << why;
  EXPECT_NE(why.find("zero size"), std::string::npos) << why;
  EXPECT_FALSE(fs::exists(path));
}

TEST(Png, AFolderThatDoesNotExistIsAnIoErrorNamingThePath) {
  const std::string path = scratch("no/such/folder/out.png");
  const uint8_t pixel = 0;
  const std::string why = io_error([&] { io::write_png(path, &pixel, 1, 1, 1); });
  EXPECT_NE(why.find(path), std::string::npos) << why;
  EXPECT_NE(why.find("cannot write"), std::string::npos) << why;
}

TEST(PngGrid, PlacesScaledTilesBetweenOnePixelBorders) {
  // Three 2×3 grey images, each filled with its own value, in 2 columns at scale 2.
  std::vector<float> values;
  for (float v : {0.0f, 0.5f, 1.0f})
    for (int i = 0; i < 6; ++i) values.push_back(v);
  values[1] = 0.25f;  // image 0, row 0, column 1
  const std::string path = scratch("grid.png");
  io::write_image_grid_png(path, Tensor::from_data({3, 1, 2, 3}, values), 2, 0.0f, 1.0f, 2);
  const Image image = read_png(path);
  // 2 columns of 3·2 pixels and a border; 2 rows of 2·2 pixels and a border.
  EXPECT_EQ(image.width, 2 * 6 + 1);
  EXPECT_EQ(image.height, 2 * 4 + 1);
  ASSERT_EQ(image.channels, 1);
  EXPECT_EQ(image.at(0, 0), 0);
  EXPECT_EQ(image.at(2, 0), 64);   // the 0.25 pixel, enlarged to x 2..3, y 0..1
  EXPECT_EQ(image.at(3, 1), 64);
  EXPECT_EQ(image.at(4, 0), 0);
  EXPECT_EQ(image.at(6, 0), 255);  // the vertical border
  EXPECT_EQ(image.at(7, 0), 128);  // image 1 starts after it
  EXPECT_EQ(image.at(12, 3), 128);
  EXPECT_EQ(image.at(0, 4), 255);  // the horizontal border
  EXPECT_EQ(image.at(0, 5), 255);  // image 2, second row
  EXPECT_EQ(image.at(5, 8), 255);
  EXPECT_EQ(image.at(7, 5), 255);  // the empty cell after it is white
}

TEST(PngGrid, MapsTheRangeAndClampsRgb) {
  // One 1×4 RGB image over [-1, 1]: channel k of pixel x is -2, -1, 0, 1, 3 shifted.
  std::vector<float> values;
  for (int k = 0; k < 3; ++k)
    for (float v : {-2.0f, -1.0f, 0.0f, 3.0f}) values.push_back(k == 2 ? NAN : v + k * 0.5f);
  const std::string path = scratch("rgb.png");
  io::write_image_grid_png(path, Tensor::from_data({1, 3, 1, 4}, values), 8, -1.0f, 1.0f);
  const Image image = read_png(path);
  EXPECT_EQ(image.width, 4);  // one image: min(columns, N) = 1 column, no border
  EXPECT_EQ(image.height, 1);
  ASSERT_EQ(image.channels, 3);
  EXPECT_EQ(image.at(0, 0, 0), 0);    // -2 clamps to 0
  EXPECT_EQ(image.at(1, 0, 0), 0);    // lo
  EXPECT_EQ(image.at(2, 0, 0), 128);  // the middle, rounded
  EXPECT_EQ(image.at(3, 0, 0), 255);  // 3 clamps to 255
  EXPECT_EQ(image.at(1, 0, 1), 64);   // -0.5
  EXPECT_EQ(image.at(2, 0, 1), 191);  // 0.5
  EXPECT_EQ(image.at(2, 0, 2), 0);    // NaN
}

TEST(PngGrid, RefusesBadInputNamingTheFile) {
  const std::string path = scratch("bad_grid.png");
  auto expect = [&](const Tensor& images, int64_t columns, float lo, float hi, int scale, const char* what) {
    const std::string why = io_error([&] { io::write_image_grid_png(path, images, columns, lo, hi, scale); });
    EXPECT_NE(why.find(path), std::string::npos) << why;
    EXPECT_NE(why.find(what), std::string::npos) << why;
  };
  expect(Tensor::zeros({2, 2, 4, 4}), 1, 0, 1, 1, "(N, 1 or 3, H, W)");
  expect(Tensor::zeros({4, 4}), 1, 0, 1, 1, "(N, 1 or 3, H, W)");
  expect(Tensor::zeros({0, 1, 4, 4}), 1, 0, 1, 1, "no images");
  expect(Tensor::zeros({1, 1, 4, 4}), 1, 1, 1, 1, "is empty");
  expect(Tensor::zeros({1, 1, 4, 4}), 0, 0, 1, 1, "columns (0)");
  expect(Tensor::zeros({1, 1, 4, 4}), 1, 0, 1, 0, "scale (0)");
  EXPECT_FALSE(fs::exists(path));
}

namespace {

using G = detectors::RocPlotGeometry;

bool is_white(const Image& image, int x, int y) {
  return image.at(x, y, 0) == 255 && image.at(x, y, 1) == 255 && image.at(x, y, 2) == 255;
}

detectors::RocSeries series(const std::string& label, std::span<const float> scores, std::span<const int> labels) {
  const detectors::RocCurve roc = detectors::roc_curve(scores, labels);
  return {label, roc.fpr, roc.tpr, detectors::auroc(scores, labels)};
}

}  // namespace

TEST(RocPlot, DrawsAPerfectAndARandomCurve) {
  // Perfect: every anomaly scores above every normal point. Random: 60,000 points whose
  // scores ignore the label (a curve of ~60,000 steps along the diagonal).
  const std::vector<float> perfect_scores{0.1f, 0.2f, 0.3f, 0.7f, 0.8f, 0.9f};
  const std::vector<int> perfect_labels{0, 0, 0, 1, 1, 1};
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  std::vector<float> random_scores(60000);
  std::vector<int> random_labels(60000);
  for (size_t i = 0; i < random_scores.size(); ++i) {
    random_scores[i] = uniform(rng);
    random_labels[i] = static_cast<int>(i % 2);
  }
  const std::vector<detectors::RocSeries> curves{series("perfect", perfect_scores, perfect_labels),
                                                 series("random", random_scores, random_labels)};
  EXPECT_EQ(curves[0].auroc, 1.0);
  EXPECT_GT(curves[1].fpr.size(), 50000u);

  const std::string path = scratch("roc.png");
  detectors::write_roc_png(path, curves, "ROC — ünïcode shows as '?'");
  const Image image = read_png(path);
  ASSERT_EQ(image.width, G::width);
  ASSERT_EQ(image.height, G::height);
  ASSERT_EQ(image.channels, 3);
  EXPECT_TRUE(is_white(image, 2, G::height - 2));  // a corner of the background

  // The perfect curve runs up the left edge and along the top edge in the first colour
  // (tab10 blue), drawn over the axes box.
  const int top_x = G::left + G::side / 4;
  EXPECT_EQ(image.at(top_x, G::top, 0), 31);
  EXPECT_EQ(image.at(top_x, G::top, 1), 119);
  EXPECT_EQ(image.at(top_x, G::top, 2), 180);
  EXPECT_EQ(image.at(G::left, G::top + G::side / 2, 2), 180);

  // The random curve stays within a few pixels of the diagonal, in the second colour
  // (orange: red well above blue) somewhere near its middle.
  const int mid = G::side / 2;
  bool orange_near_middle = false;
  for (int d = -6; d <= 6; ++d) {
    const int x = G::left + mid + d, y = G::top + G::side - mid;
    orange_near_middle |= image.at(x, y, 0) > 200 && image.at(x, y, 2) < 120;
  }
  EXPECT_TRUE(orange_near_middle);

  // Text is black: the title's row and the x-axis label's row hold dark pixels.
  auto dark_in_rows = [&](int y0, int y1) {
    int n = 0;
    for (int y = y0; y < y1; ++y)
      for (int x = 0; x < G::width; ++x) n += image.at(x, y, 0) < 60 && image.at(x, y, 2) < 60;
    return n;
  };
  EXPECT_GT(dark_in_rows(0, G::top - 2), 50);
  EXPECT_GT(dark_in_rows(G::top + G::side + 28, G::height), 50);
}

TEST(RocPlot, DrawsTheChanceDiagonalDashedGrey) {
  const std::string path = scratch("roc_chance.png");
  detectors::write_roc_png(path, {{"perfect", {0, 0, 1}, {0, 1, 1}, 1.0}}, "chance");
  const Image image = read_png(path);
  ASSERT_EQ(image.channels, 3);
  // Along the diagonal, clear of the blue curve's fringe at its ends: dashes (grey,
  // darker than the grid lines) and gaps (white or a grid line).
  int dash = 0, gap = 0;
  for (int s = 3; s < G::side - 3; ++s) {
    const int x = G::left + s, y = G::top + G::side - s;
    const bool grey = image.at(x, y, 0) == image.at(x, y, 1) && image.at(x, y, 1) == image.at(x, y, 2);
    EXPECT_TRUE(grey) << x << ", " << y;
    (image.at(x, y, 0) < 200 ? dash : gap) += 1;
  }
  EXPECT_GT(dash, G::side / 3);
  EXPECT_GT(gap, G::side / 4);
}

TEST(RocPlot, RefusesMismatchedCurvesNamingThem) {
  const std::string path = scratch("bad_roc.png");
  const std::vector<detectors::RocSeries> curves{{"lopsided", {0, 1}, {0, 0.5, 1}, 0.5}};
  try {
    detectors::write_roc_png(path, curves, "t");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string why = e.what();
    EXPECT_NE(why.find(path), std::string::npos) << why;
    EXPECT_NE(why.find("lopsided"), std::string::npos) << why;
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST(RocPlot, AnUnwritablePathIsAnIoError) {
  const std::string path = scratch("no/such/folder/roc.png");
  const std::string why = io_error([&] { detectors::write_roc_png(path, {}, "empty"); });
  EXPECT_NE(why.find(path), std::string::npos) << why;
}

TEST(RocPlot, ManyCurvesWithLongLabelsKeepTheLegendInsideTheAxes) {
  std::vector<detectors::RocSeries> curves;
  for (int i = 0; i < 10; ++i) {
    const double bend = 0.1 * (i + 1);
    detectors::RocSeries c{fmt::format("a rather long detector name, variant {}", i), {}, {}, 1 - bend / 2};
    for (int k = 0; k <= 100; ++k) {
      c.fpr.push_back(k / 100.0);
      c.tpr.push_back(std::pow(k / 100.0, bend));
    }
    curves.push_back(std::move(c));
  }
  const std::string path = scratch("roc_many.png");
  detectors::write_roc_png(path, curves, "ten curves");
  const Image image = read_png(path);
  ASSERT_EQ(image.width, G::width);
  // The legend (at scale 1 here) leaves the left half of the axes' bottom row to the
  // curves and the box: just inside the lower-left corner is not the legend's frame.
  EXPECT_FALSE(image.at(G::left + 4, G::top + G::side - 10, 0) == 190 &&
               image.at(G::left + 4, G::top + G::side - 10, 2) == 190);
}
