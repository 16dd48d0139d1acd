// SVHN .mat files, written here with libmatio in the official layout (X uint8
// 32×32×3×N in MATLAB's column-major order, y double N×1 with 10 for the digit 0).
#include <gtest/gtest.h>

#include "data_util.h"

#include <matio.h>

#include <filesystem>
#include <fstream>

#include "io/error.h"
#include "io/svhn.h"

using namespace adx;
namespace fs = std::filesystem;

using adx::testing::io_error;

namespace {

std::string temp_path(const std::string& name) {
  return (adx::testing::scratch_dir() / ("svhn_" + name)).string();
}

// One variable to write: its name, class, dimensions and raw data.
struct Var {
  std::string name;
  matio_classes cls;
  matio_types type;
  std::vector<size_t> dims;
  const void* data;
};

void write_mat(const std::string& path, const std::vector<Var>& vars, mat_ft version = MAT_FT_MAT5,
               matio_compression compression = MAT_COMPRESSION_NONE) {
  fs::remove(path);
  mat_t* mat = Mat_CreateVer(path.c_str(), nullptr, version);
  ASSERT_NE(mat, nullptr) << "cannot create " << path;
  for (const Var& v : vars) {
    std::vector<size_t> dims = v.dims;
    matvar_t* var = Mat_VarCreate(v.name.c_str(), v.cls, v.type, static_cast<int>(dims.size()),
                                  dims.data(), const_cast<void*>(v.data), MAT_F_DONT_COPY_DATA);
    ASSERT_NE(var, nullptr);
    ASSERT_EQ(Mat_VarWrite(mat, var, compression), 0);
    Mat_VarFree(var);
  }
  Mat_Close(mat);
}

// X for n images of h×w: the byte of MATLAB's X(r, c, ch, i) (0-based) is
// (r + 2c + 50ch + 7i) mod 256.
std::vector<uint8_t> svhn_x(size_t h, size_t w, size_t n) {
  std::vector<uint8_t> x(h * w * 3 * n);
  for (size_t i = 0; i < n; ++i)
    for (size_t ch = 0; ch < 3; ++ch)
      for (size_t c = 0; c < w; ++c)
        for (size_t r = 0; r < h; ++r)
          x[r + h * (c + w * (ch + 3 * i))] =
              static_cast<uint8_t>((r + 2 * c + 50 * ch + 7 * i) % 256);
  return x;
}

float expected_pixel(int64_t i, int64_t ch, int64_t r, int64_t c) {
  return static_cast<float>((r + 2 * c + 50 * ch + 7 * i) % 256) / 255.0f;
}

void check_official_layout(const std::string& path) {
  io::LabelledImages d = io::read_svhn_mat(path);
  ASSERT_EQ(d.images.shape(), (Shape{3, 3, 32, 32}));
  EXPECT_EQ(d.labels, (std::vector<int>{0, 1, 9}));  // 10 is the digit 0
  for (int64_t i : {0, 2})
    for (int64_t ch : {0, 2})
      for (auto [r, c] : {std::pair<int64_t, int64_t>{0, 0}, {5, 17}, {31, 2}, {31, 31}})
        EXPECT_FLOAT_EQ(d.images.at({i, ch, r, c}), expected_pixel(i, ch, r, c))
            << "image " << i << " channel " << ch << " at " << r << "," << c;
}

}  // namespace

TEST(Svhn, ReadsTheOfficialLayout) {
  const std::vector<uint8_t> x = svhn_x(32, 32, 3);
  const std::vector<double> y = {10, 1, 9};
  const std::string path = temp_path("train_32x32.mat");
  write_mat(path, {{"X", MAT_C_UINT8, MAT_T_UINT8, {32, 32, 3, 3}, x.data()},
                   {"y", MAT_C_DOUBLE, MAT_T_DOUBLE, {3, 1}, y.data()}});
  check_official_layout(path);
}

TEST(Svhn, ReadsCompressedFiles) {
  const std::vector<uint8_t> x = svhn_x(32, 32, 3);
  const std::vector<double> y = {10, 1, 9};
  const std::string path = temp_path("compressed.mat");
  write_mat(path,
            {{"y", MAT_C_DOUBLE, MAT_T_DOUBLE, {3, 1}, y.data()},
             {"X", MAT_C_UINT8, MAT_T_UINT8, {32, 32, 3, 3}, x.data()}},
            MAT_FT_MAT5, MAT_COMPRESSION_ZLIB);
  check_official_layout(path);
}

TEST(Svhn, LoadsASplitFromItsFolder) {
  const std::string dir = temp_path("dir");
  fs::create_directories(dir);
  const std::vector<uint8_t> x = svhn_x(32, 32, 1);
  const double y = 4;
  write_mat(dir + "/test_32x32.mat", {{"X", MAT_C_UINT8, MAT_T_UINT8, {32, 32, 3, 1}, x.data()},
                                      {"y", MAT_C_DOUBLE, MAT_T_DOUBLE, {1, 1}, &y}});
  io::LabelledImages d = io::load_svhn(dir, "test");
  EXPECT_EQ(d.labels, std::vector<int>{4});
  const std::string m = io_error([&] { io::load_svhn(dir, "train"); });
  EXPECT_NE(m.find(dir + "/train_32x32.mat: no such file"), std::string::npos) << m;
  EXPECT_THROW(io::load_svhn(dir, "valid"), io::IoError);
}

