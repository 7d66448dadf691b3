// The node-by-node trace of a program's reverse sweep, its table and the search for NaN/Inf.
#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include <fmt/format.h>

#include <nabla/scalar/program.h>

namespace nabla::scalar {

Trace trace_program(const Program& program, const std::vector<double>& inputs) {
  Tape tape;
  TapeScope scope(tape);
  std::vector<Var> x;
  x.reserve(inputs.size());
  for (double v : inputs) x.push_back(tape.variable(v));
  const std::vector<Var> vars = program.evaluate<Var>(std::span<const Var>(x));
  const auto& code = program.instructions();
  const Var& out = vars[static_cast<std::size_t>(program.output())];
  tape.backward(out);

  Trace trace;
  trace.output = static_cast<std::size_t>(program.output());
  trace.nodes.resize(code.size());
  for (std::size_t i = 0; i < code.size(); ++i) {
    const Instruction& in = code[i];
    TraceNode& n = trace.nodes[i];
    n.id = i;
    n.op = in.op;
    n.name = program.node_name(i);
    n.value = vars[i].value();
    n.upstream = tape.adjoint(vars[i]);
    if (in.op == OpCode::Input || in.op == OpCode::Constant) continue;
    // Each instruction is one statement whose arguments are its operands in order; an operand
    // that is not an argument (the constant exponent of pow(a, 2)) has local partial 0.
    const TapeStatement st = tape.statement(vars[i].index());
    const std::int32_t args[2] = {in.a, in.b};
    std::uint32_t slot = 0;
    for (int k = 0; k < 2; ++k) {
      if (args[k] < 0) continue;
      const auto arg = static_cast<std::size_t>(args[k]);
      const double local = slot < st.size ? st.partial[slot] : 0.0;
      ++slot;
      n.args.push_back(arg);
      n.local.push_back(local);
      // Constants receive nothing; nor does anything from a node with upstream 0, which the sweep skips.
      n.downstream.push_back(code[arg].op == OpCode::Constant || n.upstream == 0.0 ? 0.0 : local * n.upstream);
    }
  }
  return trace;
}

namespace {
std::string num(double v) { return std::isnan(v) ? std::string("nan") : fmt::format("{:.6g}", v); }

std::string args_text(const Trace& trace, const TraceNode& n) {
  std::string s;
  for (std::size_t k = 0; k < n.args.size(); ++k) {
    const TraceNode& a = trace.nodes[n.args[k]];
    if (k) s += ", ";
    s += a.op == OpCode::Constant ? num(a.value) : fmt::format("{} = {}", a.name, num(a.value));
  }
  return s;
}
}  // namespace

std::optional<NonFinite> find_non_finite(const Program& program, const Trace& trace) {
  const auto& code = program.instructions();
  for (const TraceNode& n : trace.nodes) {
    if (std::isfinite(n.value)) continue;
    const bool args_finite =
        std::all_of(n.args.begin(), n.args.end(), [&](std::size_t a) { return std::isfinite(trace.nodes[a].value); });
    if (!args_finite) continue;
    std::string what = n.op == OpCode::Input ? "input" : n.op == OpCode::Constant ? "constant" : "node";
    std::string msg = fmt::format("{} {} '{}' ({}) is {}", what, n.name, program.text_of(n.id), op_name(n.op), num(n.value));
    if (!n.args.empty()) msg += fmt::format(" from finite arguments {}", args_text(trace, n));
    return NonFinite{msg, n.id, code[n.id].position};
  }
  for (std::size_t i = trace.nodes.size(); i-- > 0;) {
    const TraceNode& n = trace.nodes[i];
    if (!std::isfinite(n.upstream)) continue;
    for (std::size_t k = 0; k < n.args.size(); ++k) {
      if (std::isfinite(n.downstream[k])) continue;
      const TraceNode& a = trace.nodes[n.args[k]];
      return NonFinite{fmt::format("the gradient became {} at node {} '{}' ({}): d{}/d{} = {} at {}", num(n.downstream[k]),
                                   n.name, program.text_of(n.id), op_name(n.op), n.name, a.name, num(n.local[k]),
                                   args_text(trace, n)),
                       n.id, code[n.id].position};
    }
  }
  return std::nullopt;
}

std::string format_trace_table(const Trace& trace) {
  auto list = [&](const std::vector<double>& v) {
    std::string s;
    for (std::size_t k = 0; k < v.size(); ++k) s += (k ? ", " : "") + num(v[k]);
    return s.empty() ? std::string("-") : s;
  };
  std::vector<std::array<std::string, 8>> rows;
  rows.push_back({"id", "node", "op", "inputs", "value", "local grads", "upstream", "downstream"});
  for (const TraceNode& n : trace.nodes) {
    std::string in;
    for (std::size_t k = 0; k < n.args.size(); ++k) in += (k ? ", " : "") + trace.nodes[n.args[k]].name;
    const bool constant = n.op == OpCode::Constant;
    rows.push_back({fmt::format("{}", n.id), n.name, std::string(op_name(n.op)), in.empty() ? "-" : in, num(n.value),
                    list(n.local), constant ? "-" : num(n.upstream), list(n.downstream)});
  }
  std::array<std::size_t, 8> width{};
  for (const auto& r : rows)
    for (std::size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t c = 0; c < r.size(); ++c) line += fmt::format("{:<{}}", r[c], c + 1 < r.size() ? width[c] + 2 : 0);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

Graph trace_graph(const Trace& trace) {
  Graph g;
  auto id = [](std::size_t i) { return fmt::format("n{}", i); };
  for (const TraceNode& n : trace.nodes) {
    GraphNode node;
    node.id = id(n.id);
    switch (n.op) {
      case OpCode::Input:
        node.kind = GraphNodeKind::Input;
        node.label = fmt::format("{}\nvalue {}\ngrad {}", n.name, num(n.value), num(n.upstream));
        break;
      case OpCode::Constant:
        node.kind = GraphNodeKind::Constant;
        node.label = num(n.value);
        break;
      default:
        node.kind = n.id == trace.output ? GraphNodeKind::Output : GraphNodeKind::Op;
        node.label = fmt::format("{} = {}\nvalue {}\ngrad {}", n.name, op_name(n.op), num(n.value), num(n.upstream));
        break;
    }
    g.nodes.push_back(std::move(node));
  }
  // Forward edges first (values), then backward edges (gradients), each in node order.
  for (const TraceNode& n : trace.nodes)
    for (std::size_t k = 0; k < n.args.size(); ++k)
      g.edges.push_back({id(n.args[k]), id(n.id), num(trace.nodes[n.args[k]].value), false});
  for (const TraceNode& n : trace.nodes)
    for (std::size_t k = 0; k < n.args.size(); ++k)
      if (trace.nodes[n.args[k]].op != OpCode::Constant)
        g.edges.push_back({id(n.id), id(n.args[k]), num(n.downstream[k]), true});
  return g;
}

}  // namespace nabla::scalar
