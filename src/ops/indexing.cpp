// Joining and indexing: cat, stack, index_select, gather, scatter_add, one_hot.
// gather and scatter_add are each other's backward; index_select's backward adds rows back.
#include <cstring>

#include <nabla/autograd/grad_mode.h>
#include <nabla/ops/arithmetic.h>
#include <nabla/ops/shape.h>

#include "autograd/record.h"
#include "kernels/loops.h"

namespace nabla {
using detail::BackwardContext;
using detail::record;
using Grads = std::vector<Tensor>;

Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim) {
  if (tensors.empty()) throw Error("cat: expected at least one tensor, got none");
  const Tensor& first = tensors[0];
  if (!first.defined()) throw Error("cat: tensor 0 is undefined");
  if (first.dim() == 0) throw Error("cat: zero-dimensional tensor 0 cannot be concatenated; unsqueeze it or use stack");
  const auto d = detail::wrap_dim(dim, first.dim(), "cat");
  Shape shape = first.shape();
  shape[d] = 0;
  std::vector<std::int64_t> sizes;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    if (!t.defined()) throw Error(fmt::format("cat: tensor {} is undefined", i));
    if (t.dtype() != first.dtype())
      throw Error(fmt::format("cat: tensor {} has dtype {} but tensor 0 has {}", i, dtype_name(t.dtype()), dtype_name(first.dtype())));
    bool same = t.dim() == first.dim();
    for (std::int64_t k = 0; same && k < t.dim(); ++k) same = k == d || t.shape()[k] == first.shape()[k];
    if (!same)
      throw Error(fmt::format("cat: tensor {} has shape {}, which does not match tensor 0's shape {} outside dim {}", i,
                              t.shape_string(), first.shape_string(), d));
    sizes.push_back(t.shape()[d]);
    shape[d] += t.shape()[d];
  }
  Tensor out = detail::make_empty(shape, first.dtype());
  std::int64_t offset = 0;
  {
    NoGradGuard no_grad;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      detail::copy_into(out.narrow(d, offset, sizes[i]), tensors[i]);
      offset += sizes[i];
    }
  }
  // Backward: each input gets its own stretch of the gradient back.
  return detail::record_list("cat", out, tensors, [d, sizes](const BackwardContext& c, const Tensor& g) -> Grads {
    Grads grads;
    std::int64_t at = 0;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      grads.push_back(c.needs_grad(i) ? g.narrow(d, at, sizes[i]) : Tensor());
      at += sizes[i];
    }
    return grads;
  });
}

Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim) {
  if (tensors.empty()) throw Error("stack: expected at least one tensor, got none");
  if (!tensors[0].defined()) throw Error("stack: tensor 0 is undefined");
  const auto d = detail::wrap_dim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> parts;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (!tensors[i].defined() || tensors[i].shape() != tensors[0].shape())
      throw Error(fmt::format("stack: tensor {} has shape {}, but tensor 0 has {}; stack needs equal shapes", i,
                              tensors[i].defined() ? tensors[i].shape_string() : "undefined", tensors[0].shape_string()));
    parts.push_back(tensors[i].unsqueeze(d));
  }
  return cat(parts, d);
}

