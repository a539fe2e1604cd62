// Unicode helpers and the ftfy subset against CPython / ftfy 6.1.1 outputs
// (python_string_cases.inc, written by gen_reference_cases.py).
#include <gtest/gtest.h>

#include "core/check.h"
#include "text/fix_text.h"
#include "text/unicode.h"

namespace ldmg::text {
namespace {

using namespace std::literals;
struct StringCase {
  std::string_view input;
  std::string_view expected;
};
#include "python_string_cases.inc"

std::string nfc8(std::string_view s) { return u32_to_utf8(nfc(utf8_to_u32(s))); }
std::string lower8(std::string_view s) { return u32_to_utf8(to_lower(utf8_to_u32(s))); }

TEST(FixText, MatchesFtfy611) {
  for (const auto& c : kFtfyCases) EXPECT_EQ(fix_text(c.input), c.expected) << "input: " << c.input;
}

TEST(FixText, HandPickedReportCases) {
  EXPECT_EQ(fix_text(std::string("&amp;")), "&");
  EXPECT_EQ(fix_text(std::string("\u201cleft\u201d lung\u2019s")), "\"left\" lung's");
  EXPECT_EQ(fix_text(std::string("e\u0301")), "\u00e9");
}

TEST(Unicode, NfcMatchesCPython) {
  for (const auto& c : kNfcCases) EXPECT_EQ(nfc8(c.input), c.expected) << "input: " << c.input;
}

TEST(Unicode, LowerMatchesCPython) {
  for (const auto& c : kLowerCases) EXPECT_EQ(lower8(c.input), c.expected) << "input: " << c.input;
}

TEST(Unicode, Classes) {
  for (char32_t c : {U'a', U'Z', U'\u00e9', U'\u00df', U'\u0142', U'\u01c5', U'\u4e2d'}) EXPECT_TRUE(is_letter(c)) << int(c);
  for (char32_t c : {U'1', U'.', U' ', U'\u0301', U'\u00b0', U'!'}) EXPECT_FALSE(is_letter(c)) << int(c);
  for (char32_t c : {U'0', U'9', U'\u00b2', U'\u00bd', U'\u0663'}) EXPECT_TRUE(is_number(c)) << int(c);
  for (char32_t c : {U' ', U'\t', U'\n', U'\u00a0', U'\u3000', U'\u2028', U'\x1c'}) EXPECT_TRUE(is_space(c)) << int(c);
  EXPECT_FALSE(is_space(U'\u200b'));  // ZERO WIDTH SPACE is not str.isspace()
  EXPECT_EQ(combining_class(U'\u0301'), 230u);
  EXPECT_EQ(combining_class(U'a'), 0u);
}

TEST(Unicode, WhitespaceClean) {
  EXPECT_EQ(u32_to_utf8(whitespace_clean(U"  a \t\n b\u00a0\u00a0c  ")), "a b c");
  EXPECT_EQ(u32_to_utf8(whitespace_clean(U" \n ")), "");
}

TEST(Unicode, Utf8RoundTripAndErrors) {
  const std::string s = "a\u00e9\u4e2d\U0001F600";
  EXPECT_EQ(utf8_to_u32(s), U"a\u00e9\u4e2d\U0001F600");
  EXPECT_EQ(u32_to_utf8(utf8_to_u32(s)), s);
  EXPECT_THROW(utf8_to_u32("a\xff"), ldmg::Error);
  EXPECT_THROW(utf8_to_u32("\xc0\xaf"), ldmg::Error);      // overlong '/'
  EXPECT_THROW(utf8_to_u32("\xed\xa0\x80"), ldmg::Error);  // surrogate
  EXPECT_THROW(utf8_to_u32("\xe4\xb8"), ldmg::Error);      // truncated
  try {
    utf8_to_u32("ok\xff", "prompt 3");
  } catch (const ldmg::Error& e) {
    EXPECT_NE(std::string(e.what()).find("prompt 3"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("byte 2"), std::string::npos);
  }
}

}  // namespace
}  // namespace ldmg::text
