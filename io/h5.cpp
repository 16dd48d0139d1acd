#include "io/h5.h"

#include <cmath>
#include <filesystem>
#include <new>
#include <stdexcept>
#include <fmt/format.h>

#include "io/error.h"

namespace adx::io::h5 {

QuietErrors::QuietErrors() {
  H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

QuietErrors::~QuietErrors() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }

int64_t DatasetInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

ReadFile::ReadFile(const std::string& path) : path_(path) {
  if (!std::filesystem::exists(path)) throw IoError(path + ": no such file");
  QuietErrors quiet;
  const htri_t is_h5 = H5Fis_hdf5(path.c_str());
  if (is_h5 <= 0) throw IoError(path + ": not an HDF5 file (no HDF5 signature)");
  file_ = H5Id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file_.valid()) throw IoError(path + ": cannot open as HDF5 (corrupt or unreadable)");
}

bool ReadFile::has_dataset(const std::string& name) const {
  QuietErrors quiet;
  // H5Lexists fails (rather than answering "no") when an intermediate group is
  // missing, so walk the path one component at a time.
  size_t pos = 0;
  while (true) {
    pos = name.find('/', pos + 1);
    const std::string prefix = name.substr(0, pos);
    if (!prefix.empty() && prefix != "/" &&
        H5Lexists(file_.get(), prefix.c_str(), H5P_DEFAULT) <= 0)
      return false;
    if (pos == std::string::npos) break;
  }
  H5Id object(H5Oopen(file_.get(), name.c_str(), H5P_DEFAULT), H5Oclose);
  return object.valid() && H5Iget_type(object.get()) == H5I_DATASET;
}

H5Id ReadFile::open_dataset(const std::string& name) const {
  if (!has_dataset(name)) throw IoError(fmt::format("{}: no dataset '{}'", path_, name));
  QuietErrors quiet;
  H5Id d(H5Dopen2(file_.get(), name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!d.valid()) throw IoError(fmt::format("{}: cannot open dataset '{}'", path_, name));
  return d;
}

DatasetInfo ReadFile::info(const std::string& name) const {
  H5Id d = open_dataset(name);
  QuietErrors quiet;
  DatasetInfo out;
  H5Id space(H5Dget_space(d.get()), H5Sclose);
  H5Id type(H5Dget_type(d.get()), H5Tclose);
  if (!space.valid() || !type.valid())
    throw IoError(fmt::format("{}: dataset '{}' has an unreadable shape or type", path_, name));
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) throw IoError(fmt::format("{}: dataset '{}' is not a simple array", path_, name));
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  int64_t count = 1;
  for (hsize_t v : dims) {
    if (v > (hsize_t{1} << 40) || __builtin_mul_overflow(count, static_cast<int64_t>(v), &count) ||
        count > (int64_t{1} << 40))
      throw IoError(
          fmt::format("{}: dataset '{}' has an implausible size (corrupt file?)", path_, name));
    out.dims.push_back(static_cast<int64_t>(v));
  }
  out.type_class = H5Tget_class(type.get());
  // A corrupt header can claim any size: where the data is stored in one piece, the
  // bytes stored must be the bytes claimed. (Chunked data can be compressed; a claim
  // too large for memory then fails as an IoError when it is read.)
  H5Id plist(H5Dget_create_plist(d.get()), H5Pclose);
  const H5D_layout_t layout = plist.valid() ? H5Pget_layout(plist.get()) : H5D_LAYOUT_ERROR;
  if (layout == H5D_CONTIGUOUS || layout == H5D_COMPACT) {
    const auto claimed = static_cast<uint64_t>(out.numel()) * H5Tget_size(type.get());
    const uint64_t stored = H5Dget_storage_size(d.get());
    if (claimed != stored)
      throw IoError(
          fmt::format("{}: dataset '{}' of shape {} needs {} bytes but the file stores {} "
                      "(corrupt or unwritten dataset)",
                      path_, name, shape_str(out.dims), claimed, stored));
  }
  return out;
}

namespace {

template <class T>
std::vector<T> allocate(const std::string& path, const std::string& name, int64_t count) {
  try {
    return std::vector<T>(static_cast<size_t>(count));
  } catch (const std::bad_alloc&) {
    throw IoError(fmt::format("{}: dataset '{}' claims {} elements, more than memory holds", path,
                              name, count));
  } catch (const std::length_error&) {
    throw IoError(fmt::format("{}: dataset '{}' claims {} elements, more than memory holds", path,
                              name, count));
  }
}

void read_all(const std::string& path, const std::string& name, hid_t dataset, hid_t mem_type,
              void* out) {
  QuietErrors quiet;
  if (H5Dread(dataset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
    throw IoError(fmt::format("{}: cannot read dataset '{}' (corrupt file or unconvertible type)",
                              path, name));
}

}  // namespace

std::vector<float> ReadFile::read_floats(const std::string& name) const {
  const DatasetInfo di = info(name);
  if (di.type_class != H5T_FLOAT && di.type_class != H5T_INTEGER)
    throw IoError(fmt::format("{}: dataset '{}' is not numeric (expected float or integer values)",
                              path_, name));
  H5Id d = open_dataset(name);
  std::vector<float> out = allocate<float>(path_, name, di.numel());
  if (!out.empty()) read_all(path_, name, d.get(), H5T_NATIVE_FLOAT, out.data());
  return out;
}

std::vector<int64_t> ReadFile::read_ints(const std::string& name) const {
  const DatasetInfo di = info(name);
  H5Id d = open_dataset(name);
  std::vector<int64_t> out = allocate<int64_t>(path_, name, di.numel());
  if (out.empty()) return out;
  if (di.type_class == H5T_INTEGER) {
    read_all(path_, name, d.get(), H5T_NATIVE_INT64, out.data());
  } else if (di.type_class == H5T_FLOAT) {
    std::vector<double> v = allocate<double>(path_, name, di.numel());
    read_all(path_, name, d.get(), H5T_NATIVE_DOUBLE, v.data());
    for (size_t i = 0; i < v.size(); ++i) {
      if (!std::isfinite(v[i]) || v[i] != std::floor(v[i]) || std::fabs(v[i]) > 1e15)
        throw IoError(fmt::format("{}: dataset '{}' element {} is {}, expected a whole number",
                                  path_, name, i, v[i]));
      out[i] = static_cast<int64_t>(v[i]);
    }
  } else {
    throw IoError(
        fmt::format("{}: dataset '{}' is not numeric (expected integer labels)", path_, name));
  }
  return out;
}

}  // namespace adx::io::h5
