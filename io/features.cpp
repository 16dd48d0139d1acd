#include "io/features.h"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <limits>
#include <sstream>

#include "io/error.h"
#include "io/h5.h"

namespace adx::io {

// ---- HDF5 -----------------------------------------------------------------------

FeatureMatrix read_features_h5(const std::string& path) {
  const h5::File file = h5::File::open_read(path);
  const h5::DatasetInfo xi = file.info("/x");
  if (xi.dims.size() != 2)
    throw IoError(
        fmt::format("{}: dataset '/x' has shape {}, expected [N, D]", path, shape_str(xi.dims)));
  const int64_t n = xi.dims[0], d = xi.dims[1];
  const std::vector<float> values = file.read_floats("/x");
  for (size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i]))
      throw IoError(
          fmt::format("{}: dataset '/x' row {} column {} is {}; NaN and Inf are not allowed", path,
                      static_cast<int64_t>(i) / d, static_cast<int64_t>(i) % d, values[i]));
  FeatureMatrix out;
  out.x = Tensor::from_data({n, d}, values);
  if (file.has_dataset("/y")) {
    const h5::DatasetInfo yi = file.info("/y");
    if (!(yi.dims.size() == 1 || (yi.dims.size() == 2 && yi.dims[1] == 1)) || yi.dims[0] != n)
      throw IoError(fmt::format("{}: dataset '/y' has shape {}, expected [{}] to match '/x'", path,
                                shape_str(yi.dims), n));
    for (int64_t v : file.read_ints("/y")) {
      if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
        throw IoError(fmt::format("{}: dataset '/y' label {} does not fit an int", path, v));
      out.y.push_back(static_cast<int>(v));
    }
  }
  return out;
}

void write_features_h5(const std::string& path, const Tensor& x, const std::vector<int>& y) {
  if (!x.defined() || x.dim() != 2)
    throw Error(fmt::format("write_features_h5: x must be (N, D), got {}",
                            x.defined() ? shape_str(x.shape()) : "an undefined tensor"));
  if (!x.device().is_cpu()) throw Error("write_features_h5: x must be on the CPU");
  const int64_t n = x.size(0), d = x.size(1);
  if (!y.empty() && static_cast<int64_t>(y.size()) != n)
    throw Error(fmt::format("write_features_h5: {} labels for {} rows", y.size(), n));
  const float* p = x.data();
  for (int64_t i = 0; i < n * d; ++i)
    if (!std::isfinite(p[i]))
      throw Error(
          fmt::format("write_features_h5: x row {} column {} is {}; NaN and Inf are not written",
                      i / d, i % d, p[i]));

  h5::write_atomically(path, [&](h5::File& file) {
    file.write("/x", x);
    if (!y.empty()) file.write_ints("/y", std::vector<int64_t>(y.begin(), y.end()));
  });
}

// ---- CSV ------------------------------------------------------------------------

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

std::vector<std::string_view> split(std::string_view line, char delimiter) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    const size_t end = line.find(delimiter, start);
    fields.push_back(trim(line.substr(start, end == std::string_view::npos ? end : end - start)));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return fields;
}

// The whole field as a number; false if it is not one (NaN and Inf parse).
bool parse_number(std::string_view s, double& out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  // Out of double range (1e999) parses as a range error: report it as Inf.
  if (ec == std::errc::result_out_of_range && end == s.data() + s.size()) {
    out = std::numeric_limits<double>::infinity();
    return true;
  }
  return ec == std::errc() && end == s.data() + s.size();
}

bool all_numeric(const std::vector<std::string_view>& fields) {
  double v;
  for (auto f : fields)
    if (!parse_number(f, v)) return false;
  return true;
}

}  // namespace

