#pragma once
// The Unicode operations the CLIP tokenizer needs, over UTF-32 strings:
// UTF-8 conversion, the character classes of its pre-tokenizer regex,
// Python's str.lower() and NFC. Data: unicode_tables.cpp (generated from
// CPython's unicodedata, see gen_unicode_tables.py).
#include <string>
#include <string_view>

namespace ldmg::text {

// Strict UTF-8 decoding (no overlongs, surrogates or values > U+10FFFF);
// throws ldmg::Error naming `what` and the byte offset.
std::u32string utf8_to_u32(std::string_view s, std::string_view what = "text");
std::string u32_to_utf8(std::u32string_view s);
void append_utf8(std::string& out, char32_t cp);

bool is_letter(char32_t cp);  // \p{L}
bool is_number(char32_t cp);  // \p{N}
bool is_space(char32_t cp);   // Python str.isspace() (= `\s` of re on str)
unsigned combining_class(char32_t cp);

// Python's str.lower(): full lowercase mappings (e.g. U+0130 -> "i\u0307")
// and the Final_Sigma rule (cased/case-ignorable approximated, see .cpp).
std::u32string to_lower(std::u32string_view s);

// Unicode Normalization Form C (canonical decomposition, canonical ordering,
// canonical composition incl. Hangul), as unicodedata.normalize("NFC", s).
std::u32string nfc(std::u32string_view s);

// Python str.strip() + re.sub(r"\s+", " ", s): transformers'
// tokenization_clip.py whitespace_clean().
std::u32string whitespace_clean(std::u32string_view s);

}  // namespace ldmg::text
