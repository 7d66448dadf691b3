#pragma once
/// A numeric CSV reader into a 2-D tensor.
#include <string>
#include <vector>

#include <nabla/core/tensor.h>

namespace nabla::data {

/// Whether the first line of a CSV file names the columns.
enum class CsvHeader {
  Auto,  ///< a header when any field of the first line is not a number
  Yes,
  No,
};

/// Options of read_csv.
struct CsvOptions {
  char delimiter = ',';
  CsvHeader header = CsvHeader::Auto;
  DType dtype = kFloat32;  ///< element type of the values tensor
};

/// A CSV file's column names (empty without a header) and values [rows, columns].
struct CsvTable {
  std::vector<std::string> columns;
  Tensor values;
};

/// Reads a numeric CSV file. Blank lines are skipped; fields are trimmed; no quoting in data rows.
/// Ragged rows and non-numeric fields throw nabla::Error with file:line.
CsvTable read_csv(const std::string& path, const CsvOptions& options = {});

}  // namespace nabla::data
