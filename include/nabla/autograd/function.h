#pragma once
/// User-defined differentiable ops, as torch::autograd::Function:
///
///   struct Cube : nabla::autograd::Function<Cube> {
///     static Tensor forward(AutogradContext* ctx, const Tensor& x) { ctx->save_for_backward({x}); return x * x * x; }
///     static std::vector<Tensor> backward(AutogradContext* ctx, std::vector<Tensor> g) {
///       auto x = ctx->get_saved_variables()[0];
///       return {g[0] * 3.0 * x * x};
///     }
///   };
///   Tensor y = Cube::apply(x);
///
/// forward runs without recording; backward gets one gradient per output and returns one per
/// argument of forward (undefined for non-tensor arguments).
#include <any>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <nabla/autograd/grad_mode.h>
#include <nabla/autograd/node.h>

namespace nabla::autograd {

/// What forward leaves for backward.
class AutogradContext {
 public:
  /// Keeps tensors for backward (outputs among them are kept without a reference cycle).
  void save_for_backward(std::vector<Tensor> tensors) { to_save_ = std::move(tensors); }
  /// The saved tensors; throws if the graph was freed or one was modified in place.
  std::vector<Tensor> get_saved_variables() const;
  /// True when argument i of forward wants a gradient.
  bool needs_input_grad(std::size_t i) const { return i < needs_input_grad_.size() && needs_input_grad_[i]; }
  /// Any other values forward wants to pass on (sizes, flags, ...).
  std::map<std::string, std::any> saved_data;

 private:
  template <class T> friend class CppNode;
  template <class T> friend struct Function;
  // Wires the node into the graph once forward has run: edges to the inputs, grad_fn of the outputs,
  // and the tensors to save (outputs among them kept without their grad_fn).
  void connect(const std::shared_ptr<Node>& node, const std::vector<const Tensor*>& inputs,
               std::vector<Tensor*>& outputs);
  std::vector<Tensor> to_save_;
  std::vector<SavedTensor> saved_;
  std::vector<bool> needs_input_grad_;
  std::shared_ptr<Node> self_;  // weak in spirit: set only while backward runs
  const char* name_ = "Function";
  bool released_ = false;
};

/// The node recorded for a user Function T.
template <class T>
class CppNode final : public Node {
 public:
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override {
    if (ctx_.released_)
      throw Error(name() + ": trying to backward through the graph a second time; pass retain_graph=true to the first "
                           "backward");
    ctx_.self_ = shared_from_this();
    struct Reset {
      AutogradContext& c;
      ~Reset() { c.self_.reset(); }
    } reset{ctx_};
    std::vector<Tensor> arg_grads = T::backward(&ctx_, std::move(grads));
    if (arg_grads.size() != arg_is_tensor_.size())
      throw Error(name() + ": backward returned " + std::to_string(arg_grads.size()) + " gradients, but forward took " +
                  std::to_string(arg_is_tensor_.size()) + " arguments");
    std::vector<Tensor> out;
    for (std::size_t i = 0; i < arg_grads.size(); ++i)
      if (arg_is_tensor_[i]) out.push_back(std::move(arg_grads[i]));
    return out;
  }
  std::string name() const override { return "Function"; }
  void release_saved() override {
    ctx_.saved_.clear();
    ctx_.released_ = true;
  }

  AutogradContext ctx_;
  std::vector<bool> arg_is_tensor_;
};

namespace detail {
template <class A>
constexpr bool is_tensor_arg = std::is_same_v<std::decay_t<A>, Tensor>;

template <class A>
void collect_arg(std::vector<const Tensor*>& tensors, std::vector<bool>& is_tensor, const A& a) {
  if constexpr (is_tensor_arg<A>) tensors.push_back(&a);
  is_tensor.push_back(is_tensor_arg<A>);
}
}  // namespace detail

/// Base class of user-defined ops (CRTP): derive, write static forward and backward, call T::apply.
template <class T>
struct Function {
  template <class... Args>
  static auto apply(Args&&... args) {
    auto node = std::make_shared<CppNode<T>>();
    std::vector<const Tensor*> inputs;
    (detail::collect_arg(inputs, node->arg_is_tensor_, args), ...);
    bool any = false;
    for (std::size_t i = 0, t = 0; i < node->arg_is_tensor_.size(); ++i) {
      const bool needs = node->arg_is_tensor_[i] && inputs[t]->defined() && inputs[t]->requires_grad();
      if (node->arg_is_tensor_[i]) ++t;
      node->ctx_.needs_input_grad_.push_back(needs);
      any = any || needs;
    }
    auto result = [&] {
      NoGradGuard no_grad;
      return T::forward(&node->ctx_, std::forward<Args>(args)...);
    }();
    if (!any || !is_grad_enabled()) return result;
    std::vector<Tensor*> outputs;
    if constexpr (std::is_same_v<decltype(result), Tensor>) {
      outputs.push_back(&result);
    } else {
      for (auto& r : result) outputs.push_back(&r);
    }
    node->ctx_.connect(node, inputs, outputs);
    return result;
  }
};

}  // namespace nabla::autograd
