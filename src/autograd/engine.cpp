// The backward pass. Dependencies are counted by an iterative walk from the roots; then nodes run
// when every gradient for them has arrived (reverse topological order), later-created first among
// the ready ones so the order is deterministic. Each node multiplies its local gradient by the
// upstream gradient and hands the downstream gradients to its inputs' nodes, where they are summed.
#include <nabla/autograd/engine.h>

#include <algorithm>
#include <queue>
#include <utility>

#include <fmt/format.h>

#include <nabla/autograd/grad_mode.h>
#include <nabla/autograd/node.h>
#include <nabla/ops/arithmetic.h>
#include <nabla/ops/reduction.h>

#include "autograd/anomaly.h"
#include "core/tensor_impl.h"

namespace nabla::autograd {
namespace {

// Where autograd::grad collects a result: input slot `slot` of a node, into results[index].
struct Capture {
  Node* node;
  std::uint32_t slot;
  std::size_t index;
};

// Node* -> dense index, open addressing with linear probing: one array, no allocation per node
// (a long chain of tiny ops spent much of its backward in unordered_map node allocations).
class NodeIndex {
 public:
  static constexpr std::uint32_t kMissing = ~std::uint32_t{0};

  std::uint32_t find(const Node* node) const {
    if (slots_.empty()) return kMissing;
    for (std::size_t i = hash(node);; i = (i + 1) & mask()) {
      if (slots_[i].node == node) return slots_[i].index;
      if (slots_[i].node == nullptr) return kMissing;
    }
  }
  // Inserts node with `index` unless present; returns {its index, whether it was inserted}.
  std::pair<std::uint32_t, bool> insert(const Node* node, std::uint32_t index) {
    if (2 * (size_ + 1) > slots_.size()) grow();
    for (std::size_t i = hash(node);; i = (i + 1) & mask()) {
      if (slots_[i].node == node) return {slots_[i].index, false};
      if (slots_[i].node == nullptr) {
        slots_[i] = {node, index};
        ++size_;
        return {index, true};
      }
    }
  }

 private:
  struct Slot {
    const Node* node = nullptr;
    std::uint32_t index = 0;
  };
  std::size_t mask() const { return slots_.size() - 1; }
  std::size_t hash(const Node* node) const {
    return (reinterpret_cast<std::uintptr_t>(node) >> 4) * 0x9E3779B97F4A7C15ull >> 17 & mask();
  }
  void grow() {
    std::vector<Slot> old = std::exchange(slots_, std::vector<Slot>(std::max<std::size_t>(64, 2 * slots_.size())));
    size_ = 0;
    for (const Slot& s : old)
      if (s.node != nullptr) insert(s.node, s.index);
  }
  std::vector<Slot> slots_;
  std::size_t size_ = 0;
};

class GraphTask {
 public:
  GraphTask(bool keep_graph, bool create_graph) : keep_graph_(keep_graph), create_graph_(create_graph) {}

  void add_root(const Edge& edge, const Tensor& grad) {
    owned_.push_back(edge.fn);  // a leaf's accumulator may be owned by nothing else
    roots_.push_back({edge, grad});
  }

  void add_capture(const Edge& edge, std::size_t index) {
    owned_.push_back(edge.fn);  // else an unused leaf's accumulator dies and its address may be reused
    captures_.push_back({edge.fn.get(), edge.input_nr, index});
  }

  // Runs the sweep. With captures (autograd::grad) only nodes leading to a capture run, and leaf
  // accumulators never do: the gradients are returned instead.
  void execute(std::vector<Tensor>* results) {
    discover(results != nullptr);
    for (const auto& [edge, grad] : roots_) accumulate(index_.find(edge.fn.get()), edge.input_nr, grad);
    // Later-created first among the ready nodes: a deterministic reverse topological order.
    std::priority_queue<std::pair<std::uint64_t, std::uint32_t>> ready;
    for (const auto& root : roots_) {
      const std::uint32_t r = index_.find(root.edge.fn.get());
      if (states_[r].dependencies == 0 && !states_[r].queued) {
        states_[r].queued = true;
        ready.emplace(states_[r].node->sequence_nr(), r);
      }
    }
    AutoGradMode mode(create_graph_);
    anomaly_ = is_anomaly_enabled();
    std::vector<Tensor> inputs;  // reused for every node
    while (!ready.empty()) {
      const std::uint32_t index = ready.top().second;
      ready.pop();
      const State& state = states_[index];
      Node* node = state.node;
      inputs.clear();
      for (std::uint32_t k = 0; k < node->num_outputs(); ++k) inputs.push_back(std::move(grads_[state.grads + k]));
      if (state.captured)
        for (const Capture& cap : captures_)
          if (cap.node == node) (*results)[cap.index] = inputs[cap.slot];
      store_retained(node, inputs);
      const bool run = results == nullptr || (state.needed && !is_accumulator(node));
      if (run && std::any_of(inputs.begin(), inputs.end(), [](const Tensor& t) { return t.defined(); })) {
        std::vector<Tensor> outputs = node->apply(std::move(inputs));
        if (!keep_graph_) node->release_saved();
        pass_on(index, outputs);
      }
      inputs.clear();
      for (std::uint32_t e = state.edges; e < state.edges + node->next_edges().size(); ++e) {
        const std::uint32_t child = edge_targets_[e];
        if (child != NodeIndex::kMissing && --states_[child].dependencies == 0) {
          states_[child].queued = true;
          ready.emplace(states_[child].node->sequence_nr(), child);
        }
      }
    }
  }

