// Tensor: float32, row-major (NCHW for images), always contiguous.
//
// A Tensor is a cheap handle (shared_ptr) to a TensorImpl, which holds a shape,
// an offset into a shared Storage, and the autograd fields. Views exist only where
// they are free: reshape/flatten and slicing the leading dimension share storage;
// everything else (permute, slicing an inner dimension, ...) materialises a copy.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/pool.h"
#include "engine/shape.h"

namespace adx {

struct Device {
  enum class Type : uint8_t { CPU, CUDA };
  Type type = Type::CPU;
  int index = 0;

  static Device cpu() { return {}; }
  static Device cuda(int i = 0) { return {Type::CUDA, i}; }
  bool is_cpu() const { return type == Type::CPU; }
  bool is_cuda() const { return type == Type::CUDA; }
  bool operator==(const Device&) const = default;
  std::string str() const;
  // "cpu", "cuda" (device 0) or "cuda:N"; anything else is an Error naming `what`.
  static Device parse(const std::string& name, const std::string& what = "device");
};

int64_t shape_numel(const Shape& shape);
std::string shape_str(const Shape& shape);

// The error type of the engine: a shape mismatch, an op on the wrong device, a
// bad argument. The message names the op and what was expected.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A flat block of floats on one device. `version` counts in-place writes, so that
// autograd can refuse a gradient computed from a tensor modified after it was saved.
class Storage {
 public:
  Storage(size_t count, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  float* data() { return data_; }
  const float* data() const { return data_; }
  size_t size() const { return size_; }
  Device device() const { return device_; }
  uint64_t version = 0;

 private:
  float* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;  // bytes of the allocator's block
  Device device_;
};

class Node;
class Generator;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;
  Shape shape;
  bool requires_grad = false;
  std::shared_ptr<Node> grad_fn;     // set on results of recorded ops
  std::shared_ptr<TensorImpl> grad;  // accumulated by backward() on leaves
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- creation -----------------------------------------------------------
  static Tensor empty(const Shape& shape, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, Device device = Device::cpu());
  static Tensor ones(const Shape& shape, Device device = Device::cpu());
  static Tensor full(const Shape& shape, float value, Device device = Device::cpu());
  static Tensor scalar(float value);  // shape {} (0-d)
  static Tensor arange(float start, float end, float step = 1.0f);
  static Tensor from_data(const Shape& shape, std::span<const float> values);
  static Tensor from_data(const Shape& shape, std::initializer_list<float> values);
  // Random tensors: on a CUDA device the same values as on the CPU from the same
  // generator state (the device runs the same Philox stream).
  static Tensor randn(const Shape& shape, Generator& gen, Device device = Device::cpu());
  static Tensor rand(const Shape& shape, Generator& gen, Device device = Device::cpu());  // uniform [0, 1)

  // ---- inspection ---------------------------------------------------------
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  int64_t dim() const { return static_cast<int64_t>(impl().shape.size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const { return shape_numel(impl().shape); }
  Device device() const { return impl().storage->device(); }
  // On a CUDA tensor, a device pointer: for kernels, not for the host to read.
  float* data() { return impl().storage->data() + impl().offset; }
  const float* data() const { return impl().storage->data() + impl().offset; }
  // Reading values works on every device (CUDA tensors are copied to the host).
  float item() const;                    // the value of a one-element tensor
  std::vector<float> to_vector() const;  // a copy of the values
  float at(std::initializer_list<int64_t> index) const;
  std::string str() const;  // shape and (for small tensors) values, for messages

  // ---- autograd -----------------------------------------------------------
  bool requires_grad() const { return impl().requires_grad; }
  Tensor& requires_grad_(bool on = true);
  bool is_leaf() const { return impl().grad_fn == nullptr; }
  const std::shared_ptr<Node>& grad_fn() const { return impl().grad_fn; }
  Tensor grad() const;  // undefined until backward() reaches this leaf
  void set_grad(const Tensor& g);
  void zero_grad();     // drops the accumulated gradient
  void backward(const Tensor& grad_output = Tensor(), bool create_graph = false) const;
  Tensor detach() const;  // same storage, no history
  uint64_t version() const { return impl().storage->version; }
  void bump_version() { ++impl().storage->version; }

  // ---- copies and in-place writes (no autograd; for optimisers and buffers)
  Tensor clone() const;  // a differentiable copy
  Tensor& copy_(const Tensor& src);
  Tensor& fill_(float value);
  // The same values on another device (this tensor itself when already there);
  // differentiable: the gradient is copied back.
  Tensor to(Device device) const;
  // Moves this leaf tensor's values to `device` in place: every handle of it sees the
  // new device (Module::to moves parameters so, and optimisers holding them follow).
  // Its gradient is dropped.
  Tensor& move_to_(Device device);

  // ---- shape ops (see ops.h for the full set) ------------------------------
  Tensor reshape(const Shape& shape) const;
  Tensor flatten(int64_t start_dim = 1) const;
  Tensor permute(const Shape& dims) const;  // Shape: an inline list of dims
  Tensor transpose(int64_t a, int64_t b) const;
  Tensor t() const { return transpose(0, 1); }
  Tensor unsqueeze(int64_t d) const;
  Tensor squeeze(int64_t d) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor expand(const Shape& shape) const;
  Tensor sum() const;
  Tensor mean() const;
  Tensor pow(float exponent) const;

  TensorImpl& impl() const;
  TensorImpl* impl_ptr() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_shared() const { return impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// A list of tensors (an op's inputs, a node's gradients) from the pool
// (engine/pool.h): a training step makes hundreds of them.
using TensorList = PoolVector<Tensor>;

// A view of `base`'s storage with another shape and offset (no copy, no history).
Tensor make_view(const Tensor& base, const Shape& shape, int64_t offset_elems);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a);
Tensor operator+(const Tensor& a, float b);
Tensor operator-(const Tensor& a, float b);
Tensor operator*(const Tensor& a, float b);
Tensor operator/(const Tensor& a, float b);
Tensor operator+(float a, const Tensor& b);
Tensor operator-(float a, const Tensor& b);
Tensor operator*(float a, const Tensor& b);
Tensor operator/(float a, const Tensor& b);

}  // namespace adx