TEST(Svhn, RejectsWrongShapes) {
  const std::vector<uint8_t> x = svhn_x(32, 32, 2);
  const std::vector<double> y2 = {1, 2}, y3 = {1, 2, 3}, y6 = {1, 2, 3, 4, 5, 6};
  const std::string rank3 = temp_path("rank3.mat");
  write_mat(rank3, {{"X", MAT_C_UINT8, MAT_T_UINT8, {32, 32, 6}, x.data()},
                    {"y", MAT_C_DOUBLE, MAT_T_DOUBLE, {2, 1}, y2.data()}});
  std::string m = io_error([&] { io::read_svhn_mat(rank3); });
  EXPECT_NE(m.find(rank3 + ": variable 'X' is 32×32×6, expected H×W×3×N"), std::string::npos) << m;

  const std::string grey = temp_path("grey.mat");
  write_mat(grey, {{"X", MAT_C_UINT8, MAT_T_UINT8, {32, 32, 1, 6}, x.data()},
                   {"y", MAT_C_DOUBLE, MAT_T_DOUBLE, {6, 1}, y6.data()}});
  EXPECT_NE(io_error([&] { io::read_svhn_mat(grey); }).find("32×32×1×6"), std::string::npos);

  const std::string count = temp_path("count.mat");
  write_mat(count, {{"X", MAT_C_UINT8, MAT_T_UINT8, {32, 32, 3, 2}, x.data()},
                    {"y", MAT_C_DOUBLE, MAT_T_DOUBLE, {3, 1}, y3.data()}});
  m = io_error([&] { io::read_svhn_mat(count); });
  EXPECT_NE(m.find("variable 'y' is 3×1"), std::string::npos) << m;

  const std::vector<double> xd(32 * 32 * 3 * 2, 0.5);
  const std::string dbl = temp_path("double.mat");
  write_mat(dbl, {{"X", MAT_C_DOUBLE, MAT_T_DOUBLE, {32, 32, 3, 2}, xd.data()},
                  {"y", MAT_C_DOUBLE, MAT_T_DOUBLE, {2, 1}, y2.data()}});
  EXPECT_NE(io_error([&] { io::read_svhn_mat(dbl); }).find("not a real uint8 array"),
            std::string::npos);
}

TEST(Svhn, RejectsMissingVariablesAndBadLabels) {
  const std::vector<uint8_t> x = svhn_x(32, 32, 2);
  const std::vector<double> y = {1, 2}, y0 = {0, 2}, yhalf = {1.5, 2};
  const std::string no_y = temp_path("no_y.mat");
  write_mat(no_y, {{"X", MAT_C_UINT8, MAT_T_UINT8, {32, 32, 3, 2}, x.data()}});
  EXPECT_NE(io_error([&] { io::read_svhn_mat(no_y); }).find("no variable 'y'"), std::string::npos);
  const std::string no_x = temp_path("no_x.mat");
  write_mat(no_x, {{"y", MAT_C_DOUBLE, MAT_T_DOUBLE, {2, 1}, y.data()}});
  EXPECT_NE(io_error([&] { io::read_svhn_mat(no_x); }).find("no variable 'X'"), std::string::npos);
  const std::string zero = temp_path("zero.mat");
  write_mat(zero, {{"X", MAT_C_UINT8, MAT_T_UINT8, {32, 32, 3, 2}, x.data()},
                   {"y", MAT_C_DOUBLE, MAT_T_DOUBLE, {2, 1}, y0.data()}});
  EXPECT_NE(io_error([&] { io::read_svhn_mat(zero); }).find("y(1) is 0, expected a label 1-10"),
            std::string::npos);
  const std::string half = temp_path("half.mat");
  write_mat(half, {{"X", MAT_C_UINT8, MAT_T_UINT8, {32, 32, 3, 2}, x.data()},
                   {"y", MAT_C_DOUBLE, MAT_T_DOUBLE, {2, 1}, yhalf.data()}});
  EXPECT_THROW(io::read_svhn_mat(half), io::IoError);
}

TEST(Svhn, RejectsFilesThatAreNotMat) {
  const std::string text = temp_path("text.mat");
  std::ofstream(text) << "MATLAB 5.0 MAT-file? no, just text";
  EXPECT_NE(io_error([&] { io::read_svhn_mat(text); }).find(text), std::string::npos);
  EXPECT_NE(
      io_error([] { io::read_svhn_mat("/nonexistent/train_32x32.mat"); }).find("no such file"),
      std::string::npos);
}

TEST(Svhn, ReadsMatlab73Files) {
  // MATLAB's -v7.3 files are HDF5 inside; Debian's libmatio reads them.
  const std::vector<uint8_t> x = svhn_x(32, 32, 3);
  const std::vector<double> y = {10, 1, 9};
  const std::string path = temp_path("v73.mat");
  write_mat(path,
            {{"X", MAT_C_UINT8, MAT_T_UINT8, {32, 32, 3, 3}, x.data()},
             {"y", MAT_C_DOUBLE, MAT_T_DOUBLE, {3, 1}, y.data()}},
            MAT_FT_MAT73);
  check_official_layout(path);
}
