// A thin RAII layer over the HDF5 C API: files, float32 datasets addressed by
// slash paths (intermediate groups made on write), and string/number attributes.
// Every failure becomes an adx::Error naming the file and the object.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace adx::h5 {

// Owns one hid_t and closes it with the matching H5?close.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer close) : id_(id), close_(close) {}
  Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)), close_(o.close_) {}
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, H5I_INVALID_HID);
      close_ = o.close_;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  void reset() {
    if (id_ >= 0 && close_) close_(id_);
    id_ = H5I_INVALID_HID;
  }
  hid_t id_ = H5I_INVALID_HID;
  Closer close_ = nullptr;
};

class File {
 public:
  static File open_read(const std::string& path);
  static File create(const std::string& path);  // truncates

  const std::string& path() const { return path_; }
  bool has(const std::string& object) const;  // a dataset or group at this path
  Shape shape(const std::string& dataset) const;
  // Reads a numeric dataset as float32 (HDF5 converts integer and double types).
  Tensor read(const std::string& dataset) const;
  // Reads a numeric dataset as int64 values.
  std::vector<int64_t> read_ints(const std::string& dataset) const;
  void write(const std::string& dataset, const Tensor& values);
  void write_ints(const std::string& dataset, const std::vector<int64_t>& values);
  // Every dataset below `group` (recursively), as paths relative to the root.
  std::vector<std::string> datasets(const std::string& group = "/") const;

  void set_attribute(const std::string& object, const std::string& name, const std::string& value);
  void set_attribute(const std::string& object, const std::string& name, int64_t value);
  bool has_attribute(const std::string& object, const std::string& name) const;
  std::string string_attribute(const std::string& object, const std::string& name) const;
  int64_t int_attribute(const std::string& object, const std::string& name) const;
  void flush();

 private:
  File(Handle h, std::string path) : handle_(std::move(h)), path_(std::move(path)) {}
  Handle open_dataset(const std::string& dataset) const;
  Handle open_object(const std::string& object) const;
  void make_parents(const std::string& dataset);
  [[noreturn]] void fail(const std::string& object, const std::string& what) const;

  Handle handle_;
  std::string path_;
};

}  // namespace adx::h5
