#include "io/image_folder.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <limits>
#include <memory>

#include "io/error.h"

#define STB_IMAGE_STATIC  // private to this file: no clash with another copy of stb_image
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_FAILURE_USERMSG
#include <stb/stb_image.h>

namespace adx::io {
namespace {

namespace fs = std::filesystem;

// One decoded file: interleaved (H, W, C) samples of 8 or 16 bits.
struct Decoded {
  std::unique_ptr<void, void (*)(void*)> pixels{nullptr, stbi_image_free};
  int width = 0, height = 0, channels = 0;
  bool sixteen_bit = false;
  std::string error;  // set when decoding failed
};

// stb_image 2.27 (Debian 12's libstb) writes past a Huffman table when a JPEG's DHT
// segment declares more than 256 codes (stb 2.28 checks this). Walks the JPEG's marker
// segments as stb does and answers false for such a file, which is then refused
// before stb sees it.
bool jpeg_huffman_tables_ok(const unsigned char* p, size_t n) {
  if (n < 2 || p[0] != 0xFF || p[1] != 0xD8) return true;  // not a JPEG
  const auto at = [&](size_t i) -> unsigned {
    return i < n ? p[i] : 0u;
  };  // stb reads 0 past the end
  size_t i = 2;
  while (i + 1 < n) {
    const unsigned marker = p[i + 1];
    if (p[i] != 0xFF || marker == 0xFF) {  // entropy-coded data or fill bytes
      ++i;
      continue;
    }
    if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {  // no length
      i += 2;
      continue;
    }
    if (marker == 0xD9) break;  // end of image
    const size_t length = (at(i + 2) << 8) | at(i + 3);
    if (marker == 0xC4) {
      // Tables follow one another: class/id byte, 16 code counts, then the codes.
      auto left = static_cast<int64_t>(length) - 2;
      size_t q = i + 4;
      while (left > 0) {
        unsigned codes = 0;
        for (size_t k = 1; k <= 16; ++k) codes += at(q + k);
        if (codes > 256) return false;
        q += 17 + codes;
        left -= 17 + static_cast<int64_t>(codes);
      }
    }
    i += 2 + std::max<size_t>(length, 2);
  }
  return true;
}

Decoded decode(const std::string& path) {
  Decoded d;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    d.error = path + (fs::exists(path) ? ": cannot open" : ": no such file");
    return d;
  }
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (size < 0 || size > std::numeric_limits<int>::max()) {
    d.error = path + ": cannot read the file (or it is larger than 2 GiB)";
    return d;
  }
  std::vector<unsigned char> bytes(static_cast<size_t>(size));
  if (!in.read(reinterpret_cast<char*>(bytes.data()), size)) {
    d.error = path + ": cannot read the file";
    return d;
  }
  if (!jpeg_huffman_tables_ok(bytes.data(), bytes.size())) {
    d.error =
        path + ": cannot decode the image (corrupt JPEG: a Huffman table with more than 256 codes)";
    return d;
  }
  const auto len = static_cast<int>(bytes.size());
  d.sixteen_bit = stbi_is_16_bit_from_memory(bytes.data(), len) != 0;
  void* p = d.sixteen_bit ? static_cast<void*>(stbi_load_16_from_memory(bytes.data(), len, &d.width,
                                                                        &d.height, &d.channels, 0))
                          : static_cast<void*>(stbi_load_from_memory(bytes.data(), len, &d.width,
                                                                     &d.height, &d.channels, 0));
  if (!p) {
    const char* why = stbi_failure_reason();
    d.error = fmt::format("{}: cannot decode the image ({})", path, why ? why : "unknown reason");
  }
  d.pixels.reset(p);
  return d;
}

void check_channels(int channels, const char* op) {
  if (channels != 0 && channels != 1 && channels != 3)
    throw Error(fmt::format("{}: channels must be 0 (as stored), 1 or 3, not {}", op, channels));
}

template <typename T>
void to_planes(const T* src, int stored, int want, int64_t hw, float scale, float* dst) {
  // Grey+alpha and RGBA lose their alpha channel when converted.
  const int colour = (stored == 2 || stored == 4) ? stored - 1 : stored;
  if (want == stored || want == colour) {
    for (int c = 0; c < want; ++c)
      for (int64_t i = 0; i < hw; ++i)
        dst[c * hw + i] = static_cast<float>(src[i * stored + c]) * scale;
  } else if (want == 3) {  // grey -> RGB: repeat
    for (int64_t i = 0; i < hw; ++i) {
      const float v = static_cast<float>(src[i * stored]) * scale;
      dst[i] = dst[hw + i] = dst[2 * hw + i] = v;
    }
  } else {  // RGB -> grey: ITU-R 601-2 luma
    for (int64_t i = 0; i < hw; ++i) {
      const T* s = src + i * stored;
      dst[i] = (0.299f * static_cast<float>(s[0]) + 0.587f * static_cast<float>(s[1]) +
                0.114f * static_cast<float>(s[2])) *
               scale;
    }
  }
}

void convert(const Decoded& d, int want, float* dst) {
  const int64_t hw = int64_t{d.width} * d.height;
  if (d.sixteen_bit)
    to_planes(static_cast<const uint16_t*>(d.pixels.get()), d.channels, want, hw, 1.0f / 65535.0f,
              dst);
  else
    to_planes(static_cast<const uint8_t*>(d.pixels.get()), d.channels, want, hw, 1.0f / 255.0f,
              dst);
}

bool is_image_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp";
}

