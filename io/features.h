// Feature matrices: N samples × D features, with optional integer labels, in HDF5 or
// CSV. Detectors read and write these when features are extracted once and scored
// many times (transfer features with a one-class SVM, Andrews et al.).
#pragma once

#include <string>
#include <vector>

#include "engine/tensor.h"

namespace adx::io {

struct FeatureMatrix {
  Tensor x;            // (N, D)
  std::vector<int> y;  // N labels, or empty when the file has none
};

// HDF5: dataset /x, N×D (float32 as written; any float or integer type is read), and
// optionally /y, N integer labels. Throws an IoError naming the file and dataset when
// /x is missing or not 2-D, /y does not hold N whole numbers, or /x holds NaN or Inf.
FeatureMatrix read_features_h5(const std::string& path);

// Writes /x as float32 (N, D) and, when `y` is not empty, /y as int32 (N). Atomic: the
// file is written next to `path` under a temporary name and renamed over `path` only
// once complete, so a failure never leaves a half-written file. Throws an Error for a
// bad argument (x not 2-D, NaN/Inf in x, y not of size N) and an IoError when the file
// cannot be written.
void write_features_h5(const std::string& path, const Tensor& x, const std::vector<int>& y = {});

enum class CsvHeader {
  Auto,  // the first row is a header when any of its fields is not a number
  Present,
  Absent,
};

struct CsvOptions {
  CsvHeader header = CsvHeader::Auto;
  // The name of the column holding integer labels (needs a header); "" = no labels,
  // every column is a feature.
  std::string label_column;
  char delimiter = ',';
};

// A numeric CSV file: one sample per row, fields separated by `delimiter`, spaces
// around a field and double quotes around it ignored, blank lines skipped, "\r\n" line
// ends accepted. Throws an IoError naming the file, line and column for a row with
// the wrong number of fields, an empty or non-numeric field, a NaN or Inf value (or
// one beyond float range), a non-integer label, a label column not in the header, or a
// file without data rows.
FeatureMatrix read_features_csv(const std::string& path, const CsvOptions& options = {});

}  // namespace adx::io