namespace {
void check_index(const Tensor& index, const char* op) {
  if (!index.defined()) throw Error(fmt::format("{}: index is undefined", op));
  if (index.dtype() != kInt64)
    throw Error(fmt::format("{}: index must be an int64 tensor, got {}", op, dtype_name(index.dtype())));
}

// Adds src's entries into rows `index` of a zero tensor of `shape` along dim (index_select's adjoint).
Tensor index_add_zeros(const Shape& shape, std::int64_t dim, const Tensor& index, const Tensor& src);

Tensor index_select_forward(const Tensor& t, std::int64_t d, const Tensor& index) {
  const Tensor idx = detail::dense(index);
  const auto* ip = idx.data_ptr<std::int64_t>();
  const std::int64_t size = t.shape()[d], count = index.numel();
  for (std::int64_t i = 0; i < count; ++i)
    if (ip[i] < -size || ip[i] >= size)
      throw Error(fmt::format("index_select: index {} is out of range for dim {} of size {} (shape {})", ip[i], d, size,
                              t.shape_string()));
  Shape shape = t.shape();
  shape[d] = count;
  Tensor out = detail::make_empty(shape, t.dtype());
  const Tensor src = detail::dense(t);
  const auto split = detail::split_at(t.shape(), d);
  const std::size_t row = static_cast<std::size_t>(split.inner) * element_size(t.dtype());
  const char* s = static_cast<const char*>(src.impl()->data());
  char* o = static_cast<char*>(out.impl()->data());
  for (std::int64_t a = 0; a < split.outer; ++a)
    for (std::int64_t i = 0; i < count; ++i) {
      const std::int64_t k = ip[i] < 0 ? ip[i] + size : ip[i];
      std::memcpy(o + (a * count + i) * row, s + (a * size + k) * row, row);
    }
  return out;
}

Tensor index_add_zeros(const Shape& shape, std::int64_t d, const Tensor& index, const Tensor& src) {
  Tensor out = zeros(shape, src.dtype());
  const Tensor idx = detail::dense(index), g = detail::dense(src);
  const auto* ip = idx.data_ptr<std::int64_t>();
  const auto split = detail::split_at(shape, d);
  const std::int64_t count = index.numel(), size = shape[d];
  detail::dispatch_floating(src.dtype(), "index_select", [&]<class T>() {
    T* o = out.data_ptr<T>();
    const T* s = g.data_ptr<T>();
    for (std::int64_t a = 0; a < split.outer; ++a)
      for (std::int64_t i = 0; i < count; ++i) {
        const std::int64_t k = ip[i] < 0 ? ip[i] + size : ip[i];
        T* dst = o + (a * size + k) * split.inner;
        const T* from = s + (a * count + i) * split.inner;
        for (std::int64_t j = 0; j < split.inner; ++j) dst[j] += from[j];
      }
  });
  return record("index_add", out, {src}, {index}, [d](const BackwardContext& c, const Tensor& gg) -> Grads {
    return {index_select(gg, d, c.saved(0))};
  });
}
}  // namespace

Tensor index_select(const Tensor& t, std::int64_t dim, const Tensor& index) {
  check_index(index, "index_select");
  if (!t.defined()) throw Error("index_select: input is undefined");
  if (index.dim() > 1) throw Error(fmt::format("index_select: index must be 0-D or 1-D, got shape {}", index.shape_string()));
  if (t.dim() == 0) throw Error("index_select: cannot index a 0-dimensional tensor");
  const auto d = detail::wrap_dim(dim, t.dim(), "index_select");
  Tensor out = index_select_forward(t, d, index);
  return record("index_select", out, {t}, {index}, [d](const BackwardContext& c, const Tensor& g) -> Grads {
    return {index_add_zeros(c.input_shape(0), d, c.saved(0), g)};
  });
}

namespace {
// Visits every element of index (shape of index) with its position in t: f(out_pos, t_pos).
// Positions are element offsets in contiguous tensors of index's and t's shapes.
template <class F>
void for_each_gather(const Shape& t_shape, std::int64_t d, const Tensor& index, const char* op, F f) {
  const Tensor idx = detail::dense(index);
  const auto* ip = idx.data_ptr<std::int64_t>();
  const Shape& ishape = index.shape();
  const Shape tstrides = detail::contiguous_strides(t_shape);
  const auto n = index.numel();
  const auto nd = ishape.size();
  std::vector<std::int64_t> pos(nd, 0);
  // A 0-d input has one position along its one implicit dim: only index 0 names it.
  if (nd == 0 && n == 1 && ip[0] != 0)
    throw Error(fmt::format("{}: index {} is out of range for dim {} of size 1", op, ip[0], d));
  for (std::int64_t e = 0; e < n; ++e) {
    std::int64_t target = 0;
    for (std::size_t k = 0; k < nd; ++k) {
      std::int64_t coord = pos[k];
      if (static_cast<std::int64_t>(k) == d) {
        coord = ip[e];
        if (coord < 0 || coord >= t_shape[k])
          throw Error(fmt::format("{}: index {} is out of range for dim {} of size {}", op, coord, d, t_shape[k]));
      }
      target += coord * tstrides[k];
    }
    f(e, target);
    for (std::size_t k = nd; k-- > 0;)
      if (++pos[k] < ishape[k]) break;
      else pos[k] = 0;
  }
}

void check_gather_shapes(const Tensor& t, std::int64_t d, const Tensor& index, const char* op) {
  bool ok = index.dim() == t.dim();
  for (std::int64_t k = 0; ok && k < t.dim(); ++k) ok = k == d || index.shape()[k] <= t.shape()[k];
  if (!ok)
    throw Error(fmt::format("{}: index of shape {} does not fit input of shape {} (same number of dims, and no larger "
                            "outside dim {})",
                            op, index.shape_string(), t.shape_string(), d));
}
}  // namespace

