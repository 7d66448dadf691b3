// Numeric CSV reader: one pass over the (possibly gzip) file, rows checked against the first row's width.
#include <nabla/data/csv.h>

#include <charconv>
#include <cmath>
#include <string_view>

#include <fmt/format.h>

#include "data/file_source.h"

namespace nabla::data {
namespace {

constexpr std::uint64_t kMaxCsvBytes = std::uint64_t{1} << 34;  // 16 GiB

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view line, char delim) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t pos = line.find(delim, start);
    if (pos == std::string_view::npos) {
      out.push_back(trim(line.substr(start)));
      return out;
    }
    out.push_back(trim(line.substr(start, pos - start)));
    start = pos + 1;
  }
}

bool parse_number(std::string_view s, double& v) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

std::string unquote(std::string_view s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return std::string(s);
}

}  // namespace

CsvTable read_csv(const std::string& path, const CsvOptions& options) {
  if (options.delimiter == '\n' || options.delimiter == '\r')
    throw Error(fmt::format("read_csv: {}: delimiter cannot be a line break", path));
  const std::string text = detail::read_all(path, kMaxCsvBytes);
  CsvTable table;
  std::vector<double> values;
  std::size_t width = 0;
  std::int64_t rows = 0;
  std::size_t first_line = 0;  // line number of the row that fixed the width
  bool first = true;
  std::size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (trim(line).empty()) continue;
    const auto fields = split(line, options.delimiter);
    if (first) {
      first = false;
      width = fields.size();
      first_line = line_no;
      bool header = options.header == CsvHeader::Yes;
      if (options.header == CsvHeader::Auto) {
        double v;
        for (auto f : fields)
          if (!parse_number(f, v)) header = true;
      }
      if (header) {
        for (auto f : fields) table.columns.push_back(unquote(f));
        continue;
      }
    }
    if (fields.size() != width)
      throw Error(fmt::format("{}:{}: ragged row: {} fields, but line {} has {} (every row needs {})", path, line_no,
                              fields.size(), first_line, width, width));
    for (std::size_t j = 0; j < fields.size(); ++j) {
      double v;
      if (!parse_number(fields[j], v))
        throw Error(fmt::format("{}:{}: field {} is '{}', not a number", path, line_no, j + 1, fields[j]));
      values.push_back(v);
    }
    ++rows;
  }
  if (first) throw Error(fmt::format("{}: empty CSV file (no header and no rows)", path));
  Tensor t = empty({rows, static_cast<std::int64_t>(width)}, options.dtype);
  const std::size_t n = values.size();
  switch (options.dtype) {
    case DType::Float32:
      for (std::size_t i = 0; i < n; ++i) t.data_ptr<float>()[i] = static_cast<float>(values[i]);
      break;
    case DType::Float64:
      for (std::size_t i = 0; i < n; ++i) t.data_ptr<double>()[i] = values[i];
      break;
    case DType::Int64:
      for (std::size_t i = 0; i < n; ++i) {
        if (values[i] != std::floor(values[i]) || !std::isfinite(values[i]) || std::fabs(values[i]) > 9.007199254740992e15)
          throw Error(fmt::format("{}: value {} (row {}, column {}) is not an integer representable as int64", path,
                                  values[i], i / width + 1, i % width + 1));
        t.data_ptr<std::int64_t>()[i] = static_cast<std::int64_t>(values[i]);
      }
      break;
  }
  table.values = t;
  return table;
}

}  // namespace nabla::data
