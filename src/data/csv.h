#pragma once
// RFC 4180 CSV: comma-separated fields, optional double-quoted fields that may
// hold commas, line breaks and doubled quotes (""), CRLF or LF line ends, an
// optional UTF-8 byte-order mark. The first record is the header. Blank lines
// are skipped (as pandas.read_csv does). Fields are not trimmed.
// Errors name the file, the physical line and the column (1-based).
#include <string>
#include <string_view>
#include <vector>

namespace ldmg::data {

struct CsvRecord {
  std::vector<std::string> fields;
  int line = 0;  // 1-based physical line where the record starts
};

struct CsvTable {
  std::string source;               // file path, for messages
  std::vector<std::string> header;  // column names, unique
  std::vector<CsvRecord> rows;      // data records; "row r" in messages = rows[r - 1]

  // Index of a column, or -1.
  int column(std::string_view name) const;
};

// Every record must have as many fields as the header; header names must be
// unique and non-empty. Throws ldmg::Error naming `source`, line and column.
CsvTable parse_csv(std::string_view text, const std::string& source);
CsvTable read_csv(const std::string& path);

// One field as RFC 4180 writes it: quoted (inner quotes doubled) when it
// holds a comma, a quote or a line break; as is otherwise.
std::string csv_field(const std::string& s);

}  // namespace ldmg::data
