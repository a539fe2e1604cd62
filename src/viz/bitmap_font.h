#pragma once
// Our own 5x7 bitmap font (plus a descender row) for printable ASCII
// (32..126), drawn for this project; every other character renders as '?'.
// A glyph cell is 6x10 pixels (one column of letter spacing, two rows of
// line spacing) before scaling.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ldmg::viz {

inline constexpr int kGlyphWidth = 5;
inline constexpr int kGlyphHeight = 8;  // 7 rows to the baseline + 1 descender row
inline constexpr int kCapHeight = 7;    // rows from the top to the baseline
inline constexpr int kCellWidth = 6;
inline constexpr int kCellHeight = 10;

// Row bits of a glyph, top row first; bit 4 is the leftmost column.
struct Glyph {
  std::uint8_t rows[kGlyphHeight];
  bool pixel(int x, int y) const { return (rows[y] >> (kGlyphWidth - 1 - x)) & 1u; }
};

// The glyph for a byte ('?' for anything outside 32..126).
const Glyph& glyph(unsigned char c);

// The text as the font draws it: printable ASCII kept, '\n' kept, one '?'
// per other byte / UTF-8 code point.
std::string to_font_text(std::string_view text);

// Pixel width of one line of text at `scale` (no trailing spacing column).
int text_width(std::string_view text, int scale);
// Line height in pixels at `scale`.
inline int line_height(int scale) { return kCellHeight * scale; }

// Greedy word wrap to at most `max_chars` characters per line; words longer
// than a line are split. Existing newlines are kept.
std::vector<std::string> wrap_text(std::string_view text, int max_chars);

}  // namespace ldmg::viz
