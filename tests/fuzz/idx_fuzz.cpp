// libFuzzer target: read_idx on arbitrary bytes (raw or gzip), in every output dtype. Anything but
// a tensor or nabla::Error is a finding (crash, sanitizer report, other exception, huge allocation).
#include <nabla/core/error.h>
#include <nabla/data/idx.h>

#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = nabla::fuzz::write_temp("idx", data, size);
  for (nabla::DType dtype : {nabla::kFloat32, nabla::kFloat64, nabla::kInt64}) {
    try {
      nabla::Tensor t = nabla::data::read_idx(path, dtype);
      if (t.dtype() != dtype) std::abort();
    } catch (const nabla::Error&) {
      return 0;  // the same bytes fail the same way in every dtype
    }
  }
  try {
    (void)nabla::data::read_idx_images(path);
  } catch (const nabla::Error&) {
  }
  try {
    (void)nabla::data::read_idx_labels(path);
  } catch (const nabla::Error&) {
  }
  return 0;
}