Tensor gather(const Tensor& t, std::int64_t dim, const Tensor& index) {
  check_index(index, "gather");
  detail::check_floating(t, "gather");
  const auto d = detail::wrap_dim(dim, t.dim(), "gather");
  check_gather_shapes(t, d, index, "gather");
  Tensor out = detail::make_empty(index.shape(), t.dtype());
  const Tensor src = detail::dense(t);
  detail::dispatch_floating(t.dtype(), "gather", [&]<class T>() {
    T* o = out.data_ptr<T>();
    const T* s = src.data_ptr<T>();
    for_each_gather(t.shape(), d, index, "gather", [&](std::int64_t e, std::int64_t p) { o[e] = s[p]; });
  });
  return record("gather", out, {t}, {index}, [d](const BackwardContext& c, const Tensor& g) -> Grads {
    return {scatter_add(zeros(c.input_shape(0), g.dtype()), d, c.saved(0), g)};
  });
}

Tensor scatter_add(const Tensor& t, std::int64_t dim, const Tensor& index, const Tensor& src) {
  check_index(index, "scatter_add");
  detail::check_floating(t, "scatter_add");
  detail::check_floating(src, "scatter_add");
  detail::check_same_dtype(t, src, "scatter_add");
  const auto d = detail::wrap_dim(dim, t.dim(), "scatter_add");
  check_gather_shapes(t, d, index, "scatter_add");
  if (src.shape() != index.shape())
    throw Error(fmt::format("scatter_add: src has shape {} but index has shape {}; they must match", src.shape_string(),
                            index.shape_string()));
  Tensor out = detail::make_empty(t.shape(), t.dtype());
  detail::copy_into(out, t);
  const Tensor s = detail::dense(src);
  detail::dispatch_floating(t.dtype(), "scatter_add", [&]<class T>() {
    T* o = out.data_ptr<T>();
    const T* sp = s.data_ptr<T>();
    for_each_gather(t.shape(), d, index, "scatter_add", [&](std::int64_t e, std::int64_t p) { o[p] += sp[e]; });
  });
  return record("scatter_add", out, {t, src}, {index}, [d](const BackwardContext& c, const Tensor& g) -> Grads {
    return {c.needs_grad(0) ? g : Tensor(), c.needs_grad(1) ? gather(g, d, c.saved(0)) : Tensor()};
  });
}

Tensor one_hot(const Tensor& labels, std::int64_t num_classes, DType dtype) {
  check_index(labels, "one_hot");
  if (num_classes <= 0) throw Error(fmt::format("one_hot: num_classes must be positive, got {}", num_classes));
  Shape shape = labels.shape();
  shape.push_back(num_classes);
  Tensor out = zeros(shape, dtype);
  const auto v = labels.to_vector<std::int64_t>();
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] < 0 || v[i] >= num_classes)
      throw Error(fmt::format("one_hot: label {} at position {} is outside 0..{}", v[i], i, num_classes - 1));
    const auto at = static_cast<std::int64_t>(i) * num_classes + v[i];
    if (dtype == kFloat32) out.data_ptr<float>()[at] = 1;
    else if (dtype == kFloat64) out.data_ptr<double>()[at] = 1;
    else out.data_ptr<std::int64_t>()[at] = 1;
  }
  return out;
}

}  // namespace nabla
