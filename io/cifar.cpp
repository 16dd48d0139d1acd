#include "io/cifar.h"

#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fstream>

#include "io/error.h"
#include "io/image_folder.h"

namespace adx::io {
namespace {

constexpr int64_t kPixels = 3 * 32 * 32;

// Reads a batch with `label_bytes` label bytes per record and keeps label byte
// `label_index`, which must be below `classes`.
LabelledImages read_batch(const std::string& path, int64_t label_bytes, int64_t label_index,
                          int classes, int64_t expected_records = 0) {
  if (!std::filesystem::is_regular_file(path)) throw IoError(path + ": no such file");
  const int64_t record = label_bytes + kPixels;
  const auto size = static_cast<int64_t>(std::filesystem::file_size(path));
  if (size == 0) throw IoError(path + ": empty file, expected CIFAR records");
  if (size % record != 0)
    throw IoError(fmt::format(
        "{}: size {} bytes is not a whole number of {}-byte CIFAR records ({} records and {} "
        "bytes over): the file is truncated or has trailing data",
        path, size, record, size / record, size % record));
  const int64_t n = size / record;
  if (expected_records > 0 && n != expected_records)
    throw IoError(fmt::format("{}: {} records, expected {} (truncated or not an official batch)",
                              path, n, expected_records));
  std::vector<unsigned char> bytes(static_cast<size_t>(size));
  std::ifstream in(path, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), size))
    throw IoError(path + ": cannot read the file");

  LabelledImages out;
  out.images = Tensor::empty({n, 3, 32, 32});
  out.labels.resize(static_cast<size_t>(n));
  float* p = out.images.data();
  for (int64_t i = 0; i < n; ++i) {
    const unsigned char* r = bytes.data() + i * record;
    const int label = r[label_index];
    if (label >= classes)
      throw IoError(fmt::format("{}: record {} has label {}, expected 0-{} (not a CIFAR-{} batch?)",
                                path, i, label, classes - 1, classes == 20 ? 100 : classes));
    out.labels[static_cast<size_t>(i)] = label;
    for (int64_t k = 0; k < kPixels; ++k)
      p[i * kPixels + k] = static_cast<float>(r[label_bytes + k]) / 255.0f;
  }
  return out;
}

LabelledImages concat(std::vector<LabelledImages> parts) {
  int64_t n = 0;
  for (const auto& p : parts) n += p.images.size(0);
  LabelledImages out;
  out.images = Tensor::empty({n, 3, 32, 32});
  float* dst = out.images.data();
  for (auto& p : parts) {
    std::memcpy(dst, p.images.data(), static_cast<size_t>(p.images.numel()) * sizeof(float));
    dst += p.images.numel();
    out.labels.insert(out.labels.end(), p.labels.begin(), p.labels.end());
  }
  return out;
}

void check_split(const std::string& split, const char* dataset) {
  if (split != "train" && split != "test")
    throw IoError(fmt::format("{} split '{}' is neither 'train' nor 'test'", dataset, split));
}

// The folder among `dir` and `dir/sub` that holds `file`, or "".
std::string find_binary_dir(const std::string& dir, const std::string& sub,
                            const std::string& file) {
  for (const std::string& d : {dir, dir + "/" + sub})
    if (std::filesystem::is_regular_file(d + "/" + file)) return d;
  return "";
}

}  // namespace

LabelledImages read_cifar10_batch(const std::string& path) { return read_batch(path, 1, 0, 10); }

LabelledImages read_cifar100_batch(const std::string& path, Cifar100Label label) {
  return label == Cifar100Label::Coarse ? read_batch(path, 2, 0, 20) : read_batch(path, 2, 1, 100);
}

const std::vector<std::string>& cifar10_class_names() {
  static const std::vector<std::string> names = {
      "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
  return names;
}

LabelledImages load_cifar10(const std::string& dir, const std::string& split) {
  check_split(split, "CIFAR-10");
  const std::string bin = find_binary_dir(dir, "cifar-10-batches-bin", "test_batch.bin");
  if (!bin.empty()) {
    if (split == "test") return read_batch(bin + "/test_batch.bin", 1, 0, 10, 10000);
    std::vector<LabelledImages> parts;
    for (int b = 1; b <= 5; ++b)
      parts.push_back(read_batch(fmt::format("{}/data_batch_{}.bin", bin, b), 1, 0, 10, 10000));
    return concat(std::move(parts));
  }
  const std::string folder = dir + "/" + split;
  if (!std::filesystem::is_directory(folder))
    throw IoError(fmt::format(
        "{}: neither CIFAR-10 binary batches ({}/test_batch.bin, {}/cifar-10-batches-bin/) nor "
        "an image folder {} (is the data directory right? set ADX_DATA)",
        dir, dir, dir, folder));
  FolderImages images = read_image_folder(folder);
  if (images.class_names != cifar10_class_names())
    throw IoError(fmt::format("{}: class folders [{}] are not the ten CIFAR-10 classes", folder,
                              fmt::join(images.class_names, ", ")));
  return images;  // slices off the class names: labels are CIFAR-10's
}

LabelledImages load_cifar100(const std::string& dir, const std::string& split,
                             Cifar100Label label) {
  check_split(split, "CIFAR-100");
  const std::string bin = find_binary_dir(dir, "cifar-100-binary", split + ".bin");
  if (bin.empty())
    throw IoError(fmt::format("{}/{}.bin: no such file (nor in {}/cifar-100-binary/; set ADX_DATA)",
                              dir, split, dir));
  const int64_t expected = split == "train" ? 50000 : 10000;
  const std::string path = bin + "/" + split + ".bin";
  return label == Cifar100Label::Coarse ? read_batch(path, 2, 0, 20, expected)
                                        : read_batch(path, 2, 1, 100, expected);
}

}  // namespace adx::io