 private:
  // What the sweep keeps per node, in discovery order.
  struct State {
    Node* node;
    std::uint32_t grads;  // first of its num_outputs() slots in grads_
    std::uint32_t edges;  // first of its next_edges() targets in edge_targets_
    std::uint32_t dependencies = 0;
    bool queued = false;
    bool captured = false;  // grad() mode: a capture reads its gradient
    bool needed = false;    // grad() mode: a capture is reachable from it
  };
  struct Root {
    Edge edge;
    Tensor grad;
  };

  static bool is_accumulator(Node* n) { return dynamic_cast<AccumulateGrad*>(n) != nullptr; }

  std::uint32_t add_state(Node* node) {
    const auto [index, inserted] = index_.insert(node, static_cast<std::uint32_t>(states_.size()));
    if (inserted) {
      states_.push_back({node, static_cast<std::uint32_t>(grads_.size()), 0});
      grads_.resize(grads_.size() + node->num_outputs());
    }
    return index;
  }

  // Iterative depth-first walk: gives every reachable node a state, counts the edges that point at
  // it, and in grad() mode marks the nodes from which a capture can be reached (a post-order pass).
  void discover(bool mark_needed) {
    std::vector<std::pair<std::uint32_t, std::size_t>> stack;  // node, next edge to visit
    std::vector<std::uint32_t> post_order;
    for (const Root& root : roots_) {
      const std::size_t before = states_.size();
      const std::uint32_t r = add_state(root.edge.fn.get());
      if (states_.size() == before) continue;
      stack.emplace_back(r, 0);
      while (!stack.empty()) {
        auto& [index, next] = stack.back();
        Node* node = states_[index].node;
        if (next < node->next_edges().size()) {
          Node* child = node->next_edges()[next++].fn.get();
          if (child == nullptr) continue;
          const std::size_t before_child = states_.size();
          const std::uint32_t c = add_state(child);  // may grow states_: no references kept across it
          ++states_[c].dependencies;
          if (states_.size() != before_child) stack.emplace_back(c, 0);
        } else {
          post_order.push_back(index);
          stack.pop_back();
        }
      }
    }
    // Each node's edge targets side by side, so the sweep needs no lookups.
    for (State& state : states_) {
      state.edges = static_cast<std::uint32_t>(edge_targets_.size());
      for (const Edge& e : state.node->next_edges())
        edge_targets_.push_back(e.fn ? index_.find(e.fn.get()) : NodeIndex::kMissing);
    }
    if (!mark_needed) return;
    for (const Capture& cap : captures_)
      if (const std::uint32_t c = index_.find(cap.node); c != NodeIndex::kMissing)
        states_[c].captured = states_[c].needed = true;
    for (const std::uint32_t n : post_order) {  // children come before parents
      State& s = states_[n];
      for (std::uint32_t e = s.edges; e < s.edges + s.node->next_edges().size(); ++e)
        s.needed = s.needed || (edge_targets_[e] != NodeIndex::kMissing && states_[edge_targets_[e]].needed);
    }
  }

  void accumulate(std::uint32_t index, std::uint32_t slot, Tensor grad) {
    Tensor& acc = grads_[states_[index].grads + slot];
    acc = acc.defined() ? acc + grad : std::move(grad);  // a value used twice sums its gradients
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
  void pass_on(std::uint32_t index, std::vector<Tensor>& grads) {
    Node* node = states_[index].node;
    const auto& edges = node->next_edges();
    if (anomaly_)
      for (std::size_t i = 0; i < grads.size(); ++i) detail::check_finite(grads[i], *node, "backward gradient", i);
    if (grads.size() != edges.size())
      throw Error(fmt::format("backward of {}: returned {} gradients for {} inputs", node->name(), grads.size(),
                              edges.size()));
    const std::uint32_t first_edge = states_[index].edges;
    for (std::size_t i = 0; i < edges.size(); ++i) {
      if (!edges[i].fn || !grads[i].defined()) continue;
      const TensorMeta& meta = node->input_meta()[i];
      Tensor g = std::move(grads[i]);
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
      accumulate(edge_targets_[first_edge + i], edges[i].input_nr, std::move(g));
    }
  }

  bool keep_graph_, create_graph_;
  bool anomaly_ = false;
  std::vector<std::shared_ptr<Node>> owned_;  // keeps roots and capture targets alive for the sweep
  std::vector<Root> roots_;
  std::vector<Capture> captures_;
  NodeIndex index_;
  std::vector<State> states_;
  std::vector<std::uint32_t> edge_targets_;  // state index of each node's edge targets (kMissing: none)
  std::vector<Tensor> grads_;                // the gradient buffers of all nodes' outputs
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
