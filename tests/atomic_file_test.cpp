// io/atomic_file.h: a file is replaced whole or not at all, and no temporary is left.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "data_util.h"
#include "io/atomic_file.h"
#include "io/error.h"

namespace adx::io {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

size_t files_in(const fs::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

TEST(AtomicFile, WritesAndReplacesWholeFiles) {
  const fs::path dir = testing::scratch_dir() / "atomic_file";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path f = dir / "a.txt";
  write_file_atomically(f.string(), std::string("first\n"));
  EXPECT_EQ(read_text(f), "first\n");
  write_file_atomically(f.string(), std::string("second, longer\n"));
  EXPECT_EQ(read_text(f), "second, longer\n");
  EXPECT_EQ(files_in(dir), 1u);  // no temporary left behind
  fs::remove_all(dir);
}

TEST(AtomicFile, AFailedWriteKeepsTheOldFileAndLeavesNoTemporary) {
  const fs::path dir = testing::scratch_dir() / "atomic_file_fail";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path f = dir / "keep.txt";
  write_file_atomically(f.string(), std::string("old\n"));
  EXPECT_THROW(replace_file_atomically(f.string(),
                                       [](const std::string& tmp) {
                                         std::ofstream(tmp) << "half of a";
                                         throw IoError("disk full");
                                       }),
               IoError);
  EXPECT_EQ(read_text(f), "old\n");
  EXPECT_EQ(files_in(dir), 1u);
  // A folder that does not exist: the error names the file.
  const std::string missing = (dir / "no/such/folder/x.txt").string();
  EXPECT_NE(testing::io_error([&] { write_file_atomically(missing, std::string("x")); }).find(missing),
            std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace adx::io
