// A thin RAII layer over the HDF5 C API for the readers in io/ (USPS, feature
// matrices): every hid_t is owned by an H5Id that closes it, and every failure is an
// IoError naming the file and the dataset. The serial HDF5 library is not
// thread-safe: call these from one thread at a time.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

namespace adx::io::h5 {

// Owns one HDF5 identifier and closes it with the matching H5?close function.
class H5Id {
 public:
  using Closer = herr_t (*)(hid_t);
  H5Id() = default;
  H5Id(hid_t id, Closer close) : id_(id), close_(close) {}
  ~H5Id() { reset(); }
  H5Id(H5Id&& other) noexcept : id_(other.id_), close_(other.close_) { other.id_ = -1; }
  H5Id& operator=(H5Id&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = other.id_;
      close_ = other.close_;
      other.id_ = -1;
    }
    return *this;
  }
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  // Closes now and reports whether HDF5 succeeded (a file's close flushes it).
  bool close() {
    const bool ok = !valid() || !close_ || close_(id_) >= 0;
    id_ = -1;
    return ok;
  }
  void reset() { close(); }

 private:
  hid_t id_ = -1;
  Closer close_ = nullptr;
};

// Silences HDF5's printing of its error stack for a scope: failures are reported as
// IoErrors instead. Restores the previous handler on exit.
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

// What a dataset holds: its dimensions and the class of its element type.
struct DatasetInfo {
  std::vector<int64_t> dims;
  H5T_class_t type_class = H5T_NO_CLASS;
  int64_t numel() const;
};

// An HDF5 file opened read-only.
class ReadFile {
 public:
  // IoError if the file is missing or not HDF5.
  explicit ReadFile(const std::string& path);
  const std::string& path() const { return path_; }

  // Whether `name` (an absolute path such as "/train/data") names a dataset.
  bool has_dataset(const std::string& name) const;
  DatasetInfo info(const std::string& name) const;
  // All values, converted by HDF5 to float / int64 (row-major). read_floats accepts
  // float and integer datasets; read_ints accepts integer datasets, and float ones
  // whose values are all whole numbers.
  std::vector<float> read_floats(const std::string& name) const;
  std::vector<int64_t> read_ints(const std::string& name) const;

 private:
  H5Id open_dataset(const std::string& name) const;
  std::string path_;
  H5Id file_;
};

}  // namespace adx::io::h5
