#pragma once
/// Graph pictures: one small vocabulary (nodes, forward and backward edges) written as Graphviz DOT
/// or Mermaid, shared by scalar programs (values and gradients) and tensor graphs (op names, shapes).
#include <filesystem>
#include <string>
#include <vector>

#include <nabla/core/tensor.h>

namespace nabla {

/// What a node stands for; it picks the node's colour.
enum class GraphNodeKind { Input, Constant, Op, Output };

/// A node: a unique id (a DOT/Mermaid identifier) and a label (lines separated by '\n').
struct GraphNode {
  std::string id;
  std::string label;
  GraphNodeKind kind = GraphNodeKind::Op;
};

/// An edge from -> to. Forward edges carry values; backward edges (drawn dashed and red, arrow
/// pointing back at `from`) carry gradients.
struct GraphEdge {
  std::string from;
  std::string to;
  std::string label;
  bool backward = false;
};

/// A directed graph to draw, left to right.
struct Graph {
  std::string title;
  std::vector<GraphNode> nodes;
  std::vector<GraphEdge> edges;
};

/// The graph as Graphviz DOT text.
std::string to_dot(const Graph& graph);
/// The graph as a Mermaid "graph LR" block (without Markdown fences).
std::string to_mermaid(const Graph& graph);
/// Writes the graph to path, by extension: .dot/.gv (DOT), .mmd (Mermaid), .svg/.png/.pdf (rendered
/// by Graphviz's `dot`). The file appears atomically (written to a temporary, then renamed).
void write_graph(const Graph& graph, const std::filesystem::path& path);

/// The autograd graph behind a tensor: one node per backward op (its name), leaves with their
/// shapes, and edges labelled with the shapes that flow along them.
Graph tensor_graph(const Tensor& tensor);
/// tensor_graph(tensor) as DOT text.
std::string to_dot(const Tensor& tensor);

}  // namespace nabla
