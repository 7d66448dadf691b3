// Strided copy with broadcasting and dtype conversion: the one kernel behind contiguous(), clone(),
// to(), copy_() and the slice/cat backward passes.
#include <cstring>

#include "kernels/loops.h"

namespace nabla::detail {

void copy_into(const Tensor& dst, const Tensor& src) {
  const Shape& shape = dst.shape();
  if (dst.dtype() == src.dtype() && dst.is_contiguous() && src.is_contiguous() && src.shape() == shape) {
    std::memcpy(dst.impl()->data(), src.impl()->data(), static_cast<std::size_t>(dst.numel()) * element_size(dst.dtype()));
    return;
  }
  dispatch_all(dst.dtype(), [&]<class D>() {
    dispatch_all(src.dtype(), [&]<class S>() {
      D* d = static_cast<D*>(dst.impl()->data());
      const S* s = static_cast<const S*>(src.impl()->data());
      for_each_row<2>(shape, {dst.strides(), broadcast_strides(src, shape)}, [&](auto off, auto st, std::int64_t n) {
        D* pd = d + off[0];
        const S* ps = s + off[1];
        if (st[0] == 1 && st[1] == 1) {
          for (std::int64_t i = 0; i < n; ++i) pd[i] = static_cast<D>(ps[i]);
        } else {
          for (std::int64_t i = 0; i < n; ++i) pd[i * st[0]] = static_cast<D>(ps[i * st[1]]);
        }
      });
    });
  });
}

}  // namespace nabla::detail
