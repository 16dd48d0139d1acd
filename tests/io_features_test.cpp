// Feature matrices in HDF5 (round trip, atomic writes, bad files) and CSV (headers,
// label columns, ragged rows, non-numeric fields, NaN/Inf).
#include <gtest/gtest.h>

#include "data_util.h"

#include <hdf5.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "io/error.h"
#include "io/features.h"

using namespace adx;
namespace fs = std::filesystem;

using adx::testing::io_error;

namespace {

std::string temp_path(const std::string& name) {
  return (adx::testing::scratch_dir() / ("features_" + name)).string();
}

std::string write_text(const std::string& name, const std::string& text) {
  const std::string path = temp_path(name);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

#define EXPECT_IO_ERROR(call, text)                                       \
  do {                                                                    \
    const std::string msg_ = io_error([&] { call; });                     \
    EXPECT_NE(msg_.find(text), std::string::npos) << "message: " << msg_; \
  } while (0)

}  // namespace

// ---- HDF5 -----------------------------------------------------------------------

TEST(FeaturesH5, RoundTripsFeaturesAndLabels) {
  const std::string path = temp_path("round.h5");
  Tensor x = Tensor::from_data({3, 2}, {1.5f, -2.0f, 0.0f, 1e-30f, 3e30f, 7.0f});
  io::write_features_h5(path, x, {4, -1, 0});
  io::FeatureMatrix f = io::read_features_h5(path);
  EXPECT_EQ(f.x.shape(), (Shape{3, 2}));
  EXPECT_EQ(f.x.to_vector(), x.to_vector());
  EXPECT_EQ(f.y, (std::vector<int>{4, -1, 0}));
  // Without labels there is no /y.
  io::write_features_h5(path, x);
  f = io::read_features_h5(path);
  EXPECT_EQ(f.x.to_vector(), x.to_vector());
  EXPECT_TRUE(f.y.empty());
  // No temporary file is left behind.
  for (const auto& e : fs::directory_iterator(adx::testing::scratch_dir()))
    EXPECT_NE(e.path().filename().string().rfind(".adx-tmp-", 0), 0u) << e.path();
}

TEST(FeaturesH5, AFailedWriteLeavesTheOldFileWhole) {
  const std::string path = temp_path("keep.h5");
  io::write_features_h5(path, Tensor::from_data({1, 2}, {1.0f, 2.0f}), {7});
  // NaN is refused before anything is written.
  EXPECT_THROW(io::write_features_h5(path, Tensor::from_data({1, 2}, {NAN, 2.0f})), Error);
  EXPECT_THROW(io::write_features_h5(path, Tensor::from_data({1, 2}, {1.0f, INFINITY})), Error);
  EXPECT_THROW(io::write_features_h5(path, Tensor::from_data({2}, {1.0f, 2.0f})), Error);
  EXPECT_THROW(io::write_features_h5(path, Tensor::from_data({1, 2}, {1.0f, 2.0f}), {1, 2}), Error);
  io::FeatureMatrix f = io::read_features_h5(path);
  EXPECT_EQ(f.x.to_vector(), (std::vector<float>{1.0f, 2.0f}));
  EXPECT_EQ(f.y, std::vector<int>{7});
  // A folder that does not exist: an IoError, and nothing created.
  EXPECT_IO_ERROR(io::write_features_h5("/nonexistent/dir/f.h5", Tensor::zeros({1, 1})),
                  "cannot create");
  EXPECT_FALSE(fs::exists("/nonexistent/dir"));
}

TEST(FeaturesH5, ReadsFloat64AndRejectsBadFiles) {
  const std::string path = temp_path("bad.h5");
  // x as float64 (N×D) with NaN, y of the wrong length.
  auto write = [&](const std::vector<hsize_t>& xdims, const std::vector<double>& xv, hsize_t ylen) {
    hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t s = H5Screate_simple(static_cast<int>(xdims.size()), xdims.data(), nullptr);
    hid_t d = H5Dcreate2(f, "x", H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, xv.data());
    H5Dclose(d);
    H5Sclose(s);
    if (ylen > 0) {
      std::vector<int> y(ylen, 1);
      s = H5Screate_simple(1, &ylen, nullptr);
      d = H5Dcreate2(f, "y", H5T_STD_I32LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      H5Dwrite(d, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, y.data());
      H5Dclose(d);
      H5Sclose(s);
    }
    H5Fclose(f);
  };
  write({2, 2}, {0.25, 0.5, 1.0, 2.0}, 2);
  io::FeatureMatrix ok = io::read_features_h5(path);
  EXPECT_EQ(ok.x.to_vector(), (std::vector<float>{0.25f, 0.5f, 1.0f, 2.0f}));
  EXPECT_EQ(ok.y, (std::vector<int>{1, 1}));
  write({2, 2}, {0.25, 0.5, NAN, 2.0}, 0);
  EXPECT_IO_ERROR(io::read_features_h5(path), "row 1 column 0 is nan");
  write({2, 2}, {0.25, 0.5, 1.0, -INFINITY}, 0);
  EXPECT_IO_ERROR(io::read_features_h5(path), "row 1 column 1 is -inf");
  write({2, 2}, {0.25, 0.5, 1.0, 2.0}, 3);
  EXPECT_IO_ERROR(io::read_features_h5(path), "dataset '/y' has shape [3], expected [2]");
  write({4}, {0.25, 0.5, 1.0, 2.0}, 0);
  EXPECT_IO_ERROR(io::read_features_h5(path), "dataset '/x' has shape [4], expected [N, D]");
  // A file without /x.
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  H5Fclose(f);
  EXPECT_IO_ERROR(io::read_features_h5(path), path + ": no dataset '/x'");
  EXPECT_IO_ERROR(io::read_features_h5(write_text("notes.h5", "x,y\n1,2\n")), "not an HDF5 file");
}

// ---- CSV ------------------------------------------------------------------------

TEST(FeaturesCsv, ReadsWithAndWithoutHeader) {
  io::FeatureMatrix f = io::read_features_csv(write_text("plain.csv", "1,2.5,-3\n4e-1, 5 ,6\n"));
  EXPECT_EQ(f.x.shape(), (Shape{2, 3}));
  EXPECT_EQ(f.x.to_vector(), (std::vector<float>{1, 2.5f, -3, 0.4f, 5, 6}));
  EXPECT_TRUE(f.y.empty());
  f = io::read_features_csv(write_text("header.csv", "\"a\",b\r\n1,2\r\n\r\n+3,4\r\n"));
  EXPECT_EQ(f.x.shape(), (Shape{2, 2}));
  EXPECT_EQ(f.x.to_vector(), (std::vector<float>{1, 2, 3, 4}));
  // A numeric first row is data unless the header is declared.
  io::CsvOptions present;
  present.header = io::CsvHeader::Present;
  f = io::read_features_csv(write_text("numhead.csv", "10,20\n1,2\n"), present);
  EXPECT_EQ(f.x.shape(), (Shape{1, 2}));
  io::CsvOptions absent;
  absent.header = io::CsvHeader::Absent;
  EXPECT_IO_ERROR(io::read_features_csv(write_text("wordy.csv", "a,b\n1,2\n"), absent),
                  "line 1 column 1: 'a' is not a number");
}

TEST(FeaturesCsv, TakesLabelsFromANamedColumn) {
  io::CsvOptions options;
  options.label_column = "label";
  options.delimiter = ';';
  io::FeatureMatrix f =
      io::read_features_csv(write_text("labels.csv", "f1;label;f2\n0.5;3;1\n1.5;-2;2\n"), options);
  EXPECT_EQ(f.x.shape(), (Shape{2, 2}));
  EXPECT_EQ(f.x.to_vector(), (std::vector<float>{0.5f, 1, 1.5f, 2}));
  EXPECT_EQ(f.y, (std::vector<int>{3, -2}));
  EXPECT_IO_ERROR(io::read_features_csv(write_text("nolabel.csv", "f1;f2\n1;2\n"), options),
                  "no column 'label' in the header");
  EXPECT_IO_ERROR(io::read_features_csv(write_text("frac.csv", "f1;label\n1;2.5\n"), options),
                  "label '2.5' is not an integer");
  EXPECT_IO_ERROR(io::read_features_csv(write_text("headless.csv", "1;2\n"), options),
                  "has no header row");
}

TEST(FeaturesCsv, RejectsRaggedRows) {
  const std::string path = write_text("ragged.csv", "a,b,c\n1,2,3\n4,5\n");
  EXPECT_IO_ERROR(io::read_features_csv(path), path + ": line 3 has 2 fields, expected 3");
  EXPECT_IO_ERROR(io::read_features_csv(write_text("long.csv", "1,2\n3,4,5\n")),
                  "line 2 has 3 fields, expected 2");
}

TEST(FeaturesCsv, RejectsNonNumericAndEmptyFields) {
  EXPECT_IO_ERROR(io::read_features_csv(write_text("word.csv", "a,b\n1,2\n3,x7\n")),
                  "line 3 column 2 ('b'): 'x7' is not a number");
  EXPECT_IO_ERROR(io::read_features_csv(write_text("suffix.csv", "1,2\n3,4kg\n")),
                  "'4kg' is not a number");
  EXPECT_IO_ERROR(io::read_features_csv(write_text("blank.csv", "a,b\n1,\n")),
                  "line 2 column 2 ('b') is empty");
}

TEST(FeaturesCsv, RejectsNanAndInf) {
  EXPECT_IO_ERROR(io::read_features_csv(write_text("nan.csv", "a,b\n1,nan\n")),
                  "'nan' is NaN; NaN and Inf are not allowed");
  EXPECT_IO_ERROR(io::read_features_csv(write_text("inf.csv", "1,2\n-inf,3\n")),
                  "line 2 column 1: '-inf' is Inf");
  EXPECT_IO_ERROR(io::read_features_csv(write_text("huge.csv", "1,2\n1e39,3\n")),
                  "beyond float range");
  EXPECT_IO_ERROR(io::read_features_csv(write_text("huger.csv", "1,2\n1e999,3\n")), "is Inf");
}

TEST(FeaturesCsv, RejectsEmptyFiles) {
  EXPECT_IO_ERROR(io::read_features_csv(write_text("empty.csv", "\n\n")), "empty file");
  EXPECT_IO_ERROR(io::read_features_csv(write_text("onlyhead.csv", "a,b\n")), "no data rows");
  EXPECT_IO_ERROR(io::read_features_csv(temp_path("missing.csv")), "no such file");
}
