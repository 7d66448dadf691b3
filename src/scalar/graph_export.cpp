// DOT and Mermaid writers, atomic graph files (rendered by Graphviz when asked), tensor graphs.
#include <nabla/scalar/graph_export.h>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include <nabla/autograd/node.h>
#include <nabla/core/error.h>

extern char** environ;

namespace nabla {

namespace {

std::string dot_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string mermaid_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"') out += "#quot;";
    else if (c == '\n') out += "<br/>";
    else if (c == '<') out += "#lt;";
    else if (c == '>') out += "#gt;";
    else out += c;
  }
  return out;
}

const char* dot_fill(GraphNodeKind kind) {
  switch (kind) {
    case GraphNodeKind::Input: return "#dbeafe";
    case GraphNodeKind::Constant: return "#eeeeee";
    case GraphNodeKind::Op: return "#ffffff";
    case GraphNodeKind::Output: return "#fde68a";
  }
  return "#ffffff";
}

const char* kind_class(GraphNodeKind kind) {
  switch (kind) {
    case GraphNodeKind::Input: return "input";
    case GraphNodeKind::Constant: return "constant";
    case GraphNodeKind::Op: return "op";
    case GraphNodeKind::Output: return "output";
  }
  return "op";
}

std::string temp_name(const std::filesystem::path& path, const char* suffix) {
  static std::atomic<unsigned> counter{0};
  return path.string() + fmt::format(".tmp-{}-{}{}", ::getpid(), counter.fetch_add(1), suffix);
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(fmt::format("write_graph: cannot open '{}' for writing: {}", path.string(), std::strerror(errno)));
  out << text;
  out.close();
  if (!out) throw Error(fmt::format("write_graph: writing '{}' failed", path.string()));
}

/// Runs `dot -T<format> -o out in`; throws with Graphviz's exit status or a hint when dot is missing.
void run_dot(const std::string& format, const std::string& in, const std::string& out) {
  std::string t = "-T" + format;
  std::string o = "-o" + out;
  std::vector<char*> argv{const_cast<char*>("dot"), t.data(), o.data(), const_cast<char*>(in.c_str()), nullptr};
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, "dot", nullptr, nullptr, argv.data(), environ);
  if (rc != 0)
    throw Error(fmt::format("write_graph: cannot run Graphviz's 'dot' ({}); install Graphviz (Debian package "
                            "'graphviz') or write a .dot file instead",
                            std::strerror(rc)));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw Error(fmt::format("write_graph: waiting for 'dot' failed: {}", std::strerror(errno)));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    throw Error("write_graph: Graphviz's 'dot' was not found; install Graphviz (Debian package 'graphviz') or "
                "write a .dot file instead");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Error(fmt::format("write_graph: 'dot -T{}' failed (exit status {})", format,
                            WIFEXITED(status) ? WEXITSTATUS(status) : -1));
}

}  // namespace

std::string to_dot(const Graph& graph) {
  std::string s = "digraph nabla {\n";
  s += "  rankdir=LR;\n";
  if (!graph.title.empty()) s += fmt::format("  label=\"{}\"; labelloc=t; fontname=\"Helvetica\";\n", dot_escape(graph.title));
  s += "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=11];\n";
  s += "  edge [fontname=\"Helvetica\", fontsize=10];\n";
  for (const GraphNode& n : graph.nodes)
    s += fmt::format("  {} [label=\"{}\", fillcolor=\"{}\"{}];\n", n.id, dot_escape(n.label), dot_fill(n.kind),
                     n.kind == GraphNodeKind::Output ? ", penwidth=2" : "");
  for (const GraphEdge& e : graph.edges) {
    if (e.backward)
      // Drawn from the argument to the node (so the layout matches the forward edges), arrow at the argument.
      s += fmt::format("  {} -> {} [label=\"{}\", dir=back, style=dashed, color=\"#c0392b\", fontcolor=\"#c0392b\"];\n",
                       e.to, e.from, dot_escape(e.label));
    else
      s += fmt::format("  {} -> {} [label=\"{}\"];\n", e.from, e.to, dot_escape(e.label));
  }
  s += "}\n";
  return s;
}

