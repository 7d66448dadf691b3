// matmul: the affine layer's workhorse. Forward through OpenBLAS; backward written with matmul
// itself (dA = dC·Bᵀ, dB = Aᵀ·dC), so second derivatives come for free and no Jacobian is built.
#include <nabla/ops/linalg.h>

#include <nabla/ops/arithmetic.h>

#include "autograd/record.h"
#include "kernels/gemm.h"
#include "kernels/loops.h"

namespace nabla {
using detail::BackwardContext;
using detail::record;
using Grads = std::vector<Tensor>;

namespace {
std::string mismatch(const Tensor& a, const Tensor& b) {
  return fmt::format("matmul: shapes {} and {} cannot be multiplied (inner dims {} != {})", a.shape_string(),
                     b.shape_string(), a.shape().back(), b.shape()[b.dim() == 1 ? 0 : b.dim() - 2]);
}

// A matrix BLAS can read in place, else a contiguous copy.
Tensor blas_ready(const Tensor& t) {
  const auto nd = t.dim();
  return detail::blas_compatible(t.shape()[nd - 2], t.shape()[nd - 1], t.strides()[nd - 2], t.strides()[nd - 1])
             ? t
             : detail::dense(t);
}

// Batched product of tensors of rank >= 2 with broadcast batch dims (no graph).
Tensor matmul_forward(const Tensor& a_in, const Tensor& b_in) {
  const auto na = a_in.dim(), nb = b_in.dim();
  const std::int64_t m = a_in.shape()[na - 2], k = a_in.shape()[na - 1], n = b_in.shape()[nb - 1];
  const Shape batch = broadcast_shapes(Shape(a_in.shape().begin(), a_in.shape().end() - 2),
                                       Shape(b_in.shape().begin(), b_in.shape().end() - 2), "matmul");
  Shape out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  Tensor out = detail::make_empty(out_shape, a_in.dtype());
  if (out.numel() == 0) return out;
  if (k == 0) return zeros(out_shape, a_in.dtype());
  const Tensor a = blas_ready(a_in), b = blas_ready(b_in);
  // A batch of rows against one shared matrix is a single tall GEMM.
  if (nb == 2 && a.is_contiguous()) {
    detail::dispatch_floating(a.dtype(), "matmul", [&]<class T>() {
      detail::gemm(detail::MatrixView<T>{a.data_ptr<T>(), k, 1}, detail::MatrixView<T>{b.data_ptr<T>(), b.strides()[0], b.strides()[1]},
                   out.data_ptr<T>(), a.numel() / k, n, k);
    });
    return out;
  }
  Shape full_a = batch, full_b = batch;
  full_a.insert(full_a.end(), {m, k});
  full_b.insert(full_b.end(), {k, n});
  const Shape sa = detail::broadcast_strides(a, full_a), sb = detail::broadcast_strides(b, full_b);
  const auto nbatch = static_cast<std::int64_t>(batch.size());
  std::int64_t count = 1;
  for (auto s : batch) count *= s;
  detail::dispatch_floating(a.dtype(), "matmul", [&]<class T>() {
    const T* pa = a.data_ptr<T>();
    const T* pb = b.data_ptr<T>();
    T* pc = out.data_ptr<T>();
    for (std::int64_t i = 0; i < count; ++i) {
      std::int64_t rest = i, oa = 0, ob = 0;
      for (std::int64_t d = nbatch - 1; d >= 0; --d) {
        const std::int64_t idx = rest % batch[d];
        rest /= batch[d];
        oa += idx * sa[d];
        ob += idx * sb[d];
      }
      detail::gemm(detail::MatrixView<T>{pa + oa, sa[nbatch], sa[nbatch + 1]},
                   detail::MatrixView<T>{pb + ob, sb[nbatch], sb[nbatch + 1]}, pc + i * m * n, m, n, k);
    }
  });
  return out;
}
}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  detail::check_floating(a, "matmul");
  detail::check_floating(b, "matmul");
  detail::check_same_dtype(a, b, "matmul");
  if (a.dim() == 0 || b.dim() == 0)
    throw Error(fmt::format("matmul: both arguments need at least one dimension, got shapes {} and {}", a.shape_string(),
                            b.shape_string()));
  // Vectors become matrices and the extra dim is dropped afterwards, as in torch.matmul.
  if (a.dim() == 1 || b.dim() == 1) {
    if (a.shape().back() != b.shape()[b.dim() == 1 ? 0 : b.dim() - 2]) throw Error(mismatch(a, b));
    const Tensor a2 = a.dim() == 1 ? a.unsqueeze(0) : a;
    const Tensor b2 = b.dim() == 1 ? b.unsqueeze(1) : b;
    Tensor out = matmul(a2, b2);
    if (b.dim() == 1) out = out.squeeze(-1);
    if (a.dim() == 1) out = out.squeeze(b.dim() == 1 ? -1 : -2);
    return out;
  }
  if (a.shape().back() != b.shape()[b.dim() - 2]) throw Error(mismatch(a, b));
  // Checked here so that the message shows both full shapes, not just their batch dims.
  const Shape batch_a(a.shape().begin(), a.shape().end() - 2), batch_b(b.shape().begin(), b.shape().end() - 2);
  try {
    broadcast_shapes(batch_a, batch_b, "matmul");
  } catch (const Error&) {
    throw Error(fmt::format("matmul: shapes {} and {} cannot be multiplied (batch dims {} and {} do not broadcast)",
                            a.shape_string(), b.shape_string(), shape_to_string(batch_a), shape_to_string(batch_b)));
  }
  Tensor out = matmul_forward(a, b);
  return record("matmul", out, {a, b}, {a, b}, [](const BackwardContext& c, const Tensor& g) -> Grads {
    Tensor ga, gb;
    if (c.needs_grad(0)) ga = matmul(g, c.saved(1).transpose(-1, -2));  // dA = dC · Bᵀ
    if (c.needs_grad(1)) gb = matmul(c.saved(0).transpose(-1, -2), g);  // dB = Aᵀ · dC
    return {ga, gb};
  });
}

}  // namespace nabla
