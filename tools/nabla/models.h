#pragma once
// The architectures `nabla train` builds, and how a checkpoint records which one it holds.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nabla/data/transforms.h>
#include <nabla/io/safetensors.h>
#include <nabla/nn/module.h>

namespace nabla::cli {

/// What to build: an MLP with hidden widths, or the CNN of the convolution issue.
struct ModelSpec {
  std::string kind = "mlp";
  std::vector<std::int64_t> hidden = {256, 128};
  std::int64_t inputs = 784;
  std::int64_t classes = 10;
  bool batchnorm = false;  // BatchNorm after each hidden layer (before its ReLU)
  double dropout = 0.0;    // Dropout before each hidden Linear layer's successor
  data::Standardize input;  // what the model's inputs were standardised with (identity: raw pixels in [0, 1])
};

/// Bytes of float32 activations and gradients one training step of `spec` keeps alive for a batch,
/// plus parameters, their gradients and optimizer state: what --max-memory is compared against.
std::int64_t estimate_training_bytes(const ModelSpec& spec, std::int64_t batch);

/// Parses "256,128" into widths; throws nabla::Error naming the option on anything else.
std::vector<std::int64_t> parse_hidden(const std::string& text);
/// "256,128".
std::string format_hidden(const std::vector<std::int64_t>& hidden);
/// Builds the model (weights from the seeded generator, PyTorch's default initialisation).
std::shared_ptr<nn::Module> build_model(const ModelSpec& spec);
/// Writes the spec into checkpoint metadata.
void write_spec(const ModelSpec& spec, io::Metadata& metadata);
/// Reads the spec back; throws nabla::Error naming `path` when the metadata lacks it.
ModelSpec read_spec(const io::Metadata& metadata, const std::string& path);

}  // namespace nabla::cli
