#pragma once
/// The backward pass: one reverse topological sweep from the outputs.
#include <vector>

#include <nabla/core/tensor.h>

namespace nabla::autograd {

/// Backpropagates from `outputs` (seeded with `grad_outputs`, or ones for one-element outputs)
/// and accumulates into the grad() of every leaf that requires grad.
void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs = {},
              bool retain_graph = false, bool create_graph = false);

/// Gradients of `outputs` with respect to `inputs`, returned instead of accumulated (as
/// torch.autograd.grad). With create_graph the results are themselves differentiable, which gives
/// second derivatives. The graph is kept when retain_graph or create_graph is true. An input that
/// the outputs do not depend on is an error unless allow_unused, which returns an undefined tensor.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, bool retain_graph = false,
                         bool create_graph = false, bool allow_unused = false);

}  // namespace nabla::autograd
