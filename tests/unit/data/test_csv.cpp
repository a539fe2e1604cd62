// RFC 4180 edge cases, written by hand.
#include <gtest/gtest.h>

#include "core/check.h"
#include "data/csv.h"

using namespace ldmg;
using namespace ldmg::data;

namespace {
std::string error_of(std::string_view text) {
  try {
    parse_csv(text, "t.csv");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST(Csv, QuotedCommaQuoteAndNewline) {
  const CsvTable t = parse_csv("a,b,c\n1,\"x, y\",\"say \"\"hi\"\"\"\n2,\"two\nlines\",z\n3,,\"\"\n", "t.csv");
  ASSERT_EQ(t.header, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_EQ(t.rows.size(), 3u);
  EXPECT_EQ(t.rows[0].fields, (std::vector<std::string>{"1", "x, y", "say \"hi\""}));
  EXPECT_EQ(t.rows[1].fields, (std::vector<std::string>{"2", "two\nlines", "z"}));
  EXPECT_EQ(t.rows[2].fields, (std::vector<std::string>{"3", "", ""}));
  EXPECT_EQ(t.rows[0].line, 2);
  EXPECT_EQ(t.rows[1].line, 3);
  EXPECT_EQ(t.rows[2].line, 5);  // the embedded newline took a line
  EXPECT_EQ(t.column("c"), 2);
  EXPECT_EQ(t.column("d"), -1);
}

TEST(Csv, CrlfBomBlankLinesAndNoFinalNewline) {
  const CsvTable t = parse_csv("\xEF\xBB\xBFid,v\r\n1,a\r\n\r\n2,\"b\r\nc\"\r\n3,d", "t.csv");
  ASSERT_EQ(t.header, (std::vector<std::string>{"id", "v"}));  // BOM stripped from "id"
  ASSERT_EQ(t.rows.size(), 3u);
  EXPECT_EQ(t.rows[0].fields[1], "a");  // no stray \r
  EXPECT_EQ(t.rows[1].fields[1], "b\r\nc");
  EXPECT_EQ(t.rows[1].line, 4);
  EXPECT_EQ(t.rows[2].fields, (std::vector<std::string>{"3", "d"}));
  EXPECT_EQ(t.rows[2].line, 6);
}

TEST(Csv, ErrorsNameFileLineAndColumn) {
  std::string e = error_of("a,b\n1,2\n3\n");
  EXPECT_NE(e.find("'t.csv' row 2 (line 3)"), std::string::npos) << e;
  EXPECT_NE(e.find("1 fields, but the header has 2"), std::string::npos) << e;
  e = error_of("a,b\n1,\"open\n");
  EXPECT_NE(e.find("'t.csv' line 2, column 3"), std::string::npos) << e;
  EXPECT_NE(e.find("never closed"), std::string::npos) << e;
  e = error_of("a,b\n1,\"x\"y\n");
  EXPECT_NE(e.find("'t.csv' line 2, column 6"), std::string::npos) << e;
  e = error_of("a,b\n1,x\"y\n");
  EXPECT_NE(e.find("'t.csv' line 2, column 4"), std::string::npos) << e;
  e = error_of("a,a\n1,2\n");
  EXPECT_NE(e.find("appears twice"), std::string::npos) << e;
  e = error_of("");
  EXPECT_NE(e.find("'t.csv' is empty"), std::string::npos) << e;
  e = error_of("a,,c\n");
  EXPECT_NE(e.find("column 2 has an empty name"), std::string::npos) << e;
}
