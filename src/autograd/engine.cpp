// The backward pass. Dependencies are counted by an iterative walk from the roots; then nodes run
// when every gradient for them has arrived (reverse topological order), later-created first among
// the ready ones so the order is deterministic. Each node multiplies its local gradient by the
// upstream gradient and hands the downstream gradients to its inputs' nodes, where they are summed.
#include <nabla/autograd/engine.h>

#include <algorithm>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include <nabla/autograd/grad_mode.h>
#include <nabla/autograd/node.h>
#include <nabla/ops/arithmetic.h>
#include <nabla/ops/reduction.h>

#include "autograd/anomaly.h"
#include "core/tensor_impl.h"

namespace nabla::autograd {
namespace {

struct ByLaterFirst {
  bool operator()(const Node* a, const Node* b) const { return a->sequence_nr() < b->sequence_nr(); }
};

// Where autograd::grad collects a result: input slot `slot` of a node, into results[index].
struct Capture {
  std::uint32_t slot;
  std::size_t index;
};

class GraphTask {
 public:
  GraphTask(bool keep_graph, bool create_graph) : keep_graph_(keep_graph), create_graph_(create_graph) {}

  void add_root(const Edge& edge, const Tensor& grad) {
    owned_.push_back(edge.fn);  // a leaf's accumulator may be owned by nothing else
    roots_.push_back(edge.fn.get());
    accumulate(edge.fn.get(), edge.input_nr, grad);
  }

  void add_capture(const Edge& edge, std::size_t index) {
    owned_.push_back(edge.fn);  // else an unused leaf's accumulator dies and its address may be reused
    captures_[edge.fn.get()].push_back({edge.input_nr, index});
  }

  // Runs the sweep. With captures (autograd::grad) only nodes leading to a capture run, and leaf
  // accumulators never do: the gradients are returned instead.
  void execute(std::vector<Tensor>* results) {
    count_dependencies(results != nullptr);
    std::priority_queue<Node*, std::vector<Node*>, ByLaterFirst> ready;
    for (Node* r : roots_)
      if (dependencies_[r] == 0 && seen_ready_.insert(r).second) ready.push(r);
    AutoGradMode mode(create_graph_);
    while (!ready.empty()) {
      Node* node = ready.top();
      ready.pop();
      std::vector<Tensor> inputs = take_buffer(node);
      if (auto c = captures_.find(node); c != captures_.end())
        for (const Capture& cap : c->second) (*results)[cap.index] = inputs[cap.slot];
      store_retained(node, inputs);
      const bool run = results == nullptr ? true : needed_.count(node) > 0 && !is_accumulator(node);
      if (run && std::any_of(inputs.begin(), inputs.end(), [](const Tensor& t) { return t.defined(); })) {
        std::vector<Tensor> outputs = node->apply(std::move(inputs));
        if (!keep_graph_) node->release_saved();
        pass_on(node, outputs);
      }
      for (const Edge& e : node->next_edges()) {
        if (!e.fn) continue;
        if (--dependencies_[e.fn.get()] == 0) ready.push(e.fn.get());
      }
    }
  }

 private:
  static bool is_accumulator(Node* n) { return dynamic_cast<AccumulateGrad*>(n) != nullptr; }

  // Iterative depth-first walk: counts, for every node, the edges that point at it, and in grad()
  // mode marks the nodes from which a capture can be reached (a post-order pass).
  void count_dependencies(bool mark_needed) {
    std::unordered_set<Node*> visited;
    std::vector<std::pair<Node*, std::size_t>> stack;  // node, next edge to visit
    std::vector<Node*> post_order;
    for (Node* r : roots_) {
      if (!visited.insert(r).second) continue;
      stack.emplace_back(r, 0);
      while (!stack.empty()) {
        auto& [node, next] = stack.back();
        if (next < node->next_edges().size()) {
          Node* child = node->next_edges()[next++].fn.get();
          if (child == nullptr) continue;
          ++dependencies_[child];
          if (visited.insert(child).second) stack.emplace_back(child, 0);
        } else {
          post_order.push_back(node);
          stack.pop_back();
        }
      }
    }
    if (!mark_needed) return;
    for (Node* n : post_order) {  // children come before parents
      bool needed = captures_.count(n) > 0;
      for (const Edge& e : n->next_edges()) needed = needed || (e.fn && needed_.count(e.fn.get()) > 0);
      if (needed) needed_.insert(n);
    }
  }

  void accumulate(Node* node, std::uint32_t slot, const Tensor& grad) {
    auto& buffer = buffers_[node];
    if (buffer.size() < node->num_outputs()) buffer.resize(node->num_outputs());
    Tensor& acc = buffer[slot];
    acc = acc.defined() ? acc + grad : grad;  // a value used twice sums its gradients
  }

  std::vector<Tensor> take_buffer(Node* node) {
    auto it = buffers_.find(node);
    if (it == buffers_.end()) return std::vector<Tensor>(node->num_outputs());
    std::vector<Tensor> out = std::move(it->second);
    buffers_.erase(it);
    out.resize(node->num_outputs());
    return out;
  }

