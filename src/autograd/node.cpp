// Nodes, edges, saved tensors and the tensor's autograd methods.
#include <nabla/autograd/node.h>

#include <atomic>

#include <fmt/format.h>

#include <nabla/autograd/engine.h>
#include <nabla/ops/arithmetic.h>
#include <nabla/autograd/grad_mode.h>

#include "autograd/anomaly.h"
#include "autograd/record.h"
#include "core/tensor_impl.h"

namespace nabla {
namespace {
// initial-exec: read by every op; a plain TLS load instead of a __tls_get_addr call.
[[gnu::tls_model("initial-exec")]] thread_local bool tl_grad_enabled = true;
std::atomic<std::uint64_t> g_next_sequence_nr{0};
}  // namespace

bool is_grad_enabled() { return tl_grad_enabled; }
void set_grad_enabled(bool enabled) { tl_grad_enabled = enabled; }

namespace autograd {

Node::Node() : sequence_nr_(g_next_sequence_nr.fetch_add(1, std::memory_order_relaxed)) {}

// Freeing a long chain by plain recursion (each node's edges owning the next node) overflows the
// stack at around 100,000 nodes. Instead, the edges of every node about to die are moved onto an
// explicit stack, so the chain is taken apart in a loop.
Node::~Node() {
  std::vector<std::shared_ptr<Node>> stack;
  for (auto& e : next_edges_)
    if (e.fn) stack.push_back(std::move(e.fn));
  while (!stack.empty()) {
    std::shared_ptr<Node> n = std::move(stack.back());
    stack.pop_back();
    if (n.use_count() == 1) {
      for (auto& e : n->next_edges_)
        if (e.fn) stack.push_back(std::move(e.fn));
      n->release_saved();  // saved inputs hold their grad_fn: drop them while the stack still owns those
    }
  }
}

SavedTensor::SavedTensor(const Tensor& t, bool is_output) : is_output_(is_output) {
  if (!t.defined()) return;
  saved_version_ = t.version();
  if (is_output) {
    data_ = t.detach();  // the node's own output: keeping its grad_fn would be a cycle
    output_nr_ = t.output_nr();
  } else {
    data_ = t;
  }
  requires_grad_ = t.requires_grad();
}

Tensor SavedTensor::unpack(Node* owner, const char* op) const {
  if (!data_.defined())
    throw Error(fmt::format("{}: trying to backward through the graph a second time (its saved values were freed "
                            "after the first backward); pass retain_graph=true to the first backward",
                            op));
  if (data_.version() != saved_version_)
    throw Error(fmt::format("{}: a tensor saved for backward (shape {}) was modified by an in-place operation "
                            "after it was saved (version {} now, {} when saved); use an out-of-place op or "
                            "clone() it first",
                            op, data_.shape_string(), data_.version(), saved_version_));
  if (!is_output_ || !requires_grad_) return data_;
  // Reattach the output to the node that is running its backward, for create_graph.
  Tensor t = detail::make_view(data_, data_.shape(), data_.strides(), data_.storage_offset());
  auto& meta = t.impl()->meta();
  meta.grad_fn = owner != nullptr ? owner->shared_from_this() : nullptr;
  meta.output_nr = output_nr_;
  return t;
}

AccumulateGrad::AccumulateGrad(const Tensor& leaf) : variable_(leaf) {
  input_meta_.push_back({leaf.shape(), leaf.dtype()});
}

std::vector<Tensor> AccumulateGrad::apply(std::vector<Tensor>&& grads) {
  Tensor& g = grads[0];
  if (!g.defined()) return {};
  auto& meta = variable_.impl()->meta();
  if (!meta.grad.defined()) {
    // Keep the incoming gradient when nothing else can see it; otherwise copy, so that a later
    // in-place accumulation cannot change a tensor the caller still holds.
    meta.grad = (g.impl().use_count() == 1 && g.is_contiguous() && !is_grad_enabled()) ? g : g.clone();
    if (!is_grad_enabled()) meta.grad = meta.grad.detach();
  } else if (is_grad_enabled()) {
    meta.grad = meta.grad + g;  // create_graph: the sum must stay differentiable
  } else {
    meta.grad.add_(g);
  }
  return {};
}

Edge gradient_edge(const Tensor& t) {
  auto& meta = t.impl()->meta();
  if (meta.grad_fn) return {meta.grad_fn, meta.output_nr};
  if (!meta.requires_grad) return {};
  auto acc = meta.grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t);
    meta.grad_accumulator = acc;
  }
  return {acc, 0};
}

}  // namespace autograd

