// SVHN (Netzer et al., 2011) cropped digits in the official MATLAB files
// {train,test,extra}_32x32.mat, read with libmatio.
//
// Each file holds X, uint8 of MATLAB size 32×32×3×N (height, width, channel, image;
// column-major, so height varies fastest), and y, double N×1 with labels 1-10 where
// 10 stands for the digit 0.
#pragma once

#include <string>

#include "io/idx.h"

namespace adx::io {

// Reads one .mat file: images (N, 3, H, W) in [0, 1] (H×W is 32×32 in the official
// files; other sizes are accepted), labels 0-9 (10 becomes 0). Throws an IoError naming
// the file and the variable when the file is not a .mat file, X or y is missing, X is
// not a uint8 H×W×3×N array, y does not hold N labels, or a label is not 1-10.
LabelledImages read_svhn_mat(const std::string& path);

// Loads `split` ("train", "test" or "extra") from `dir`/<split>_32x32.mat.
LabelledImages load_svhn(const std::string& dir, const std::string& split);

}  // namespace adx::io
