// `nabla grad`: the value and gradient of a scalar program, as lines, JSON, a table or a graph.
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nabla/core/error.h>
#include <nabla/scalar/graph_export.h>
#include <nabla/scalar/program.h>

#include "commands.h"

namespace nabla::cli {

namespace {

struct GradOptions {
  bool json = false;
  bool table = false;
  bool mermaid = false;
  std::string graph;
  std::string mode = "reverse";
  double eps = 1e-6;
  std::string program;
  std::vector<std::string> assignments;
};

/// {"value": V, "grad": {"x": Gx, ...}}: nlohmann_json writes every name and number (escaping,
/// shortest round-trip digits, null for NaN/Inf); the layout is the documented one-line format.
std::string json_result(const scalar::Program& program, const scalar::BoundInputs& bound,
                        const ValueAndGradient& result) {
  std::string grad;
  for (std::int32_t k : bound.order) {
    const auto i = static_cast<std::size_t>(k);
    if (!grad.empty()) grad += ", ";
    grad += nlohmann::json(program.inputs()[i]).dump() + ": " + nlohmann::json(result.grad[i]).dump();
  }
  return fmt::format("{{\"value\": {}, \"grad\": {{{}}}}}", nlohmann::json(result.value).dump(), grad);
}

std::string number(double v) { return std::isnan(v) ? std::string("nan") : fmt::format("{:.12g}", v); }

int run_grad(const GradOptions& o) {
  const std::map<std::string, scalar::GradMode> modes{
      {"reverse", scalar::GradMode::Reverse}, {"forward", scalar::GradMode::Forward},
      {"numeric", scalar::GradMode::Numeric}};
  scalar::Program program;
  scalar::BoundInputs bound;
  try {
    program = scalar::Program::parse(o.program);
    bound = scalar::bind_inputs(program, o.assignments);
  } catch (const scalar::ProgramError& e) {
    fmt::print(stderr, "nabla grad: {}\n", e.what());
    return kExitUsage;
  }

  const ValueAndGradient result = scalar::program_gradient(program, bound.values, modes.at(o.mode), o.eps);
  const scalar::Trace trace = scalar::trace_program(program, bound.values);

  if (const auto bad = scalar::find_non_finite(program, trace))
    fmt::print(stderr, "nabla grad: warning: {}\n",
               scalar::caret_message(bad->message, program.source(), bad->position).substr(std::string("error: ").size()));

  if (o.json) {
    fmt::print("{}\n", json_result(program, bound, result));
  } else {
    const std::string& out = program.output_name();
    fmt::print("{} = {}\n", out, number(result.value));
    for (std::int32_t k : bound.order) {
      const auto i = static_cast<std::size_t>(k);
      fmt::print("∂{}/∂{} = {}\n", out, program.inputs()[i], number(result.grad[i]));
    }
  }
  if (o.table) fmt::print("\n{}", scalar::format_trace_table(trace));
  if (o.mermaid) fmt::print("\n```mermaid\n{}```\n", to_mermaid(scalar::trace_graph(trace)));
  if (!o.graph.empty()) {
    try {
      write_graph(scalar::trace_graph(trace), o.graph);
    } catch (const Error& e) {
      fmt::print(stderr, "nabla grad: {}\n", e.what());
      return kExitFailure;
    }
  }
  return 0;
}

}  // namespace

Command add_grad_command(CLI::App& app) {
  auto options = std::make_shared<GradOptions>();
  CLI::App* sub = app.add_subcommand(
      "grad", "Value and gradient of a scalar program, e.g.\n"
              "  nabla grad \"p = apple * n; total = p * tax\" apple=100 n=2 tax=1.1");
  sub->add_flag("--json", options->json, R"(Print {"value": V, "grad": {"x": Gx, ...}} (inputs in command-line order))");
  sub->add_option("--mode", options->mode, "How to differentiate")
      ->check(CLI::IsMember({"reverse", "forward", "numeric"}))
      ->capture_default_str();
  sub->add_option("--eps", options->eps, "Step for --mode numeric (scaled by max(1, |x|))")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--graph", options->graph,
                  "Write the graph (values forward, gradients backward): .dot, .mmd, or .svg/.png/.pdf via Graphviz");
  auto* mermaid = sub->add_flag("--mermaid", options->mermaid, "Print the graph as a Mermaid block for Markdown");
  auto* table = sub->add_flag("--table", options->table,
                              "Print one row per node: value, local, upstream and downstream gradients");
  auto* json = sub->get_option("--json");
  json->excludes(mermaid)->excludes(table);
  sub->add_option("program", options->program,
                  "Statements 'name = expression' separated by ';' or new lines; the last is the output")
      ->required();
  sub->add_option("inputs", options->assignments, "Input values, name=value");
  return Command{sub, [options] { return run_grad(*options); }};
}

}  // namespace nabla::cli
