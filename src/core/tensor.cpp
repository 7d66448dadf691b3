// Tensor metadata, storage, creation and read-out. Nothing here knows about gradients.
#include <nabla/core/tensor.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <ostream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/parallel.h"
#include "core/tensor_impl.h"
#include <nabla/core/allocator.h>
#include <nabla/core/generator.h>

namespace nabla {
namespace detail {

Storage::Storage(std::size_t bytes) : nbytes(bytes) {
  try {
    data = cached_alloc(bytes);
  } catch (const std::bad_alloc&) {
    throw Error(fmt::format("tensor: cannot allocate {} bytes", bytes));
  }
}

Storage::~Storage() { cached_free(data, nbytes); }

std::shared_ptr<TensorImpl> make_impl() { return std::allocate_shared<TensorImpl>(CachingAllocator<TensorImpl>()); }

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  std::int64_t s = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= std::max<std::int64_t>(shape[i], 1);
  }
  return strides;
}

std::int64_t checked_numel(const Shape& shape, const char* op) {
  // The product of the non-zero sizes bounds the strides too (contiguous_strides skips zeros), so it
  // must fit even when a zero size makes the tensor empty: [0, 2^40, 2^40] would overflow the strides.
  std::int64_t n = 1, nonzero = 1;
  for (auto s : shape) {
    if (s < 0) throw Error(fmt::format("{}: sizes must be non-negative, got {}", op, shape_to_string(shape)));
    if (s != 0 && nonzero > std::numeric_limits<std::int64_t>::max() / 8 / s)
      throw Error(fmt::format("{}: shape {} has too many elements", op, shape_to_string(shape)));
    n *= s;
    nonzero *= std::max<std::int64_t>(s, 1);
  }
  return n;
}