  static void store_retained(Node* node, const std::vector<Tensor>& grads) {
    for (const auto& [slot, weak] : node->retained_outputs()) {
      auto impl = weak.lock();
      if (!impl || !grads[slot].defined()) continue;
      Tensor g = is_grad_enabled() ? grads[slot] : grads[slot].detach();
      auto& meta = impl->meta();
      meta.grad = meta.grad.defined() ? meta.grad + g : g.clone();
    }
  }

  // Checks each downstream gradient against the input it belongs to, reducing broadcast shapes.
  void pass_on(Node* node, std::vector<Tensor>& grads) {
    const auto& edges = node->next_edges();
    if (is_anomaly_enabled())
      for (std::size_t i = 0; i < grads.size(); ++i) detail::check_finite(grads[i], *node, "backward gradient", i);
    if (grads.size() != edges.size())
      throw Error(fmt::format("backward of {}: returned {} gradients for {} inputs", node->name(), grads.size(),
                              edges.size()));
    for (std::size_t i = 0; i < edges.size(); ++i) {
      if (!edges[i].fn || !grads[i].defined()) continue;
      const TensorMeta& meta = node->input_meta()[i];
      Tensor g = grads[i];
      if (g.shape() != meta.shape) {
        try {
          g = sum_to(g, meta.shape);
        } catch (const Error&) {
          throw Error(fmt::format("backward of {}: gradient {} has shape {}, but its input has shape {}", node->name(),
                                  i, g.shape_string(), shape_to_string(meta.shape)));
        }
      }
      if (g.dtype() != meta.dtype)
        throw Error(fmt::format("backward of {}: gradient {} has dtype {}, but its input has dtype {}", node->name(), i,
                                dtype_name(g.dtype()), dtype_name(meta.dtype)));
      accumulate(edges[i].fn.get(), edges[i].input_nr, g);
    }
  }

  bool keep_graph_, create_graph_;
  std::vector<std::shared_ptr<Node>> owned_;  // keeps roots and capture targets alive for the sweep
  std::vector<Node*> roots_;
  std::unordered_map<Node*, std::size_t> dependencies_;
  std::unordered_map<Node*, std::vector<Tensor>> buffers_;
  std::unordered_map<Node*, std::vector<Capture>> captures_;
  std::unordered_set<Node*> needed_;
  std::unordered_set<Node*> seen_ready_;
};

// Seeds the sweep with one gradient per output (ones for one-element outputs when none is given).
void add_roots(GraphTask& task, const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs,
               const char* op) {
  if (!grad_outputs.empty() && grad_outputs.size() != outputs.size())
    throw Error(fmt::format("{}: got {} outputs but {} grad_outputs", op, outputs.size(), grad_outputs.size()));
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    if (!out.defined()) throw Error(fmt::format("{}: output {} is undefined", op, i));
    if (!out.requires_grad())
      throw Error(fmt::format("{}: output {} (shape {}) does not require grad and has no grad_fn; call "
                              "requires_grad_() on an input before computing it",
                              op, i, out.shape_string()));
    Tensor g = grad_outputs.empty() ? Tensor() : grad_outputs[i];
    if (!g.defined()) {
      if (out.numel() != 1)
        throw Error(fmt::format("{}: output {} has shape {} ({} elements); a gradient can be created implicitly "
                                "only for one-element outputs, so pass a gradient of that shape",
                                op, i, out.shape_string(), out.numel()));
      g = ones_like(out);
    } else if (g.shape() != out.shape() || g.dtype() != out.dtype()) {
      throw Error(fmt::format("{}: gradient {} has shape {} and dtype {}, but the output has shape {} and dtype {}",
                              op, i, g.shape_string(), dtype_name(g.dtype()), out.shape_string(),
                              dtype_name(out.dtype())));
    }
    task.add_root(gradient_edge(out), g);
  }
}

}  // namespace

void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs, bool retain_graph,
              bool create_graph) {
  GraphTask task(retain_graph || create_graph, create_graph);
  add_roots(task, outputs, grad_outputs, "backward");
  task.execute(nullptr);
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool retain_graph, bool create_graph,
                         bool allow_unused) {
  GraphTask task(retain_graph || create_graph, create_graph);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined() || !inputs[i].requires_grad())
      throw Error(fmt::format("grad: input {} does not require grad, so no gradient can be taken with respect to it",
                              i));
    task.add_capture(gradient_edge(inputs[i]), i);
  }
  add_roots(task, outputs, grad_outputs, "grad");
  std::vector<Tensor> results(inputs.size());
  task.execute(&results);
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (!results[i].defined() && !allow_unused)
      throw Error(fmt::format("grad: input {} (shape {}) was not used to compute the outputs; pass allow_unused=true "
                              "to get an undefined gradient instead",
                              i, inputs[i].shape_string()));
    if (results[i].defined() && !create_graph) results[i] = results[i].detach();
  }
  return results;
}

}  // namespace nabla::autograd
