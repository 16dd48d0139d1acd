// Image folders ROOT/<class>/<file>: trees written here with stb_image_write (and a
// hand-made 16-bit PNG), and CIFAR-10's test folders in $ADX_DATA/cifar10/test.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <zlib.h>

#include "data_util.h"
#include "io/cifar.h"
#include "io/error.h"
#include "io/image_folder.h"

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

using namespace adx;
namespace fs = std::filesystem;

using adx::testing::io_error;

namespace {

// A fresh, empty folder for one test.
std::string fresh_dir(const std::string& name) {
  const fs::path p = adx::testing::scratch_dir() / ("folder_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

// A w×h image with `c` interleaved channels; sample (y, x, k) = base + 10·y + 3·x + k.
std::vector<uint8_t> pattern(int w, int h, int c, int base) {
  std::vector<uint8_t> p;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < c; ++k) p.push_back(static_cast<uint8_t>(base + 10 * y + 3 * x + k));
  return p;
}

void write_png(const std::string& path, int w, int h, int c, int base) {
  fs::create_directories(fs::path(path).parent_path());
  ASSERT_NE(stbi_write_png(path.c_str(), w, h, c, pattern(w, h, c, base).data(), w * c), 0) << path;
}

void write_bmp(const std::string& path, int w, int h, int c, int base) {
  fs::create_directories(fs::path(path).parent_path());
  ASSERT_NE(stbi_write_bmp(path.c_str(), w, h, c, pattern(w, h, c, base).data()), 0) << path;
}

void write_text(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// A w×h 16-bit greyscale PNG whose samples are `values`, row-major.
void write_png16(const std::string& path, int w, int h, const std::vector<uint16_t>& values) {
  auto be32 = [](std::vector<uint8_t>& v, uint32_t x) {
    for (int s = 24; s >= 0; s -= 8) v.push_back(static_cast<uint8_t>(x >> s));
  };
  std::vector<uint8_t> file = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  auto chunk = [&](const char* type, const std::vector<uint8_t>& data) {
    be32(file, static_cast<uint32_t>(data.size()));
    std::vector<uint8_t> body(type, type + 4);
    body.insert(body.end(), data.begin(), data.end());
    file.insert(file.end(), body.begin(), body.end());
    be32(file, static_cast<uint32_t>(crc32(0, body.data(), static_cast<uInt>(body.size()))));
  };
  std::vector<uint8_t> ihdr;
  be32(ihdr, static_cast<uint32_t>(w));
  be32(ihdr, static_cast<uint32_t>(h));
  ihdr.insert(ihdr.end(),
              {16, 0, 0, 0, 0});  // 16 bits, greyscale, deflate, no filter, no interlace
  chunk("IHDR", ihdr);
  std::vector<uint8_t> raw;
  for (int y = 0; y < h; ++y) {
    raw.push_back(0);  // filter: none
    for (int x = 0; x < w; ++x) {
      raw.push_back(static_cast<uint8_t>(values[static_cast<size_t>(y * w + x)] >> 8));
      raw.push_back(static_cast<uint8_t>(values[static_cast<size_t>(y * w + x)] & 0xff));
    }
  }
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  std::vector<uint8_t> z(size);
  compress(z.data(), &size, raw.data(), static_cast<uLong>(raw.size()));
  z.resize(size);
  chunk("IDAT", z);
  chunk("IEND", {});
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
}

}  // namespace

TEST(ImageFolder, SortsClassesAndFilesByName) {
  const std::string root = fresh_dir("sorted");
  write_png(root + "/zebra/b.png", 3, 2, 3, 100);
  write_bmp(root + "/zebra/a.BMP", 3, 2, 3, 50);
  write_png(root + "/apple/only.png", 3, 2, 3, 0);
  write_text(root + "/apple/notes.txt", "not an image");
  write_png(root + "/apple/.hidden.png", 3, 2, 3, 0);
  write_png(root + "/loose.png", 3, 2, 3, 0);  // not in a class folder
  io::FolderImages d = io::read_image_folder(root);
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"apple", "zebra"}));
  EXPECT_EQ(d.labels, (std::vector<int>{0, 1, 1}));
  ASSERT_EQ(d.paths.size(), 3u);
  EXPECT_EQ(d.paths[1], root + "/zebra/a.BMP");
  ASSERT_EQ(d.images.shape(), (Shape{3, 3, 2, 3}));
  // Image 1 is a.BMP (base 50): channel k, row y, column x = 50 + 10y + 3x + k.
  EXPECT_FLOAT_EQ(d.images.at({1, 0, 0, 0}), 50.0f / 255.0f);
  EXPECT_FLOAT_EQ(d.images.at({1, 2, 1, 2}), (50.0f + 10 + 6 + 2) / 255.0f);
  EXPECT_FLOAT_EQ(d.images.at({2, 1, 1, 0}), (100.0f + 10 + 1) / 255.0f);
  EXPECT_FLOAT_EQ(d.images.at({0, 0, 0, 0}), 0.0f);
}