Tensor make_empty(const Shape& shape, DType dtype) {
  auto impl = make_impl();
  impl->numel = checked_numel(shape, "tensor");
  impl->storage = std::allocate_shared<Storage>(CachingAllocator<Storage>(),
                                                static_cast<std::size_t>(impl->numel) * element_size(dtype));
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor make_view(const Tensor& base, Shape shape, Shape strides, std::int64_t offset) {
  auto impl = make_impl();
  impl->storage = base.impl()->storage;
  impl->numel = checked_numel(shape, "view");
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

std::int64_t wrap_dim(std::int64_t dim, std::int64_t ndim, const char* op) {
  const std::int64_t lo = ndim == 0 ? -1 : -ndim, hi = ndim == 0 ? 0 : ndim - 1;
  if (dim < lo || dim > hi)
    throw Error(fmt::format("{}: dim {} is out of range for a tensor of {} dimensions (valid: {}..{})", op, dim,
                            ndim, lo, hi));
  return dim < 0 ? dim + std::max<std::int64_t>(ndim, 1) : dim;
}

}  // namespace detail

using detail::TensorImpl;

namespace {
const TensorImpl& checked(const std::shared_ptr<TensorImpl>& impl) {
  if (!impl) throw Error("tensor: this tensor is undefined (default-constructed or a missing gradient)");
  return *impl;
}
}  // namespace

Tensor::Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

const Shape& Tensor::shape() const { return checked(impl_).shape; }
const Shape& Tensor::strides() const { return checked(impl_).strides; }
std::int64_t Tensor::dim() const { return static_cast<std::int64_t>(checked(impl_).shape.size()); }
std::int64_t Tensor::numel() const { return checked(impl_).numel; }
DType Tensor::dtype() const { return checked(impl_).dtype; }
std::int64_t Tensor::storage_offset() const { return checked(impl_).offset; }
std::int64_t Tensor::size(std::int64_t d) const { return shape()[detail::wrap_dim(d, dim(), "size")]; }
bool Tensor::is_alias_of(const Tensor& other) const {
  return defined() && other.defined() && impl_->storage == other.impl_->storage;
}
std::uint64_t Tensor::version() const { return checked(impl_).storage->version.load(); }
void Tensor::bump_version() const { checked(impl_).storage->version.fetch_add(1); }
std::string Tensor::shape_string() const { return shape_to_string(shape()); }

bool Tensor::is_contiguous() const {
  const auto& impl = checked(impl_);
  std::int64_t expected = 1;
  for (std::size_t i = impl.shape.size(); i-- > 0;) {
    if (impl.shape[i] == 1) continue;
    if (impl.strides[i] != expected) return false;
    expected *= impl.shape[i];
  }
  return true;
}

void* Tensor::typed_data(DType expected) const {
  const auto& impl = checked(impl_);
  if (impl.dtype != expected)
    throw Error(fmt::format("data_ptr: tensor has dtype {}, but {} was requested", dtype_name(impl.dtype),
                            dtype_name(expected)));
  return impl.data();
}

void* Tensor::raw_data() const { return checked(impl_).data(); }

namespace {
// Calls fn(storage index) for every element in row-major order of a strided tensor.
template <class F>
void for_each_index(const TensorImpl& t, F&& fn) {
  const auto nd = t.shape.size();
  if (t.numel == 0) return;
  std::vector<std::int64_t> idx(nd, 0);
  std::int64_t pos = 0;
  for (std::int64_t i = 0; i < t.numel; ++i) {
    fn(pos);
    for (std::size_t d = nd; d-- > 0;) {
      if (++idx[d] < t.shape[d]) {
        pos += t.strides[d];
        break;
      }
      pos -= t.strides[d] * (t.shape[d] - 1);
      idx[d] = 0;
    }
  }
}

template <class T>
T element_as(const TensorImpl& t, std::int64_t pos) {
  const char* base = static_cast<const char*>(t.data());
  switch (t.dtype) {
    case DType::Float32: return static_cast<T>(reinterpret_cast<const float*>(base)[pos]);
    case DType::Float64: return static_cast<T>(reinterpret_cast<const double*>(base)[pos]);
    case DType::Int64: return static_cast<T>(reinterpret_cast<const std::int64_t*>(base)[pos]);
  }
  return T{};
}
}  // namespace

template <class T>
T Tensor::item() const {
  const auto& impl = checked(impl_);
  if (impl.numel != 1)
    throw Error(fmt::format("item: tensor of shape {} has {} elements; item() needs exactly one",
                            shape_to_string(impl.shape), impl.numel));
  return element_as<T>(impl, 0);
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  const auto& impl = checked(impl_);
  std::vector<T> out;
  out.reserve(static_cast<std::size_t>(impl.numel));
  for_each_index(impl, [&](std::int64_t pos) { out.push_back(element_as<T>(impl, pos)); });
  return out;
}

template float Tensor::item<float>() const;
template double Tensor::item<double>() const;
template std::int64_t Tensor::item<std::int64_t>() const;
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<std::int64_t> Tensor::to_vector<std::int64_t>() const;

std::string shape_to_string(const Shape& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

// ---- printing ----
namespace {
void print_values(std::ostream& os, const std::vector<double>& v, const Shape& shape, std::size_t d,
                  std::int64_t& pos, bool integral, int indent) {
  if (shape.empty()) {
    os << v[0];
    return;
  }
  os << '[';
  const std::int64_t n = shape[d];
  std::int64_t block = 1;
  for (std::size_t k = d + 1; k < shape.size(); ++k) block *= shape[k];
  const bool elide = n > 6;
  for (std::int64_t i = 0; i < n; ++i) {
    if (elide && i == 3) {
      os << (d + 1 == shape.size() ? "..., " : "...,\n" + std::string(indent + 1, ' '));
      pos += block * (n - 6);
      i = n - 3;
    }
    if (d + 1 == shape.size()) {
      if (integral) os << static_cast<long long>(v[pos]);
      else os << fmt::format("{:.4f}", v[pos]);
      ++pos;
    } else {
      print_values(os, v, shape, d + 1, pos, integral, indent + 1);
    }
    if (i + 1 < n) os << (d + 1 == shape.size() ? ", " : ",\n" + std::string(indent + 1, ' '));
  }
  os << ']';
}
}  // namespace

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "tensor(undefined)";
  const auto values = t.to_vector<double>();
  os << "tensor(";
  if (t.numel() == 0) {
    os << "[]";
  } else {
    std::int64_t pos = 0;
    std::ostringstream body;
    print_values(body, values, t.shape(), 0, pos, t.dtype() == kInt64, 7);
    os << body.str();
  }
  os << ", shape=" << t.shape_string() << ", dtype=" << dtype_name(t.dtype());
  if (t.requires_grad()) os << ", requires_grad=true";
  return os << ')';
}

// ---- creation ----
namespace {
template <class T>
void fill_typed(const Tensor& t, T value) {
  T* p = t.data_ptr<T>();
  detail::parallel_for(t.numel(), detail::kParallelGrain, [&](std::int64_t b, std::int64_t e) {
    std::fill(p + b, p + e, value);
  });
}

void fill_contiguous(const Tensor& t, double value) {
  switch (t.dtype()) {
    case DType::Float32: fill_typed<float>(t, static_cast<float>(value)); break;
    case DType::Float64: fill_typed<double>(t, value); break;
    case DType::Int64: fill_typed<std::int64_t>(t, static_cast<std::int64_t>(value)); break;
  }
}

template <class Src>
Tensor from_values(const std::vector<Src>& values, const Shape& shape_in, DType dtype) {
  const Shape shape = shape_in.empty() && values.size() != 1 ? Shape{static_cast<std::int64_t>(values.size())} : shape_in;
  const auto n = detail::checked_numel(shape, "tensor");
  if (n != static_cast<std::int64_t>(values.size()))
    throw Error(fmt::format("tensor: {} values cannot fill shape {} ({} elements)", values.size(),
                            shape_to_string(shape), n));
  Tensor t = detail::make_empty(shape, dtype);
  for (std::int64_t i = 0; i < n; ++i) {
    switch (dtype) {
      case DType::Float32: t.data_ptr<float>()[i] = static_cast<float>(values[i]); break;
      case DType::Float64: t.data_ptr<double>()[i] = static_cast<double>(values[i]); break;
      case DType::Int64: t.data_ptr<std::int64_t>()[i] = static_cast<std::int64_t>(values[i]); break;
    }
  }
  return t;
}
}  // namespace

Tensor tensor(const std::vector<double>& values, const Shape& shape, DType dtype) {
  return from_values(values, shape, dtype);
}
Tensor tensor(const std::vector<float>& values, const Shape& shape, DType dtype) {
  return from_values(values, shape, dtype);
}
Tensor tensor(const std::vector<std::int64_t>& values, const Shape& shape, DType dtype) {
  return from_values(values, shape, dtype);
}
Tensor tensor(std::initializer_list<double> values, DType dtype) {
  return from_values(std::vector<double>(values), {static_cast<std::int64_t>(values.size())}, dtype);
}

Tensor empty(const Shape& shape, DType dtype) { return detail::make_empty(shape, dtype); }
Tensor full(const Shape& shape, double value, DType dtype) {
  Tensor t = detail::make_empty(shape, dtype);
  fill_contiguous(t, value);
  return t;
}
Tensor zeros(const Shape& shape, DType dtype) { return full(shape, 0.0, dtype); }
Tensor ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype()); }
Tensor full_like(const Tensor& t, double value) { return full(t.shape(), value, t.dtype()); }

