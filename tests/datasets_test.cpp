// Data set specs ("cifar10:test") and their loading from $ADX_DATA.
#include <gtest/gtest.h>

#include "data_util.h"
#include "io/datasets.h"
#include "io/error.h"

using namespace adx;

TEST(DatasetSpec, ParsesAndRejects) {
  io::DatasetSpec s = io::parse_dataset_spec("fashion-mnist:train");
  EXPECT_EQ(s.name, "fashion-mnist");
  EXPECT_EQ(s.split, "train");
  EXPECT_TRUE(io::is_dataset_spec("cifar10:test"));
  EXPECT_FALSE(io::is_dataset_spec("features.h5"));
  EXPECT_FALSE(io::is_dataset_spec("C:/x.h5"));
  EXPECT_THROW(io::parse_dataset_spec("imagenet:val"), io::IoError);
  EXPECT_THROW(io::parse_dataset_spec("mnist:validation"), io::IoError);
  EXPECT_THROW(io::parse_dataset_spec("mnist"), io::IoError);
  EXPECT_NO_THROW(io::parse_dataset_spec("svhn:extra"));
}

TEST(DatasetSpec, LoadsEveryDataSetOnDisk) {
  ADX_REQUIRE_DATASET(root, "mnist");
  const std::string data = root.substr(0, root.size() - std::string("/mnist").size());
  EXPECT_EQ(io::load_dataset({"mnist", "test"}, data).images.size(0), 10000);
  EXPECT_EQ(io::load_dataset({"fashion-mnist", "test"}, data).images.size(0), 10000);
  EXPECT_EQ(io::load_dataset({"usps", "test"}, data).images.size(0), 2007);
  io::LabelledImages c = io::load_dataset({"cifar10", "test"}, data);
  EXPECT_EQ(c.images.shape(), (Shape{10000, 3, 32, 32}));
  try {
    io::load_dataset({"svhn", "test"}, data);
    FAIL() << "SVHN is not in the shared data";
  } catch (const io::IoError& e) {
    EXPECT_NE(std::string(e.what()).find("svhn: no such folder"), std::string::npos) << e.what();
  }
}
