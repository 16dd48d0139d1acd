// The one HDF5 layer of adx: a thin RAII wrapper over the C API, used by the data
// readers (USPS, feature matrices) and by the weight files (weights/). Datasets are
// addressed by slash paths; writes make intermediate groups; every failure becomes
// an IoError naming the file and the object. Reads check that a dataset's declared
// size is plausible and matches what is stored, so a corrupt header cannot force a
// huge allocation.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace adx::io::h5 {

// Owns one hid_t and closes it with the matching H5?close.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer close) : id_(id), close_(close) {}
  Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)), close_(o.close_) {}
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      close();
      id_ = std::exchange(o.id_, H5I_INVALID_HID);
      close_ = o.close_;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { close(); }
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  // Closes now; false if HDF5 reported an error (for a file: the final write failed).
  bool close() {
    const bool ok = !valid() || !close_ || close_(id_) >= 0;
    id_ = H5I_INVALID_HID;
    return ok;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer close_ = nullptr;
};

// Turns off HDF5's printing of its error stack for a scope (adx reports errors itself).
class QuietErrors {
 public:
  QuietErrors();
  ~QuietErrors();
  QuietErrors(const QuietErrors&) = delete;
  QuietErrors& operator=(const QuietErrors&) = delete;

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

struct DatasetInfo {
  std::vector<int64_t> dims;
  H5T_class_t type_class = H5T_NO_CLASS;
  int64_t numel() const;
};

class File {
 public:
  static File open_read(const std::string& path);
  static File create(const std::string& path);  // truncates

  const std::string& path() const { return path_; }
  bool has(const std::string& object) const;  // a dataset or a group
  bool has_dataset(const std::string& name) const;
  DatasetInfo info(const std::string& dataset) const;
  Shape shape(const std::string& dataset) const { return info(dataset).dims; }

  // Numeric datasets as float32 (HDF5 converts integer and double types).
  Tensor read(const std::string& dataset) const;
  std::vector<float> read_floats(const std::string& dataset) const;
  // Integer datasets, or float datasets holding whole numbers.
  std::vector<int64_t> read_ints(const std::string& dataset) const;

  void write(const std::string& dataset, const Tensor& values);
  void write_ints(const std::string& dataset, const std::vector<int64_t>& values);
  // Every dataset below `group` (recursively), as paths relative to it.
  std::vector<std::string> datasets(const std::string& group = "/") const;

  void set_attribute(const std::string& object, const std::string& name, const std::string& value);
  void set_attribute(const std::string& object, const std::string& name, int64_t value);
  bool has_attribute(const std::string& object, const std::string& name) const;
  std::string string_attribute(const std::string& object, const std::string& name) const;
  int64_t int_attribute(const std::string& object, const std::string& name) const;

  void flush();
  void close();  // throws if the last writes could not be completed

 private:
  File(Handle h, std::string path) : handle_(std::move(h)), path_(std::move(path)) {}
  Handle open_dataset(const std::string& dataset) const;
  Handle open_object(const std::string& object) const;
  void make_parents(const std::string& dataset);
  [[noreturn]] void fail(const std::string& object, const std::string& what) const;

  Handle handle_;
  std::string path_;
};

// Writes a new HDF5 file atomically: write(file) fills a temporary file in the same
// folder, which is closed, fsync'ed and renamed over `path`. On any failure the
// temporary is removed and an existing file at `path` is left untouched.
void write_atomically(const std::string& path, const std::function<void(File&)>& write);

}  // namespace adx::io::h5