Tensor arange(double end, DType dtype) { return arange(0.0, end, 1.0, dtype); }
Tensor arange(double start, double end, double step, DType dtype) {
  if (step == 0 || !std::isfinite(start) || !std::isfinite(end) || !std::isfinite(step) ||
      (end - start) / step < 0)
    throw Error(fmt::format("arange: cannot go from {} to {} in steps of {}", start, end, step));
  const auto n = static_cast<std::int64_t>(std::ceil((end - start) / step));
  Tensor t = detail::make_empty({n}, dtype);
  for (std::int64_t i = 0; i < n; ++i) {
    const double v = start + static_cast<double>(i) * step;
    switch (dtype) {
      case DType::Float32: t.data_ptr<float>()[i] = static_cast<float>(v); break;
      case DType::Float64: t.data_ptr<double>()[i] = v; break;
      case DType::Int64: t.data_ptr<std::int64_t>()[i] = static_cast<std::int64_t>(v); break;
    }
  }
  return t;
}

namespace {
std::mutex& generator_mutex() {
  static std::mutex m;
  return m;
}

template <class Dist>
Tensor sample(const Shape& shape, DType dtype, Dist dist, const char* op) {
  if (!is_floating(dtype)) throw Error(fmt::format("{}: dtype must be float32 or float64, got int64", op));
  Tensor t = detail::make_empty(shape, dtype);
  std::lock_guard<std::mutex> lock(generator_mutex());
  auto& gen = detail::default_generator();
  const auto n = t.numel();
  if (dtype == kFloat32) {
    float* p = t.data_ptr<float>();
    for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(dist(gen));
  } else {
    double* p = t.data_ptr<double>();
    for (std::int64_t i = 0; i < n; ++i) p[i] = dist(gen);
  }
  return t;
}
}  // namespace

