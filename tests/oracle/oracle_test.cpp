// PyTorch oracle: every case that tests/oracle/torch_oracle.py wrote (op, float64 inputs, views,
// upstream gradient, and torch's forward value and input gradients) is rebuilt in nabla, and the
// value and every input gradient must agree to 1e-10 relative.
//
// Usage: oracle_tests CASES.json [gtest flags]
//
// Tolerance: |got - want| <= 1e-10 * max(1, |want|) per element. Both sides compute in float64
// from bit-identical inputs, so honest differences are rounding in a different order of
// operations (a few ulps, ~1e-15 relative); the max(1, .) floor absorbs the absolute rounding of
// results that cancel to near zero (softmax and log_softmax gradients, sums of mixed signs).
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <fstream>
#include <functional>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <nabla/nabla.h>

namespace {

using nabla::Shape;
using nabla::Tensor;
using nlohmann::json;

constexpr double kRelTol = 1e-10;

// ---- the op table: a case's op name -> the same computation in nabla ----------------------------

using OpFn = std::function<Tensor(const std::vector<Tensor>& x, const json& a)>;

// A number, or "inf" / "-inf" (JSON has no infinities).
double num(const json& a, const char* key) {
  const json& v = a.at(key);
  if (v.is_string()) return std::stod(v.get<std::string>());
  return v.get<double>();
}
std::int64_t idx(const json& a, const char* key) { return a.at(key).get<std::int64_t>(); }
bool flag(const json& a, const char* key) { return a.at(key).get<bool>(); }
Shape shape_arg(const json& a, const char* key) { return a.at(key).get<Shape>(); }

const std::map<std::string, OpFn>& op_table() {
  static const std::map<std::string, OpFn> table = {
      // arithmetic, broadcasting
      {"add", [](auto& x, auto&) { return x[0] + x[1]; }},
      {"sub", [](auto& x, auto&) { return x[0] - x[1]; }},
      {"mul", [](auto& x, auto&) { return x[0] * x[1]; }},
      {"div", [](auto& x, auto&) { return x[0] / x[1]; }},
      {"add_scalar", [](auto& x, auto& a) { return x[0] + num(a, "scalar"); }},
      {"radd_scalar", [](auto& x, auto& a) { return num(a, "scalar") + x[0]; }},
      {"sub_scalar", [](auto& x, auto& a) { return x[0] - num(a, "scalar"); }},
      {"rsub_scalar", [](auto& x, auto& a) { return num(a, "scalar") - x[0]; }},
      {"mul_scalar", [](auto& x, auto& a) { return x[0] * num(a, "scalar"); }},
      {"rmul_scalar", [](auto& x, auto& a) { return num(a, "scalar") * x[0]; }},
      {"div_scalar", [](auto& x, auto& a) { return x[0] / num(a, "scalar"); }},
      {"rdiv_scalar", [](auto& x, auto& a) { return num(a, "scalar") / x[0]; }},
      {"neg", [](auto& x, auto&) { return -x[0]; }},
      {"pow_scalar", [](auto& x, auto& a) { return nabla::pow(x[0], num(a, "exponent")); }},
      {"pow", [](auto& x, auto&) { return nabla::pow(x[0], x[1]); }},
      {"rpow", [](auto& x, auto& a) { return nabla::pow(num(a, "base"), x[0]); }},
      {"maximum", [](auto& x, auto&) { return nabla::maximum(x[0], x[1]); }},
      {"minimum", [](auto& x, auto&) { return nabla::minimum(x[0], x[1]); }},
      {"where", [](auto& x, auto&) { return nabla::where(x[0], x[1], x[2]); }},
      // unary
      {"exp", [](auto& x, auto&) { return nabla::exp(x[0]); }},
      {"log", [](auto& x, auto&) { return nabla::log(x[0]); }},
      {"sqrt", [](auto& x, auto&) { return nabla::sqrt(x[0]); }},
      {"abs", [](auto& x, auto&) { return nabla::abs(x[0]); }},
      {"sin", [](auto& x, auto&) { return nabla::sin(x[0]); }},
      {"cos", [](auto& x, auto&) { return nabla::cos(x[0]); }},
      {"tanh", [](auto& x, auto&) { return nabla::tanh(x[0]); }},
      {"sigmoid", [](auto& x, auto&) { return nabla::sigmoid(x[0]); }},
      {"relu", [](auto& x, auto&) { return nabla::relu(x[0]); }},
      {"clamp", [](auto& x, auto& a) { return nabla::clamp(x[0], num(a, "min"), num(a, "max")); }},
      {"tan", [](auto& x, auto&) { return nabla::tan(x[0]); }},
      {"asin", [](auto& x, auto&) { return nabla::asin(x[0]); }},
      {"acos", [](auto& x, auto&) { return nabla::acos(x[0]); }},
      {"atan", [](auto& x, auto&) { return nabla::atan(x[0]); }},
      {"sinh", [](auto& x, auto&) { return nabla::sinh(x[0]); }},
      {"cosh", [](auto& x, auto&) { return nabla::cosh(x[0]); }},
      {"asinh", [](auto& x, auto&) { return nabla::asinh(x[0]); }},
      {"acosh", [](auto& x, auto&) { return nabla::acosh(x[0]); }},
      {"atanh", [](auto& x, auto&) { return nabla::atanh(x[0]); }},
      {"log1p", [](auto& x, auto&) { return nabla::log1p(x[0]); }},
      {"expm1", [](auto& x, auto&) { return nabla::expm1(x[0]); }},
      {"log2", [](auto& x, auto&) { return nabla::log2(x[0]); }},
      {"log10", [](auto& x, auto&) { return nabla::log10(x[0]); }},
      {"reciprocal", [](auto& x, auto&) { return nabla::reciprocal(x[0]); }},
      {"rsqrt", [](auto& x, auto&) { return nabla::rsqrt(x[0]); }},
      {"square", [](auto& x, auto&) { return nabla::square(x[0]); }},
      {"silu", [](auto& x, auto&) { return nabla::silu(x[0]); }},
      {"erf", [](auto& x, auto&) { return nabla::erf(x[0]); }},
      {"erfc", [](auto& x, auto&) { return nabla::erfc(x[0]); }},
      {"exp2", [](auto& x, auto&) { return nabla::exp2(x[0]); }},
      {"cbrt", [](auto& x, auto&) { return nabla::cbrt(x[0]); }},
      {"floor", [](auto& x, auto&) { return nabla::floor(x[0]); }},
      {"ceil", [](auto& x, auto&) { return nabla::ceil(x[0]); }},
      {"round", [](auto& x, auto&) { return nabla::round(x[0]); }},
      {"trunc", [](auto& x, auto&) { return nabla::trunc(x[0]); }},
      {"atan2", [](auto& x, auto&) { return nabla::atan2(x[0], x[1]); }},
      {"hypot", [](auto& x, auto&) { return nabla::hypot(x[0], x[1]); }},
      {"gelu", [](auto& x, auto&) { return nabla::gelu(x[0]); }},
      {"log_sigmoid", [](auto& x, auto&) { return nabla::log_sigmoid(x[0]); }},
      {"hardtanh", [](auto& x, auto& a) { return nabla::hardtanh(x[0], num(a, "min"), num(a, "max")); }},
      {"relu6", [](auto& x, auto&) { return nabla::relu6(x[0]); }},
      {"hardsigmoid", [](auto& x, auto&) { return nabla::hardsigmoid(x[0]); }},
      {"hardswish", [](auto& x, auto&) { return nabla::hardswish(x[0]); }},
      {"selu", [](auto& x, auto&) { return nabla::selu(x[0]); }},
      {"mish", [](auto& x, auto&) { return nabla::mish(x[0]); }},
      {"softsign", [](auto& x, auto&) { return nabla::softsign(x[0]); }},
      {"leaky_relu", [](auto& x, auto& a) { return nabla::leaky_relu(x[0], num(a, "slope")); }},
      {"elu", [](auto& x, auto& a) { return nabla::elu(x[0], num(a, "alpha")); }},
      {"softplus", [](auto& x, auto& a) { return nabla::softplus(x[0], num(a, "beta"), num(a, "threshold")); }},
      // reductions
      {"sum_all", [](auto& x, auto&) { return nabla::sum(x[0]); }},
      {"sum_dim", [](auto& x, auto& a) { return nabla::sum(x[0], idx(a, "dim"), flag(a, "keepdim")); }},
      {"sum_dims", [](auto& x, auto& a) { return nabla::sum(x[0], shape_arg(a, "dims"), flag(a, "keepdim")); }},
      {"mean_all", [](auto& x, auto&) { return nabla::mean(x[0]); }},
      {"mean_dim", [](auto& x, auto& a) { return nabla::mean(x[0], idx(a, "dim"), flag(a, "keepdim")); }},
      {"max_all", [](auto& x, auto&) { return nabla::max(x[0]); }},
      {"max_dim", [](auto& x, auto& a) { return nabla::max(x[0], idx(a, "dim"), flag(a, "keepdim")); }},
      {"min_all", [](auto& x, auto&) { return nabla::min(x[0]); }},
      {"min_dim", [](auto& x, auto& a) { return nabla::min(x[0], idx(a, "dim"), flag(a, "keepdim")); }},
      {"logsumexp", [](auto& x, auto& a) { return nabla::logsumexp(x[0], idx(a, "dim"), flag(a, "keepdim")); }},
      {"var_dim", [](auto& x, auto& a) { return nabla::var(x[0], idx(a, "dim"), num(a, "correction"), flag(a, "keepdim")); }},
      {"var_all", [](auto& x, auto&) { return nabla::var(x[0]); }},
      {"std_dim", [](auto& x, auto& a) { return nabla::std(x[0], idx(a, "dim"), num(a, "correction"), flag(a, "keepdim")); }},
      {"std_all", [](auto& x, auto&) { return nabla::std(x[0]); }},
      {"norm_dim", [](auto& x, auto& a) { return nabla::norm(x[0], num(a, "p"), idx(a, "dim"), flag(a, "keepdim")); }},
      {"norm_all", [](auto& x, auto& a) { return nabla::norm(x[0], num(a, "p")); }},
      {"cumsum", [](auto& x, auto& a) { return nabla::cumsum(x[0], idx(a, "dim")); }},
      {"cumprod", [](auto& x, auto& a) { return nabla::cumprod(x[0], idx(a, "dim")); }},
      {"prod_all", [](auto& x, auto&) { return nabla::prod(x[0]); }},
      {"prod_dim", [](auto& x, auto& a) { return nabla::prod(x[0], idx(a, "dim"), flag(a, "keepdim")); }},
      {"mean_dims", [](auto& x, auto& a) { return nabla::mean(x[0], shape_arg(a, "dims"), flag(a, "keepdim")); }},
      {"var_dims", [](auto& x, auto& a) { return nabla::var(x[0], shape_arg(a, "dims"), num(a, "correction"), flag(a, "keepdim")); }},
      {"std_dims", [](auto& x, auto& a) { return nabla::std(x[0], shape_arg(a, "dims"), num(a, "correction"), flag(a, "keepdim")); }},
      {"norm_dims", [](auto& x, auto& a) { return nabla::norm(x[0], num(a, "p"), shape_arg(a, "dims"), flag(a, "keepdim")); }},
      {"amax", [](auto& x, auto& a) { return nabla::amax(x[0], shape_arg(a, "dims"), flag(a, "keepdim")); }},
      {"amin", [](auto& x, auto& a) { return nabla::amin(x[0], shape_arg(a, "dims"), flag(a, "keepdim")); }},
      {"softmax", [](auto& x, auto& a) { return nabla::softmax(x[0], idx(a, "dim")); }},
      {"log_softmax", [](auto& x, auto& a) { return nabla::log_softmax(x[0], idx(a, "dim")); }},
      // linear algebra
      {"matmul", [](auto& x, auto&) { return nabla::matmul(x[0], x[1]); }},
      {"linear", [](auto& x, auto&) { return nabla::linear(x[0], x[1], x.size() > 2 ? x[2] : nabla::Tensor()); }},
      {"linear_relu", [](auto& x, auto&) { return nabla::linear_relu(x[0], x[1], x.size() > 2 ? x[2] : nabla::Tensor()); }},
      // shape, views, joining, indexing
      {"reshape", [](auto& x, auto& a) { return nabla::reshape(x[0], shape_arg(a, "shape")); }},
      {"flip", [](auto& x, auto& a) { return nabla::flip(x[0], shape_arg(a, "dims")); }},
      {"roll", [](auto& x, auto& a) { return nabla::roll(x[0], shape_arg(a, "shifts"), shape_arg(a, "dims")); }},
      {"repeat", [](auto& x, auto& a) { return nabla::repeat(x[0], shape_arg(a, "repeats")); }},
      {"tril", [](auto& x, auto& a) { return nabla::tril(x[0], idx(a, "diagonal")); }},
      {"triu", [](auto& x, auto& a) { return nabla::triu(x[0], idx(a, "diagonal")); }},
      {"split_piece", [](auto& x, auto& a) {
         return nabla::split(x[0], idx(a, "size"), idx(a, "dim"))[static_cast<std::size_t>(idx(a, "piece"))]; }},
      {"chunk_piece", [](auto& x, auto& a) {
         return nabla::chunk(x[0], idx(a, "chunks"), idx(a, "dim"))[static_cast<std::size_t>(idx(a, "piece"))]; }},
      {"transpose", [](auto& x, auto& a) { return nabla::transpose(x[0], idx(a, "dim0"), idx(a, "dim1")); }},
      {"permute", [](auto& x, auto& a) { return nabla::permute(x[0], shape_arg(a, "dims")); }},
      {"slice",
       [](auto& x, auto& a) { return x[0].slice(idx(a, "dim"), idx(a, "start"), idx(a, "end"), idx(a, "step")); }},
      {"narrow", [](auto& x, auto& a) { return x[0].narrow(idx(a, "dim"), idx(a, "start"), idx(a, "length")); }},
      {"select", [](auto& x, auto& a) { return x[0].select(idx(a, "dim"), idx(a, "index")); }},
      {"expand", [](auto& x, auto& a) { return x[0].expand(shape_arg(a, "shape")); }},
      {"unsqueeze", [](auto& x, auto& a) { return x[0].unsqueeze(idx(a, "dim")); }},
      {"squeeze", [](auto& x, auto& a) { return x[0].squeeze(idx(a, "dim")); }},
      {"flatten", [](auto& x, auto& a) { return x[0].flatten(idx(a, "start_dim"), idx(a, "end_dim")); }},
      {"cat", [](auto& x, auto& a) { return nabla::cat(x, idx(a, "dim")); }},
      {"stack", [](auto& x, auto& a) { return nabla::stack(x, idx(a, "dim")); }},
      {"index_select", [](auto& x, auto& a) { return nabla::index_select(x[0], idx(a, "dim"), x[1]); }},
      {"gather", [](auto& x, auto& a) { return nabla::gather(x[0], idx(a, "dim"), x[1]); }},
      {"scatter_add", [](auto& x, auto& a) { return nabla::scatter_add(x[0], idx(a, "dim"), x[1], x[2]); }},
      {"to",
       [](auto& x, auto& a) {
         // float32 rounds to nearest both ways in torch and nabla, so values and gradients match exactly.
         const auto d = a.at("dtype").template get<std::string>();
         if (d == "float32") return x[0].to(nabla::kFloat32).to(nabla::kFloat64);
         if (d == "float64") return x[0].to(nabla::kFloat64);
         throw std::runtime_error("to: unknown dtype " + d);
       }},
      {"clone", [](auto& x, auto&) { return x[0].clone(); }},
  };
  return table;
}

// ---- cases -------------------------------------------------------------------------------------

// The largest |got - want| / max(1, |want|) seen over all comparisons, for the summary line.
double g_worst = 0;
std::string g_worst_where;
std::string g_current_case;

json g_doc;                              // the whole file, loaded in main before the tests register
std::string g_load_error;                // why loading failed, reported by a test
std::vector<std::string> g_case_names;   // parallel to g_doc["cases"]

struct CaseRef {
  std::size_t index;
  std::string name;
};
void PrintTo(const CaseRef& c, std::ostream* os) { *os << c.name; }

std::string sanitize(const std::string& s) {
  std::string out;
  for (char ch : s) out += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return out;
}

std::vector<CaseRef> case_refs() {
  std::vector<CaseRef> refs;
  for (std::size_t i = 0; i < g_case_names.size(); ++i) refs.push_back({i, g_case_names[i]});
  return refs;
}

Tensor float_tensor(const std::vector<double>& data, const Shape& shape) {
  // nabla::tensor reads an empty shape as 1-D, so 0-d tensors come from full().
  if (shape.empty()) return nabla::full({}, data.at(0), nabla::kFloat64);
  return nabla::tensor(data, shape, nabla::kFloat64);
}

// A case's input: the leaf (requires grad when torch's did) and the view of it the op receives.
struct Input {
  Tensor leaf, view;
  bool grad = false;
};

// An input with "alias": k reuses input k's leaf (a fan-out, whose gradients must sum there).
Input build_input(const json& j, const std::vector<Input>& earlier) {
  Input in;
  if (j.contains("alias")) {
    in.leaf = earlier.at(j.at("alias").get<std::size_t>()).leaf;
    in.grad = false;  // its gradient is checked on the input that owns the leaf
  } else {
    const Shape shape = j.at("shape").get<Shape>();
    if (j.at("dtype") == "int64") {
      in.leaf = nabla::tensor(j.at("data").get<std::vector<std::int64_t>>(), shape, nabla::kInt64);
    } else {
      in.leaf = float_tensor(j.at("data").get<std::vector<double>>(), shape);
    }
    if (in.leaf.shape() != shape) throw std::runtime_error("input built with shape " + in.leaf.shape_string());
    in.grad = j.at("grad").get<bool>();
    if (in.grad) in.leaf.requires_grad_();
  }
  in.view = in.leaf;
  for (const auto& v : j.at("views")) {
    const auto kind = v.at(0).get<std::string>();
    if (kind == "transpose") in.view = in.view.transpose(v.at(1).get<std::int64_t>(), v.at(2).get<std::int64_t>());
    else if (kind == "permute") in.view = in.view.permute(v.at(1).get<Shape>());
    else if (kind == "slice")
      in.view = in.view.slice(v.at(1).get<std::int64_t>(), v.at(2).get<std::int64_t>(), v.at(3).get<std::int64_t>(),
                              v.at(4).get<std::int64_t>());
    else if (kind == "expand") in.view = in.view.expand(v.at(1).get<Shape>());
    else throw std::runtime_error("unknown view " + kind);
  }
  return in;
}

// Element-wise |got - want| <= 1e-10 * max(1, |want|), with shapes equal.
::testing::AssertionResult matches(const std::string& what, const Tensor& got, const Shape& want_shape,
                                   const std::vector<double>& want) {
  if (!got.defined()) return ::testing::AssertionFailure() << what << ": nabla gave no tensor";
  if (got.shape() != want_shape)
    return ::testing::AssertionFailure() << what << ": shape " << got.shape_string() << ", torch has "
                                         << nabla::shape_to_string(want_shape);
  if (got.dtype() != nabla::kFloat64)
    return ::testing::AssertionFailure() << what << ": dtype " << nabla::dtype_name(got.dtype()) << ", want float64";
  const std::vector<double> g = got.to_vector<double>();
  if (g.size() != want.size())
    return ::testing::AssertionFailure() << what << ": " << g.size() << " elements, torch has " << want.size();
  std::ostringstream bad;
  bad << std::setprecision(17);
  std::size_t n_bad = 0;
  double worst = 0;
  for (std::size_t i = 0; i < g.size(); ++i) {
    const double err = std::abs(g[i] - want[i]), bound = kRelTol * std::max(1.0, std::abs(want[i]));
    if (err / std::max(1.0, std::abs(want[i])) > g_worst) {
      g_worst = err / std::max(1.0, std::abs(want[i]));
      g_worst_where = g_current_case + ", " + what;
    }
    if (!(err <= bound)) {  // also catches NaN
      if (n_bad < 8) bad << "\n  [" << i << "] nabla " << g[i] << ", torch " << want[i] << ", |diff| " << err;
      worst = std::max(worst, err / std::max(1.0, std::abs(want[i])));
      ++n_bad;
    }
  }
  if (n_bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << std::setprecision(17) << what << ": " << n_bad << " of " << g.size()
                                       << " elements differ by more than 1e-10 relative (worst " << worst << ")"
                                       << bad.str();
}

void run_case(const json& c) {
  const auto op_name = c.at("op").get<std::string>();
  const auto it = op_table().find(op_name);
  ASSERT_TRUE(it != op_table().end()) << "unknown op '" << op_name << "': add it to the op table in oracle_test.cpp";
  const json& args = c.at("args");

  std::vector<Input> inputs;
  for (const auto& j : c.at("inputs")) inputs.push_back(build_input(j, inputs));
  std::vector<Tensor> views, leaves_with_grad;
  for (const auto& in : inputs) {
    views.push_back(in.view);
    if (in.grad) leaves_with_grad.push_back(in.leaf);
  }

  const Tensor y = it->second(views, args);
  const Shape out_shape = c.at("out_shape").get<Shape>();
  ASSERT_TRUE(matches("value", y, out_shape, c.at("out").get<std::vector<double>>()));
  const Tensor g_out = float_tensor(c.at("grad_out").get<std::vector<double>>(), out_shape);

  // The gradient of each leaf that requires grad, in input order; undefined means zero.
  std::vector<Tensor> grads;
  if (c.at("order").get<int>() == 1) {
    y.backward(g_out);
    for (const auto& in : inputs)
      if (in.grad) grads.push_back(in.leaf.grad());
  } else {
    // Hessian-vector product: d/dx sum_i <dy/dx_i . g_out, probe_i>, first gradients with create_graph.
    const auto first = nabla::autograd::grad({y}, leaves_with_grad, {g_out}, /*retain_graph=*/true,
                                             /*create_graph=*/true, /*allow_unused=*/true);
    Tensor s;
    std::size_t k = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (!inputs[i].grad) continue;
      const Tensor& gi = first[k++];
      if (!gi.defined()) continue;
      const Tensor probe = float_tensor(c.at("probes").at(i).get<std::vector<double>>(), inputs[i].leaf.shape());
      const Tensor term = nabla::sum(gi * probe);
      s = s.defined() ? s + term : term;
    }
    ASSERT_TRUE(s.defined()) << "no first-order gradient was defined";
    grads = nabla::autograd::grad({s}, leaves_with_grad, {}, false, false, /*allow_unused=*/true);
  }

  const json& want = c.at("grads");
  std::size_t k = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].grad) {
      EXPECT_TRUE(want.at(i).is_null()) << "input " << i << " takes no grad in nabla's rebuild but has one in torch's";
      continue;
    }
    Tensor gi = grads.at(k++);
    if (!gi.defined()) gi = nabla::zeros(inputs[i].leaf.shape(), nabla::kFloat64);
    EXPECT_TRUE(matches("grad of input " + std::to_string(i), gi, inputs[i].leaf.shape(),
                        want.at(i).get<std::vector<double>>()));
  }
}

