#include "models.h"

#include <cmath>
#include <type_traits>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nabla/nn/conv.h>
#include <nabla/nn/layers.h>

namespace nabla::cli {

std::vector<std::int64_t> parse_hidden(const std::string& text) {
  std::vector<std::int64_t> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::string part = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    std::size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (part.empty() || used != part.size() || v <= 0 || v > 1'000'000)
      throw Error(fmt::format("--hidden: \"{}\" is not a comma-separated list of positive widths (e.g. 256,128)", text));
    out.push_back(v);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string format_hidden(const std::vector<std::int64_t>& hidden) { return fmt::format("{}", fmt::join(hidden, ",")); }

namespace {
// The CNN of the convolution issue, for 28x28 single-channel images:
// conv(1->32, 3x3) ReLU pool2, conv(32->64, 3x3) ReLU pool2, flatten, linear(1600->128) ReLU, linear(128->10).
std::shared_ptr<nn::Module> build_cnn(const ModelSpec& spec) {
  if (spec.inputs != 784)
    throw Error(fmt::format("--model cnn: needs 28x28 images (784 pixels), the data has {} pixels", spec.inputs));
  auto m = std::make_shared<nn::Sequential>();
  m->push_back(std::make_shared<nn::Conv2d>(1, 32, 3));
  if (spec.batchnorm) m->push_back(std::make_shared<nn::BatchNorm2d>(32));
  m->push_back(std::make_shared<nn::ReLU>());
  m->push_back(std::make_shared<nn::MaxPool2d>(2));
  m->push_back(std::make_shared<nn::Conv2d>(32, 64, 3));
  if (spec.batchnorm) m->push_back(std::make_shared<nn::BatchNorm2d>(64));
  m->push_back(std::make_shared<nn::ReLU>());
  m->push_back(std::make_shared<nn::MaxPool2d>(2));
  m->push_back(std::make_shared<nn::Flatten>());
  if (spec.dropout > 0) m->push_back(std::make_shared<nn::Dropout>(spec.dropout));
  m->push_back(std::make_shared<nn::Linear>(1600, 128));
  if (spec.batchnorm) m->push_back(std::make_shared<nn::BatchNorm1d>(128));
  m->push_back(std::make_shared<nn::ReLU>());
  if (spec.dropout > 0) m->push_back(std::make_shared<nn::Dropout>(spec.dropout));
  m->push_back(std::make_shared<nn::Linear>(128, spec.classes));
  return m;
}
}  // namespace

std::shared_ptr<nn::Module> build_model(const ModelSpec& spec) {
  if (!(spec.dropout >= 0.0 && spec.dropout < 1.0))
    throw Error(fmt::format("--dropout: probability must be in [0, 1), got {}", spec.dropout));
  if (spec.kind == "cnn") return build_cnn(spec);
  if (spec.kind != "mlp") throw Error(fmt::format("--model: \"{}\" is not one of mlp, cnn", spec.kind));
  auto model = std::make_shared<nn::Sequential>();
  std::int64_t width = spec.inputs;
  for (auto h : spec.hidden) {
    if (spec.dropout > 0 && width != spec.inputs) model->push_back(std::make_shared<nn::Dropout>(spec.dropout));
    model->push_back(std::make_shared<nn::Linear>(width, h));
    if (spec.batchnorm) model->push_back(std::make_shared<nn::BatchNorm1d>(h));
    model->push_back(std::make_shared<nn::ReLU>());
    width = h;
  }
  if (spec.dropout > 0 && width != spec.inputs) model->push_back(std::make_shared<nn::Dropout>(spec.dropout));
  model->push_back(std::make_shared<nn::Linear>(width, spec.classes));
  return model;
}

std::int64_t estimate_training_bytes(const ModelSpec& spec, std::int64_t batch) {
  // Per example: every layer's output is kept for backward and gets a gradient of the same size;
  // a few extra copies cover masks and temporaries. Parameters: value, gradient, two optimizer slots.
  std::int64_t per_example = 0, params = 0;
  if (spec.kind == "cnn") {
    per_example = spec.inputs + 32 * 26 * 26 * 3 + 32 * 13 * 13 + 64 * 11 * 11 * 3 + 64 * 5 * 5 + 128 * 3 + spec.classes;
    per_example += 9 * 26 * 26 + 32 * 9 * 11 * 11;  // unfolded (im2col) inputs of the two convolutions
    params = 32 * 9 + 32 + 64 * 32 * 9 + 64 + 1600 * 128 + 128 + 128 * spec.classes + spec.classes;
  } else {
    std::int64_t width = spec.inputs;
    per_example = spec.inputs;
    for (auto h : spec.hidden) {
      per_example += 3 * h;
      params += width * h + h;
      width = h;
    }
    per_example += spec.classes * 3;
    params += width * spec.classes + spec.classes;
  }
  const std::int64_t activations = 4 * 3 * per_example * batch;  // float32, value + gradient + temporaries
  return activations + 4 * 4 * params;
}

void write_spec(const ModelSpec& spec, io::Metadata& metadata) {
  metadata["model"] = spec.kind;
  metadata["hidden"] = format_hidden(spec.hidden);
  metadata["inputs"] = std::to_string(spec.inputs);
  metadata["classes"] = std::to_string(spec.classes);
  metadata["batchnorm"] = std::to_string(spec.batchnorm ? 1 : 0);  // not = "1"/"0": GCC 12 -Wrestrict false positive
  metadata["dropout"] = fmt::format("{}", spec.dropout);
  metadata["input_mean"] = fmt::format("{}", spec.input.mean);  // shortest form that reads back exactly
  metadata["input_std"] = fmt::format("{}", spec.input.std);
}

namespace {
// metadata[key] as a number: the whole value must parse (no trailing characters), and be finite.
template <class N>
N metadata_number(const io::Metadata& metadata, const char* key, const std::string& path) {
  const std::string& text = metadata.at(key);
  std::size_t used = 0;
  N v{};
  try {
    if constexpr (std::is_integral_v<N>) v = static_cast<N>(std::stoll(text, &used));
    else v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  bool ok = used == text.size() && used > 0;
  if constexpr (!std::is_integral_v<N>) ok = ok && std::isfinite(v);
  if (!ok)
    throw Error(fmt::format("{}: checkpoint metadata has {} \"{}\"; valid: a finite {}", path, key, text,
                            std::is_integral_v<N> ? "integer" : "number"));
  return v;
}
}  // namespace

ModelSpec read_spec(const io::Metadata& metadata, const std::string& path) {
  ModelSpec spec;
  for (const char* key : {"model", "hidden", "inputs", "classes"})
    if (!metadata.count(key))
      throw Error(fmt::format("{}: not a nabla training checkpoint (its metadata has no \"{}\")", path, key));
  spec.kind = metadata.at("model");
  spec.hidden = metadata.at("hidden").empty() ? std::vector<std::int64_t>{} : parse_hidden(metadata.at("hidden"));
  spec.inputs = metadata_number<std::int64_t>(metadata, "inputs", path);
  spec.classes = metadata_number<std::int64_t>(metadata, "classes", path);
  if (metadata.count("batchnorm")) spec.batchnorm = metadata.at("batchnorm") == "1";
  if (metadata.count("dropout")) spec.dropout = metadata_number<double>(metadata, "dropout", path);
  // Checkpoints written before inputs were standardised have neither key: raw pixels.
  const bool has_mean = metadata.count("input_mean") != 0, has_std = metadata.count("input_std") != 0;
  if (has_mean != has_std)
    throw Error(fmt::format("{}: checkpoint metadata has {} but not {} (valid: both, or neither for raw pixels)", path,
                            has_mean ? "input_mean" : "input_std", has_mean ? "input_std" : "input_mean"));
  if (has_mean) {
    spec.input.mean = metadata_number<double>(metadata, "input_mean", path);
    spec.input.std = metadata_number<double>(metadata, "input_std", path);
    try {
      spec.input.check(kFloat32, "input standardisation");  // the models here are float32
    } catch (const Error& e) {
      throw Error(fmt::format("{}: checkpoint metadata has input_mean {} and input_std {}: {}", path, spec.input.mean,
                              spec.input.std, e.what()));
    }
  }
  return spec;
}

}  // namespace nabla::cli
