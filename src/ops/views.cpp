// View ops (shared storage, new shape/strides) and copies. Each backward undoes the view on the
// gradient: reshape back, transpose back, inverse permutation, sum over expanded dims, and for a
// slice, the gradient placed into zeros of the input's shape.
#include <numeric>

#include <nabla/autograd/grad_mode.h>
#include <nabla/ops/arithmetic.h>
#include <nabla/ops/reduction.h>
#include <nabla/ops/shape.h>

#include "autograd/record.h"
#include "kernels/loops.h"

namespace nabla {
using detail::BackwardContext;
using detail::record;
using Grads = std::vector<Tensor>;

namespace {
// Resolves one -1 in a requested shape and checks the element count.
Shape infer_shape(const Shape& requested, std::int64_t numel, const Shape& from, const char* op) {
  Shape shape = requested;
  std::int64_t known = 1, infer = -1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) throw Error(fmt::format("{}: only one dimension can be -1, got {}", op, shape_to_string(requested)));
      infer = static_cast<std::int64_t>(i);
    } else if (shape[i] < 0) {
      throw Error(fmt::format("{}: invalid size {} in {}", op, shape[i], shape_to_string(requested)));
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || numel % known != 0)
      throw Error(fmt::format("{}: shape {} is invalid for input of shape {} ({} elements)", op,
                              shape_to_string(requested), shape_to_string(from), numel));
    shape[infer] = numel / known;
  } else if (known != numel) {
    throw Error(fmt::format("{}: shape {} is invalid for input of shape {} ({} elements)", op, shape_to_string(requested),
                            shape_to_string(from), numel));
  }
  return shape;
}

