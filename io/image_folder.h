// Image folders as torchvision's ImageFolder lays them out: ROOT/<class>/<file>, with
// PNG, JPEG and BMP files decoded by stb_image.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/idx.h"

namespace adx::io {

struct ImageFolderOptions {
  // Reads only the first `limit_per_class` files (by name) of each class; 0 = all.
  int64_t limit_per_class = 0;
  // 0: channels as stored (grey 1, grey+alpha 2, RGB 3, RGBA 4), which must then be
  // the same for every image. 1 or 3: every image is converted: alpha is dropped,
  // grey is repeated to RGB, RGB becomes grey by ITU-R 601-2 luma as PIL's
  // convert('L') (0.299 R + 0.587 G + 0.114 B, without PIL's rounding to 8 bits).
  int channels = 0;
};

// A labelled image set that knows its class names (label i is class_names[i]) and
// the file each image came from.
struct FolderImages : LabelledImages {
  std::vector<std::string> class_names;
  std::vector<std::string> paths;
};

// Reads every image under ROOT/<class>/: classes are the sub-folders of ROOT sorted
// by name (byte order, as Python's sorted()), files are sorted by name within a class.
// Files whose extension is not .png, .jpg, .jpeg or .bmp (any case), hidden entries
// and files directly in ROOT are ignored. Images (N, C, H, W) in [0, 1] (16-bit PNGs
// are scaled by 1/65535). Throws an IoError when ROOT is missing or has no class
// folders, when a class folder holds no images, when a file cannot be decoded, and
// when an image's size or channel count differs from the first image's (naming both).
FolderImages read_image_folder(const std::string& root, const ImageFolderOptions& options = {});

// One image file as a batch of one, (1, C, H, W) in [0, 1]; `channels` as in
// ImageFolderOptions.
Tensor read_image(const std::string& path, int channels = 0);

}  // namespace adx::io
