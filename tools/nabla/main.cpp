// nabla: the command-line tool. Parses the arguments (CLI11) and runs the chosen subcommand.
#include <exception>
#include <vector>

#include <fmt/format.h>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"nabla: automatic differentiation from the command line"};
  app.name("nabla");
  app.require_subcommand(1);
  std::vector<nabla::cli::Command> commands{
      nabla::cli::add_grad_command(app),
      nabla::cli::add_train_command(app),
      nabla::cli::add_eval_command(app),
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : nabla::cli::kExitUsage;
  }
  try {
    for (const auto& c : commands)
      if (c.app->parsed()) return c.run();
  } catch (const std::exception& e) {
    fmt::print(stderr, "nabla: {}\n", e.what());
    return nabla::cli::kExitFailure;
  }
  return nabla::cli::kExitUsage;
}
