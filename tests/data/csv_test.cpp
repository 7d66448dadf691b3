// CSV reader: headers, values, and ragged or malformed files with file:line messages.
#include <gtest/gtest.h>

#include <nabla/data/csv.h>

#include "data/test_files.h"

using nabla::test::error_of;
using nabla::test::TempDir;
using nabla::test::write_text;
namespace data = nabla::data;

TEST(Csv, AutoDetectsHeader) {
  TempDir dir;
  const auto path = dir.file("a.csv");
  write_text(path, "x, y,\"label\"\n1.5,2,0\r\n-3e2, +4 ,1\n\n");
  const auto t = data::read_csv(path);
  EXPECT_EQ(t.columns, (std::vector<std::string>{"x", "y", "label"}));
  EXPECT_EQ(t.values.shape(), (nabla::Shape{2, 3}));
  EXPECT_EQ(t.values.dtype(), nabla::kFloat32);
  EXPECT_EQ(t.values.to_vector<float>(), (std::vector<float>{1.5f, 2.0f, 0.0f, -300.0f, 4.0f, 1.0f}));
}

TEST(Csv, NoHeaderOptionsAndDtypes) {
  TempDir dir;
  const auto path = dir.file("b.csv");
  write_text(path, "1;2\n3;4\n");
  data::CsvOptions opts;
  opts.delimiter = ';';
  opts.dtype = nabla::kInt64;
  auto t = data::read_csv(path, opts);
  EXPECT_TRUE(t.columns.empty());
  EXPECT_EQ(t.values.to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, 2, 3, 4}));
  opts.header = data::CsvHeader::Yes;  // the numeric first line names the columns
  opts.dtype = nabla::kFloat64;
  t = data::read_csv(path, opts);
  EXPECT_EQ(t.columns, (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(t.values.shape(), (nabla::Shape{1, 2}));
  EXPECT_EQ(t.values.to_vector<double>(), (std::vector<double>{3.0, 4.0}));
}

TEST(Csv, HeaderOnlyGivesZeroRows) {
  TempDir dir;
  write_text(dir.file("h.csv"), "a,b,c\n");
  const auto t = data::read_csv(dir.file("h.csv"));
  EXPECT_EQ(t.values.shape(), (nabla::Shape{0, 3}));
}

TEST(Csv, GzipCsv) {
  TempDir dir;
  write_text(dir.file("g.csv"), "1,2\n3,4\n");
  const auto t = data::read_csv(nabla::test::gzip_file(dir.file("g.csv")));
  EXPECT_EQ(t.values.to_vector<float>(), (std::vector<float>{1, 2, 3, 4}));
}

TEST(CsvBadInput, RaggedRowNamesFileAndLine) {
  TempDir dir;
  const auto path = dir.file("ragged.csv");
  write_text(path, "a,b,c\n1,2,3\n\n4,5\n");
  const auto msg = error_of([&] { data::read_csv(path); });
  EXPECT_CONTAINS(msg, path + ":4: ragged row: 2 fields, but line 1 has 3");
  write_text(path, "1,2\n3,4,5\n");
  EXPECT_CONTAINS(error_of([&] { data::read_csv(path); }), path + ":2: ragged row: 3 fields");
}

TEST(CsvBadInput, NonNumericField) {
  TempDir dir;
  const auto path = dir.file("bad.csv");
  write_text(path, "a,b\n1,2\n3,x7\n");
  EXPECT_CONTAINS(error_of([&] { data::read_csv(path); }), path + ":3: field 2 is 'x7', not a number");
  write_text(path, "a,b\n1,\n");
  EXPECT_CONTAINS(error_of([&] { data::read_csv(path); }), path + ":2: field 2 is '', not a number");
}

TEST(CsvBadInput, NonIntegerForInt64) {
  TempDir dir;
  const auto path = dir.file("f.csv");
  write_text(path, "1,2.5\n");
  data::CsvOptions opts;
  opts.dtype = nabla::kInt64;
  EXPECT_CONTAINS(error_of([&] { data::read_csv(path, opts); }), "value 2.5 (row 1, column 2) is not an integer");
}

TEST(CsvBadInput, EmptyAndMissingFiles) {
  TempDir dir;
  write_text(dir.file("e.csv"), "\n \n");
  EXPECT_CONTAINS(error_of([&] { data::read_csv(dir.file("e.csv")); }), dir.file("e.csv") + ": empty CSV file");
  EXPECT_CONTAINS(error_of([&] { data::read_csv(dir.file("none.csv")); }), dir.file("none.csv") + ": cannot open");
}
