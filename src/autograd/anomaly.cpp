// Anomaly mode: NaN/Inf checks on recorded forward values and backward gradients, with the call
// stack of the op's creation kept in the node.
#include "autograd/anomaly.h"

#include <cxxabi.h>
#include <execinfo.h>

#include <cmath>
#include <cstdlib>
#include <memory>

#include <fmt/format.h>

#include "core/tensor_impl.h"
#include "kernels/loops.h"

namespace nabla {
namespace autograd {
namespace {
[[gnu::tls_model("initial-exec")]] thread_local bool tl_anomaly = false;  // read per op and per backward node
}

bool is_anomaly_enabled() { return tl_anomaly; }
DetectAnomalyGuard::DetectAnomalyGuard() : previous_(tl_anomaly) { tl_anomaly = true; }
DetectAnomalyGuard::~DetectAnomalyGuard() { tl_anomaly = previous_; }

}  // namespace autograd

namespace detail {

std::string capture_call_stack() {
  void* frames[48];
  const int n = ::backtrace(frames, 48);
  std::unique_ptr<char*, decltype(&std::free)> symbols(::backtrace_symbols(frames, n), &std::free);
  std::string out;
  for (int i = 2; i < n && symbols; ++i) {  // skip this function and attach()
    std::string line = symbols.get()[i];
    // "binary(mangled+0x12) [0x...]": demangle the name between '(' and '+'.
    const auto open = line.find('('), plus = line.find('+', open == std::string::npos ? 0 : open);
    if (open != std::string::npos && plus != std::string::npos && plus > open + 1) {
      const std::string mangled = line.substr(open + 1, plus - open - 1);
      int status = 0;
      std::unique_ptr<char, decltype(&std::free)> name(abi::__cxa_demangle(mangled.c_str(), nullptr, nullptr, &status),
                                                       &std::free);
      if (status == 0 && name) line = line.substr(0, open + 1) + name.get() + line.substr(plus);
    }
    out += "    " + line + "\n";
  }
  return out;
}

void check_finite(const Tensor& t, const autograd::Node& node, const char* what, std::size_t index) {
  if (!t.defined() || !is_floating(t.dtype())) return;
  const Tensor d = dense(t);
  std::int64_t nans = 0, infs = 0;
  dispatch_floating(t.dtype(), "anomaly", [&]<class T>() {
    const T* p = d.data_ptr<T>();
    for (std::int64_t i = 0; i < d.numel(); ++i) {
      nans += std::isnan(p[i]);
      infs += std::isinf(p[i]);
    }
  });
  if (nans == 0 && infs == 0) return;
  std::string inputs;
  for (const auto& m : node.input_meta()) inputs += (inputs.empty() ? "" : ", ") + shape_to_string(m.shape);
  throw Error(fmt::format("anomaly: {} {} of {} has {} NaN and {} Inf values (shape {}; input shapes {}).\n"
                          "  {} was created at:\n{}",
                          what, index, node.name(), nans, infs, t.shape_string(), inputs, node.name(),
                          node.creation_trace().empty() ? "    (unknown)\n" : node.creation_trace()));
}

}  // namespace detail
}  // namespace nabla
