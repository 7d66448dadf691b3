#pragma once
// Anomaly mode's checks, called from where nodes are created and where backward runs.
#include <nabla/autograd/anomaly.h>
#include <nabla/autograd/node.h>

namespace nabla::detail {

/// The current call stack as text, one frame a line (demangled where symbols are available).
std::string capture_call_stack();
/// Throws when t holds NaN or Inf: "<what> of <op> produced ...", with input shapes and trace.
void check_finite(const Tensor& t, const autograd::Node& node, const char* what, std::size_t index);

}  // namespace nabla::detail