TEST(ImageFolder, LimitPerClassKeepsTheFirstFiles) {
  const std::string root = fresh_dir("limit");
  for (int i = 0; i < 4; ++i) write_png(root + "/a/" + std::to_string(i) + ".png", 2, 2, 1, i);
  write_png(root + "/b/0.png", 2, 2, 1, 9);
  io::ImageFolderOptions options;
  options.limit_per_class = 2;
  io::FolderImages d = io::read_image_folder(root, options);
  EXPECT_EQ(d.labels, (std::vector<int>{0, 0, 1}));
  EXPECT_EQ(d.paths[1], root + "/a/1.png");
  EXPECT_FLOAT_EQ(d.images.at({1, 0, 0, 0}), 1.0f / 255.0f);
}

TEST(ImageFolder, RejectsImagesOfAnotherSize) {
  const std::string root = fresh_dir("size");
  write_png(root + "/a/0.png", 4, 4, 3, 0);
  write_png(root + "/a/1.png", 4, 5, 3, 0);
  const std::string m = io_error([&] { io::read_image_folder(root); });
  EXPECT_NE(m.find(root + "/a/1.png: image is 4×5"), std::string::npos) << m;
  EXPECT_NE(m.find(root + "/a/0.png is 4×4"), std::string::npos) << m;
}

TEST(ImageFolder, RejectsMixedChannelsUnlessConverting) {
  const std::string root = fresh_dir("channels");
  write_png(root + "/a/0.png", 2, 2, 3, 0);
  write_png(root + "/b/0.png", 2, 2, 1, 40);
  write_png(root + "/c/0.png", 2, 2, 4, 80);
  const std::string m = io_error([&] { io::read_image_folder(root); });
  EXPECT_NE(m.find(root + "/b/0.png: image has 1 channels"), std::string::npos) << m;
  io::ImageFolderOptions rgb;
  rgb.channels = 3;
  io::FolderImages d = io::read_image_folder(root, rgb);
  ASSERT_EQ(d.images.shape(), (Shape{3, 3, 2, 2}));
  // Grey repeated: every channel of image 1 at (1, 1) is 40 + 10 + 3.
  for (int64_t c = 0; c < 3; ++c) EXPECT_FLOAT_EQ(d.images.at({1, c, 1, 1}), 53.0f / 255.0f);
  // RGBA loses its alpha: channel 2 of image 2 at (0, 0) is 82.
  EXPECT_FLOAT_EQ(d.images.at({2, 2, 0, 0}), 82.0f / 255.0f);
  io::ImageFolderOptions grey;
  grey.channels = 1;
  d = io::read_image_folder(root, grey);
  ASSERT_EQ(d.images.shape(), (Shape{3, 1, 2, 2}));
  // RGB (0, 1, 2) at (0, 0) of image 0 -> 0.587 + 0.228 levels.
  EXPECT_NEAR(d.images.at({0, 0, 0, 0}), (0.587f * 1 + 0.114f * 2) / 255.0f, 1e-7f);
  EXPECT_FLOAT_EQ(d.images.at({1, 0, 0, 0}), 40.0f / 255.0f);
}

TEST(ImageFolder, RejectsMissingRootEmptyClassesAndBadFiles) {
  EXPECT_NE(io_error([] {
              io::read_image_folder("/nonexistent/images");
            }).find("/nonexistent/images: no such folder"),
            std::string::npos);
  const std::string root = fresh_dir("bad");
  EXPECT_NE(io_error([&] { io::read_image_folder(root); }).find("no class folders"),
            std::string::npos);
  write_png(root + "/a/0.png", 2, 2, 3, 0);
  write_text(root + "/b/readme.txt", "only text here");
  std::string m = io_error([&] { io::read_image_folder(root); });
  EXPECT_NE(m.find(root + "/b: class folder holds no images"), std::string::npos) << m;
  write_text(root + "/b/broken.jpg", "this is not a JPEG");
  m = io_error([&] { io::read_image_folder(root); });
  EXPECT_NE(m.find(root + "/b/broken.jpg: cannot decode"), std::string::npos) << m;
}

