// libFuzzer target: load_safetensors, load_safetensors_metadata and load_into on arbitrary bytes.
// Only tensors or nabla::Error are acceptable; the header must be validated before any allocation.
#include <nabla/core/error.h>
#include <nabla/io/safetensors.h>

#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = nabla::fuzz::write_temp("safetensors", data, size);
  nabla::io::SafetensorsFile file;
  try {
    file = nabla::io::load_safetensors(path);
  } catch (const nabla::Error&) {
  }
  try {
    (void)nabla::io::load_safetensors_metadata(path);
  } catch (const nabla::Error&) {
  }
  // load_into against what the file holds (must succeed when load succeeded) and against a fixed model.
  nabla::io::NamedTensors targets;
  for (const auto& [name, t] : file.tensors) targets.emplace_back(name, nabla::zeros_like(t));
  try {
    nabla::io::load_into(path, targets, /*strict=*/true);
  } catch (const nabla::Error&) {
    if (!file.tensors.empty()) std::abort();
  }
  try {
    nabla::io::load_into(path, {{"weight", nabla::zeros({2, 3})}, {"bias", nabla::zeros({3})}}, /*strict=*/false);
  } catch (const nabla::Error&) {
  }
  return 0;
}
