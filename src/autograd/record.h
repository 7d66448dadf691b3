#pragma once
// How an op records itself in the graph: record(name, output, inputs, saved, backward).
// The backward lambda receives a BackwardContext and the upstream gradient and returns one
// downstream gradient per input (undefined where the input needs none).
#include <span>
#include <utility>
#include <vector>

#include <nabla/autograd/grad_mode.h>
#include <nabla/autograd/node.h>
#include <nabla/core/allocator.h>

#include "core/tensor_impl.h"

namespace nabla::detail {

/// What a backward lambda may read: saved tensors, the inputs' shapes and which inputs need grads.
class BackwardContext {
 public:
  BackwardContext(const autograd::NodeVector<autograd::SavedTensor>& saved, autograd::Node& self, const char* op)
      : saved_(saved), self_(self), op_(op) {}
  /// Saved tensor i, reattached to the graph (so create_graph differentiates through it).
  Tensor saved(std::size_t i) const { return saved_[i].unpack(&self_, op_); }
  /// Shape of input i as the op received it.
  const Shape& input_shape(std::size_t i) const { return self_.input_meta()[i].shape; }
  /// True when input i wants a gradient.
  bool needs_grad(std::size_t i) const { return self_.next_edges()[i].fn != nullptr; }

 private:
  const autograd::NodeVector<autograd::SavedTensor>& saved_;
  autograd::Node& self_;
  const char* op_;
};

/// A node whose backward is a lambda stored inline (no std::function, no extra allocation).
template <class Backward>
class LambdaNode final : public autograd::Node {
 public:
  LambdaNode(const char* name, Backward backward) : name_(name), backward_(std::move(backward)) {}

  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    if (released_)
      throw Error(std::string(name_) +
                  ": trying to backward through the graph a second time (its saved values were freed after the "
                  "first backward); pass retain_graph=true to the first backward to keep them");
    BackwardContext ctx(saved_, *this, name_);
    return backward_(ctx, grads[0]);
  }
  std::string name() const override { return name_; }
  void release_saved() override {
    for (auto& s : saved_) s.reset();
    released_ = true;
  }
  autograd::NodeVector<autograd::SavedTensor> saved_;

 private:
  const char* name_;
  Backward backward_;
};

/// True when recording is on and any input requires grad.
inline bool needs_record(std::initializer_list<const Tensor*> inputs) {
  if (!is_grad_enabled()) return false;
  for (const Tensor* t : inputs)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

/// An entry of record()'s brace lists: refers to the caller's tensor, so listing it copies no handle.
struct TensorRef {
  TensorRef(const Tensor& t) : tensor(&t) {}  // implicit, for {a, b}
  const Tensor* tensor;
};

/// Makes `node` the grad_fn of `out` (which must be fresh) and points its edges at `inputs`.
void attach(const std::shared_ptr<autograd::Node>& node, std::span<const TensorRef> inputs, Tensor& out);

/// A LambdaNode from the caching allocator (a node is made per recorded op).
template <class Backward>
std::shared_ptr<LambdaNode<Backward>> make_lambda_node(const char* name, Backward&& backward) {
  return std::allocate_shared<LambdaNode<Backward>>(CachingAllocator<LambdaNode<Backward>>(), name,
                                                    std::move(backward));
}

/// Records `out` as produced by op `name` from `inputs`; `saved` are kept for `backward`.
template <class Backward>
Tensor record(const char* name, Tensor out, std::initializer_list<TensorRef> inputs,
              std::initializer_list<TensorRef> saved, Backward backward) {
  bool any = false;
  for (const TensorRef& t : inputs) any = any || (t.tensor->defined() && t.tensor->requires_grad());
  if (!any || !is_grad_enabled()) return out;
  auto node = make_lambda_node(name, std::move(backward));
  attach(node, {inputs.begin(), inputs.size()}, out);
  // Saved after attach: a saved output must already require grad, or unpack would not reattach it
  // to this node and create_graph would lose the path through it (exp, tanh, sigmoid, softmax, pow).
  node->saved_.reserve(saved.size());
  for (const TensorRef& s : saved) node->saved_.emplace_back(*s.tensor, s.tensor->impl() == out.impl());
  return out;
}

/// Same, for an input list of any length (cat, stack).
template <class Backward>
Tensor record_list(const char* name, Tensor out, const std::vector<Tensor>& inputs, Backward backward) {
  bool any = false;
  for (const Tensor& t : inputs) any = any || t.requires_grad();
  if (!any || !is_grad_enabled()) return out;
  auto node = make_lambda_node(name, std::move(backward));
  const std::vector<TensorRef> refs(inputs.begin(), inputs.end());
  attach(node, refs, out);
  return out;
}

}  // namespace nabla::detail
