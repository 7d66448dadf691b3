// libFuzzer target: read_csv on arbitrary bytes. The first byte picks the options (delimiter,
// header mode, dtype); the rest is the file. Only a table or nabla::Error is acceptable.
#include <nabla/core/error.h>
#include <nabla/data/csv.h>

#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  nabla::data::CsvOptions options;
  if (size > 0) {
    const std::uint8_t b = data[0];
    constexpr char kDelims[] = {',', ';', '\t', ' '};
    options.delimiter = kDelims[b & 3];
    options.header = (b >> 2 & 3) == 1 ? nabla::data::CsvHeader::Yes
                     : (b >> 2 & 3) == 2 ? nabla::data::CsvHeader::No
                                          : nabla::data::CsvHeader::Auto;
    options.dtype = (b >> 4 & 3) == 1 ? nabla::kFloat64 : (b >> 4 & 3) == 2 ? nabla::kInt64 : nabla::kFloat32;
    ++data;
    --size;
  }
  const std::string& path = nabla::fuzz::write_temp("csv", data, size);
  try {
    nabla::data::CsvTable table = nabla::data::read_csv(path, options);
    if (table.values.dim() != 2) std::abort();
    if (!table.columns.empty() && static_cast<std::int64_t>(table.columns.size()) != table.values.size(1))
      std::abort();
  } catch (const nabla::Error&) {
  }
  return 0;
}
