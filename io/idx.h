// MNIST / Fashion-MNIST in the official IDX format (LeCun et al.), gzip or raw.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace adx::io {

// An IDX file of unsigned bytes: its dimensions and its values.
struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> values;
};

// Reads an IDX file of type 0x08 (unsigned byte), gzip-compressed or not. Throws an
// IoError naming the file on a wrong magic number, a bad type or a truncated file.
IdxArray read_idx(const std::string& path);

// A labelled image set: images (N, C, H, W) in [0, 1], labels as integers.
struct LabelledImages {
  Tensor images;
  std::vector<int> labels;
};

// Loads `split` ("train" or "test") of MNIST or Fashion-MNIST from `dir`, which holds
// the four official files ({train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]).
LabelledImages load_mnist(const std::string& dir, const std::string& split);

}  // namespace adx::io
