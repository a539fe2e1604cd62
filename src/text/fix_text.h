#pragma once
// The part of ftfy 6.1.1's fix_text() (default TextFixerConfig) that
// transformers' CLIPTokenizer applies to every prompt (QUIRKS.md §2).
//
// Implemented, in ftfy's order and repeated until nothing changes, per
// "\n"-terminated segment: unescape_html ("auto": off from the first segment
// containing '<' on, as ftfy does), fix_c1_controls (sloppy cp1252),
// fix_latin_ligatures, fix_character_width (fullwidth/halfwidth forms, U+3000),
// uncurl_quotes, fix_line_breaks, remove_terminal_escapes, remove_control_chars,
// NFC normalisation.
// NOT implemented: fix_encoding (mojibake detection and re-decoding, e.g.
// "Ã©" -> "é"; it needs ftfy's badness heuristics) and max_decode_length
// splitting of segments over 1e6 characters. fix_surrogates is a no-op here
// (valid UTF-8 has no surrogates).
#include <string>
#include <string_view>

namespace ldmg::text {

std::u32string fix_text(std::u32string_view text);
std::string fix_text(std::string_view utf8);

// ftfy.fixes.unescape_html: HTML5 entities ending in ';' (plus ftfy's
// all-caps variants such as "&EACUTE;") and numeric references "&#NN;",
// "&#xNN;" as html.unescape decodes them.
std::u32string unescape_html(std::u32string_view text);

}  // namespace ldmg::text
