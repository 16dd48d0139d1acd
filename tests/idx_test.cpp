// The IDX reader on the real MNIST files and on corrupt ones it must reject.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <zlib.h>

#include "data_util.h"
#include "io/error.h"
#include "io/idx.h"

using namespace adx;

namespace {

std::string temp_path(const std::string& name) {
  return (adx::testing::scratch_dir() / ("idx_" + name)).string();
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// A valid 1-d IDX label file of n bytes 0..n-1 (mod 10).
std::vector<uint8_t> label_file(uint8_t n) {
  std::vector<uint8_t> b = {0, 0, 0x08, 1, 0, 0, 0, n};
  for (uint8_t i = 0; i < n; ++i) b.push_back(i % 10);
  return b;
}

std::string expect_io_error(const std::string& path) {
  try {
    io::read_idx(path);
  } catch (const io::IoError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no IoError for " << path;
  return "";
}

}  // namespace

TEST(Idx, ReadsRawAndGzipAlike) {
  const std::string raw = temp_path("raw"), gz = temp_path("gz");
  write_bytes(raw, label_file(5));
  gzFile f = gzopen(gz.c_str(), "wb");
  const auto bytes = label_file(5);
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
  for (const std::string& p : {raw, gz}) {
    io::IdxArray a = io::read_idx(p);
    ASSERT_EQ(a.dims, std::vector<int64_t>{5});
    EXPECT_EQ(a.values, (std::vector<uint8_t>{0, 1, 2, 3, 4}));
  }
}

TEST(Idx, RejectsWrongMagic) {
  auto b = label_file(3);
  b[0] = 0x1f;
  write_bytes(temp_path("magic"), b);
  EXPECT_NE(expect_io_error(temp_path("magic")).find("not an IDX file"), std::string::npos);
}

TEST(Idx, RejectsUnsupportedType) {
  auto b = label_file(3);
  b[2] = 0x0D;  // float
  write_bytes(temp_path("type"), b);
  EXPECT_NE(expect_io_error(temp_path("type")).find("type 0x0d"), std::string::npos);
}

TEST(Idx, RejectsTruncatedFile) {
  auto b = label_file(10);
  b.resize(b.size() - 4);
  write_bytes(temp_path("trunc"), b);
  const std::string msg = expect_io_error(temp_path("trunc"));
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  EXPECT_NE(msg.find(temp_path("trunc")), std::string::npos) << "message must name the file";
}

TEST(Idx, RejectsTrailingBytes) {
  auto b = label_file(3);
  b.push_back(7);
  write_bytes(temp_path("long"), b);
  EXPECT_NE(expect_io_error(temp_path("long")).find("longer"), std::string::npos);
}

TEST(Idx, RejectsMissingFile) {
  EXPECT_NE(expect_io_error(temp_path("does_not_exist")).find("no such file"), std::string::npos);
}

TEST(Idx, RejectsCorruptGzip) {
  const std::string gz = temp_path("corrupt.gz");
  gzFile f = gzopen(gz.c_str(), "wb");
  const auto bytes = label_file(200);
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
  // Damage the compressed stream past the gzip header.
  std::fstream s(gz, std::ios::in | std::ios::out | std::ios::binary);
  s.seekp(14);
  const char junk[8] = {'\xff', '\x00', '\xff', '\x00', '\xff', '\x00', '\xff', '\x00'};
  s.write(junk, 8);
  s.close();
  EXPECT_THROW(io::read_idx(gz), io::IoError);
}

TEST(Mnist, LoadsTheOfficialFiles) {
  ADX_REQUIRE_DATASET(dir, "mnist");
  io::LabelledImages test = io::load_mnist(dir, "test");
  ASSERT_EQ(test.images.shape(), (Shape{10000, 1, 28, 28}));
  ASSERT_EQ(test.labels.size(), 10000u);
  // The first test digits of MNIST are 7, 2, 1, 0, 4.
  EXPECT_EQ(std::vector<int>(test.labels.begin(), test.labels.begin() + 5), (std::vector<int>{7, 2, 1, 0, 4}));
  float lo = 1, hi = 0;
  for (float v : test.images.to_vector()) lo = std::min(lo, v), hi = std::max(hi, v);
  EXPECT_EQ(lo, 0.0f);
  EXPECT_EQ(hi, 1.0f);
  io::LabelledImages train = io::load_mnist(dir, "train");
  EXPECT_EQ(train.images.size(0), 60000);
  // Class counts of the training split: digit 1 is the most frequent (6,742).
  std::vector<int> counts(10);
  for (int l : train.labels) ++counts[static_cast<size_t>(l)];
  EXPECT_EQ(counts[1], 6742);
  EXPECT_EQ(counts[0], 5923);
}

TEST(Mnist, MissingFolderNamesTheFile) {
  try {
    io::load_mnist("/nonexistent/mnist", "train");
    FAIL() << "expected IoError";
  } catch (const io::IoError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/mnist/train-images-idx3-ubyte"), std::string::npos);
  }
  EXPECT_THROW(io::load_mnist("/tmp", "validation"), io::IoError);
}
