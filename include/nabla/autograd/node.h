#pragma once
/// The graph's vocabulary: a Node is a gate, an Edge points at the gate that produced an input.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nabla/core/allocator.h>
#include <nabla/core/tensor.h>

namespace nabla::autograd {

class Node;

/// The vectors a node keeps per input, from the caching allocator: a node is made per recorded op.
template <class T>
using NodeVector = std::vector<T, detail::CachingAllocator<T>>;

/// Where a gradient goes: input `input_nr` of node `fn` (null fn: nowhere).
struct Edge {
  std::shared_ptr<Node> fn;
  std::uint32_t input_nr = 0;
};

/// Shape and dtype of a tensor a node received or produced, kept to check and reduce gradients.
struct TensorMeta {
  Shape shape;
  DType dtype = kFloat32;
};

/// A tensor kept for backward. Outputs of the saving node are kept without their grad_fn (no
/// reference cycle) and reattached on unpack; the version counter catches later in-place changes.
class SavedTensor {
 public:
  SavedTensor() = default;
  SavedTensor(const Tensor& t, bool is_output);
  /// The saved tensor, reattached to `owner` (may be null) when it was owner's output; throws if
  /// modified in place.
  Tensor unpack(Node* owner, const char* op) const;
  bool defined() const { return data_.defined(); }
  void reset() { data_ = Tensor(); }

 private:
  Tensor data_;
  std::uint64_t saved_version_ = 0;
  bool is_output_ = false;
  bool requires_grad_ = false;
  std::uint32_t output_nr_ = 0;
};

/// A gate of the graph. apply() receives the gradients of the node's outputs (the upstream
/// gradients) and returns the gradients of its inputs (the downstream gradients), one per edge.
class Node : public std::enable_shared_from_this<Node> {
 public:
  Node();
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  /// Upstream gradients (one per output, undefined where none arrived) to downstream gradients.
  virtual std::vector<Tensor> apply(std::vector<Tensor>&& grad_outputs) = 0;
  /// The op's name, e.g. "mul".
  virtual std::string name() const = 0;
  /// Frees what backward needed (after a backward without retain_graph).
  virtual void release_saved() {}

  /// The gates that produced this node's inputs, in input order.
  const NodeVector<Edge>& next_edges() const { return next_edges_; }
  NodeVector<Edge>& mutable_next_edges() { return next_edges_; }
  /// Shapes and dtypes of the inputs (for reducing and checking gradients).
  const NodeVector<TensorMeta>& input_meta() const { return input_meta_; }
  NodeVector<TensorMeta>& mutable_input_meta() { return input_meta_; }
  /// Number of outputs (a gradient slot each).
  std::uint32_t num_outputs() const { return num_outputs_; }
  void set_num_outputs(std::uint32_t n) { num_outputs_ = n; }
  /// Creation order; the engine runs later nodes first among those ready, for a deterministic sweep.
  std::uint64_t sequence_nr() const { return sequence_nr_; }
  /// True once release_saved() ran; a second backward then is an error.
  bool released() const { return released_; }
  void mark_released() { released_ = true; }
  /// Asks the engine to store the gradient of output `output_nr` in that tensor's grad() (retain_grad).
  void retain_output(std::uint32_t output_nr, std::weak_ptr<detail::TensorImpl> tensor) {
    retained_.emplace_back(output_nr, std::move(tensor));
  }
  /// Where the node was created (a call stack), recorded only in anomaly mode.
  const std::string& creation_trace() const { return creation_trace_; }
  void set_creation_trace(std::string trace) { creation_trace_ = std::move(trace); }
  /// The outputs registered by retain_output.
  const std::vector<std::pair<std::uint32_t, std::weak_ptr<detail::TensorImpl>>>& retained_outputs() const {
    return retained_;
  }

 protected:
  NodeVector<Edge> next_edges_;
  NodeVector<TensorMeta> input_meta_;
  std::uint32_t num_outputs_ = 1;
  std::uint64_t sequence_nr_;
  bool released_ = false;
  std::vector<std::pair<std::uint32_t, std::weak_ptr<detail::TensorImpl>>> retained_;
  std::string creation_trace_;
};

/// The sink of a leaf that requires grad: adds the incoming gradient into the leaf's grad().
class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(const Tensor& leaf);
  std::vector<Tensor> apply(std::vector<Tensor>&& grad_outputs) override;
  std::string name() const override { return "AccumulateGrad"; }
  const Tensor& variable() const { return variable_; }

 private:
  Tensor variable_;
};

/// The edge a gradient for tensor t should follow: its grad_fn, or its leaf accumulator.
Edge gradient_edge(const Tensor& t);

}  // namespace nabla::autograd
