#include "io/idx.h"

#include <filesystem>
#include <fmt/format.h>
#include <memory>
#include <zlib.h>

#include "io/error.h"

namespace adx::io {
namespace {

// gzread reads gzip and plain files alike, so one path serves both.
struct GzFile {
  explicit GzFile(const std::string& path) : f(gzopen(path.c_str(), "rb")) {}
  ~GzFile() {
    if (f) gzclose(f);
  }
  gzFile f;
};

void read_exact(GzFile& file, const std::string& path, void* out, size_t bytes, const char* what) {
  size_t done = 0;
  auto* p = static_cast<unsigned char*>(out);
  while (done < bytes) {
    const unsigned chunk = static_cast<unsigned>(std::min<size_t>(bytes - done, 1u << 30));
    const int got = gzread(file.f, p + done, chunk);
    if (got < 0) {
      int code = 0;
      throw IoError(fmt::format("{}: corrupt gzip data while reading {} ({})", path, what,
                                gzerror(file.f, &code)));
    }
    if (got == 0)
      throw IoError(fmt::format("{}: file is truncated: {} needs {} bytes, only {} present", path,
                                what, bytes, done));
    done += static_cast<size_t>(got);
  }
}

}  // namespace

IdxArray read_idx(const std::string& path) {
  if (!std::filesystem::exists(path)) throw IoError(path + ": no such file");
  GzFile file(path);
  if (!file.f) throw IoError(path + ": cannot open");
  unsigned char header[4];
  read_exact(file, path, header, 4, "the header");
  // Magic: two zero bytes, a type code (0x08 = unsigned byte), the number of dims.
  if (header[0] != 0 || header[1] != 0)
    throw IoError(fmt::format("{}: not an IDX file (magic bytes {:02x} {:02x}, expected 00 00)", path,
                              header[0], header[1]));
  if (header[2] != 0x08)
    throw IoError(fmt::format("{}: IDX type 0x{:02x} is not supported (expected 0x08, unsigned byte)",
                              path, header[2]));
  const int ndims = header[3];
  if (ndims < 1 || ndims > 4)
    throw IoError(fmt::format("{}: IDX file with {} dimensions (expected 1 to 4)", path, ndims));
  IdxArray out;
  size_t count = 1;
  for (int d = 0; d < ndims; ++d) {
    unsigned char b[4];
    read_exact(file, path, b, 4, "the dimensions");
    const uint32_t size = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
    if (size == 0 || size > (1u << 28))
      throw IoError(fmt::format("{}: implausible dimension {} = {}", path, d, size));
    out.dims.push_back(size);
    count *= size;
  }
  if (count > (size_t{1} << 32)) throw IoError(path + ": IDX array too large");
  out.values.resize(count);
  read_exact(file, path, out.values.data(), count, "the data");
  unsigned char extra;
  if (gzread(file.f, &extra, 1) > 0)
    throw IoError(fmt::format("{}: {} bytes of data expected, but the file is longer", path, count));
  return out;
}

namespace {

std::string find_file(const std::string& dir, const std::string& stem) {
  for (const std::string& candidate : {dir + "/" + stem + ".gz", dir + "/" + stem})
    if (std::filesystem::exists(candidate)) return candidate;
  throw IoError(fmt::format("{}/{}[.gz]: no such file (is the data directory right? set ADX_DATA)",
                            dir, stem));
}

}  // namespace

LabelledImages load_mnist(const std::string& dir, const std::string& split) {
  if (split != "train" && split != "test")
    throw IoError(fmt::format("MNIST split '{}' is neither 'train' nor 'test'", split));
  const std::string prefix = split == "train" ? "train" : "t10k";
  const std::string image_path = find_file(dir, prefix + "-images-idx3-ubyte");
  const std::string label_path = find_file(dir, prefix + "-labels-idx1-ubyte");
  IdxArray images = read_idx(image_path);
  IdxArray labels = read_idx(label_path);
  if (images.dims.size() != 3)
    throw IoError(fmt::format("{}: expected a 3-d image array, found {} dims", image_path, images.dims.size()));
  if (labels.dims.size() != 1)
    throw IoError(fmt::format("{}: expected a 1-d label array, found {} dims", label_path, labels.dims.size()));
  if (labels.dims[0] != images.dims[0])
    throw IoError(fmt::format("{} has {} labels but {} has {} images", label_path, labels.dims[0],
                              image_path, images.dims[0]));
  const int64_t n = images.dims[0], h = images.dims[1], w = images.dims[2];
  LabelledImages out;
  out.images = Tensor::empty({n, 1, h, w});
  float* p = out.images.data();
  for (size_t i = 0; i < images.values.size(); ++i) p[i] = static_cast<float>(images.values[i]) / 255.0f;
  out.labels.reserve(static_cast<size_t>(n));
  for (uint8_t l : labels.values) {
    if (l > 9) throw IoError(fmt::format("{}: label {} is not a digit class 0-9", label_path, l));
    out.labels.push_back(l);
  }
  return out;
}

}  // namespace adx::io
