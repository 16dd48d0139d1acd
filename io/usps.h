// USPS handwritten digits in the common usps.h5 layout: /train/data float32 (N, 256)
// in [0, 1] (16×16 images, row-major), /train/target integer (N) with digits 0-9;
// the same under /test (7,291 train and 2,007 test images).
#pragma once

#include <string>

#include "io/idx.h"

namespace adx::io {

// Loads `split` ("train" or "test") as images (N, 1, 16, 16) in [0, 1] and digit
// labels. `path` is the .h5 file or a folder holding usps.h5. Throws an IoError naming
// the file and the dataset on a missing dataset, a wrong shape, values outside
// [0, 1] (NaN included) or labels outside 0-9.
LabelledImages load_usps(const std::string& path, const std::string& split);

}  // namespace adx::io
