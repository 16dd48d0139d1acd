#include "io/h5.h"

#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <new>
#include <stdexcept>

#include "io/atomic_file.h"
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

namespace {

std::string absolute(const std::string& path) {
  return path.empty() || path[0] != '/' ? "/" + path : path;
}

template <class T>
std::vector<T> allocate(const std::string& file, const std::string& name, int64_t count) {
  try {
    return std::vector<T>(static_cast<size_t>(count));
  } catch (const std::bad_alloc&) {
  } catch (const std::length_error&) {
  }
  throw IoError(fmt::format("{}: dataset '{}' claims {} elements, more than memory holds", file, name, count));
}

}  // namespace

File File::open_read(const std::string& path) {
  if (!std::filesystem::exists(path)) throw IoError(path + ": no such file");
  QuietErrors quiet;
  if (H5Fis_hdf5(path.c_str()) <= 0) throw IoError(path + ": not an HDF5 file (no HDF5 signature)");
  Handle h(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!h.valid()) throw IoError(path + ": cannot open as HDF5 (corrupt or unreadable)");
  return File(std::move(h), path);
}

File File::create(const std::string& path) {
  QuietErrors quiet;
  Handle h(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  if (!h.valid()) throw IoError(path + ": cannot create the file (is the folder there and writable?)");
  return File(std::move(h), path);
}

void File::fail(const std::string& object, const std::string& what) const {
  throw IoError(fmt::format("{}: '{}' {}", path_, object, what));
}

bool File::has(const std::string& object) const {
  QuietErrors quiet;
  // H5Lexists fails (rather than answering "no") when an intermediate group is
  // missing, so walk the path one component at a time.
  const std::string p = absolute(object);
  for (size_t pos = 0;;) {
    pos = p.find('/', pos + 1);
    const std::string prefix = p.substr(0, pos);
    if (prefix.size() > 1 && H5Lexists(handle_.get(), prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (pos == std::string::npos) return true;
  }
}

bool File::has_dataset(const std::string& name) const {
  if (!has(name)) return false;
  QuietErrors quiet;
  Handle object(H5Oopen(handle_.get(), absolute(name).c_str(), H5P_DEFAULT), H5Oclose);
  return object.valid() && H5Iget_type(object.get()) == H5I_DATASET;
}

Handle File::open_object(const std::string& object) const {
  if (!has(object)) fail(object, "not found");
  QuietErrors quiet;
  Handle h(H5Oopen(handle_.get(), absolute(object).c_str(), H5P_DEFAULT), H5Oclose);
  if (!h.valid()) fail(object, "cannot be opened");
  return h;
}

Handle File::open_dataset(const std::string& name) const {
  if (!has_dataset(name)) throw IoError(fmt::format("{}: no dataset '{}'", path_, name));
  QuietErrors quiet;
  Handle d(H5Dopen2(handle_.get(), absolute(name).c_str(), H5P_DEFAULT), H5Dclose);
  if (!d.valid()) fail(name, "cannot be opened");
  return d;
}

DatasetInfo File::info(const std::string& name) const {
  Handle d = open_dataset(name);
  QuietErrors quiet;
  DatasetInfo out;
  Handle space(H5Dget_space(d.get()), H5Sclose);
  Handle type(H5Dget_type(d.get()), H5Tclose);
  if (!space.valid() || !type.valid()) fail(name, "has an unreadable shape or type");
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) fail(name, "is not a simple array");
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  int64_t count = 1;
  for (hsize_t v : dims) {
    if (v > (hsize_t{1} << 40) || __builtin_mul_overflow(count, static_cast<int64_t>(v), &count) ||
        count > (int64_t{1} << 40))
      fail(name, "has an implausible size (corrupt file?)");
    out.dims.push_back(static_cast<int64_t>(v));
  }
  out.type_class = H5Tget_class(type.get());
  // A corrupt header can claim any size: where the data is stored in one piece, the
  // bytes stored must be the bytes claimed. (Chunked data can be compressed; a claim
  // too large for memory then fails as an IoError when it is read.)
  Handle plist(H5Dget_create_plist(d.get()), H5Pclose);
  const H5D_layout_t layout = plist.valid() ? H5Pget_layout(plist.get()) : H5D_LAYOUT_ERROR;
  if (layout == H5D_CONTIGUOUS || layout == H5D_COMPACT) {
    const auto claimed = static_cast<uint64_t>(out.numel()) * H5Tget_size(type.get());
    const uint64_t stored = H5Dget_storage_size(d.get());
    if (claimed != stored)
      fail(name, fmt::format("of shape {} needs {} bytes but the file stores {} (corrupt or unwritten dataset)",
                             shape_str(out.dims), claimed, stored));
  }
  return out;
}

std::vector<float> File::read_floats(const std::string& name) const {
  const DatasetInfo di = info(name);
  if (di.type_class != H5T_FLOAT && di.type_class != H5T_INTEGER)
    fail(name, "is not numeric (expected float or integer values)");
  Handle d = open_dataset(name);
  std::vector<float> out = allocate<float>(path_, name, di.numel());
  QuietErrors quiet;
  if (!out.empty() && H5Dread(d.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
    fail(name, "cannot be read (corrupt file or unconvertible type)");
  return out;
}

Tensor File::read(const std::string& name) const {
  const std::vector<float> values = read_floats(name);
  return Tensor::from_data(info(name).dims, values);
}

std::vector<int64_t> File::read_ints(const std::string& name) const {
  const DatasetInfo di = info(name);
  Handle d = open_dataset(name);
  std::vector<int64_t> out = allocate<int64_t>(path_, name, di.numel());
  if (out.empty()) return out;
  QuietErrors quiet;
  if (di.type_class == H5T_INTEGER) {
    if (H5Dread(d.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
      fail(name, "cannot be read (corrupt file?)");
  } else if (di.type_class == H5T_FLOAT) {
    std::vector<double> v = allocate<double>(path_, name, di.numel());
    if (H5Dread(d.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0)
      fail(name, "cannot be read (corrupt file?)");
    for (size_t i = 0; i < v.size(); ++i) {
      if (!std::isfinite(v[i]) || v[i] != std::floor(v[i]) || std::fabs(v[i]) > 1e15)
        fail(name, fmt::format("element {} is {}, expected a whole number", i, v[i]));
      out[i] = static_cast<int64_t>(v[i]);
    }
  } else {
    fail(name, "is not numeric (expected integers)");
  }
  return out;
}

void File::make_parents(const std::string& dataset) {
  const std::string p = absolute(dataset);
  for (size_t at = p.find('/', 1); at != std::string::npos; at = p.find('/', at + 1)) {
    const std::string group = p.substr(0, at);
    if (H5Lexists(handle_.get(), group.c_str(), H5P_DEFAULT) > 0) continue;
    Handle g(H5Gcreate2(handle_.get(), group.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
    if (!g.valid()) fail(group, "cannot be created as a group");
  }
}

void File::write(const std::string& dataset, const Tensor& values) {
  QuietErrors quiet;
  make_parents(dataset);
  std::vector<hsize_t> dims(values.shape().begin(), values.shape().end());
  Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  Handle d(H5Dcreate2(handle_.get(), absolute(dataset).c_str(), H5T_IEEE_F32LE, space.get(),
                      H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
           H5Dclose);
  if (!d.valid()) fail(dataset, "cannot be created (does it exist already?)");
  // HDF5 reads host memory: a tensor on a GPU is copied over first.
  const Tensor host = values.device().is_cpu() ? values : values.to(Device::cpu());
  if (values.numel() > 0 && H5Dwrite(d.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, host.data()) < 0)
    fail(dataset, "cannot be written");
}

void File::write_ints(const std::string& dataset, const std::vector<int64_t>& values) {
  QuietErrors quiet;
  make_parents(dataset);
  const hsize_t dims[1] = {values.size()};
  Handle space(H5Screate_simple(1, dims, nullptr), H5Sclose);
  Handle d(H5Dcreate2(handle_.get(), absolute(dataset).c_str(), H5T_STD_I64LE, space.get(),
                      H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
           H5Dclose);
  if (!d.valid()) fail(dataset, "cannot be created (does it exist already?)");
  if (!values.empty() && H5Dwrite(d.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0)
    fail(dataset, "cannot be written");
}

std::vector<std::string> File::datasets(const std::string& group) const {
  std::vector<std::string> out;
  auto visit = [](hid_t, const char* name, const H5O_info_t* info, void* data) -> herr_t {
    if (info->type == H5O_TYPE_DATASET) static_cast<std::vector<std::string>*>(data)->push_back(name);
    return 0;
  };
  Handle g = open_object(group);
  QuietErrors quiet;
  if (H5Ovisit2(g.get(), H5_INDEX_NAME, H5_ITER_INC, visit, &out, H5O_INFO_BASIC) < 0)
    fail(group, "cannot be listed");
  return out;
}

void File::set_attribute(const std::string& object, const std::string& name, const std::string& value) {
  Handle obj = open_object(object);
  QuietErrors quiet;
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), std::max<size_t>(value.size(), 1));
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  if (H5Aexists(obj.get(), name.c_str()) > 0) H5Adelete(obj.get(), name.c_str());
  Handle a(H5Acreate2(obj.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!a.valid() || H5Awrite(a.get(), type.get(), value.c_str()) < 0) fail(object, "attribute " + name + " cannot be written");
}

void File::set_attribute(const std::string& object, const std::string& name, int64_t value) {
  Handle obj = open_object(object);
  QuietErrors quiet;
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  if (H5Aexists(obj.get(), name.c_str()) > 0) H5Adelete(obj.get(), name.c_str());
  Handle a(H5Acreate2(obj.get(), name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!a.valid() || H5Awrite(a.get(), H5T_NATIVE_INT64, &value) < 0) fail(object, "attribute " + name + " cannot be written");
}

bool File::has_attribute(const std::string& object, const std::string& name) const {
  if (!has(object)) return false;
  Handle obj = open_object(object);
  QuietErrors quiet;
  return H5Aexists(obj.get(), name.c_str()) > 0;
}

std::string File::string_attribute(const std::string& object, const std::string& name) const {
  if (!has_attribute(object, name)) fail(object, "has no attribute " + name);
  Handle obj = open_object(object);
  QuietErrors quiet;
  Handle a(H5Aopen(obj.get(), name.c_str(), H5P_DEFAULT), H5Aclose);
  Handle type(H5Aget_type(a.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING) fail(object, "attribute " + name + " is not a string");
  if (H5Tis_variable_str(type.get()) > 0) {  // h5py writes variable-length UTF-8
    Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
    char* text = nullptr;
    if (H5Aread(a.get(), mem.get(), &text) < 0) fail(object, "attribute " + name + " cannot be read");
    std::string value = text ? text : "";
    H5free_memory(text);
    return value;
  }
  std::string value(H5Tget_size(type.get()), '\0');
  if (H5Aread(a.get(), type.get(), value.data()) < 0) fail(object, "attribute " + name + " cannot be read");
  value.resize(std::min(value.find('\0'), value.size()));
  return value;
}

int64_t File::int_attribute(const std::string& object, const std::string& name) const {
  if (!has_attribute(object, name)) fail(object, "has no attribute " + name);
  Handle obj = open_object(object);
  QuietErrors quiet;
  Handle a(H5Aopen(obj.get(), name.c_str(), H5P_DEFAULT), H5Aclose);
  int64_t value = 0;
  if (H5Aread(a.get(), H5T_NATIVE_INT64, &value) < 0) fail(object, "attribute " + name + " is not an integer");
  return value;
}

void File::flush() {
  QuietErrors quiet;
  if (H5Fflush(handle_.get(), H5F_SCOPE_GLOBAL) < 0) throw IoError(path_ + ": flush failed");
}

void File::close() {
  QuietErrors quiet;
  if (!handle_.close()) throw IoError(path_ + ": closing failed (disk full?)");
}

void write_atomically(const std::string& path, const std::function<void(File&)>& write) {
  replace_file_atomically(path, [&](const std::string& tmp) {
    File file = File::create(tmp);
    write(file);
    file.close();
  });
}

}  // namespace adx::io::h5