std::string to_mermaid(const Graph& graph) {
  std::string s = "graph LR\n";
  for (const GraphNode& n : graph.nodes) s += fmt::format("  {}[\"{}\"]\n", n.id, mermaid_escape(n.label));
  for (const GraphEdge& e : graph.edges) {
    const std::string label = e.label.empty() ? "" : fmt::format("|\"{}\"|", mermaid_escape(e.label));
    s += fmt::format("  {} {}{} {}\n", e.from, e.backward ? "-.->" : "-->", label, e.to);
  }
  s += "  classDef input fill:#dbeafe,stroke:#1e3a8a\n";
  s += "  classDef constant fill:#eeeeee,stroke:#666666\n";
  s += "  classDef op fill:#ffffff,stroke:#333333\n";
  s += "  classDef output fill:#fde68a,stroke:#92400e,stroke-width:2px\n";
  for (const GraphNode& n : graph.nodes) s += fmt::format("  class {} {}\n", n.id, kind_class(n.kind));
  // Backward edges are the links after the forward ones; colour them like the DOT picture.
  std::size_t index = 0;
  for (const GraphEdge& e : graph.edges) {
    if (e.backward) s += fmt::format("  linkStyle {} stroke:#c0392b,color:#c0392b\n", index);
    ++index;
  }
  return s;
}

void write_graph(const Graph& graph, const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string target = path.string();
  if (ext == ".dot" || ext == ".gv" || ext == ".mmd") {
    const std::string tmp = temp_name(path, "");
    try {
      write_text(tmp, ext == ".mmd" ? to_mermaid(graph) : to_dot(graph));
      std::filesystem::rename(tmp, path);
    } catch (...) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      throw;
    }
    return;
  }
  if (ext != ".svg" && ext != ".png" && ext != ".pdf")
    throw Error(fmt::format("write_graph: cannot tell the format of '{}' from its extension '{}'; use .dot, .gv, "
                            ".mmd, .svg, .png or .pdf",
                            target, ext));
  const std::string dot_tmp = temp_name(path, ".dot");
  const std::string out_tmp = temp_name(path, ext.c_str());
  std::error_code ec;
  try {
    write_text(dot_tmp, to_dot(graph));
    run_dot(ext.substr(1), dot_tmp, out_tmp);
    std::filesystem::rename(out_tmp, path);
  } catch (const std::filesystem::filesystem_error& e) {
    std::filesystem::remove(dot_tmp, ec);
    std::filesystem::remove(out_tmp, ec);
    throw Error(fmt::format("write_graph: cannot write '{}': {}", target, e.code().message()));
  } catch (...) {
    std::filesystem::remove(dot_tmp, ec);
    std::filesystem::remove(out_tmp, ec);
    throw;
  }
  std::filesystem::remove(dot_tmp, ec);
}

Graph tensor_graph(const Tensor& tensor) {
  if (!tensor.defined()) throw Error("tensor_graph: the tensor is undefined");
  Graph g;
  const std::string out_label = fmt::format("output\n{} {}", shape_to_string(tensor.shape()), dtype_name(tensor.dtype()));
  const auto root = tensor.grad_fn();
  if (!root) {
    g.nodes.push_back({"t0", tensor.requires_grad() ? fmt::format("leaf\n{}", shape_to_string(tensor.shape()))
                                                    : out_label + "\n(no graph: requires_grad is false)",
                       tensor.requires_grad() ? GraphNodeKind::Input : GraphNodeKind::Output});
    return g;
  }
  // Iterative depth-first walk; ids in order of discovery, so the picture is deterministic.
  std::map<const autograd::Node*, std::string> ids;
  std::vector<const autograd::Node*> order;
  std::vector<const autograd::Node*> stack{root.get()};
  ids[root.get()] = "n0";
  while (!stack.empty()) {
    const autograd::Node* n = stack.back();
    stack.pop_back();
    order.push_back(n);
    for (const autograd::Edge& e : n->next_edges()) {
      if (!e.fn || ids.count(e.fn.get())) continue;
      ids[e.fn.get()] = fmt::format("n{}", ids.size());
      stack.push_back(e.fn.get());
    }
  }
  for (const autograd::Node* n : order) {
    if (const auto* leaf = dynamic_cast<const autograd::AccumulateGrad*>(n))
      g.nodes.push_back({ids[n], fmt::format("leaf\n{}", shape_to_string(leaf->variable().shape())),
                         GraphNodeKind::Input});
    else
      g.nodes.push_back({ids[n], n->name(), GraphNodeKind::Op});
  }
  g.nodes.push_back({"out", out_label, GraphNodeKind::Output});
  for (const autograd::Node* n : order) {
    const auto& edges = n->next_edges();
    const auto& meta = n->input_meta();
    for (std::size_t k = 0; k < edges.size(); ++k) {
      if (!edges[k].fn) continue;
      g.edges.push_back({ids[edges[k].fn.get()], ids[n], k < meta.size() ? shape_to_string(meta[k].shape) : "", false});
    }
  }
  g.edges.push_back({ids[root.get()], "out", shape_to_string(tensor.shape()), false});
  return g;
}

std::string to_dot(const Tensor& tensor) { return to_dot(tensor_graph(tensor)); }

}  // namespace nabla