FeatureMatrix read_features_csv(const std::string& path, const CsvOptions& options) {
  if (!std::filesystem::is_regular_file(path)) throw IoError(path + ": no such file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path + ": cannot open");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();

  // Non-blank lines with their 1-based line numbers.
  std::vector<std::pair<int64_t, std::string_view>> lines;
  {
    std::string_view rest(text);
    int64_t number = 0;
    while (!rest.empty()) {
      const size_t end = rest.find('\n');
      std::string_view line = rest.substr(0, end);
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
      ++number;
      if (trim(line).empty() && line.find(options.delimiter) == std::string_view::npos) continue;
      lines.emplace_back(number, line);
    }
  }
  if (lines.empty()) throw IoError(path + ": empty file, expected rows of numbers");

  size_t first_row = 0;
  std::vector<std::string> names;
  const std::vector<std::string_view> first = split(lines[0].second, options.delimiter);
  const bool header = options.header == CsvHeader::Present ||
                      (options.header == CsvHeader::Auto && !all_numeric(first));
  if (header) {
    for (auto f : first) names.emplace_back(f);
    first_row = 1;
  }
  const size_t columns = first.size();

  int64_t label_col = -1;
  if (!options.label_column.empty()) {
    if (!header)
      throw IoError(fmt::format("{}: label column '{}' asked for, but the file has no header row",
                                path, options.label_column));
    for (size_t c = 0; c < names.size(); ++c) {
      if (names[c] != options.label_column) continue;
      if (label_col >= 0)
        throw IoError(
            fmt::format("{}: the header names column '{}' twice", path, options.label_column));
      label_col = static_cast<int64_t>(c);
    }
    if (label_col < 0)
      throw IoError(fmt::format("{}: no column '{}' in the header ({})", path, options.label_column,
                                lines[0].second));
  }
  const auto d = static_cast<int64_t>(columns) - (label_col >= 0 ? 1 : 0);
  if (d < 1) throw IoError(path + ": no feature columns");
  const auto n = static_cast<int64_t>(lines.size() - first_row);
  if (n < 1) throw IoError(path + ": a header but no data rows");

  const auto column_name = [&](size_t c) {
    return names.empty() ? fmt::format("column {}", c + 1)
                         : fmt::format("column {} ('{}')", c + 1, names[c]);
  };
  FeatureMatrix out;
  out.x = Tensor::empty({n, d});
  float* px = out.x.data();
  for (size_t r = first_row; r < lines.size(); ++r) {
    const auto& [number, line] = lines[r];
    const std::vector<std::string_view> fields = split(line, options.delimiter);
    if (fields.size() != columns)
      throw IoError(fmt::format("{}: line {} has {} fields, expected {} (as {})", path, number,
                                fields.size(), columns,
                                header ? "in the header" : "on the first line"));
    for (size_t c = 0; c < columns; ++c) {
      double v;
      const std::string_view f = fields[c];
      if (f.empty())
        throw IoError(fmt::format("{}: line {} {} is empty, expected a number", path, number,
                                  column_name(c)));
      if (!parse_number(f, v))
        throw IoError(
            fmt::format("{}: line {} {}: '{}' is not a number", path, number, column_name(c), f));
      if (std::isnan(v) || std::isinf(v))
        throw IoError(fmt::format("{}: line {} {}: '{}' is {}; NaN and Inf are not allowed", path,
                                  number, column_name(c), f, std::isnan(v) ? "NaN" : "Inf"));
      if (static_cast<int64_t>(c) == label_col) {
        if (v != std::floor(v) || std::fabs(v) > std::numeric_limits<int>::max())
          throw IoError(fmt::format("{}: line {} {}: label '{}' is not an integer", path, number,
                                    column_name(c), f));
        out.y.push_back(static_cast<int>(v));
        continue;
      }
      if (std::fabs(v) > std::numeric_limits<float>::max())
        throw IoError(fmt::format("{}: line {} {}: '{}' is beyond float range (Inf as float32)",
                                  path, number, column_name(c), f));
      *px++ = static_cast<float>(v);
    }
  }
  return out;
}

}  // namespace adx::io
