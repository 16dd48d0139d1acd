// Shape: the sizes of a tensor's dimensions, held inline (no heap memory).
//
// Every op builds at least one shape and every tensor holds one, so a training
// step makes hundreds of them; as a std::vector each was a heap allocation. A
// tensor has at most kMaxDims dimensions (PyTorch keeps five
// inline in a SmallVector for the same reason). The interface is the part
// of std::vector that shape code uses, so shapes read like vectors.
#pragma once

#include <algorithm>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <stdexcept>
#include <vector>

namespace adx {

class Shape {
 public:
  static constexpr size_t kMaxDims = 8;
  using value_type = int64_t;
  using size_type = size_t;
  using iterator = int64_t*;
  using const_iterator = const int64_t*;

  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) { assign(dims.begin(), dims.end()); }
  explicit Shape(size_t count, int64_t value = 0) { resize(count, value); }
  template <class It>
    requires(!std::is_integral_v<It>)
  Shape(It first, It last) { assign(first, last); }
  // From a std::vector (dims computed with vector code, or read from a file).
  Shape(const std::vector<int64_t>& dims) { assign(dims.begin(), dims.end()); }  // NOLINT

  template <class It>
  void assign(It first, It last) {
    size_ = 0;
    for (; first != last; ++first) push_back(static_cast<int64_t>(*first));
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  int64_t* data() { return dims_; }
  const int64_t* data() const { return dims_; }
  int64_t& operator[](size_t i) { return dims_[i]; }
  int64_t operator[](size_t i) const { return dims_[i]; }
  int64_t at(size_t i) const {
    if (i >= size_) throw std::out_of_range("Shape::at: index past the last dimension");
    return dims_[i];
  }
  int64_t& front() { return dims_[0]; }
  int64_t front() const { return dims_[0]; }
  int64_t& back() { return dims_[size_ - 1]; }
  int64_t back() const { return dims_[size_ - 1]; }

  iterator begin() { return dims_; }
  iterator end() { return dims_ + size_; }
  const_iterator begin() const { return dims_; }
  const_iterator end() const { return dims_ + size_; }
  const_iterator cbegin() const { return dims_; }
  const_iterator cend() const { return dims_ + size_; }
  auto rbegin() const { return std::reverse_iterator<const_iterator>(end()); }
  auto rend() const { return std::reverse_iterator<const_iterator>(begin()); }

  void push_back(int64_t d) {
    if (size_ == kMaxDims) throw_too_many();
    dims_[size_++] = d;
  }
  void pop_back() { --size_; }
  void clear() { size_ = 0; }
  void reserve(size_t) {}  // inline storage: nothing to reserve
  void resize(size_t count, int64_t value = 0) {
    if (count > kMaxDims) throw_too_many();
    for (size_t i = size_; i < count; ++i) dims_[i] = value;
    size_ = count;
  }
  iterator insert(const_iterator pos, int64_t d) {
    const size_t at = static_cast<size_t>(pos - dims_);
    push_back(d);
    std::rotate(dims_ + at, dims_ + size_ - 1, dims_ + size_);
    return dims_ + at;
  }
  template <class It>
    requires(!std::is_integral_v<It>)
  iterator insert(const_iterator pos, It first, It last) {
    const size_t at = static_cast<size_t>(pos - dims_), old = size_;
    for (; first != last; ++first) push_back(static_cast<int64_t>(*first));
    std::rotate(dims_ + at, dims_ + old, dims_ + size_);
    return dims_ + at;
  }
  iterator erase(const_iterator pos) { return erase(pos, pos + 1); }
  iterator erase(const_iterator first, const_iterator last) {
    const auto at = static_cast<size_t>(first - dims_), n = static_cast<size_t>(last - first);
    std::copy(dims_ + at + n, dims_ + size_, dims_ + at);
    size_ -= n;
    return dims_ + at;
  }

  std::vector<int64_t> vec() const { return {begin(), end()}; }

  friend bool operator==(const Shape& a, const Shape& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }
  friend auto operator<=>(const Shape& a, const Shape& b) {
    return std::lexicographical_compare_three_way(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  [[noreturn]] static void throw_too_many();

  int64_t dims_[kMaxDims] = {};
  size_t size_ = 0;
};

}  // namespace adx
