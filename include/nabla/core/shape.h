#pragma once
/// nabla::Shape: the sizes (or strides) of a tensor, stored inline up to kInline dimensions.
#include <algorithm>
#include <compare>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <vector>

namespace nabla {

/// A vector of int64 that keeps up to kInline elements inside the object, so that creating a tensor
/// (shape, strides, the shapes a graph node keeps) allocates nothing for shapes of typical rank.
/// It offers the std::vector operations nabla uses and converts to and from std::vector<int64_t>.
class Shape {
 public:
  static constexpr std::size_t kInline = 6;
  using value_type = std::int64_t;
  using size_type = std::size_t;
  using difference_type = std::ptrdiff_t;
  using reference = std::int64_t&;
  using const_reference = const std::int64_t&;
  using pointer = std::int64_t*;
  using const_pointer = const std::int64_t*;
  using iterator = std::int64_t*;
  using const_iterator = const std::int64_t*;
  using reverse_iterator = std::reverse_iterator<iterator>;
  using const_reverse_iterator = std::reverse_iterator<const_iterator>;

  Shape() noexcept = default;
  explicit Shape(size_type n, std::int64_t value = 0) { resize(n, value); }
  Shape(std::initializer_list<std::int64_t> values) { assign(values.begin(), values.end()); }
  template <std::input_iterator It>
  Shape(It first, It last) {
    assign(first, last);
  }
  /// Implicit, so sizes held in a std::vector can be passed where a Shape is expected.
  Shape(const std::vector<std::int64_t>& values) { assign(values.begin(), values.end()); }
  Shape(const Shape& other) { assign(other.begin(), other.end()); }
  Shape(Shape&& other) noexcept { take(other); }
  Shape& operator=(const Shape& other) {
    if (this != &other) assign(other.begin(), other.end());
    return *this;
  }
  Shape& operator=(Shape&& other) noexcept {
    if (this != &other) {
      release();
      take(other);
    }
    return *this;
  }
  Shape& operator=(std::initializer_list<std::int64_t> values) {
    assign(values.begin(), values.end());
    return *this;
  }
  ~Shape() { release(); }

  operator std::vector<std::int64_t>() const { return {begin(), end()}; }

  template <std::input_iterator It>
  void assign(It first, It last) {
    clear();
    for (; first != last; ++first) push_back(static_cast<std::int64_t>(*first));
  }

  void assign(size_type n, std::int64_t value) {
    clear();
    resize(n, value);
  }

  size_type size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  size_type capacity() const noexcept { return capacity_; }
  std::int64_t* data() noexcept { return data_; }
  const std::int64_t* data() const noexcept { return data_; }

  iterator begin() noexcept { return data_; }
  iterator end() noexcept { return data_ + size_; }
  const_iterator begin() const noexcept { return data_; }
  const_iterator end() const noexcept { return data_ + size_; }
  const_iterator cbegin() const noexcept { return data_; }
  const_iterator cend() const noexcept { return data_ + size_; }
  reverse_iterator rbegin() noexcept { return reverse_iterator(end()); }
  reverse_iterator rend() noexcept { return reverse_iterator(begin()); }
  const_reverse_iterator rbegin() const noexcept { return const_reverse_iterator(end()); }
  const_reverse_iterator rend() const noexcept { return const_reverse_iterator(begin()); }

  std::int64_t& operator[](size_type i) noexcept { return data_[i]; }
  const std::int64_t& operator[](size_type i) const noexcept { return data_[i]; }
  std::int64_t& front() noexcept { return data_[0]; }
  const std::int64_t& front() const noexcept { return data_[0]; }
  std::int64_t& back() noexcept { return data_[size_ - 1]; }
  const std::int64_t& back() const noexcept { return data_[size_ - 1]; }

  void reserve(size_type n) {
    if (n <= capacity_) return;
    auto* grown = new std::int64_t[n];
    std::copy(begin(), end(), grown);
    const size_type n_old = size_;
    release();
    data_ = grown;
    capacity_ = n;
    size_ = n_old;
  }
  void clear() noexcept { size_ = 0; }
  void push_back(std::int64_t value) {
    if (size_ == capacity_) reserve(2 * capacity_);
    data_[size_++] = value;
  }
  void emplace_back(std::int64_t value) { push_back(value); }
  void pop_back() noexcept { --size_; }
  void resize(size_type n, std::int64_t value = 0) {
    reserve(n);
    if (n > size_) std::fill(data_ + size_, data_ + n, value);
    size_ = n;
  }
  iterator insert(const_iterator pos, std::int64_t value) {
    const auto at = pos - data_;
    push_back(value);
    std::rotate(data_ + at, data_ + size_ - 1, data_ + size_);
    return data_ + at;
  }
  template <std::input_iterator It>
  iterator insert(const_iterator pos, It first, It last) {
    const auto at = pos - data_;
    const auto old = static_cast<difference_type>(size_);
    for (; first != last; ++first) push_back(static_cast<std::int64_t>(*first));
    std::rotate(data_ + at, data_ + old, data_ + size_);
    return data_ + at;
  }
  iterator insert(const_iterator pos, std::initializer_list<std::int64_t> values) {
    return insert(pos, values.begin(), values.end());
  }
  iterator erase(const_iterator pos) { return erase(pos, pos + 1); }
  iterator erase(const_iterator first, const_iterator last) {
    auto* f = data_ + (first - data_);
    auto* l = data_ + (last - data_);
    std::copy(l, end(), f);
    size_ -= static_cast<size_type>(l - f);
    return f;
  }

  friend bool operator==(const Shape& a, const Shape& b) noexcept {
    if (a.size_ != b.size_) return false;
    for (size_type i = 0; i < a.size_; ++i)  // a plain loop: std::equal calls memcmp for a few dims
      if (a.data_[i] != b.data_[i]) return false;
    return true;
  }
  friend std::strong_ordering operator<=>(const Shape& a, const Shape& b) noexcept {
    return std::lexicographical_compare_three_way(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  bool on_heap() const noexcept { return data_ != inline_; }
  void release() noexcept {
    if (on_heap()) delete[] data_;
    data_ = inline_;
    capacity_ = kInline;
    size_ = 0;
  }
  // Moves other's elements here (this must be empty and inline) and leaves other empty.
  void take(Shape& other) noexcept {
    if (other.on_heap()) {
      data_ = other.data_;
      capacity_ = other.capacity_;
      other.data_ = other.inline_;
      other.capacity_ = kInline;
    } else {
      std::copy(other.begin(), other.end(), inline_);
    }
    size_ = other.size_;
    other.size_ = 0;
  }

  std::int64_t* data_ = inline_;
  size_type size_ = 0;
  size_type capacity_ = kInline;
  std::int64_t inline_[kInline];
};

}  // namespace nabla
