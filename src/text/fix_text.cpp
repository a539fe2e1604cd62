#include "text/fix_text.h"

#include <algorithm>
#include <cstring>

#include "text/unicode.h"
#include "text/unicode_tables.h"

namespace ldmg::text {

namespace {

bool is_ascii_alnum(char32_t c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_hex(char32_t c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

const char* find_entity(const std::string& name) {
  const auto* b = tables::kHtmlEntities;
  const auto* e = b + tables::kHtmlEntities_size;
  const auto* it = std::lower_bound(b, e, name, [](const tables::HtmlEntity& x, const std::string& k) {
    return std::strcmp(x.name, k.c_str()) < 0;
  });
  return (it != e && name == it->name) ? it->text : nullptr;
}

// Python html._replace_charref for "&#<digits>;" / "&#x<hex>;" (CPython
// Lib/html/__init__.py): _invalid_charrefs, surrogates, _invalid_codepoints.
std::u32string numeric_charref(std::u32string_view body) {
  bool hex = body[0] == 'x' || body[0] == 'X';
  std::u32string_view digits = hex ? body.substr(1) : body;
  unsigned long long num = 0;
  for (char32_t c : digits) {
    unsigned v = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
    num = num * (hex ? 16 : 10) + v;
    if (num > 0x10FFFF) num = 0x110000;  // saturate: any larger value is treated alike
  }
  if (num == 0) return U"\uFFFD";
  if (num == 0x0D) return U"\r";
  if (num >= 0x80 && num <= 0x9F) return std::u32string(1, tables::kCp1252C1[num - 0x80]);
  if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) return U"\uFFFD";
  bool invalid = (num >= 0x1 && num <= 0x8) || (num >= 0xE && num <= 0x1F) || (num >= 0x7F && num <= 0x9F) ||
                 (num >= 0xFDD0 && num <= 0xFDEF) || num == 0xB || (num & 0xFFFE) == 0xFFFE;
  if (invalid) return U"";
  return std::u32string(1, static_cast<char32_t>(num));
}

std::u32string translate(std::u32string_view s, const tables::CodeMapping* map, std::size_t n) {
  std::u32string out;
  out.reserve(s.size());
  for (char32_t c : s) {
    const auto* e = std::lower_bound(map, map + n, c, [](const tables::CodeMapping& x, char32_t k) { return x.cp < k; });
    if (e == map + n || e->cp != c) {
      out.push_back(c);
      continue;
    }
    for (char32_t t : e->to) {
      if (!t) break;
      out.push_back(t);
    }
  }
  return out;
}

// ftfy chardata.LIGATURES (Latin ligatures and digraphs only).
const tables::CodeMapping kLigatures[] = {
    {0x132, {'I', 'J', 0}},     {0x133, {'i', 'j', 0}},     {0x149, {0x2BC, 'n', 0}},  {0x1C4, {'D', 0x17D, 0}},
    {0x1C5, {'D', 0x17E, 0}},   {0x1C6, {'d', 0x17E, 0}},   {0x1C7, {'L', 'J', 0}},    {0x1C8, {'L', 'j', 0}},
    {0x1C9, {'l', 'j', 0}},     {0x1CA, {'N', 'J', 0}},     {0x1CB, {'N', 'j', 0}},    {0x1CC, {'n', 'j', 0}},
    {0x1F1, {'D', 'Z', 0}},     {0x1F2, {'D', 'z', 0}},     {0x1F3, {'d', 'z', 0}},    {0xFB00, {'f', 'f', 0}},
    {0xFB01, {'f', 'i', 0}},    {0xFB02, {'f', 'l', 0}},    {0xFB03, {'f', 'f', 'i'}}, {0xFB04, {'f', 'f', 'l'}},
    {0xFB05, {0x17F, 't', 0}},  {0xFB06, {'s', 't', 0}},
};

// ftfy.fixes.remove_terminal_escapes: "\033\[((?:\d|;)*)([a-zA-Z])".
std::u32string remove_terminal_escapes(std::u32string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == 0x1B && i + 1 < s.size() && s[i + 1] == '[') {
      std::size_t j = i + 2;
      while (j < s.size() && ((s[j] >= '0' && s[j] <= '9') || s[j] == ';')) ++j;
      if (j < s.size() && ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z'))) {
        i = j;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// ftfy chardata.CONTROL_CHARS.
bool is_removed_control(char32_t c) {
  return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || (c >= 0x206A && c <= 0x206F) ||
         c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

// ftfy.fix_and_explain's loop for one segment, without fix_encoding.
std::u32string fix_segment(std::u32string text, bool unescape) {
  while (true) {
    std::u32string orig = text;
    if (unescape) text = unescape_html(text);
    for (auto& c : text)  // fix_c1_controls
      if (c >= 0x80 && c <= 0x9F) c = tables::kCp1252C1[c - 0x80];
    text = translate(text, kLigatures, std::size(kLigatures));
    text = translate(text, tables::kWidthMap, tables::kWidthMap_size);
    for (auto& c : text) {  // uncurl_quotes
      if (c == 0x2BC || (c >= 0x2018 && c <= 0x201B)) c = '\'';
      else if (c >= 0x201C && c <= 0x201F) c = '"';
    }
    std::u32string lb;  // fix_line_breaks
    lb.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
      char32_t c = text[i];
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
      lb.push_back((c == '\r' || c == 0x2028 || c == 0x2029 || c == 0x85) ? U'\n' : c);
    }
    text = remove_terminal_escapes(lb);
    std::erase_if(text, is_removed_control);
    text = nfc(text);
    if (text == orig) return text;
  }
}

}  // namespace

// ftfy.fixes.unescape_html: re.sub(r"&#?[0-9A-Za-z]{1,24};", _unescape_fixup).
std::u32string unescape_html(std::u32string_view s) {
  std::u32string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] != '&') {
      out.push_back(s[i++]);
      continue;
    }
    std::size_t j = i + 1;
    bool numeric = j < s.size() && s[j] == '#';
    if (numeric) ++j;
    std::size_t k = j;
    while (k < s.size() && is_ascii_alnum(s[k])) ++k;
    std::size_t run = k - j;
    if (run < 1 || run > 24 || k >= s.size() || s[k] != ';') {
      out.push_back(s[i++]);
      continue;
    }
    std::u32string_view match = s.substr(i, k + 1 - i);
    std::u32string_view body = s.substr(j, run);
    std::u32string replacement(match);
    if (const char* e = find_entity(u32_to_utf8(match))) {
      replacement = utf8_to_u32(e, "HTML entity table");
    } else if (numeric) {
      bool hex = body[0] == 'x' || body[0] == 'X';
      std::u32string_view digits = hex ? body.substr(1) : body;
      bool whole = !digits.empty() && std::all_of(digits.begin(), digits.end(), [&](char32_t c) {
        return hex ? is_hex(c) : (c >= '0' && c <= '9');
      });
      // html.unescape decodes only a prefix otherwise, leaving ';' behind:
      // ftfy then keeps the match as it was. The same when the result is ';'.
      if (whole) {
        std::u32string decoded = numeric_charref(body);
        if (decoded.find(U';') == std::u32string::npos) replacement = decoded;
      }
    }
    out += replacement;
    i = k + 1;
  }
  return out;
}

// ftfy.fix_text: segments end after each "\n"; unescape_html="auto" is
// switched off for good once a segment contains '<'.
std::u32string fix_text(std::u32string_view text) {
  std::u32string out;
  bool unescape = true;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find(U'\n', pos);
    std::size_t end = nl == std::u32string_view::npos ? text.size() : nl + 1;
    std::u32string_view segment = text.substr(pos, end - pos);
    if (segment.find(U'<') != std::u32string_view::npos) unescape = false;
    out += fix_segment(std::u32string(segment), unescape);
    pos = end;
  }
  return out;
}

std::string fix_text(std::string_view utf8) { return u32_to_utf8(fix_text(utf8_to_u32(utf8))); }

}  // namespace ldmg::text