bool hidden(const fs::path& p) { return p.filename().string().starts_with("."); }

}  // namespace

Tensor read_image(const std::string& path, int channels) {
  check_channels(channels, "read_image");
  Decoded d = decode(path);
  if (!d.error.empty()) throw IoError(d.error);
  const int want = channels ? channels : d.channels;
  Tensor out = Tensor::empty({1, want, d.height, d.width});
  convert(d, want, out.data());
  return out;
}

FolderImages read_image_folder(const std::string& root, const ImageFolderOptions& options) {
  check_channels(options.channels, "read_image_folder");
  if (options.limit_per_class < 0)
    throw Error(fmt::format("read_image_folder: limit_per_class must be ≥ 0, not {}",
                            options.limit_per_class));
  if (!fs::is_directory(root)) throw IoError(root + ": no such folder (image folder root)");

  FolderImages out;
  try {
    for (const auto& entry : fs::directory_iterator(root))
      if (entry.is_directory() && !hidden(entry.path()))
        out.class_names.push_back(entry.path().filename().string());
    std::sort(out.class_names.begin(), out.class_names.end());
    if (out.class_names.empty())
      throw IoError(root + ": no class folders (expected ROOT/<class>/<image files>)");

    for (size_t label = 0; label < out.class_names.size(); ++label) {
      const std::string dir = root + "/" + out.class_names[label];
      std::vector<std::string> files;
      for (const auto& entry : fs::directory_iterator(dir))
        if (entry.is_regular_file() && !hidden(entry.path()) && is_image_file(entry.path()))
          files.push_back(entry.path().filename().string());
      if (files.empty()) throw IoError(dir + ": class folder holds no images (PNG, JPEG or BMP)");
      std::sort(files.begin(), files.end());
      if (options.limit_per_class > 0 &&
          static_cast<int64_t>(files.size()) > options.limit_per_class)
        files.resize(static_cast<size_t>(options.limit_per_class));
      for (const std::string& f : files) {
        out.paths.push_back(dir + "/" + f);
        out.labels.push_back(static_cast<int>(label));
      }
    }
  } catch (const fs::filesystem_error& e) {
    throw IoError(fmt::format("{}: cannot list the image folder ({})", root, e.what()));
  }

  // Decode in parallel (the slow part for large images), then check in file order so
  // that the error reported is always the first bad file.
  const auto n = static_cast<int64_t>(out.paths.size());
  std::vector<Decoded> decoded(static_cast<size_t>(n));
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t i = 0; i < n; ++i) {
    const auto k = static_cast<size_t>(i);
    try {  // nothing may leave an OpenMP region by an exception
      decoded[k] = decode(out.paths[k]);
    } catch (const std::exception& e) {
      decoded[k].error = out.paths[k] + ": cannot decode the image (" + e.what() + ")";
    }
  }

  const Decoded& first = decoded[0];
  for (int64_t i = 0; i < n; ++i) {
    const Decoded& d = decoded[static_cast<size_t>(i)];
    if (!d.error.empty()) throw IoError(d.error);
    if (d.width != first.width || d.height != first.height)
      throw IoError(
          fmt::format("{}: image is {}×{}, but {} is {}×{} (all images must have one size)",
                      out.paths[static_cast<size_t>(i)], d.width, d.height, out.paths[0],
                      first.width, first.height));
    if (options.channels == 0 && d.channels != first.channels)
      throw IoError(fmt::format(
          "{}: image has {} channels, but {} has {} (all images must agree; or convert them with "
          "channels = 1 or 3)",
          out.paths[static_cast<size_t>(i)], d.channels, out.paths[0], first.channels));
  }

  const int want = options.channels ? options.channels : first.channels;
  const int64_t plane = int64_t{want} * first.height * first.width;
  out.images = Tensor::empty({n, want, first.height, first.width});
  float* dst = out.images.data();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    Decoded& d = decoded[static_cast<size_t>(i)];
    convert(d, want, dst + i * plane);
    d.pixels.reset();
  }
  return out;
}

}  // namespace adx::io