// Strides that view a tensor of (shape, strides) as new_shape without copying, if any exist
// (dims are merged or split only where the old strides are regular). Empty result: impossible.
bool view_strides(const Shape& shape, const Shape& strides, const Shape& new_shape, Shape& out) {
  out.assign(new_shape.size(), 0);
  std::int64_t numel = 1;
  for (auto s : shape) numel *= s;
  if (numel == 0 || shape.empty()) {
    out = detail::contiguous_strides(new_shape);
    return true;
  }
  // Walk chunks of old dims that are contiguous with each other.
  std::int64_t view_d = static_cast<std::int64_t>(new_shape.size()) - 1;
  std::int64_t chunk_base_stride = strides.back();
  std::int64_t tensor_numel = 1, view_numel = 1;
  for (std::int64_t d = static_cast<std::int64_t>(shape.size()) - 1; d >= 0; --d) {
    tensor_numel *= shape[d];
    if (d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= new_shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return false;
      if (d > 0) {
        chunk_base_stride = strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}

using detail::check_defined;

Tensor view_impl(const Tensor& x, const Shape& shape, const char* op, bool copy_if_needed) {
  check_defined(x, op);
  const Shape target = infer_shape(shape, x.numel(), x.shape(), op);
  Shape strides;
  Tensor out;
  if (view_strides(x.shape(), x.strides(), target, strides)) {
    out = detail::make_view(x, target, strides, x.storage_offset());
  } else if (copy_if_needed) {
    out = detail::dense(x);
    out = detail::make_view(out, target, detail::contiguous_strides(target), out.storage_offset());
  } else {
    throw Error(fmt::format("view: shape {} is not compatible with the input's shape {} and strides {}; use "
                            "reshape(), which copies when needed",
                            shape_to_string(shape), x.shape_string(), shape_to_string(x.strides())));
  }
  return record(op, out, {x}, {}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    return {g.reshape(c.input_shape(0))};
  });
}

// Gradient of a slice: g placed into zeros of the input's shape. Its own backward slices again.
Tensor slice_backward(const Tensor& g, const Shape& input_shape, std::int64_t dim, std::int64_t start,
                      std::int64_t end, std::int64_t step) {
  Tensor out = zeros(input_shape, g.dtype());
  {
    NoGradGuard no_grad;
    detail::copy_into(out.slice(dim, start, end, step), g);
  }
  return record("slice_backward", out, {g}, {}, [dim, start, end, step](const BackwardContext&, const Tensor& gg) -> Grads {
    return {gg.slice(dim, start, end, step)};
  });
}
}  // namespace

Tensor Tensor::reshape(const Shape& shape) const { return view_impl(*this, shape, "reshape", true); }
Tensor Tensor::view(const Shape& shape) const { return view_impl(*this, shape, "view", false); }
Tensor reshape(const Tensor& t, const Shape& shape) { return t.reshape(shape); }

Tensor Tensor::transpose(std::int64_t dim0, std::int64_t dim1) const {
  check_defined(*this, "transpose");
  const auto n = dim();
  const auto d0 = detail::wrap_dim(dim0, n, "transpose"), d1 = detail::wrap_dim(dim1, n, "transpose");
  Shape shape = this->shape(), strides = this->strides();
  if (n > 0) {
    std::swap(shape[d0], shape[d1]);
    std::swap(strides[d0], strides[d1]);
  }
  Tensor out = detail::make_view(*this, shape, strides, storage_offset());
  return record("transpose", out, {*this}, {}, [d0, d1](const BackwardContext&, const Tensor& g) -> Grads {
    return {g.transpose(d0, d1)};
  });
}
Tensor transpose(const Tensor& t, std::int64_t dim0, std::int64_t dim1) { return t.transpose(dim0, dim1); }

Tensor Tensor::t() const {
  check_defined(*this, "t");
  if (dim() != 2) throw Error(fmt::format("t: expected a 2-D tensor, got shape {}; use transpose(d0, d1)", shape_string()));
  return transpose(0, 1);
}

Tensor Tensor::permute(const Shape& dims) const {
  check_defined(*this, "permute");
  const auto n = dim();
  if (static_cast<std::int64_t>(dims.size()) != n)
    throw Error(fmt::format("permute: got {} dims {} for a tensor of {} dimensions", dims.size(), shape_to_string(dims), n));
  Shape shape(n), strides(n), inverse(n, -1);
  for (std::int64_t i = 0; i < n; ++i) {
    const auto d = detail::wrap_dim(dims[i], n, "permute");
    if (inverse[d] != -1) throw Error(fmt::format("permute: dim {} appears twice in {}", d, shape_to_string(dims)));
    inverse[d] = i;
    shape[i] = this->shape()[d];
    strides[i] = this->strides()[d];
  }
  Tensor out = detail::make_view(*this, shape, strides, storage_offset());
  return record("permute", out, {*this}, {}, [inverse](const BackwardContext&, const Tensor& g) -> Grads {
    return {g.permute(inverse)};
  });
}
Tensor permute(const Tensor& t, const Shape& dims) { return t.permute(dims); }

Tensor Tensor::slice(std::int64_t dim_in, std::int64_t start, std::int64_t end, std::int64_t step) const {
  check_defined(*this, "slice");
  if (dim() == 0) throw Error("slice: cannot slice a 0-dimensional tensor");
  const auto d = detail::wrap_dim(dim_in, dim(), "slice");
  if (step <= 0) throw Error(fmt::format("slice: step must be positive, got {}", step));
  const std::int64_t size = shape()[d];
  // Python-style bounds: negative counts from the end, out-of-range is clipped.
  auto clip = [size](std::int64_t i) { return std::clamp(i < 0 ? i + size : i, std::int64_t{0}, size); };
  start = clip(start);
  end = std::max(clip(end), start);
  Shape shape = this->shape(), strides = this->strides();
  shape[d] = (end - start + step - 1) / step;
  strides[d] *= step;
  Tensor out = detail::make_view(*this, shape, strides, storage_offset() + start * this->strides()[d]);
  return record("slice", out, {*this}, {}, [d, start, end, step](const BackwardContext& c, const Tensor& g) -> Grads {
    return {slice_backward(g, c.input_shape(0), d, start, end, step)};
  });
}

Tensor Tensor::narrow(std::int64_t dim_in, std::int64_t start, std::int64_t length) const {
  check_defined(*this, "narrow");
  const auto d = detail::wrap_dim(dim_in, dim(), "narrow");
  const std::int64_t size = shape()[d];
  if (start < 0) start += size;
  if (start < 0 || length < 0 || start + length > size)
    throw Error(fmt::format("narrow: start {} and length {} do not fit dim {} of size {}", start, length, dim_in, size));
  return slice(d, start, start + length);
}

Tensor Tensor::select(std::int64_t dim_in, std::int64_t index) const {
  check_defined(*this, "select");
  const auto d = detail::wrap_dim(dim_in, dim(), "select");
  if (dim() == 0) throw Error("select: cannot index a 0-dimensional tensor");
  const std::int64_t size = shape()[d];
  if (index < -size || index >= size)
    throw Error(fmt::format("select: index {} is out of range for dim {} of size {}", index, dim_in, size));
  if (index < 0) index += size;
  return slice(d, index, index + 1).squeeze(d);
}

Tensor Tensor::operator[](std::int64_t index) const { return select(0, index); }

Tensor Tensor::expand(const Shape& shape_in) const {
  check_defined(*this, "expand");
  const auto n = static_cast<std::int64_t>(shape_in.size());
  if (n < dim())
    throw Error(fmt::format("expand: target {} has fewer dimensions than the tensor's shape {}", shape_to_string(shape_in), shape_string()));
  Shape shape(n), strides(n, 0);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t j = i - (n - dim());
    const std::int64_t have = j >= 0 ? this->shape()[j] : 1;
    const std::int64_t want = shape_in[i] == -1 ? have : shape_in[i];
    if (j < 0 && shape_in[i] == -1)
      throw Error(fmt::format("expand: -1 is not allowed for the new leading dim {} of {}", i, shape_to_string(shape_in)));
    if (have != want && have != 1)
      throw Error(fmt::format("expand: shape {} cannot be expanded to {} (dim {}: {} vs {})", shape_string(),
                              shape_to_string(shape_in), i, have, want));
    shape[i] = want;
    strides[i] = (j >= 0 && have == want) ? this->strides()[j] : 0;
  }
  if (shape == this->shape()) return *this;
  Tensor out = detail::make_view(*this, shape, strides, storage_offset());
  return record("expand", out, {*this}, {}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    return {sum_to(g, c.input_shape(0))};
  });
}

