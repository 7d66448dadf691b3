#pragma once
// The subcommands of the nabla tool. Each lives in its own file and registers itself on the
// top-level CLI11 app; main() runs the one that was parsed. To add one (e.g. train, eval):
// declare add_<name>_command here, define it in <name>_command.cpp, list it in main.cpp.
#include <functional>

#include <CLI/CLI.hpp>

namespace nabla::cli {

/// A registered subcommand: its CLI11 app (to know whether it was chosen) and what runs it.
struct Command {
  CLI::App* app = nullptr;
  /// Runs the command after parsing succeeded; returns the process exit code.
  std::function<int()> run;
};

/// Exit code for bad usage: a malformed program, an unknown option, a missing input value.
inline constexpr int kExitUsage = 2;
/// Exit code for a failure while running (e.g. a file that cannot be written).
inline constexpr int kExitFailure = 1;

/// `nabla grad`: value and gradient of a scalar program, with tables and graph pictures.
Command add_grad_command(CLI::App& app);
/// `nabla train`: train a classifier on Fashion-MNIST with progress, metrics, plots and checkpoints.
Command add_train_command(CLI::App& app);
/// `nabla eval`: accuracy and confusion matrix of a checkpoint.
Command add_eval_command(CLI::App& app);

}  // namespace nabla::cli