namespace detail {
std::mt19937_64& default_generator() {
  static std::mt19937_64 gen(5489u);
  return gen;
}
}  // namespace detail

void manual_seed(std::uint64_t seed) {
  std::lock_guard<std::mutex> lock(generator_mutex());
  detail::default_generator().seed(seed);
}

std::string get_rng_state() {
  std::lock_guard<std::mutex> lock(generator_mutex());
  std::ostringstream os;
  os << detail::default_generator();
  return os.str();
}

void set_rng_state(const std::string& state) {
  std::istringstream is(state);
  std::mt19937_64 restored;
  is >> restored;
  if (is.fail()) throw Error("set_rng_state: the text is not a generator state written by get_rng_state()");
  std::lock_guard<std::mutex> lock(generator_mutex());
  detail::default_generator() = restored;
}

Tensor rand(const Shape& shape, DType dtype) {
  return sample(shape, dtype, std::uniform_real_distribution<double>(0.0, 1.0), "rand");
}
Tensor randn(const Shape& shape, DType dtype) {
  return sample(shape, dtype, std::normal_distribution<double>(0.0, 1.0), "randn");
}
Tensor uniform(const Shape& shape, double low, double high, DType dtype) {
  if (!(low <= high) || !std::isfinite(low) || !std::isfinite(high))
    throw Error(fmt::format("uniform: need finite low <= high, got low={} high={}", low, high));
  return sample(shape, dtype, std::uniform_real_distribution<double>(low, high), "uniform");
}
Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape) {
  if (low >= high) throw Error(fmt::format("randint: need low < high, got low={} high={}", low, high));
  Tensor t = detail::make_empty(shape, kInt64);
  std::lock_guard<std::mutex> lock(generator_mutex());
  std::uniform_int_distribution<std::int64_t> dist(low, high - 1);
  auto* p = t.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = dist(detail::default_generator());
  return t;
}
Tensor randperm(std::int64_t n) {
  if (n < 0) throw Error(fmt::format("randperm: n must be non-negative, got {}", n));
  Tensor t = arange(0.0, static_cast<double>(n), 1.0, kInt64);
  auto* p = t.data_ptr<std::int64_t>();
  std::lock_guard<std::mutex> lock(generator_mutex());
  auto& gen = detail::default_generator();
  for (std::int64_t i = n - 1; i > 0; --i) {  // Fisher-Yates with the seeded generator
    std::uniform_int_distribution<std::int64_t> pick(0, i);
    std::swap(p[i], p[pick(gen)]);
  }
  return t;
}
Tensor eye(std::int64_t n, DType dtype) {
  Tensor t = zeros({n, n}, dtype);
  for (std::int64_t i = 0; i < n; ++i) {
    if (dtype == kFloat32) t.data_ptr<float>()[i * n + i] = 1;
    else if (dtype == kFloat64) t.data_ptr<double>()[i * n + i] = 1;
    else t.data_ptr<std::int64_t>()[i * n + i] = 1;
  }
  return t;
}

}  // namespace nabla