Tensor Tensor::unsqueeze(std::int64_t dim_in) const {
  check_defined(*this, "unsqueeze");
  const auto d = detail::wrap_dim(dim_in, dim() + 1, "unsqueeze");
  Shape shape = this->shape(), strides = this->strides();
  const std::int64_t stride = d < dim() ? shape[d] * strides[d] : 1;
  shape.insert(shape.begin() + d, 1);
  strides.insert(strides.begin() + d, stride);
  Tensor out = detail::make_view(*this, shape, strides, storage_offset());
  return record("unsqueeze", out, {*this}, {}, [d](const BackwardContext&, const Tensor& g) -> Grads {
    return {g.squeeze(d)};
  });
}

Tensor Tensor::squeeze(std::int64_t dim_in) const {
  check_defined(*this, "squeeze");
  if (dim() == 0) return *this;
  const auto d = detail::wrap_dim(dim_in, dim(), "squeeze");
  if (shape()[d] != 1)
    throw Error(fmt::format("squeeze: dim {} of shape {} has size {}, not 1", dim_in, shape_string(), shape()[d]));
  Shape shape = this->shape(), strides = this->strides();
  shape.erase(shape.begin() + d);
  strides.erase(strides.begin() + d);
  Tensor out = detail::make_view(*this, shape, strides, storage_offset());
  return record("squeeze", out, {*this}, {}, [d](const BackwardContext&, const Tensor& g) -> Grads {
    return {g.unsqueeze(d)};
  });
}

Tensor Tensor::flatten(std::int64_t start_dim, std::int64_t end_dim) const {
  check_defined(*this, "flatten");
  if (dim() == 0) return reshape({1});
  const auto s = detail::wrap_dim(start_dim, dim(), "flatten"), e = detail::wrap_dim(end_dim, dim(), "flatten");
  if (s > e) throw Error(fmt::format("flatten: start_dim {} comes after end_dim {}", start_dim, end_dim));
  Shape shape(this->shape().begin(), this->shape().begin() + s);
  std::int64_t merged = 1;
  for (auto d = s; d <= e; ++d) merged *= this->shape()[d];
  shape.push_back(merged);
  shape.insert(shape.end(), this->shape().begin() + e + 1, this->shape().end());
  return reshape(shape);
}

Tensor Tensor::clone() const {
  check_defined(*this, "clone");
  Tensor out = detail::make_empty(shape(), dtype());
  detail::copy_into(out, *this);
  return record("clone", out, {*this}, {}, [](const BackwardContext&, const Tensor& g) -> Grads { return {g}; });
}

Tensor Tensor::contiguous() const {
  check_defined(*this, "contiguous");
  return is_contiguous() ? *this : clone();
}

Tensor Tensor::to(DType target) const {
  check_defined(*this, "to");
  if (dtype() == target) return *this;
  if (requires_grad() && !is_floating(target))
    throw Error(fmt::format("to: converting a tensor that requires grad to {} would cut the graph; detach() it first",
                            dtype_name(target)));
  Tensor out = detail::make_empty(shape(), target);
  detail::copy_into(out, *this);
  const DType source = dtype();
  return record("to", out, {*this}, {}, [source](const BackwardContext&, const Tensor& g) -> Grads {
    return {g.to(source)};
  });
}

}  // namespace nabla