namespace detail {
void attach(const std::shared_ptr<autograd::Node>& node, std::span<const TensorRef> inputs, Tensor& out) {
  auto& edges = node->mutable_next_edges();
  auto& metas = node->mutable_input_meta();
  edges.reserve(inputs.size());
  metas.reserve(inputs.size());
  for (const TensorRef& ref : inputs) {
    const Tensor& t = *ref.tensor;
    if (t.defined() && t.requires_grad()) {
      edges.push_back(autograd::gradient_edge(t));
      metas.push_back({t.shape(), t.dtype()});
    } else {
      edges.emplace_back();
      metas.push_back({t.defined() ? t.shape() : Shape{}, t.defined() ? t.dtype() : kFloat32});
    }
  }
  auto& meta = out.impl()->meta();
  meta.grad_fn = node;
  meta.output_nr = 0;
  if (autograd::is_anomaly_enabled()) {
    node->set_creation_trace(capture_call_stack());
    check_finite(out, *node, "forward output", 0);
  }
}
}  // namespace detail

// ---- the tensor's autograd methods ----
namespace {
detail::AutogradMeta* meta_of(const Tensor& t) {
  auto& meta = t.impl()->autograd;
  return meta ? &*meta : nullptr;
}
}  // namespace

bool Tensor::requires_grad() const {
  auto* m = meta_of(*this);
  return m != nullptr && (m->requires_grad || m->grad_fn != nullptr);
}

Tensor Tensor::requires_grad_(bool requires_grad) {
  if (requires_grad && !is_floating(dtype()))
    throw Error(fmt::format("requires_grad_: only float32 and float64 tensors can require gradients, this one is {}",
                            dtype_name(dtype())));
  auto* m = meta_of(*this);
  if (m != nullptr && m->grad_fn)
    throw Error("requires_grad_: only leaf tensors can change requires_grad; this tensor was produced by " +
                m->grad_fn->name() + " (use detach() to get a leaf)");
  impl()->meta().requires_grad = requires_grad;
  return *this;
}

Tensor Tensor::grad() const {
  auto* m = meta_of(*this);
  return m ? m->grad : Tensor();
}

void Tensor::set_grad(const Tensor& grad) {
  if (grad.defined() && (grad.shape() != shape() || grad.dtype() != dtype()))
    throw Error(fmt::format("set_grad: gradient of shape {} and dtype {} does not match the tensor's {} and {}",
                            grad.shape_string(), dtype_name(grad.dtype()), shape_string(), dtype_name(dtype())));
  impl()->meta().grad = grad;
}

void Tensor::zero_grad() {
  auto* m = meta_of(*this);
  if (m && m->grad.defined()) {
    if (m->grad.requires_grad()) m->grad = zeros_like(m->grad);
    else m->grad.zero_();
  }
}

void Tensor::reset_grad() {
  if (auto* m = meta_of(*this)) m->grad = Tensor();
}

void Tensor::retain_grad() {
  if (!requires_grad()) throw Error("retain_grad: this tensor does not require grad, so it will never get one");
  auto* m = meta_of(*this);
  if (!m->grad_fn) return;  // leaves keep their gradient anyway
  m->retains_grad = true;
  m->grad_fn->retain_output(m->output_nr, impl());
}

bool Tensor::is_leaf() const {
  auto* m = meta_of(*this);
  return m == nullptr || m->grad_fn == nullptr;
}

std::shared_ptr<autograd::Node> Tensor::grad_fn() const {
  auto* m = meta_of(*this);
  return m ? m->grad_fn : nullptr;
}

std::uint32_t Tensor::output_nr() const {
  auto* m = meta_of(*this);
  return m ? m->output_nr : 0;
}

Tensor Tensor::detach() const { return detail::make_view(*this, shape(), strides(), storage_offset()); }

void Tensor::backward(const Tensor& gradient, bool retain_graph, bool create_graph) const {
  autograd::backward({*this}, gradient.defined() ? std::vector<Tensor>{gradient} : std::vector<Tensor>{},
                     retain_graph, create_graph);
}

}  // namespace nabla