class TorchOracle : public ::testing::TestWithParam<CaseRef> {};

TEST_P(TorchOracle, ValueAndGradientsMatch) {
  const json& c = g_doc.at("cases").at(GetParam().index);
  g_current_case = GetParam().name;
  SCOPED_TRACE("op " + c.at("op").get<std::string>() + ", args " + c.at("args").dump() + ", order " +
               std::to_string(c.at("order").get<int>()));
  try {
    run_case(c);
  } catch (const std::exception& e) {
    FAIL() << "threw: " << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, TorchOracle, ::testing::ValuesIn(case_refs()),
                         [](const ::testing::TestParamInfo<CaseRef>& info) { return sanitize(info.param.name); });

TEST(TorchOracleFile, LoadsAndCoversEveryOp) {
  ASSERT_TRUE(g_load_error.empty()) << g_load_error;
  ASSERT_FALSE(g_case_names.empty()) << "no cases in the file";
  std::set<std::string> covered, unknown;
  for (const auto& c : g_doc.at("cases")) {
    const auto op = c.at("op").get<std::string>();
    covered.insert(op);
    if (!op_table().count(op)) unknown.insert(op);
  }
  for (const auto& op : unknown) ADD_FAILURE() << "the file has cases of op '" << op << "', which the table lacks";
  for (const auto& [op, fn] : op_table())
    EXPECT_TRUE(covered.count(op)) << "op '" << op << "' of the table has no case in the file";
  std::set<std::string> listed;
  for (const auto& op : g_doc.at("ops")) listed.insert(op.get<std::string>());
  EXPECT_EQ(listed.size(), op_table().size()) << "torch_oracle.py and the op table list different ops";
}

void load(const char* path) {
  std::ifstream f(path);
  if (!f) {
    g_load_error = std::string("cannot open ") + path;
    return;
  }
  try {
    g_doc = json::parse(f);
    for (const auto& c : g_doc.at("cases")) g_case_names.push_back(c.at("name").get<std::string>());
  } catch (const std::exception& e) {
    g_load_error = std::string("cannot parse ") + path + ": " + e.what();
    g_case_names.clear();
  }
}

}  // namespace

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(TorchOracle);

int main(int argc, char** argv) {
  // The cases must be loaded before InitGoogleTest, which registers the parameterised tests; the
  // file is the one argument that is not a gtest flag.
  const char* path = nullptr;
  int n_paths = 0;
  for (int i = 1; i < argc; ++i)
    if (argv[i][0] != '-') path = argv[i], ++n_paths;
  if (n_paths != 1) {
    std::fprintf(stderr, "usage: %s CASES.json [gtest flags]  (CASES.json from tests/oracle/torch_oracle.py)\n",
                 argv[0]);
    return 2;
  }
  load(path);
  ::testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  std::printf("oracle: %zu cases; largest difference %.3g relative to max(1, |torch|) (%s); tolerance %.0e\n",
              g_case_names.size(), g_worst, g_worst_where.empty() ? "-" : g_worst_where.c_str(), kRelTol);
  return rc;
}
