// The out-of-line half of user-defined Functions: wiring a CppNode into the graph.
#include <nabla/autograd/function.h>

#include "autograd/anomaly.h"
#include "autograd/record.h"

namespace nabla::autograd {

std::vector<Tensor> AutogradContext::get_saved_variables() const {
  if (released_)
    throw Error("Function: saved tensors were freed by an earlier backward; pass retain_graph=true to keep them");
  std::vector<Tensor> out;
  out.reserve(saved_.size());
  for (const SavedTensor& s : saved_) out.push_back(s.unpack(self_.get(), name_));
  return out;
}

void AutogradContext::connect(const std::shared_ptr<Node>& node, const std::vector<const Tensor*>& inputs,
                              std::vector<Tensor*>& outputs) {
  auto& edges = node->mutable_next_edges();
  auto& metas = node->mutable_input_meta();
  for (const Tensor* t : inputs) {
    const bool wants = t->defined() && t->requires_grad();
    edges.push_back(wants ? gradient_edge(*t) : Edge{});
    metas.push_back({t->defined() ? t->shape() : Shape{}, t->defined() ? t->dtype() : kFloat32});
  }
  node->set_num_outputs(static_cast<std::uint32_t>(outputs.size()));
  for (std::uint32_t i = 0; i < outputs.size(); ++i) {
    Tensor& out = *outputs[i];
    if (!out.defined()) continue;
    // An output that is one of the inputs returned as-is gets its own handle, so that the input
    // keeps its place in the graph.
    for (const Tensor* t : inputs)
      if (t->defined() && t->impl() == out.impl()) out = out.detach();
    if (!is_floating(out.dtype())) continue;
    auto& meta = out.impl()->meta();
    meta.grad_fn = node;
    meta.output_nr = i;
    if (is_anomaly_enabled()) {
      if (node->creation_trace().empty()) node->set_creation_trace(nabla::detail::capture_call_stack());
      nabla::detail::check_finite(out, *node, "forward output", i);
    }
  }
  for (const Tensor& s : to_save_) {
    bool is_output = false;
    for (Tensor* o : outputs) is_output = is_output || (o->defined() && o->impl() == s.impl());
    saved_.emplace_back(s, is_output);
  }
  to_save_.clear();
}

}  // namespace nabla::autograd
