#pragma once
/// nabla::nn::Module: named parameters, buffers and children, train/eval mode.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nabla/core/tensor.h>

namespace nabla::nn {

/// Named tensors in registration order (parameters, buffers, state dicts).
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

/// Base of every layer. Subclasses register their parameters, buffers and child modules in their
/// constructor and implement forward(). Modules are held by shared_ptr (see Sequential).
class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// The layer's computation.
  virtual Tensor forward(const Tensor& input) = 0;
  /// Same as forward(input).
  Tensor operator()(const Tensor& input) { return forward(input); }
  /// A short description, e.g. "Linear(in_features=784, out_features=256, bias=true)".
  virtual std::string name() const = 0;

  /// Parameters of this module and (recursively) its children, in registration order.
  std::vector<Tensor> parameters(bool recurse = true) const;
  /// Parameters with dotted names ("0.weight", "fc1.bias").
  NamedTensors named_parameters(bool recurse = true) const;
  /// Buffers (state that is saved but not trained, e.g. running statistics) with dotted names.
  NamedTensors named_buffers(bool recurse = true) const;
  /// Parameters and buffers: what a checkpoint holds.
  NamedTensors state_dict() const;
  /// Copies values from `state` into the parameters and buffers; every name, shape and dtype must
  /// match exactly (one error lists every mismatch).
  void load_state_dict(const NamedTensors& state);
  /// Direct children with their names.
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const { return children_; }

  /// Training mode (dropout active, batch statistics) for this module and its children.
  void train(bool on = true);
  /// Evaluation mode: train(false).
  void eval() { train(false); }
  /// True in training mode.
  bool is_training() const { return training_; }
  /// Drops the accumulated gradients of all parameters (grad() becomes undefined).
  void zero_grad();
  /// Converts all parameters and buffers to dtype (in place of the registered tensors).
  void to(DType dtype);
  /// A readable multi-line summary of the module tree.
  std::string to_string() const;

 protected:
  /// Registers a parameter (made a leaf that requires grad); returns it.
  Tensor register_parameter(const std::string& name, Tensor value, bool requires_grad = true);
  /// Registers a buffer; returns it.
  Tensor register_buffer(const std::string& name, Tensor value);
  /// Registers a child module; returns it.
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }
  /// Replaces a registered buffer's value (e.g. running statistics updated out of place).
  void set_buffer(const std::string& name, Tensor value);
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  /// This module's own parameter i / buffer i, in registration order (how subclasses reach them).
  const Tensor& param(std::size_t i) const { return params_[i].second; }
  const Tensor& buffer(std::size_t i) const { return buffers_[i].second; }
  NamedTensors params_;
  NamedTensors buffers_;

 private:
  void collect(const std::string& prefix, bool recurse, bool buffers, NamedTensors& out) const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace nabla::nn
