// Scalar programs: the parser (recursive descent emitting straight-line code), input binding and
// evaluation over double, Var and Dual.
#include <nabla/scalar/program.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <string>
#include <system_error>

#include <fmt/format.h>

#include <nabla/scalar/numeric.h>

namespace nabla::scalar {

// ---------------------------------------------------------------------------------------------
// errors with a caret

namespace {
std::pair<std::size_t, std::size_t> locate(std::string_view source, std::size_t position) {
  position = std::min(position, source.size());
  std::size_t line = 1, line_start = 0;
  for (std::size_t i = 0; i < position; ++i)
    if (source[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  // Columns count characters, not bytes (UTF-8 continuation bytes are skipped).
  std::size_t column = 1;
  for (std::size_t i = line_start; i < position; ++i)
    if ((static_cast<unsigned char>(source[i]) & 0xC0) != 0x80) ++column;
  return {line, column};
}
}  // namespace

std::string caret_message(std::string_view message, std::string_view source, std::size_t position) {
  position = std::min(position, source.size());
  const auto [line, column] = locate(source, position);
  std::size_t start = source.rfind('\n', position == 0 ? 0 : position - 1);
  start = (start == std::string_view::npos || (position == 0)) ? 0 : start + 1;
  if (position > 0 && source[position - 1] == '\n') start = position;
  std::size_t end = source.find('\n', start);
  if (end == std::string_view::npos) end = source.size();
  std::string text(source.substr(start, end - start));
  std::string pad;
  for (std::size_t i = start; i < position; ++i) {
    const unsigned char c = static_cast<unsigned char>(source[i]);
    if ((c & 0xC0) == 0x80) continue;
    pad += (c == '\t') ? '\t' : ' ';
  }
  std::string where = source.find('\n') == std::string_view::npos ? fmt::format("column {}", column)
                                                                   : fmt::format("line {}, column {}", line, column);
  return fmt::format("error: {} ({})\n  {}\n  {}^", message, where, text, pad);
}

ProgramError::ProgramError(std::string message, std::string source, std::size_t position)
    : Error(caret_message(message, source, position)),
      message_(std::move(message)),
      source_(std::move(source)),
      position_(position) {}

std::pair<std::size_t, std::size_t> ProgramError::line_column() const { return locate(source_, position_); }

// ---------------------------------------------------------------------------------------------
// op table

namespace {
struct FunctionInfo {
  std::string_view name;
  OpCode op;
  int arity;
};
// Sorted by name (the order the unknown-function error lists them in).
constexpr std::array<FunctionInfo, 36> kFunctions{{
    {"abs", OpCode::Abs, 1},       {"acos", OpCode::Acos, 1},   {"acosh", OpCode::Acosh, 1},
    {"asin", OpCode::Asin, 1},     {"asinh", OpCode::Asinh, 1}, {"atan", OpCode::Atan, 1},
    {"atan2", OpCode::Atan2, 2},   {"atanh", OpCode::Atanh, 1}, {"cbrt", OpCode::Cbrt, 1},
    {"ceil", OpCode::Ceil, 1},     {"cos", OpCode::Cos, 1},     {"cosh", OpCode::Cosh, 1},
    {"erf", OpCode::Erf, 1},       {"erfc", OpCode::Erfc, 1},   {"exp", OpCode::Exp, 1},
    {"exp2", OpCode::Exp2, 1},     {"expm1", OpCode::Expm1, 1}, {"fabs", OpCode::Abs, 1},
    {"floor", OpCode::Floor, 1},
    {"hypot", OpCode::Hypot, 2},   {"log", OpCode::Log, 1},     {"log10", OpCode::Log10, 1},
    {"log1p", OpCode::Log1p, 1},   {"log2", OpCode::Log2, 1},   {"max", OpCode::Max, 2},
    {"min", OpCode::Min, 2},       {"pow", OpCode::Pow, 2},     {"relu", OpCode::Relu, 1},
    {"round", OpCode::Round, 1},   {"sigmoid", OpCode::Sigmoid, 1}, {"sin", OpCode::Sin, 1},
    {"sinh", OpCode::Sinh, 1},     {"sqrt", OpCode::Sqrt, 1},   {"tan", OpCode::Tan, 1},
    {"tanh", OpCode::Tanh, 1},     {"trunc", OpCode::Trunc, 1},
}};

const FunctionInfo* find_function(std::string_view name) {
  for (const auto& f : kFunctions)
    if (f.name == name) return &f;
  return nullptr;
}

std::string function_list() {
  std::string s;
  for (const auto& f : kFunctions) {
    if (!s.empty()) s += ", ";
    s += f.name;
  }
  return s;
}
}  // namespace

std::string_view op_name(OpCode op) {
  switch (op) {
    case OpCode::Input: return "input";
    case OpCode::Constant: return "const";
    case OpCode::Add: return "add";
    case OpCode::Sub: return "sub";
    case OpCode::Mul: return "mul";
    case OpCode::Div: return "div";
    case OpCode::Neg: return "neg";
    default: break;  // every other op is a function, named as it is called
  }
  for (const auto& f : kFunctions)
    if (f.op == op) return f.name;
  return "?";
}

// ---------------------------------------------------------------------------------------------
// lexer and parser

namespace {
enum class Tok { Ident, Number, Symbol, Separator, End };

struct Token {
  Tok kind = Tok::End;
  std::size_t position = 0;
  std::size_t length = 0;
  std::string_view text;
  double number = 0.0;
};

bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

constexpr int kMaxDepth = 200;
}  // namespace

class Parser {
 public:
  explicit Parser(std::string_view source) : src_(source) { program_.source_ = std::string(source); }

  Program run() {
    advance();
    std::vector<std::size_t> bare;  // positions of statements without "name ="
    while (true) {
      while (tok_.kind == Tok::Separator) advance();
      if (tok_.kind == Tok::End) break;
      statement(bare);
      if (tok_.kind != Tok::Separator && tok_.kind != Tok::End)
        fail(fmt::format("expected ';' or a new line after the statement, found {}{}", describe(tok_), operand_hint()),
             tok_.position);
    }
    if (program_.statements_.empty()) fail("the program is empty: write statements such as 'y = x * x'", 0);
    for (std::size_t i = 0; i + 1 < program_.statements_.size(); ++i)
      if (program_.statements_[i].name.empty())
        fail("only the last statement may be a bare expression; name this one: 'name = expression'",
             program_.statements_[i].position);
    if (program_.statements_.back().name.empty()) program_.statements_.back().name = "output";
    return std::move(program_);
  }

 private:
  [[noreturn]] void fail(const std::string& message, std::size_t position) {
    throw ProgramError(message, std::string(src_), position);
  }

  // Where an operand follows an operand ('cos x', '2 x'), what was probably meant.
  std::string operand_hint() const {
    if (tok_.kind != Tok::Ident && tok_.kind != Tok::Number && !is_symbol('(')) return "";
    if (previous_.kind == Tok::Ident && find_function(previous_.text))
      return fmt::format(" (to call {0}, write {0}(...))", previous_.text);
    return " (is an operator missing? write '2 * x', not '2 x')";
  }

  static std::string describe(const Token& t) {
    switch (t.kind) {
      case Tok::End: return "the end of the program";
      case Tok::Separator: return t.text == ";" ? "';'" : "a new line";
      default: return fmt::format("'{}'", t.text);
    }
  }

  void advance() {
    previous_ = tok_;
    std::size_t i = pos_;
    while (i < src_.size()) {
      const char c = src_[i];
      if (c == ' ' || c == '\t' || c == '\r') {
        ++i;
      } else if (c == '#') {
        while (i < src_.size() && src_[i] != '\n') ++i;
      } else {
        break;
      }
    }
    tok_ = Token{};
    tok_.position = i;
    if (i >= src_.size()) {
      tok_.kind = Tok::End;
      pos_ = i;
      return;
    }
    const char c = src_[i];
    if (c == ';' || c == '\n') {
      tok_.kind = Tok::Separator;
      tok_.length = 1;
    } else if (is_ident_start(c)) {
      std::size_t j = i;
      while (j < src_.size() && is_ident_char(src_[j])) ++j;
      tok_.kind = Tok::Ident;
      tok_.length = j - i;
    } else if (is_digit(c) || (c == '.' && i + 1 < src_.size() && is_digit(src_[i + 1]))) {
      double v = 0.0;
      const char* first = src_.data() + i;
      const auto [end, ec] = std::from_chars(first, src_.data() + src_.size(), v);
      std::size_t j = static_cast<std::size_t>(end - src_.data());
      if (ec == std::errc::result_out_of_range) {
        // from_chars leaves v unset on overflow; keep the IEEE value (inf or 0) of the literal.
        std::size_t k = i;
        while (k < src_.size() && (is_ident_char(src_[k]) || src_[k] == '.' ||
                                   ((src_[k] == '+' || src_[k] == '-') && (src_[k - 1] == 'e' || src_[k - 1] == 'E'))))
          ++k;
        v = std::strtod(std::string(src_.substr(i, k - i)).c_str(), nullptr);
        j = k;
      } else if (ec != std::errc()) {
        fail("malformed number", i);
      }
      if (j < src_.size() && (is_ident_char(src_[j]) || src_[j] == '.'))
        fail(fmt::format("malformed number '{}'", src_.substr(i, j + 1 - i)), i);
      tok_.kind = Tok::Number;
      tok_.length = j - i;
      tok_.number = v;
    } else if (std::string_view("+-*/^(),=").find(c) != std::string_view::npos) {
      tok_.kind = Tok::Symbol;
      tok_.length = 1;
    } else {
      const std::size_t n = (static_cast<unsigned char>(c) >= 0x80) ? utf8_length(i) : 1;
      fail(fmt::format("unexpected character '{}'", src_.substr(i, n)), i);
    }
    tok_.text = src_.substr(tok_.position, tok_.length);
    pos_ = tok_.position + tok_.length;
  }

  std::size_t utf8_length(std::size_t i) const {
    std::size_t j = i + 1;
    while (j < src_.size() && (static_cast<unsigned char>(src_[j]) & 0xC0) == 0x80) ++j;
    return j - i;
  }

  bool is_symbol(char c) const { return tok_.kind == Tok::Symbol && tok_.text[0] == c; }

  void expect(char c, std::string_view what) {
    if (!is_symbol(c)) fail(fmt::format("expected {}, found {}", what, describe(tok_)), tok_.position);
    advance();
  }

  // Peeks whether the current identifier is followed by '=' (an assignment).
  bool assignment_ahead() const {
    std::size_t i = pos_;
    while (i < src_.size() && (src_[i] == ' ' || src_[i] == '\t' || src_[i] == '\r')) ++i;
    return i < src_.size() && src_[i] == '=';
  }

  void statement(std::vector<std::size_t>& bare) {
    Statement st;
    st.position = tok_.position;
    if (tok_.kind == Tok::Ident && assignment_ahead()) {
      const std::string name(tok_.text);
      for (const auto& s : program_.statements_)
        if (s.name == name)
          fail(fmt::format("'{}' is already defined (at {}); each name is assigned once", name,
                           position_text(s.position)),
               tok_.position);
      if (const std::int32_t k = program_.input_index(name); k >= 0)
        fail(fmt::format("'{}' is used as an input (at {}) before this assignment; assign names before using them",
                         name, position_text(program_.input_positions_[static_cast<std::size_t>(k)])),
             tok_.position);
      st.name = name;
      advance();
      expect('=', "'='");
    } else {
      bare.push_back(tok_.position);
    }
    if (tok_.kind == Tok::Separator || tok_.kind == Tok::End)
      fail(fmt::format("expected an expression, found {}", describe(tok_)), tok_.position);
    st.value = expression(0);
    program_.statements_.push_back(std::move(st));
  }

  std::string position_text(std::size_t position) const {
    const auto [line, column] = locate(src_, position);
    return src_.find('\n') == std::string_view::npos ? fmt::format("column {}", column)
                                                     : fmt::format("line {}, column {}", line, column);
  }

  std::int32_t emit(OpCode op, std::int32_t a, std::int32_t b, std::size_t start, std::size_t end) {
    Instruction in;
    in.op = op;
    in.a = a;
    in.b = b;
    in.position = start;
    in.length = end > start ? end - start : 0;
    program_.instructions_.push_back(in);
    return static_cast<std::int32_t>(program_.instructions_.size() - 1);
  }

  std::size_t end_of(std::int32_t i) const {
    const auto& in = program_.instructions_[static_cast<std::size_t>(i)];
    return in.position + in.length;
  }

  void enter(std::size_t position, int depth) {
    if (depth > kMaxDepth) fail(fmt::format("expression nested deeper than {} levels", kMaxDepth), position);
  }

  // expression := term (('+' | '-') term)*
  std::int32_t expression(int depth) {
    enter(tok_.position, depth);
    const std::size_t start = tok_.position;
    std::int32_t left = term(depth + 1);
    while (is_symbol('+') || is_symbol('-')) {
      const OpCode op = is_symbol('+') ? OpCode::Add : OpCode::Sub;
      advance();
      const std::int32_t right = term(depth + 1);
      left = emit(op, left, right, start, end_of(right));
    }
    return left;
  }

  // term := unary (('*' | '/') unary)*
  std::int32_t term(int depth) {
    const std::size_t start = tok_.position;
    std::int32_t left = unary(depth + 1);
    while (is_symbol('*') || is_symbol('/')) {
      const OpCode op = is_symbol('*') ? OpCode::Mul : OpCode::Div;
      advance();
      const std::int32_t right = unary(depth + 1);
      left = emit(op, left, right, start, end_of(right));
    }
    return left;
  }

  // unary := '-' unary | power     (so -x^2 is -(x^2))
  std::int32_t unary(int depth) {
    enter(tok_.position, depth);
    if (is_symbol('-')) {
      const std::size_t start = tok_.position;
      advance();
      const std::int32_t operand = unary(depth + 1);
      return emit(OpCode::Neg, operand, -1, start, end_of(operand));
    }
    if (is_symbol('+')) {
      advance();
      return unary(depth + 1);
    }
    return power(depth + 1);
  }

  // power := primary ('^' unary)?   (right-associative: a^b^c is a^(b^c))
  std::int32_t power(int depth) {
    const std::size_t start = tok_.position;
    const std::int32_t base = primary(depth + 1);
    if (!is_symbol('^')) return base;
    advance();
    const std::int32_t exponent = unary(depth + 1);
    return emit(OpCode::Pow, base, exponent, start, end_of(exponent));
  }

  std::int32_t primary(int depth) {
    enter(tok_.position, depth);
    const Token t = tok_;
    if (t.kind == Tok::Number) {
      advance();
      const std::int32_t i = emit(OpCode::Constant, -1, -1, t.position, t.position + t.length);
      program_.instructions_.back().constant = t.number;
      return i;
    }
    if (is_symbol('(')) {
      advance();
      const std::int32_t inner = expression(depth + 1);
      if (!is_symbol(')'))
        fail(fmt::format("expected ')' to close the '(' at {}, found {}", position_text(t.position), describe(tok_)),
             tok_.position);
      advance();
      return inner;
    }
    if (t.kind == Tok::Ident) {
      advance();
      // A name is a function only where it is called: `round * 2` or `erf = 1` use a variable of
      // that name (so that adding a function never breaks a program).
      if (const FunctionInfo* f = is_symbol('(') ? find_function(t.text) : nullptr) {
        advance();
        std::vector<std::int32_t> args;
        std::vector<std::size_t> arg_positions;
        if (!is_symbol(')')) {
          while (true) {
            arg_positions.push_back(tok_.position);
            args.push_back(expression(depth + 1));
            if (!is_symbol(',')) break;
            advance();
          }
        }
        if (!is_symbol(')'))
          fail(fmt::format("expected ',' or ')' in the arguments of {}, found {}", f->name, describe(tok_)),
               tok_.position);
        const std::size_t close = tok_.position;
        if (static_cast<int>(args.size()) != f->arity)
          fail(fmt::format("{} takes {} argument{}, got {}", f->name, f->arity, f->arity == 1 ? "" : "s", args.size()),
               args.size() > static_cast<std::size_t>(f->arity) ? arg_positions[static_cast<std::size_t>(f->arity)]
                                                                : close);
        advance();
        return emit(f->op, args[0], f->arity == 2 ? args[1] : -1, t.position, close + 1);
      }
      if (is_symbol('('))
        fail(fmt::format("unknown function '{0}' (known: {1}; for a product write '{0} * (...)')", t.text, function_list()), t.position);
      for (const auto& s : program_.statements_)
        if (s.name == t.text) return s.value;
      std::int32_t k = program_.input_index(t.text);
      if (k < 0) {
        program_.inputs_.emplace_back(t.text);
        program_.input_positions_.push_back(t.position);
        k = static_cast<std::int32_t>(program_.inputs_.size() - 1);
      }
      // One instruction per input, made at its first use.
      for (std::size_t i = 0; i < program_.instructions_.size(); ++i)
        if (program_.instructions_[i].op == OpCode::Input && program_.instructions_[i].input == k)
          return static_cast<std::int32_t>(i);
      const std::int32_t i = emit(OpCode::Input, -1, -1, t.position, t.position + t.length);
      program_.instructions_.back().input = k;
      return i;
    }
    if (t.kind == Tok::End || t.kind == Tok::Separator)
      fail(fmt::format("expected a number, a name or '(', found {}", describe(t)), t.position);
    fail(fmt::format("unexpected {}; expected a number, a name or '('", describe(t)), t.position);
  }

  std::string_view src_;
  std::size_t pos_ = 0;
  Token tok_;
  Token previous_;  // the token before tok_ (for hints)
  Program program_;
};

Program Program::parse(std::string_view source) { return Parser(source).run(); }

std::int32_t Program::input_index(std::string_view name) const {
  for (std::size_t i = 0; i < inputs_.size(); ++i)
    if (inputs_[i] == name) return static_cast<std::int32_t>(i);
  return -1;
}

std::string_view Program::text_of(std::size_t i) const {
  const auto& in = instructions_.at(i);
  return std::string_view(source_).substr(in.position, in.length);
}

std::string Program::node_name(std::size_t i) const {
  for (const auto& s : statements_)
    if (s.value == static_cast<std::int32_t>(i)) return s.name;
  const auto& in = instructions_.at(i);
  if (in.op == OpCode::Input) return inputs_[static_cast<std::size_t>(in.input)];
  return fmt::format("%{}", i);
}

// ---------------------------------------------------------------------------------------------
// evaluation

namespace {
// The functions double lacks, under the names Var and Dual use (so one template serves all three).
double sigmoid(double x) { return nabla::detail::sigmoid(x); }
double relu(double x) { return x > 0.0 ? x : 0.0; }
double abs(double x) { return std::fabs(x); }
double max(double a, double b) { return a >= b ? a : b; }
double min(double a, double b) { return a <= b ? a : b; }
}  // namespace

template <class T>
std::vector<T> Program::evaluate(std::span<const T> inputs) const {
  // For T = double; Var and Dual find theirs by argument-dependent lookup.
  using std::acos, std::acosh, std::asin, std::asinh, std::atan, std::atan2, std::atanh, std::cbrt, std::ceil;
  using std::cos, std::cosh, std::erf, std::erfc, std::exp, std::exp2, std::expm1, std::floor, std::hypot;
  using std::log, std::log10, std::log1p, std::log2, std::pow, std::round, std::sin, std::sinh, std::sqrt;
  using std::tan, std::tanh, std::trunc;
  if (inputs.size() != inputs_.size())
    throw Error(fmt::format("Program::evaluate: the program has {} inputs, got {} values", inputs_.size(),
                            inputs.size()));
  std::vector<T> v;
  v.reserve(instructions_.size());
  for (const Instruction& in : instructions_) {
    const T* a = in.a >= 0 ? &v[static_cast<std::size_t>(in.a)] : nullptr;
    const T* b = in.b >= 0 ? &v[static_cast<std::size_t>(in.b)] : nullptr;
    switch (in.op) {
      case OpCode::Input: v.push_back(inputs[static_cast<std::size_t>(in.input)]); break;
      case OpCode::Constant: v.push_back(T(in.constant)); break;
      case OpCode::Add: v.push_back(*a + *b); break;
      case OpCode::Sub: v.push_back(*a - *b); break;
      case OpCode::Mul: v.push_back(*a * *b); break;
      case OpCode::Div: v.push_back(*a / *b); break;
      case OpCode::Neg: v.push_back(-*a); break;
      case OpCode::Pow:
        // A constant exponent is not differentiated (so x^2 at x < 0 has no NaN partial for the 2).
        if (instructions_[static_cast<std::size_t>(in.b)].op == OpCode::Constant)
          v.push_back(pow(*a, instructions_[static_cast<std::size_t>(in.b)].constant));
        else
          v.push_back(pow(*a, *b));
        break;
      case OpCode::Exp: v.push_back(exp(*a)); break;
      case OpCode::Log: v.push_back(log(*a)); break;
      case OpCode::Sqrt: v.push_back(sqrt(*a)); break;
      case OpCode::Sin: v.push_back(sin(*a)); break;
      case OpCode::Cos: v.push_back(cos(*a)); break;
      case OpCode::Tan: v.push_back(tan(*a)); break;
      case OpCode::Tanh: v.push_back(tanh(*a)); break;
      case OpCode::Sigmoid: v.push_back(sigmoid(*a)); break;
      case OpCode::Relu: v.push_back(relu(*a)); break;
      case OpCode::Abs: v.push_back(abs(*a)); break;
      case OpCode::Max: v.push_back(max(*a, *b)); break;
      case OpCode::Min: v.push_back(min(*a, *b)); break;
      case OpCode::Asin: v.push_back(asin(*a)); break;
      case OpCode::Acos: v.push_back(acos(*a)); break;
      case OpCode::Atan: v.push_back(atan(*a)); break;
      case OpCode::Sinh: v.push_back(sinh(*a)); break;
      case OpCode::Cosh: v.push_back(cosh(*a)); break;
      case OpCode::Asinh: v.push_back(asinh(*a)); break;
      case OpCode::Acosh: v.push_back(acosh(*a)); break;
      case OpCode::Atanh: v.push_back(atanh(*a)); break;
      case OpCode::Log1p: v.push_back(log1p(*a)); break;
      case OpCode::Expm1: v.push_back(expm1(*a)); break;
      case OpCode::Log2: v.push_back(log2(*a)); break;
      case OpCode::Log10: v.push_back(log10(*a)); break;
      case OpCode::Exp2: v.push_back(exp2(*a)); break;
      case OpCode::Cbrt: v.push_back(cbrt(*a)); break;
      case OpCode::Erf: v.push_back(erf(*a)); break;
      case OpCode::Erfc: v.push_back(erfc(*a)); break;
      case OpCode::Floor: v.push_back(floor(*a)); break;
      case OpCode::Ceil: v.push_back(ceil(*a)); break;
      case OpCode::Round: v.push_back(round(*a)); break;
      case OpCode::Trunc: v.push_back(trunc(*a)); break;
      case OpCode::Atan2: v.push_back(atan2(*a, *b)); break;
      case OpCode::Hypot: v.push_back(hypot(*a, *b)); break;
    }
  }
  return v;
}

template <class T>
T Program::evaluate_output(std::span<const T> inputs) const {
  return evaluate<T>(inputs)[static_cast<std::size_t>(output())];
}

template std::vector<double> Program::evaluate<double>(std::span<const double>) const;
template std::vector<Var> Program::evaluate<Var>(std::span<const Var>) const;
template std::vector<Dual> Program::evaluate<Dual>(std::span<const Dual>) const;
template double Program::evaluate_output<double>(std::span<const double>) const;
template Var Program::evaluate_output<Var>(std::span<const Var>) const;
template Dual Program::evaluate_output<Dual>(std::span<const Dual>) const;

// ---------------------------------------------------------------------------------------------
// inputs and gradients

BoundInputs bind_inputs(const Program& program, const std::vector<std::string>& assignments) {
  BoundInputs bound;
  bound.values.assign(program.inputs().size(), 0.0);
  struct Parsed {
    std::string name;
    double value;
    const std::string* arg;
  };
  // First the shape of each argument, then the program's inputs without a value (caret in the
  // program), then names the program does not use or that are repeated (caret in the argument).
  std::vector<Parsed> parsed;
  for (const std::string& arg : assignments) {
    const std::size_t eq = arg.find('=');
    if (eq == std::string::npos || eq == 0)
      throw ProgramError("an input value is written name=value, e.g. x=1.5", arg, eq == 0 ? 0 : arg.size());
    const std::string name = arg.substr(0, eq);
    const std::string text = arg.substr(eq + 1);
    double v = 0.0;
    const char* first = text.data();
    const char* last = text.data() + text.size();
    if (!text.empty() && text[0] == '+') ++first;  // from_chars rejects a leading '+'
    const auto [end, ec] = std::from_chars(first, last, v);
    if (text.empty() || ec == std::errc::invalid_argument || end != last)
      throw ProgramError(fmt::format("the value of '{}' is not a number: '{}'", name, text), arg,
                         eq + 1 + static_cast<std::size_t>((ec == std::errc() ? end : first) - text.data()));
    if (ec == std::errc::result_out_of_range) v = std::strtod(text.c_str(), nullptr);
    parsed.push_back({name, v, &arg});
  }
  for (std::size_t i = 0; i < program.inputs().size(); ++i)
    if (std::none_of(parsed.begin(), parsed.end(), [&](const Parsed& p) { return p.name == program.inputs()[i]; }))
      throw ProgramError(fmt::format("no value for input '{}'; pass {}=VALUE{}", program.inputs()[i], program.inputs()[i],
                                     find_function(program.inputs()[i])
                                         ? fmt::format(" (or, to call the function, write {}(...))", program.inputs()[i])
                                         : std::string()),
                         program.source(), program.input_positions()[i]);
  std::vector<bool> given(program.inputs().size(), false);
  for (const Parsed& p : parsed) {
    const std::int32_t k = program.input_index(p.name);
    if (k < 0) {
      std::string known;
      for (const auto& n : program.inputs()) known += (known.empty() ? "" : ", ") + n;
      throw ProgramError(fmt::format("unknown name '{}': it is not an input of the program (its inputs: {})", p.name,
                                     known.empty() ? "none" : known),
                         *p.arg, 0);
    }
    if (given[static_cast<std::size_t>(k)])
      throw ProgramError(fmt::format("input '{}' is given twice", p.name), *p.arg, 0);
    given[static_cast<std::size_t>(k)] = true;
    bound.values[static_cast<std::size_t>(k)] = p.value;
    bound.order.push_back(k);
  }
  return bound;
}

std::string_view grad_mode_name(GradMode mode) {
  switch (mode) {
    case GradMode::Reverse: return "reverse";
    case GradMode::Forward: return "forward";
    case GradMode::Numeric: return "numeric";
  }
  return "?";
}

ValueAndGradient program_gradient(const Program& program, const std::vector<double>& inputs, GradMode mode,
                                  double eps) {
  switch (mode) {
    case GradMode::Reverse:
      return value_and_gradient(
          [&](const std::vector<Var>& x) { return program.evaluate_output<Var>(std::span<const Var>(x)); }, inputs);
    case GradMode::Forward: {
      ValueAndGradient r;
      r.grad.resize(inputs.size());
      std::vector<Dual> x(inputs.size());
      for (std::size_t i = 0; i < inputs.size(); ++i) {
        for (std::size_t j = 0; j < inputs.size(); ++j) x[j] = Dual(inputs[j], i == j ? 1.0 : 0.0);
        const Dual y = program.evaluate_output<Dual>(std::span<const Dual>(x));
        r.value = y.value();
        r.grad[i] = y.tangent();
      }
      if (inputs.empty()) r.value = program.evaluate_output<double>(std::span<const double>(inputs));
      return r;
    }
    case GradMode::Numeric: {
      ValueAndGradient r;
      auto f = [&](const std::vector<double>& x) { return program.evaluate_output<double>(std::span<const double>(x)); };
      r.value = f(inputs);
      r.grad = numeric_gradient(f, inputs, eps);
      return r;
    }
  }
  throw Error("program_gradient: unknown mode");
}

}  // namespace nabla::scalar
