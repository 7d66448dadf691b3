// In-place ops. They write through the tensor's storage and bump its version counter, so a saved
// tensor that changes afterwards is caught at backward time. While the graph is being recorded they
// refuse tensors that require grad (the old value may be needed); optimizers update under NoGradGuard.
#include <nabla/autograd/grad_mode.h>
#include <nabla/ops/arithmetic.h>

#include "kernels/loops.h"

namespace nabla {
namespace {
void check_inplace(const Tensor& self, const Tensor* other, const char* op) {
  if (!self.defined()) throw Error(fmt::format("{}: the tensor is undefined", op));
  if (self.requires_grad() && is_grad_enabled())
    throw Error(fmt::format("{}: in-place change of a tensor that requires grad (shape {}) while the graph is recorded; "
                            "use the out-of-place op, or wrap the update in nabla::NoGradGuard",
                            op, self.shape_string()));
  if (other != nullptr) {
    if (!other->defined()) throw Error(fmt::format("{}: the other tensor is undefined", op));
    const Shape joint = broadcast_shapes(self.shape(), other->shape(), op);
    if (joint != self.shape())
      throw Error(fmt::format("{}: a tensor of shape {} cannot be written into shape {} in place", op,
                              other->shape_string(), self.shape_string()));
  }
}

// Writes value (computed outside the graph) into self's storage and counts the change.
Tensor write(Tensor self, const Tensor& value) {
  detail::copy_into(self, value);
  self.impl()->storage->version.fetch_add(1);
  return self;
}
}  // namespace

Tensor Tensor::add_(const Tensor& other, double alpha) {
  check_inplace(*this, &other, "add_");
  NoGradGuard no_grad;
  return write(*this, alpha == 1.0 ? add(*this, other) : add(*this, other * alpha));
}
Tensor Tensor::add_(double value) {
  check_inplace(*this, nullptr, "add_");
  NoGradGuard no_grad;
  return write(*this, *this + value);
}
Tensor Tensor::sub_(const Tensor& other) {
  check_inplace(*this, &other, "sub_");
  NoGradGuard no_grad;
  return write(*this, sub(*this, other));
}
Tensor Tensor::mul_(const Tensor& other) {
  check_inplace(*this, &other, "mul_");
  NoGradGuard no_grad;
  return write(*this, mul(*this, other));
}
Tensor Tensor::mul_(double value) {
  check_inplace(*this, nullptr, "mul_");
  NoGradGuard no_grad;
  return write(*this, *this * value);
}
Tensor Tensor::div_(const Tensor& other) {
  check_inplace(*this, &other, "div_");
  NoGradGuard no_grad;
  return write(*this, div(*this, other));
}
Tensor Tensor::fill_(double value) {
  check_inplace(*this, nullptr, "fill_");
  return write(*this, full({}, value, dtype()));
}
Tensor Tensor::zero_() { return fill_(0.0); }
Tensor Tensor::copy_(const Tensor& other) {
  check_inplace(*this, &other, "copy_");
  return write(*this, other);
}

}  // namespace nabla
