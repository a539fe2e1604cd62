#include "data/csv.h"

#include <set>

#include "core/check.h"
#include "io/file_bytes.h"

namespace ldmg::data {

int CsvTable::column(std::string_view name) const {
  for (std::size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return static_cast<int>(i);
  return -1;
}

namespace {

// RFC 4180 section 2, with LF accepted as well as CRLF (a lone CR also ends a line).
class CsvParser {
 public:
  CsvParser(std::string_view text, const std::string& source) : text_(text), source_(source) {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") text_.remove_prefix(3);  // UTF-8 BOM
  }

  // Next record, or false at the end. Physically empty lines are skipped.
  bool next(CsvRecord& rec) {
    while (pos_ < text_.size() && at_line_end()) consume_line_end();
    if (pos_ >= text_.size()) return false;
    rec.fields.clear();
    rec.line = line_;
    for (;;) {
      rec.fields.push_back(field());
      if (pos_ >= text_.size()) return true;
      if (text_[pos_] == ',') {
        advance();
        continue;
      }
      LDMG_ASSERT(at_line_end(), "field() stopped at '{}'", text_[pos_]);
      consume_line_end();
      return true;
    }
  }

 private:
  bool at_line_end() const { return text_[pos_] == '\n' || text_[pos_] == '\r'; }
  void advance() {
    ++pos_;
    ++col_;
  }
  void consume_line_end() {
    if (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    ++line_;
    col_ = 1;
  }

  std::string field() {
    std::string out;
    if (pos_ < text_.size() && text_[pos_] == '"') return quoted();
    while (pos_ < text_.size() && text_[pos_] != ',' && !at_line_end()) {
      LDMG_CHECK(text_[pos_] != '"',
                 "'{}' line {}, column {}: a double quote inside an unquoted field (quote the whole field and "
                 "double the quote: \"\"\")",
                 source_, line_, col_);
      out += text_[pos_];
      advance();
    }
    return out;
  }

  std::string quoted() {
    const int start_line = line_, start_col = col_;
    advance();  // opening quote
    std::string out;
    for (;;) {
      LDMG_CHECK(pos_ < text_.size(), "'{}' line {}, column {}: quoted field is never closed (missing '\"')",
                 source_, start_line, start_col);
      const char c = text_[pos_];
      if (c == '"') {
        if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
          out += '"';
          advance();
          advance();
          continue;
        }
        advance();  // closing quote
        LDMG_CHECK(pos_ >= text_.size() || text_[pos_] == ',' || at_line_end(),
                   "'{}' line {}, column {}: unexpected character '{}' after the closing quote of a field", source_,
                   line_, col_, text_[pos_]);
        return out;
      }
      if (c == '\r' || c == '\n') {
        // Embedded line break: kept as written (CRLF stays CRLF).
        if (c == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') out += text_[pos_++];
        out += text_[pos_++];
        ++line_;
        col_ = 1;
        continue;
      }
      out += c;
      advance();
    }
  }

  std::string_view text_;
  const std::string& source_;
  std::size_t pos_ = 0;
  int line_ = 1;
  int col_ = 1;
};

}  // namespace

CsvTable parse_csv(std::string_view text, const std::string& source) {
  CsvTable table;
  table.source = source;
  CsvParser parser(text, source);
  CsvRecord rec;
  LDMG_CHECK(parser.next(rec), "'{}' is empty: expected a CSV header line", source);
  table.header = std::move(rec.fields);
  std::set<std::string> seen;
  for (std::size_t i = 0; i < table.header.size(); ++i) {
    LDMG_CHECK(!table.header[i].empty(), "'{}' line {}: header column {} has an empty name", source, rec.line, i + 1);
    LDMG_CHECK(seen.insert(table.header[i]).second, "'{}' line {}: header column {} ('{}') appears twice", source,
               rec.line, i + 1, table.header[i]);
  }
  while (parser.next(rec)) {
    const std::size_t row = table.rows.size() + 1;
    LDMG_CHECK(rec.fields.size() == table.header.size(),
               "'{}' row {} (line {}): {} fields, but the header has {} columns", source, row, rec.line,
               rec.fields.size(), table.header.size());
    table.rows.push_back(std::move(rec));
    rec = {};
  }
  return table;
}

CsvTable read_csv(const std::string& path) { return parse_csv(io::read_file_bytes(path), path); }

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

}  // namespace ldmg::data
