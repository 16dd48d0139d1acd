#include "io/usps.h"

#include <filesystem>
#include <fmt/format.h>

#include "io/error.h"
#include "io/h5.h"

namespace adx::io {

LabelledImages load_usps(const std::string& path, const std::string& split) {
  if (split != "train" && split != "test")
    throw IoError(fmt::format("USPS split '{}' is neither 'train' nor 'test'", split));
  const std::string file_path = std::filesystem::is_directory(path) ? path + "/usps.h5" : path;
  const h5::File file = h5::File::open_read(file_path);
  const std::string data_name = "/" + split + "/data", target_name = "/" + split + "/target";

  const h5::DatasetInfo data = file.info(data_name);
  if (data.dims.size() != 2 || data.dims[1] != 256)
    throw IoError(fmt::format("{}: dataset '{}' has shape {}, expected [N, 256] (16×16 images)",
                              file_path, data_name, shape_str(data.dims)));
  const h5::DatasetInfo target = file.info(target_name);
  if (target.dims.size() != 1 && !(target.dims.size() == 2 && target.dims[1] == 1))
    throw IoError(fmt::format("{}: dataset '{}' has shape {}, expected [N]", file_path, target_name,
                              shape_str(target.dims)));
  const int64_t n = data.dims[0];
  if (target.dims[0] != n)
    throw IoError(fmt::format("{}: '{}' has {} labels but '{}' has {} images", file_path,
                              target_name, target.dims[0], data_name, n));

  const std::vector<float> pixels = file.read_floats(data_name);
  for (size_t i = 0; i < pixels.size(); ++i)
    if (!(pixels[i] >= 0.0f && pixels[i] <= 1.0f))  // NaN fails both
      throw IoError(fmt::format("{}: '{}' image {} pixel {} is {}, expected a value in [0, 1]",
                                file_path, data_name, i / 256, i % 256, pixels[i]));
  const std::vector<int64_t> labels = file.read_ints(target_name);

  LabelledImages out;
  out.images = Tensor::from_data({n, 1, 16, 16}, pixels);
  out.labels.reserve(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] > 9)
      throw IoError(fmt::format("{}: '{}' label {} is {}, expected a digit 0-9", file_path,
                                target_name, i, labels[i]));
    out.labels.push_back(static_cast<int>(labels[i]));
  }
  return out;
}

}  // namespace adx::io
