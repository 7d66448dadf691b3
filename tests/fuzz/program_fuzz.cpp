// libFuzzer target: the `nabla grad` program parser, then evaluation, gradients in three modes,
// the trace and the non-finite search with every input set to a value from the first byte.
// Only results or nabla::Error (ProgramError) are acceptable.
#include <string_view>
#include <vector>

#include <nabla/core/error.h>
#include <nabla/scalar/program.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  double x = 1.5;
  if (size > 0) {
    x = static_cast<double>(static_cast<std::int8_t>(data[0])) / 8.0;
    ++data;
    --size;
  }
  const std::string_view source(reinterpret_cast<const char*>(data), size);
  try {
    const nabla::scalar::Program program = nabla::scalar::Program::parse(source);
    const std::vector<double> inputs(program.inputs().size(), x);
    for (auto mode : {nabla::scalar::GradMode::Reverse, nabla::scalar::GradMode::Forward,
                      nabla::scalar::GradMode::Numeric})
      (void)nabla::scalar::program_gradient(program, inputs, mode);
    const nabla::scalar::Trace trace = nabla::scalar::trace_program(program, inputs);
    (void)nabla::scalar::find_non_finite(program, trace);
    (void)nabla::scalar::format_trace_table(trace);
    for (std::size_t i = 0; i < program.instructions().size(); ++i) {
      (void)program.text_of(i);
      (void)program.node_name(i);
    }
    std::vector<std::string> args;
    for (const auto& name : program.inputs()) args.push_back(name + "=" + std::to_string(x));
    (void)nabla::scalar::bind_inputs(program, args);
  } catch (const nabla::Error& e) {
    (void)e.what();
  }
  return 0;
}
