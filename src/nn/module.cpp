// Module bookkeeping: registration, recursive listing with dotted names, state dicts, modes.
#include <nabla/nn/module.h>

#include <sstream>

#include <fmt/format.h>

#include <nabla/autograd/grad_mode.h>

namespace nabla::nn {

Tensor Module::register_parameter(const std::string& name, Tensor value, bool requires_grad) {
  for (const auto& [n, t] : params_)
    if (n == name) throw Error(fmt::format("{}: parameter '{}' is registered twice", this->name(), name));
  Tensor leaf = value.detach();
  if (requires_grad) leaf.requires_grad_();
  params_.emplace_back(name, leaf);
  return leaf;
}

Tensor Module::register_buffer(const std::string& name, Tensor value) {
  buffers_.emplace_back(name, value.detach());
  return buffers_.back().second;
}

void Module::set_buffer(const std::string& name, Tensor value) {
  for (auto& [n, t] : buffers_)
    if (n == name) {
      t = value.detach();
      return;
    }
  throw Error(fmt::format("{}: no buffer named '{}'", this->name(), name));
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  if (!module) throw Error(fmt::format("{}: child '{}' is null", this->name(), name));
  children_.emplace_back(name, std::move(module));
}

void Module::collect(const std::string& prefix, bool recurse, bool buffers, NamedTensors& out) const {
  for (const auto& [n, t] : buffers ? buffers_ : params_) out.emplace_back(prefix + n, t);
  if (!recurse) return;
  for (const auto& [n, child] : children_) child->collect(prefix + n + ".", true, buffers, out);
}

NamedTensors Module::named_parameters(bool recurse) const {
  NamedTensors out;
  collect("", recurse, false, out);
  return out;
}

NamedTensors Module::named_buffers(bool recurse) const {
  NamedTensors out;
  collect("", recurse, true, out);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

NamedTensors Module::state_dict() const {
  NamedTensors out = named_parameters();
  for (auto& nt : named_buffers()) out.push_back(nt);
  return out;
}

void Module::load_state_dict(const NamedTensors& state) {
  const NamedTensors mine = state_dict();
  std::vector<std::string> problems;
  for (const auto& [name, t] : mine) {
    const Tensor* found = nullptr;
    for (const auto& [n, s] : state)
      if (n == name) found = &s;
    if (found == nullptr) problems.push_back(fmt::format("missing '{}'", name));
    else if (!found->defined()) problems.push_back(fmt::format("'{}' is undefined", name));
    else if (found->shape() != t.shape() || found->dtype() != t.dtype())
      problems.push_back(fmt::format("'{}' is {} {} but the model expects {} {}", name, dtype_name(found->dtype()),
                                     found->shape_string(), dtype_name(t.dtype()), t.shape_string()));
  }
  for (const auto& [n, s] : state) {
    bool known = false;
    for (const auto& [name, t] : mine) known = known || name == n;
    if (!known) problems.push_back(fmt::format("unexpected '{}'", n));
  }
  if (!problems.empty()) {
    std::string msg = "load_state_dict: the state does not match " + name() + ":";
    for (const auto& p : problems) msg += "\n  " + p;
    throw Error(msg);
  }
  NoGradGuard no_grad;
  for (const auto& [name, t] : mine)
    for (const auto& [n, s] : state)
      if (n == name) Tensor(t).copy_(s);
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (auto& t : parameters()) t.reset_grad();
}

void Module::to(DType dtype) {
  for (auto& [n, t] : params_) t = t.detach().to(dtype).detach().requires_grad_(t.requires_grad());
  for (auto& [n, t] : buffers_)
    if (is_floating(t.dtype())) t = t.to(dtype).detach();
  for (auto& [n, child] : children_) child->to(dtype);
}

std::string Module::to_string() const {
  if (children_.empty()) return name();
  std::ostringstream os;
  os << name() << "(\n";
  for (const auto& [n, child] : children_) {
    std::string inner = child->to_string();
    std::string indented;
    for (char ch : inner) {
      indented += ch;
      if (ch == '\n') indented += "  ";
    }
    os << "  (" << n << "): " << indented << "\n";
  }
  os << ")";
  return os.str();
}

}  // namespace nabla::nn
