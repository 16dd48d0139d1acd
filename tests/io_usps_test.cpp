// USPS from $ADX_DATA/usps/usps.h5, and HDF5 files written here that it must reject.
#include <gtest/gtest.h>

#include <hdf5.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "data_util.h"
#include "io/error.h"
#include "io/usps.h"

using namespace adx;
namespace fs = std::filesystem;

using adx::testing::io_error;

namespace {

std::string temp_path(const std::string& name) {
  return (adx::testing::scratch_dir() / ("usps_" + name)).string();
}

// Writes an HDF5 file with /<split>/data (rows × cols float32) and /<split>/target
// (`labels`, int64), the layout of the common usps.h5.
void write_usps(const std::string& path, const std::string& split, hsize_t rows, hsize_t cols,
                const std::vector<float>& data, const std::vector<int64_t>& labels) {
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t g = H5Gcreate2(f, ("/" + split).c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const hsize_t dd[2] = {rows, cols};
  hid_t s = H5Screate_simple(2, dd, nullptr);
  hid_t d = H5Dcreate2(g, "data", H5T_IEEE_F32LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data());
  H5Dclose(d);
  H5Sclose(s);
  const hsize_t td[1] = {labels.size()};
  s = H5Screate_simple(1, td, nullptr);
  d = H5Dcreate2(g, "target", H5T_STD_I64LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels.data());
  H5Dclose(d);
  H5Sclose(s);
  H5Gclose(g);
  H5Fclose(f);
}

}  // namespace

TEST(Usps, LoadsBothSplits) {
  ADX_REQUIRE_DATASET(dir, "usps");
  io::LabelledImages train = io::load_usps(dir + "/usps.h5", "train");
  ASSERT_EQ(train.images.shape(), (Shape{7291, 1, 16, 16}));
  ASSERT_EQ(train.labels.size(), 7291u);
  // The first training digits of usps.h5 (and of the ESL zip.train file): 6 5 4 7 3.
  EXPECT_EQ(std::vector<int>(train.labels.begin(), train.labels.begin() + 5),
            (std::vector<int>{6, 5, 4, 7, 3}));
  // Image 0, row 0: pixels 7 and 8 are 0.1845 and 0.931.
  EXPECT_NEAR(train.images.at({0, 0, 0, 7}), 0.1845f, 1e-6f);
  EXPECT_NEAR(train.images.at({0, 0, 0, 8}), 0.931f, 1e-6f);
  io::LabelledImages test = io::load_usps(dir, "test");  // the folder works too
  ASSERT_EQ(test.images.shape(), (Shape{2007, 1, 16, 16}));
  EXPECT_EQ(std::vector<int>(test.labels.begin(), test.labels.begin() + 5),
            (std::vector<int>{9, 6, 3, 6, 6}));
  std::vector<int> counts(10);
  for (int l : test.labels) ++counts[static_cast<size_t>(l)];
  EXPECT_EQ(counts[0], 359);  // the test split's class sizes (as in ESL's zip.test)
  EXPECT_EQ(counts[1], 264);
}

TEST(Usps, ReadsASmallFileOfTheSameLayout) {
  const std::string path = temp_path("small.h5");
  std::vector<float> data(2 * 256, 0.5f);
  data[256 + 17] = 1.0f;  // image 1, row 1, column 1
  write_usps(path, "test", 2, 256, data, {3, 0});
  io::LabelledImages d = io::load_usps(path, "test");
  EXPECT_EQ(d.labels, (std::vector<int>{3, 0}));
  EXPECT_FLOAT_EQ(d.images.at({1, 0, 1, 1}), 1.0f);
  EXPECT_FLOAT_EQ(d.images.at({0, 0, 15, 15}), 0.5f);
  // This file has no train split.
  const std::string m = io_error([&] { io::load_usps(path, "train"); });
  EXPECT_NE(m.find(path + ": no dataset '/train/data'"), std::string::npos) << m;
}

TEST(Usps, RejectsBadShapesValuesAndLabels) {
  const std::string shape = temp_path("shape.h5");
  write_usps(shape, "train", 2, 255, std::vector<float>(2 * 255), {0, 1});
  EXPECT_NE(io_error([&] {
              io::load_usps(shape, "train");
            }).find("has shape [2, 255], expected [N, 256]"),
            std::string::npos);

  const std::string count = temp_path("count.h5");
  write_usps(count, "train", 2, 256, std::vector<float>(2 * 256), {0, 1, 2});
  EXPECT_NE(io_error([&] { io::load_usps(count, "train"); }).find("has 3 labels but"),
            std::string::npos);

  const std::string nan = temp_path("nan.h5");
  std::vector<float> data(256, 0.0f);
  data[40] = std::nanf("");
  write_usps(nan, "train", 1, 256, data, {0});
  EXPECT_NE(io_error([&] { io::load_usps(nan, "train"); }).find("image 0 pixel 40 is nan"),
            std::string::npos);

  const std::string label = temp_path("label.h5");
  write_usps(label, "train", 1, 256, std::vector<float>(256), {10});
  EXPECT_NE(io_error([&] { io::load_usps(label, "train"); }).find("label 0 is 10"),
            std::string::npos);
}

TEST(Usps, RejectsFilesThatAreNotHdf5) {
  const std::string text = temp_path("text.h5");
  std::ofstream(text) << "not an HDF5 file";
  EXPECT_NE(io_error([&] { io::load_usps(text, "train"); }).find("not an HDF5 file"),
            std::string::npos);
  // A real HDF5 file cut in half.
  const std::string whole = temp_path("whole.h5"), cut = temp_path("cut.h5");
  write_usps(whole, "train", 64, 256, std::vector<float>(64 * 256, 0.25f),
             std::vector<int64_t>(64, 1));
  std::ifstream in(whole, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  const std::string m = io_error([&] { io::load_usps(cut, "train"); });
  EXPECT_NE(m.find(cut), std::string::npos) << m;
  EXPECT_NE(io_error([] { io::load_usps("/nonexistent/usps.h5", "train"); }).find("no such file"),
            std::string::npos);
  EXPECT_THROW(io::load_usps(whole, "validation"), io::IoError);
}
