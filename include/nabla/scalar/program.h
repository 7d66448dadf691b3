#pragma once
/// Scalar programs such as "p = apple * n; total = p * tax": parsing, evaluation in double, Var or
/// Dual, gradients in three modes, and a node-by-node trace of the reverse sweep (what `nabla grad` prints).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nabla/core/error.h>
#include <nabla/scalar/dual.h>
#include <nabla/scalar/var.h>

namespace nabla::scalar {

/// A problem in a program or its inputs, at a byte offset of a source text; what() shows the
/// message, the offending line and a caret under the position.
class ProgramError : public Error {
 public:
  ProgramError(std::string message, std::string source, std::size_t position);
  /// The message alone, e.g. "unknown function 'sinn'".
  const std::string& message() const { return message_; }
  /// The text the position refers to (the program, or a command-line argument).
  const std::string& source() const { return source_; }
  /// Byte offset of the problem in source().
  std::size_t position() const { return position_; }
  /// 1-based line and column of position() in source().
  std::pair<std::size_t, std::size_t> line_column() const;

 private:
  std::string message_;
  std::string source_;
  std::size_t position_;
};

/// Formats "error: MESSAGE (line L, column C)\n  LINE\n  ^" for a position in source.
std::string caret_message(std::string_view message, std::string_view source, std::size_t position);

/// The operations of a program. Input and Constant are leaves.
enum class OpCode : std::uint8_t {
  Input, Constant, Add, Sub, Mul, Div, Neg, Pow, Exp, Log, Sqrt, Sin, Cos, Tan, Tanh, Sigmoid, Relu, Abs, Max, Min,
  Asin, Acos, Atan, Sinh, Cosh, Asinh, Acosh, Atanh, Log1p, Expm1, Log2, Log10, Exp2, Cbrt, Erf, Erfc, Floor, Ceil,
  Round, Trunc, Atan2, Hypot
};

/// The op's name as shown in tables and graphs ("mul", "log", ...).
std::string_view op_name(OpCode op);

/// One instruction: op applied to earlier instructions a and b (-1: unused).
struct Instruction {
  OpCode op = OpCode::Constant;
  std::int32_t a = -1;
  std::int32_t b = -1;
  double constant = 0.0;       // the number, for Constant
  std::int32_t input = -1;     // index into Program::inputs(), for Input
  std::size_t position = 0;    // where it starts in the source
  std::size_t length = 0;      // how many bytes it spans
};

/// A named statement `name = expression`.
struct Statement {
  std::string name;
  std::int32_t value = -1;     // the instruction computing it
  std::size_t position = 0;    // where the name stands
};

/// A parsed program: straight-line code (SSA), inputs in order of first use, the last statement as output.
class Program {
 public:
  /// Parses statements separated by ';' or newlines; throws ProgramError (nothing is evaluated).
  static Program parse(std::string_view source);

  /// The source text.
  const std::string& source() const { return source_; }
  /// The free names, in order of first use.
  const std::vector<std::string>& inputs() const { return inputs_; }
  /// Where each input is first used.
  const std::vector<std::size_t>& input_positions() const { return input_positions_; }
  /// The statements in order.
  const std::vector<Statement>& statements() const { return statements_; }
  /// The instructions in evaluation order.
  const std::vector<Instruction>& instructions() const { return instructions_; }
  /// Name of the output (the last statement).
  const std::string& output_name() const { return statements_.back().name; }
  /// The instruction computing the output.
  std::int32_t output() const { return statements_.back().value; }
  /// Index of input `name` in inputs(), or -1.
  std::int32_t input_index(std::string_view name) const;
  /// The source text of instruction i (e.g. "log(x)").
  std::string_view text_of(std::size_t i) const;
  /// A short name for instruction i: its statement's name, the input's name, or "%i".
  std::string node_name(std::size_t i) const;

  /// Every instruction's value for the given input values (T = double, Var or Dual).
  template <class T>
  std::vector<T> evaluate(std::span<const T> inputs) const;
  /// The output's value.
  template <class T>
  T evaluate_output(std::span<const T> inputs) const;

 private:
  std::string source_;
  std::vector<std::string> inputs_;
  std::vector<std::size_t> input_positions_;
  std::vector<Statement> statements_;
  std::vector<Instruction> instructions_;
  friend class Parser;
};

/// Parses "name=value" arguments and orders the values as program.inputs(); throws ProgramError
/// (with the argument as source) for a malformed argument, an unknown or repeated name, and
/// (with the program as source) for an input that has no value. Returns the values and, for each
/// argument in command-line order, its input index.
struct BoundInputs {
  std::vector<double> values;              // in program.inputs() order
  std::vector<std::int32_t> order;         // program input index of each argument, in argument order
};
BoundInputs bind_inputs(const Program& program, const std::vector<std::string>& assignments);

/// How a gradient is computed.
enum class GradMode { Reverse, Forward, Numeric };
/// "reverse", "forward" or "numeric".
std::string_view grad_mode_name(GradMode mode);

/// The output's value and its gradient with respect to every input (in program.inputs() order).
ValueAndGradient program_gradient(const Program& program, const std::vector<double>& inputs,
                                  GradMode mode = GradMode::Reverse, double eps = 1e-6);

/// One node of a reverse-mode trace: the forward value, the local partials with respect to its
/// arguments, the upstream gradient d output / d node and the downstream gradients it sends back.
struct TraceNode {
  std::size_t id = 0;
  OpCode op = OpCode::Constant;
  std::string name;                        // statement or input name, or "%id"
  std::vector<std::size_t> args;
  double value = 0.0;
  std::vector<double> local;               // d node / d arg, one per arg
  double upstream = 0.0;                   // d output / d node (0 for constants: they get no gradient)
  std::vector<double> downstream;          // local[k] * upstream, one per arg
};

/// The whole trace of one evaluation and reverse sweep.
struct Trace {
  std::vector<TraceNode> nodes;
  std::size_t output = 0;
};

/// Evaluates the program on a private tape and records every node's value and gradients.
Trace trace_program(const Program& program, const std::vector<double>& inputs);

/// Where a NaN or infinity first appeared: a sentence naming the node, its op, source text and
/// argument values, and the source position of that node.
struct NonFinite {
  std::string message;
  std::size_t node = 0;
  std::size_t position = 0;
};
/// The first node whose value became NaN or infinite from finite arguments (forward values first,
/// then gradients in sweep order); nullopt when everything is finite.
std::optional<NonFinite> find_non_finite(const Program& program, const Trace& trace);

/// The trace as a table: id, node, op, inputs, value, local gradients, upstream, downstream.
std::string format_trace_table(const Trace& trace);

}  // namespace nabla::scalar

#include <nabla/scalar/graph_export.h>

namespace nabla::scalar {
/// The trace as a graph: nodes with their forward values and upstream gradients, forward edges with
/// the values flowing in, backward edges with the downstream gradients flowing out.
Graph trace_graph(const Trace& trace);
}  // namespace nabla::scalar
