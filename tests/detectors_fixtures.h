// Shared helpers of the detector tests: reading the CSV fixtures that
// tools/bench/make_detector_fixtures.py writes (scikit-learn's answers on a fixed data
// set) and small matrix utilities.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace adx::testing {

inline std::filesystem::path detector_fixture(const std::string& name) {
  return std::filesystem::path(__FILE__).parent_path() / "fixtures" / "detectors" / name;
}

// A CSV file with one header row of column names and numeric rows.
struct Csv {
  std::vector<std::string> names;
  std::vector<std::vector<double>> rows;

  size_t col(const std::string& name) const {
    for (size_t c = 0; c < names.size(); ++c)
      if (names[c] == name) return c;
    throw std::runtime_error("no column '" + name + "'");
  }
  std::vector<double> column(const std::string& name) const {
    const size_t c = col(name);
    std::vector<double> out;
    for (const auto& r : rows) out.push_back(r[c]);
    return out;
  }
  // Columns [first, first + count) as an N × count float tensor.
  Tensor matrix(size_t first, size_t count) const {
    std::vector<float> v;
    for (const auto& r : rows)
      for (size_t c = first; c < first + count; ++c) v.push_back(static_cast<float>(r[c]));
    return Tensor::from_data({static_cast<int64_t>(rows.size()), static_cast<int64_t>(count)}, v);
  }
};

inline Csv read_csv(const std::string& name) {
  const auto path = detector_fixture(name);
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open fixture " + path.string());
  Csv csv;
  std::string line, cell;
  std::getline(in, line);
  std::stringstream header(line);
  while (std::getline(header, cell, ',')) csv.names.push_back(cell);
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::stringstream ss(line);
    std::vector<double> row;
    while (std::getline(ss, cell, ',')) row.push_back(std::stod(cell));
    if (row.size() != csv.names.size())
      throw std::runtime_error("fixture " + path.string() + ": ragged row");
    csv.rows.push_back(std::move(row));
  }
  return csv;
}

// name,value files.
inline std::map<std::string, double> read_summary(const std::string& name) {
  const auto path = detector_fixture(name);
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open fixture " + path.string());
  std::map<std::string, double> out;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    const auto comma = line.find(',');
    if (comma == std::string::npos) continue;
    out[line.substr(0, comma)] = std::stod(line.substr(comma + 1));
  }
  return out;
}

inline std::vector<int> as_labels(const std::vector<double>& v) {
  return std::vector<int>(v.begin(), v.end());
}

inline std::vector<float> values(const Tensor& t) { return t.to_vector(); }

}  // namespace adx::testing
