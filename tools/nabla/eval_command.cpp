// `nabla eval --checkpoint FILE`: test accuracy and the confusion matrix of a trained model.
#include <fmt/format.h>

#include <nabla/data/idx.h>
#include <nabla/io/safetensors.h>

#include "commands.h"
#include "models.h"
#include "training.h"

namespace nabla::cli {
namespace {

struct EvalArgs {
  std::string checkpoint;
  std::string data = data::default_mnist_dir();
  std::int64_t batch = 1000;
};

int run_eval(const EvalArgs& a) {
  std::shared_ptr<nn::Module> model;
  data::MnistData test;
  ModelSpec spec;
  try {
    if (a.batch < 1) throw Error(fmt::format("--batch must be at least 1, got {}", a.batch));
    const io::SafetensorsFile file = io::load_safetensors(a.checkpoint);
    spec = read_spec(file.metadata, a.checkpoint);
    model = build_model(spec);
    nn::NamedTensors state;
    for (const auto& [n, t] : file.tensors)
      if (n.rfind("model.", 0) == 0) state.emplace_back(n.substr(6), t);
    try {
      model->load_state_dict(state);
    } catch (const Error& e) {
      throw Error(fmt::format("{}: {}", a.checkpoint, e.what()));
    }
    data::MnistOptions options;
    options.num_classes = spec.classes;
    options.layout = spec.kind == "cnn" ? data::ImageLayout::Channels : data::ImageLayout::Flat;
    test = data::load_mnist(a.data, data::Split::Test, options);
    if (!spec.input.is_identity()) spec.input.apply_(test.images);  // as in training (the checkpoint's values)
    const std::int64_t pixels = test.images.numel() / std::max<std::int64_t>(test.images.shape()[0], 1);
    if (pixels != spec.inputs)
      throw Error(fmt::format("{}: images have {} pixels but the checkpoint's model takes {}", a.data, pixels, spec.inputs));
  } catch (const Error& e) {
    fmt::print(stderr, "nabla eval: {}\n", e.what());
    return kExitUsage;
  }
  std::vector<std::int64_t> confusion;
  const Evaluation ev = evaluate(*model, test.images, test.labels, a.batch, &confusion, spec.classes);
  fmt::print("checkpoint {}: {} test images, loss {:.4f}, accuracy {:.2f}%\n", a.checkpoint, test.images.shape()[0],
             ev.loss, 100 * ev.accuracy);
  fmt::print("confusion matrix (rows: true class, columns: predicted class)\n      ");
  for (std::int64_t j = 0; j < spec.classes; ++j) fmt::print("{:>6}", j);
  fmt::print("\n");
  for (std::int64_t i = 0; i < spec.classes; ++i) {
    fmt::print("{:>6}", i);
    for (std::int64_t j = 0; j < spec.classes; ++j) fmt::print("{:>6}", confusion[static_cast<std::size_t>(i * spec.classes + j)]);
    fmt::print("\n");
  }
  return 0;
}

}  // namespace

Command add_eval_command(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand("eval", "accuracy and confusion matrix of a trained checkpoint");
  cmd->add_option("--checkpoint", args->checkpoint, "checkpoint written by nabla train --save")->required();
  cmd->add_option("--data", args->data, "directory with the MNIST-layout test files")->capture_default_str();
  cmd->add_option("--batch", args->batch, "examples per evaluation batch")->capture_default_str();
  return {cmd, [args] { return run_eval(*args); }};
}

}  // namespace nabla::cli
