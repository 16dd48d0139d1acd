// CIFAR-10/100 binary batches (written here: the official binaries are not on disk)
// and CIFAR-10 as the image folders in $ADX_DATA/cifar10.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "data_util.h"
#include "io/cifar.h"
#include "io/error.h"

using namespace adx;
namespace fs = std::filesystem;

using adx::testing::io_error;

namespace {

std::string temp_path(const std::string& name) {
  return (adx::testing::scratch_dir() / ("cifar_" + name)).string();
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// `n` records with the given label bytes; pixel k of record i is (i + k) mod 256.
std::vector<uint8_t> batch(int n, const std::vector<std::vector<uint8_t>>& labels) {
  std::vector<uint8_t> b;
  for (int i = 0; i < n; ++i) {
    b.insert(b.end(), labels[static_cast<size_t>(i)].begin(), labels[static_cast<size_t>(i)].end());
    for (int k = 0; k < 3072; ++k) b.push_back(static_cast<uint8_t>((i + k) % 256));
  }
  return b;
}

}  // namespace

TEST(Cifar10, ReadsRecordsAsPlanesOfRgb) {
  const std::string path = temp_path("c10.bin");
  write_bytes(path, batch(3, {{7}, {0}, {9}}));
  io::LabelledImages d = io::read_cifar10_batch(path);
  ASSERT_EQ(d.images.shape(), (Shape{3, 3, 32, 32}));
  EXPECT_EQ(d.labels, (std::vector<int>{7, 0, 9}));
  // Record 1, red (0, 0, 0) = byte 0 of its pixels = 1; green (0, 0, 1) = byte 1025 = (1 + 1025) %
  // 256; blue (31, 31) = byte 3071 = (1 + 3071) % 256 = 0.
  EXPECT_FLOAT_EQ(d.images.at({1, 0, 0, 0}), 1.0f / 255.0f);
  EXPECT_FLOAT_EQ(d.images.at({1, 1, 0, 1}), static_cast<float>((1 + 1025) % 256) / 255.0f);
  EXPECT_FLOAT_EQ(d.images.at({1, 2, 31, 31}), 0.0f);
  EXPECT_FLOAT_EQ(d.images.at({2, 0, 7, 29}),
                  1.0f);  // red byte 7·32 + 29 = 253: (2 + 253) % 256 = 255
}

TEST(Cifar10, RejectsTruncatedAndOversizedFiles) {
  auto b = batch(2, {{1}, {2}});
  const std::string trunc = temp_path("trunc.bin"), longer = temp_path("long.bin");
  write_bytes(trunc, std::vector<uint8_t>(b.begin(), b.end() - 100));
  auto extra = b;
  extra.push_back(0);
  write_bytes(longer, extra);
  const std::string m1 = io_error([&] { io::read_cifar10_batch(trunc); });
  EXPECT_NE(m1.find(trunc), std::string::npos) << m1;
  EXPECT_NE(m1.find("truncated"), std::string::npos) << m1;
  EXPECT_NE(m1.find("1 records and 2973 bytes over"), std::string::npos) << m1;
  const std::string m2 = io_error([&] { io::read_cifar10_batch(longer); });
  EXPECT_NE(m2.find("2 records and 1 bytes over"), std::string::npos) << m2;
  write_bytes(temp_path("empty.bin"), {});
  EXPECT_NE(io_error([&] { io::read_cifar10_batch(temp_path("empty.bin")); }).find("empty"),
            std::string::npos);
  EXPECT_NE(
      io_error([&] { io::read_cifar10_batch(temp_path("missing.bin")); }).find("no such file"),
      std::string::npos);
}

TEST(Cifar10, RejectsLabelsOutOfRange) {
  write_bytes(temp_path("label.bin"), batch(2, {{3}, {10}}));
  const std::string m = io_error([&] { io::read_cifar10_batch(temp_path("label.bin")); });
  EXPECT_NE(m.find("record 1 has label 10"), std::string::npos) << m;
}

TEST(Cifar100, ReadsFineOrCoarseLabels) {
  const std::string path = temp_path("c100.bin");
  write_bytes(path, batch(2, {{19, 99}, {4, 30}}));
  io::LabelledImages fine = io::read_cifar100_batch(path);
  io::LabelledImages coarse = io::read_cifar100_batch(path, io::Cifar100Label::Coarse);
  EXPECT_EQ(fine.labels, (std::vector<int>{99, 30}));
  EXPECT_EQ(coarse.labels, (std::vector<int>{19, 4}));
  ASSERT_EQ(fine.images.shape(), (Shape{2, 3, 32, 32}));
  // Two label bytes: pixels start at byte 2 of the record.
  EXPECT_FLOAT_EQ(fine.images.at({1, 0, 0, 5}), 6.0f / 255.0f);
  // A CIFAR-10 batch of 2 records (6146 bytes) is not a whole number of 3074-byte records.
  write_bytes(temp_path("c10as100.bin"), batch(2, {{1}, {2}}));
  EXPECT_THROW(io::read_cifar100_batch(temp_path("c10as100.bin")), io::IoError);
  write_bytes(temp_path("coarse20.bin"), batch(1, {{20, 5}}));
  EXPECT_THROW(io::read_cifar100_batch(temp_path("coarse20.bin"), io::Cifar100Label::Coarse),
               io::IoError);
}

TEST(Cifar10, LoadsTheOfficialTestBatchLayout) {
  const std::string dir = temp_path("batches");
  fs::create_directories(dir + "/cifar-10-batches-bin");
  std::vector<std::vector<uint8_t>> labels(10000);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = {static_cast<uint8_t>(i % 10)};
  write_bytes(dir + "/cifar-10-batches-bin/test_batch.bin", batch(10000, labels));
  io::LabelledImages d = io::load_cifar10(dir, "test");
  EXPECT_EQ(d.images.size(0), 10000);
  EXPECT_EQ(d.labels[9999], 9);
  // The training batches are missing: the error names the first.
  const std::string m = io_error([&] { io::load_cifar10(dir, "train"); });
  EXPECT_NE(m.find("data_batch_1.bin: no such file"), std::string::npos) << m;
  // An official batch holds exactly 10,000 records.
  write_bytes(dir + "/cifar-10-batches-bin/test_batch.bin", batch(3, {{1}, {2}, {3}}));
  EXPECT_NE(io_error([&] { io::load_cifar10(dir, "test"); }).find("3 records, expected 10000"),
            std::string::npos);
  EXPECT_THROW(io::load_cifar10(dir, "validation"), io::IoError);
  EXPECT_THROW(io::load_cifar10(temp_path("nowhere"), "test"), io::IoError);
  EXPECT_THROW(io::load_cifar100(temp_path("nowhere"), "test"), io::IoError);
  fs::remove_all(dir);
}

TEST(Cifar10, LoadsTheImageFolders) {
  ADX_REQUIRE_DATASET(dir, "cifar10");
  io::LabelledImages test = io::load_cifar10(dir, "test");
  ASSERT_EQ(test.images.shape(), (Shape{10000, 3, 32, 32}));
  std::vector<int> counts(10);
  for (int l : test.labels) ++counts[static_cast<size_t>(l)];
  EXPECT_EQ(counts, std::vector<int>(10, 1000));
  EXPECT_EQ(test.labels.front(), 0);  // airplane
  EXPECT_EQ(test.labels.back(), 9);   // truck
}
