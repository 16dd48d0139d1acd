#include "engine/tensor.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>

#include "engine/autograd.h"
#include "engine/cuda/memory.h"
#include "engine/cuda/ops.h"
#include "engine/memory.h"
#include "engine/ops.h"
#include "engine/pool.h"
#include "engine/random.h"

namespace adx {

std::string Device::str() const {
  return is_cpu() ? std::string("cpu") : fmt::format("cuda:{}", index);
}

Device Device::parse(const std::string& name, const std::string& what) {
  if (name == "cpu") return cpu();
  if (name == "cuda") return cuda(0);
  if (name.rfind("cuda:", 0) == 0) {
    const std::string index = name.substr(5);
    if (!index.empty() && index.size() < 4 && index.find_first_not_of("0123456789") == std::string::npos)
      return cuda(std::stoi(index));
  }
  throw Error(fmt::format("{}: '{}' is not cpu, cuda or cuda:N", what, name));
}

void Shape::throw_too_many() {
  throw Error(fmt::format("a tensor has at most {} dimensions", kMaxDims));
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

Storage::Storage(size_t count, Device device) : size_(count), device_(device) {
  // At least one element so that data_ is never null; 64-byte aligned for AVX.
  const size_t bytes = std::max<size_t>(count, 1) * sizeof(float);
  if (device.is_cuda()) {
    cuda::check_device(device.index);
    data_ = static_cast<float*>(cuda::device_allocate(device.index, bytes, capacity_));
    return;
  }
  try {
    data_ = static_cast<float*>(detail::cpu_allocate(bytes, capacity_));
  } catch (const std::bad_alloc&) {
    throw Error(fmt::format("out of memory allocating a tensor of {} floats", count));
  }
}

Storage::~Storage() {
  const size_t bytes = std::max<size_t>(size_, 1) * sizeof(float);
  if (device_.is_cuda()) cuda::device_free(device_.index, data_, capacity_, bytes);
  else detail::cpu_free(data_, capacity_, bytes);
}

namespace {

// Copies n floats between any two devices (CUDA tensors of one device at a time).
void copy_floats(Device to, float* dst, Device from, const float* src, size_t n) {
  if (n == 0) return;
  if (to.is_cpu() && from.is_cpu()) {
    std::memmove(dst, src, n * sizeof(float));
  } else if (to.is_cuda() && from.is_cpu()) {
    cuda::copy_host_to_device(to.index, dst, src, n);
  } else if (to.is_cpu() && from.is_cuda()) {
    cuda::copy_device_to_host(from.index, dst, src, n);
  } else if (to == from) {
    cuda::copy_device_to_device(to.index, dst, src, n);
  } else {  // between two GPUs: through the host
    std::vector<float> host(n);
    cuda::copy_device_to_host(from.index, host.data(), src, n);
    cuda::copy_host_to_device(to.index, dst, host.data(), n);
  }
}

}  // namespace

TensorImpl& Tensor::impl() const {
  if (!impl_) throw Error("use of an undefined Tensor");
  return *impl_;
}

Tensor Tensor::empty(const Shape& shape, Device device) {
  for (int64_t d : shape)
    if (d < 0) throw Error("Tensor::empty: negative dimension in shape " + shape_str(shape));
  auto impl = make_pooled<TensorImpl>();
  impl->storage = make_pooled<Storage>(static_cast<size_t>(shape_numel(shape)), device);
  impl->shape = shape;
  return Tensor(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape, Device device) { return full(shape, 0.0f, device); }
Tensor Tensor::ones(const Shape& shape, Device device) { return full(shape, 1.0f, device); }

Tensor Tensor::full(const Shape& shape, float value, Device device) {
  Tensor t = empty(shape, device);
  if (device.is_cuda()) cuda::fill(t, value);
  else std::fill_n(t.data(), t.numel(), value);
  return t;
}

Tensor Tensor::scalar(float value) { return full({}, value); }

Tensor Tensor::arange(float start, float end, float step) {
  if (step == 0.0f || (end - start) / step < 0.0f)
    throw Error(fmt::format("arange: empty or infinite range {}..{} step {}", start, end, step));
  const auto n = static_cast<int64_t>(std::ceil((end - start) / step));
  Tensor t = empty({n});
  for (int64_t i = 0; i < n; ++i) t.data()[i] = start + step * static_cast<float>(i);
  return t;
}

Tensor Tensor::from_data(const Shape& shape, std::span<const float> values) {
  if (static_cast<int64_t>(values.size()) != shape_numel(shape))
    throw Error(fmt::format("from_data: {} values for shape {}", values.size(), shape_str(shape)));
  Tensor t = empty(shape);
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

Tensor Tensor::from_data(const Shape& shape, std::initializer_list<float> values) {
  return from_data(shape, std::span<const float>(values.begin(), values.size()));
}

Tensor Tensor::randn(const Shape& shape, Generator& gen, Device device) {
  Tensor t = empty(shape, device);
  if (device.is_cuda()) {
    cuda::fill_normal(t, gen);
    return t;
  }
  float* p = t.data();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = gen.normal();
  return t;
}

Tensor Tensor::rand(const Shape& shape, Generator& gen, Device device) {
  Tensor t = empty(shape, device);
  if (device.is_cuda()) {
    cuda::fill_uniform(t, gen);
    return t;
  }
  float* p = t.data();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = gen.uniform();
  return t;
}

int64_t Tensor::size(int64_t d) const {
  const int64_t nd = dim();
  if (d < -nd || d >= nd)
    throw Error(fmt::format("size({}): tensor of shape {} has {} dims", d, shape_str(shape()), nd));
  return shape()[static_cast<size_t>(d < 0 ? d + nd : d)];
}

float Tensor::item() const {
  if (numel() != 1) throw Error("item(): tensor of shape " + shape_str(shape()) + " is not one element");
  return device().is_cpu() ? data()[0] : to_vector()[0];
}

std::vector<float> Tensor::to_vector() const {
  if (device().is_cpu()) return {data(), data() + numel()};
  std::vector<float> host(static_cast<size_t>(numel()));
  copy_floats(Device::cpu(), host.data(), device(), data(), host.size());
  return host;
}

float Tensor::at(std::initializer_list<int64_t> index) const {
  if (static_cast<int64_t>(index.size()) != dim())
    throw Error(fmt::format("at(): {} indices for shape {}", index.size(), shape_str(shape())));
  int64_t flat = 0, d = 0;
  for (int64_t i : index) {
    const int64_t n = shape()[static_cast<size_t>(d++)];
    if (i < 0 || i >= n) throw Error(fmt::format("at(): index {} out of range for size {}", i, n));
    flat = flat * n + i;
  }
  if (device().is_cpu()) return data()[flat];
  float value = 0.0f;
  copy_floats(Device::cpu(), &value, device(), data() + flat, 1);
  return value;
}

std::string Tensor::str() const {
  if (!defined()) return "Tensor(undefined)";
  std::string s = "Tensor(" + shape_str(shape());
  if (device().is_cuda()) s += ", " + device().str();
  if (numel() <= 16) {
    s += ", [";
    const std::vector<float> values = to_vector();
    for (size_t i = 0; i < values.size(); ++i) s += fmt::format("{}{:.6g}", i ? ", " : "", values[i]);
    s += "]";
  }
  return s + ")";
}

Tensor& Tensor::requires_grad_(bool on) {
  if (!is_leaf() && !on) throw Error("requires_grad_(false) on a non-leaf tensor: use detach()");
  impl().requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const { return impl().grad ? Tensor(impl().grad) : Tensor(); }

void Tensor::set_grad(const Tensor& g) {
  if (g.defined() && g.shape() != shape())
    throw Error("set_grad: gradient shape " + shape_str(g.shape()) + " != " + shape_str(shape()));
  impl().grad = g.defined() ? g.impl_shared() : nullptr;
}

void Tensor::zero_grad() { impl().grad = nullptr; }

void Tensor::backward(const Tensor& grad_output, bool create_graph) const {
  adx::backward(*this, grad_output, create_graph);
}

Tensor Tensor::detach() const { return make_view(*this, shape(), 0); }

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), device());
  copy_floats(device(), out.data(), device(), data(), static_cast<size_t>(numel()));
  return record(OpKind::Clone, out, {*this},
                [](const Tensor& g, Node&) { return TensorList{g}; });
}

Tensor& Tensor::copy_(const Tensor& src) {
  if (src.shape() != shape())
    throw Error("copy_: source shape " + shape_str(src.shape()) + " != " + shape_str(shape()));
  const size_t n = static_cast<size_t>(numel());
  const bool same_storage = impl().storage == src.impl().storage;
  if (same_storage && device().is_cuda() && data() != src.data() &&
      data() < src.data() + n && src.data() < data() + n) {
    // Overlapping ranges of one device buffer: cudaMemcpy has no memmove, so go
    // through a copy of the source.
    const Tensor tmp = src.detach().clone();
    copy_floats(device(), data(), tmp.device(), tmp.data(), n);
  } else {
    copy_floats(device(), data(), src.device(), src.data(), n);
  }
  bump_version();
  return *this;
}

Tensor& Tensor::fill_(float value) {
  if (device().is_cuda()) cuda::fill(*this, value);
  else std::fill_n(data(), numel(), value);
  bump_version();
  return *this;
}

Tensor& Tensor::move_to_(Device target) {
  if (!is_leaf()) throw Error("move_to_: only a leaf tensor (a parameter or a buffer) moves in place");
  if (target == device()) return *this;
  const Tensor moved = detach().to(target);  // detached: records nothing
  impl().storage = moved.impl().storage;
  impl().offset = moved.impl().offset;
  impl().grad = nullptr;
  return *this;
}

Tensor Tensor::to(Device target) const {
  if (target == device()) return *this;
  Tensor out = empty(shape(), target);
  copy_floats(target, out.data(), device(), data(), static_cast<size_t>(numel()));
  // The gradient goes back the same way.
  const Device source = device();
  return record(OpKind::ToDevice, out, {*this},
                [source](const Tensor& g, Node&) { return TensorList{g.to(source)}; });
}

Tensor Tensor::reshape(const Shape& s) const { return adx::reshape(*this, s); }
Tensor Tensor::flatten(int64_t start_dim) const {
  Shape s(shape().begin(), shape().begin() + start_dim);
  s.push_back(-1);
  return adx::reshape(*this, s);
}
Tensor Tensor::permute(const Shape& dims) const { return adx::permute(*this, dims); }
Tensor Tensor::transpose(int64_t a, int64_t b) const { return adx::transpose(*this, a, b); }
Tensor Tensor::unsqueeze(int64_t d) const {
  Shape s = shape();
  if (d < 0) d += dim() + 1;
  if (d < 0 || d > dim()) throw Error(fmt::format("unsqueeze({}) on shape {}", d, shape_str(s)));
  s.insert(s.begin() + d, 1);
  return adx::reshape(*this, s);
}
Tensor Tensor::squeeze(int64_t d) const {
  Shape s = shape();
  if (d < 0) d += dim();
  if (d < 0 || d >= dim() || s[static_cast<size_t>(d)] != 1)
    throw Error(fmt::format("squeeze({}) on shape {}", d, shape_str(s)));
  s.erase(s.begin() + d);
  return adx::reshape(*this, s);
}
Tensor Tensor::slice(int64_t d, int64_t start, int64_t end, int64_t step) const {
  return adx::slice(*this, d, start, end, step);
}
Tensor Tensor::expand(const Shape& s) const { return adx::expand(*this, s); }
Tensor Tensor::sum() const { return adx::sum(*this); }
Tensor Tensor::mean() const { return adx::mean(*this); }
Tensor Tensor::pow(float e) const { return adx::pow(*this, e); }

Tensor make_view(const Tensor& base, const Shape& shape, int64_t offset_elems) {
  auto impl = make_pooled<TensorImpl>();
  impl->storage = base.impl().storage;
  impl->offset = base.impl().offset + offset_elems;
  impl->shape = shape;
  return Tensor(std::move(impl));
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& a) { return neg(a); }
Tensor operator+(const Tensor& a, float b) { return add(a, Tensor::scalar(b)); }
Tensor operator-(const Tensor& a, float b) { return sub(a, Tensor::scalar(b)); }
Tensor operator*(const Tensor& a, float b) { return mul(a, Tensor::scalar(b)); }
Tensor operator/(const Tensor& a, float b) { return mul(a, Tensor::scalar(1.0f / b)); }
Tensor operator+(float a, const Tensor& b) { return add(Tensor::scalar(a), b); }
Tensor operator-(float a, const Tensor& b) { return sub(Tensor::scalar(a), b); }
Tensor operator*(float a, const Tensor& b) { return mul(Tensor::scalar(a), b); }
Tensor operator/(float a, const Tensor& b) { return div(Tensor::scalar(a), b); }

}  // namespace adx