TEST(ImageFolder, ReadsJpegAndSixteenBitPng) {
  const std::string dir = fresh_dir("formats");
  // A flat colour survives JPEG's compression within a grey level or two.
  std::vector<uint8_t> flat(8 * 8 * 3);
  for (size_t i = 0; i < flat.size(); ++i) flat[i] = i % 3 == 0 ? 200 : i % 3 == 1 ? 100 : 50;
  ASSERT_NE(stbi_write_jpg((dir + "/flat.jpg").c_str(), 8, 8, 3, flat.data(), 95), 0);
  Tensor jpg = io::read_image(dir + "/flat.jpg");
  ASSERT_EQ(jpg.shape(), (Shape{1, 3, 8, 8}));
  EXPECT_NEAR(jpg.at({0, 0, 3, 4}) * 255.0f, 200.0f, 2.0f);
  EXPECT_NEAR(jpg.at({0, 1, 3, 4}) * 255.0f, 100.0f, 2.0f);
  EXPECT_NEAR(jpg.at({0, 2, 3, 4}) * 255.0f, 50.0f, 2.0f);
  write_png16(dir + "/deep.png", 2, 1, {1, 65535});
  Tensor deep = io::read_image(dir + "/deep.png");
  ASSERT_EQ(deep.shape(), (Shape{1, 1, 1, 2}));
  EXPECT_FLOAT_EQ(deep.at({0, 0, 0, 0}), 1.0f / 65535.0f);  // 8 bits would have lost it
  EXPECT_FLOAT_EQ(deep.at({0, 0, 0, 1}), 1.0f);
  EXPECT_THROW(io::read_image(dir + "/missing.png"), io::IoError);
  EXPECT_THROW(io::read_image(dir + "/flat.jpg", 2), Error);
}

TEST(ImageFolder, RefusesAJpegWithAnOversizedHuffmanTable) {
  // stb_image 2.27 would write past its table (more than 256 codes declared); the
  // reader refuses the file first.
  const std::string dir = fresh_dir("huffman");
  std::vector<uint8_t> grey(8 * 8, 128);
  ASSERT_NE(stbi_write_jpg((dir + "/ok.jpg").c_str(), 8, 8, 1, grey.data(), 90), 0);
  std::ifstream in(dir + "/ok.jpg", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t dht = bytes.find("\xFF\xC4");
  ASSERT_NE(dht, std::string::npos);
  // FF C4, 2 length bytes, the table's class/id byte, then its 16 code counts.
  bytes[dht + 5 + 14] = static_cast<char>(200);
  bytes[dht + 5 + 15] = static_cast<char>(200);
  std::ofstream(dir + "/bad.jpg", std::ios::binary) << bytes;
  EXPECT_NO_THROW(io::read_image(dir + "/ok.jpg"));
  const std::string m = io_error([&] { io::read_image(dir + "/bad.jpg"); });
  EXPECT_NE(
      m.find(dir + "/bad.jpg: cannot decode the image (corrupt JPEG: a Huffman table with more"),
      std::string::npos)
      << m;
}

TEST(ImageFolder, ReadsCifar10TestFolders) {
  ADX_REQUIRE_DATASET(dir, "cifar10");
  io::FolderImages test = io::read_image_folder(dir + "/test");
  EXPECT_EQ(test.class_names, io::cifar10_class_names());
  ASSERT_EQ(test.images.shape(), (Shape{10000, 3, 32, 32}));
  ASSERT_EQ(test.labels.size(), 10000u);
  std::vector<int> counts(10);
  for (int l : test.labels) ++counts[static_cast<size_t>(l)];
  EXPECT_EQ(counts, std::vector<int>(10, 1000));
  EXPECT_EQ(test.paths[0], dir + "/test/airplane/0000.jpg");
  // PIL (libjpeg) decodes airplane/0000.jpg to per-channel means 0.5971, 0.5901, 0.6343
  // and pixel (0, 0) = (141, 159, 179); stb_image's decoder agrees within a few levels.
  const std::vector<float> first = test.images.slice(0, 0, 1).to_vector();
  for (int c = 0; c < 3; ++c) {
    double mean = 0;
    for (int k = 0; k < 1024; ++k) mean += first[static_cast<size_t>(c * 1024 + k)];
    EXPECT_NEAR(mean / 1024, (std::vector<double>{0.5971, 0.5901, 0.6343})[static_cast<size_t>(c)],
                2.0 / 255);
  }
  EXPECT_NEAR(test.images.at({0, 0, 0, 0}) * 255, 141, 4);
  EXPECT_NEAR(test.images.at({0, 1, 0, 0}) * 255, 159, 4);
  EXPECT_NEAR(test.images.at({0, 2, 0, 0}) * 255, 179, 4);
  float lo = 1, hi = 0;
  for (float v : test.images.to_vector()) lo = std::min(lo, v), hi = std::max(hi, v);
  EXPECT_EQ(lo, 0.0f);
  EXPECT_EQ(hi, 1.0f);
}
