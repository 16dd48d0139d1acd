#include "weights/h5.h"

#include <filesystem>
#include <fmt/format.h>

namespace adx::h5 {
namespace {

// HDF5 prints its error stack to stderr by default; adx reports errors itself.
void silence_hdf5() {
  static const bool done = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)done;
}

std::string normalise(const std::string& path) {
  return path.empty() || path[0] != '/' ? "/" + path : path;
}

}  // namespace

File File::open_read(const std::string& path) {
  silence_hdf5();
  if (!std::filesystem::exists(path)) throw Error(path + ": no such file");
  if (H5Fis_hdf5(path.c_str()) <= 0) throw Error(path + ": not an HDF5 file");
  Handle h(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!h.valid()) throw Error(path + ": cannot open as HDF5 (corrupt or truncated?)");
  return File(std::move(h), path);
}

File File::create(const std::string& path) {
  silence_hdf5();
  Handle h(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  if (!h.valid()) throw Error(path + ": cannot create HDF5 file");
  return File(std::move(h), path);
}

void File::fail(const std::string& object, const std::string& what) const {
  throw Error(fmt::format("{}: {}: {}", path_, object, what));
}

bool File::has(const std::string& object) const {
  // Check every prefix: H5Lexists fails (rather than returning 0) on a missing parent.
  const std::string p = normalise(object);
  size_t at = 1;
  while (true) {
    const size_t slash = p.find('/', at);
    const std::string prefix = p.substr(0, slash);
    if (prefix.size() > 1 && H5Lexists(handle_.get(), prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (slash == std::string::npos) return true;
    at = slash + 1;
  }
}

Handle File::open_object(const std::string& object) const {
  if (!has(object)) fail(object, "not found");
  Handle h(H5Oopen(handle_.get(), normalise(object).c_str(), H5P_DEFAULT), H5Oclose);
  if (!h.valid()) fail(object, "cannot open");
  return h;
}

Handle File::open_dataset(const std::string& dataset) const {
  if (!has(dataset)) fail(dataset, "dataset not found");
  Handle h(H5Dopen2(handle_.get(), normalise(dataset).c_str(), H5P_DEFAULT), H5Dclose);
  if (!h.valid()) fail(dataset, "is not a dataset");
  return h;
}

Shape File::shape(const std::string& dataset) const {
  Handle d = open_dataset(dataset);
  Handle space(H5Dget_space(d.get()), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) fail(dataset, "cannot read its shape");
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return Shape(dims.begin(), dims.end());
}

Tensor File::read(const std::string& dataset) const {
  Handle d = open_dataset(dataset);
  Handle type(H5Dget_type(d.get()), H5Tclose);
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls != H5T_FLOAT && cls != H5T_INTEGER) fail(dataset, "is not numeric");
  Tensor t = Tensor::empty(shape(dataset));
  if (H5Dread(d.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data()) < 0)
    fail(dataset, "read failed (corrupt or truncated file?)");
  return t;
}

std::vector<int64_t> File::read_ints(const std::string& dataset) const {
  Handle d = open_dataset(dataset);
  std::vector<int64_t> values(static_cast<size_t>(shape_numel(shape(dataset))));
  if (H5Dread(d.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0)
    fail(dataset, "read failed (not an integer dataset, or a corrupt file)");
  return values;
}

void File::make_parents(const std::string& dataset) {
  const std::string p = normalise(dataset);
  for (size_t at = p.find('/', 1); at != std::string::npos; at = p.find('/', at + 1)) {
    const std::string group = p.substr(0, at);
    if (H5Lexists(handle_.get(), group.c_str(), H5P_DEFAULT) > 0) continue;
    Handle g(H5Gcreate2(handle_.get(), group.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
    if (!g.valid()) fail(group, "cannot create group");
  }
}

void File::write(const std::string& dataset, const Tensor& values) {
  make_parents(dataset);
  std::vector<hsize_t> dims(values.shape().begin(), values.shape().end());
  Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  Handle d(H5Dcreate2(handle_.get(), normalise(dataset).c_str(), H5T_IEEE_F32LE, space.get(),
                      H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
           H5Dclose);
  if (!d.valid()) fail(dataset, "cannot create dataset (does it exist already?)");
  if (H5Dwrite(d.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0)
    fail(dataset, "write failed");
}

void File::write_ints(const std::string& dataset, const std::vector<int64_t>& values) {
  make_parents(dataset);
  const hsize_t dims[1] = {values.size()};
  Handle space(H5Screate_simple(1, dims, nullptr), H5Sclose);
  Handle d(H5Dcreate2(handle_.get(), normalise(dataset).c_str(), H5T_STD_I64LE, space.get(),
                      H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
           H5Dclose);
  if (!d.valid()) fail(dataset, "cannot create dataset");
  if (H5Dwrite(d.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0)
    fail(dataset, "write failed");
}

std::vector<std::string> File::datasets(const std::string& group) const {
  std::vector<std::string> out;
  auto visit = [](hid_t, const char* name, const H5O_info_t* info, void* data) -> herr_t {
    if (info->type == H5O_TYPE_DATASET) static_cast<std::vector<std::string>*>(data)->push_back(name);
    return 0;
  };
  Handle g = open_object(group);
  if (H5Ovisit2(g.get(), H5_INDEX_NAME, H5_ITER_INC, visit, &out, H5O_INFO_BASIC) < 0)
    fail(group, "cannot list its datasets");
  return out;
}

void File::set_attribute(const std::string& object, const std::string& name, const std::string& value) {
  Handle obj = open_object(object);
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), std::max<size_t>(value.size(), 1));
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  if (H5Aexists(obj.get(), name.c_str()) > 0) H5Adelete(obj.get(), name.c_str());
  Handle a(H5Acreate2(obj.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!a.valid() || H5Awrite(a.get(), type.get(), value.c_str()) < 0) fail(object, "cannot write attribute " + name);
}

void File::set_attribute(const std::string& object, const std::string& name, int64_t value) {
  Handle obj = open_object(object);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  if (H5Aexists(obj.get(), name.c_str()) > 0) H5Adelete(obj.get(), name.c_str());
  Handle a(H5Acreate2(obj.get(), name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!a.valid() || H5Awrite(a.get(), H5T_NATIVE_INT64, &value) < 0) fail(object, "cannot write attribute " + name);
}

bool File::has_attribute(const std::string& object, const std::string& name) const {
  if (!has(object)) return false;
  Handle obj = open_object(object);
  return H5Aexists(obj.get(), name.c_str()) > 0;
}

std::string File::string_attribute(const std::string& object, const std::string& name) const {
  Handle obj = open_object(object);
  if (H5Aexists(obj.get(), name.c_str()) <= 0) fail(object, "missing attribute " + name);
  Handle a(H5Aopen(obj.get(), name.c_str(), H5P_DEFAULT), H5Aclose);
  Handle type(H5Aget_type(a.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING) fail(object, "attribute " + name + " is not a string");
  if (H5Tis_variable_str(type.get()) > 0) {  // written by h5py as a variable-length string
    Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(type.get()));  // h5py writes UTF-8
    char* text = nullptr;
    if (H5Aread(a.get(), mem.get(), &text) < 0) fail(object, "cannot read attribute " + name);
    std::string value = text ? text : "";
    H5free_memory(text);
    return value;
  }
  std::string value(H5Tget_size(type.get()), '\0');
  if (H5Aread(a.get(), type.get(), value.data()) < 0) fail(object, "cannot read attribute " + name);
  value.resize(value.find('\0') == std::string::npos ? value.size() : value.find('\0'));
  return value;
}

int64_t File::int_attribute(const std::string& object, const std::string& name) const {
  Handle obj = open_object(object);
  if (H5Aexists(obj.get(), name.c_str()) <= 0) fail(object, "missing attribute " + name);
  Handle a(H5Aopen(obj.get(), name.c_str(), H5P_DEFAULT), H5Aclose);
  int64_t value = 0;
  if (H5Aread(a.get(), H5T_NATIVE_INT64, &value) < 0) fail(object, "attribute " + name + " is not an integer");
  return value;
}

void File::flush() {
  if (H5Fflush(handle_.get(), H5F_SCOPE_GLOBAL) < 0) throw Error(path_ + ": flush failed");
}

}  // namespace adx::h5
