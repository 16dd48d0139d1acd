// Helpers for tests that read the real data sets from $ADX_DATA.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>

#include "io/error.h"

namespace adx::testing {

// A path in the system's temporary folder, unique to this process, so that test runs
// side by side (two builds, parallel ctest) never share files.
inline std::filesystem::path scratch_dir() {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("adx_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

// The message of the IoError that f() throws; a test failure if it throws none.
template <class F>
std::string io_error(F&& f) {
  try {
    f();
  } catch (const io::IoError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no IoError";
  return "";
}

// The directory of data set `name` under $ADX_DATA, or "" when it is absent.
inline std::string dataset_dir(const std::string& name) {
  const char* root = std::getenv("ADX_DATA");
  if (!root || !*root) return "";
  const std::string dir = std::string(root) + "/" + name;
  return std::filesystem::is_directory(dir) ? dir : "";
}

}  // namespace adx::testing

// Skips the test with a message naming the data set when it is not available.
#define ADX_REQUIRE_DATASET(var, name)                                                   \
  const std::string var = ::adx::testing::dataset_dir(name);                            \
  if (var.empty())                                                                       \
  GTEST_SKIP() << "data set '" << name << "' not found: set ADX_DATA to a folder holding " \
               << name << "/ (CI uses ../shared/data)"

