#include "text/unicode.h"

#include <algorithm>
#include <iterator>

#include "core/check.h"
#include "text/unicode_tables.h"

namespace ldmg::text {

namespace {

bool in_ranges(const tables::CodeRange* r, std::size_t n, char32_t cp) {
  const auto* end = r + n;
  const auto* it = std::upper_bound(r, end, cp, [](char32_t c, const tables::CodeRange& x) { return c < x.lo; });
  return it != r && cp <= std::prev(it)->hi;
}

const tables::CodeMapping* find_mapping(const tables::CodeMapping* m, std::size_t n, char32_t cp) {
  const auto* end = m + n;
  const auto* it = std::lower_bound(m, end, cp, [](const tables::CodeMapping& x, char32_t c) { return x.cp < c; });
  return (it != end && it->cp == cp) ? it : nullptr;
}

const tables::Decomposition* find_decomposition(char32_t cp) {
  const auto* b = tables::kDecompositions;
  const auto* e = b + tables::kDecompositions_size;
  const auto* it = std::lower_bound(b, e, cp, [](const tables::Decomposition& x, char32_t c) { return x.cp < c; });
  return (it != e && it->cp == cp) ? it : nullptr;
}

// Hangul syllables are (de)composed algorithmically (Unicode ch. 3.12).
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount,
                   kSCount = kLCount * kNCount;

void decompose_into(char32_t cp, std::u32string& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    char32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount) out.push_back(kTBase + s % kTCount);
    return;
  }
  const auto* d = find_decomposition(cp);
  if (!d) {
    out.push_back(cp);
    return;
  }
  decompose_into(d->first, out);
  if (d->second) decompose_into(d->second, out);
}

char32_t compose_pair(char32_t a, char32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount)
    return a + (b - kTBase);
  const auto* beg = tables::kCompositions;
  const auto* end = beg + tables::kCompositions_size;
  const auto* it = std::lower_bound(beg, end, std::pair{a, b}, [](const tables::Composition& x, const std::pair<char32_t, char32_t>& k) {
    return x.first != k.first ? x.first < k.first : x.second < k.second;
  });
  return (it != end && it->first == a && it->second == b) ? it->composite : 0;
}

// Approximations of CPython's _PyUnicode_IsCased / _PyUnicode_IsCaseIgnorable
// for the Final_Sigma rule: letters that are not case-ignorable; Mn Me Cf Lm
// Sk plus the Word_Break MidLetter/MidNumLet/Single_Quote punctuation.
bool is_case_ignorable(char32_t cp) {
  switch (cp) {
    case 0x27: case 0x2E: case 0x3A: case 0xB7: case 0x387: case 0x5F4: case 0x2018:
    case 0x2019: case 0x2024: case 0x2027: case 0xFE13: case 0xFE52: case 0xFE55:
    case 0xFF07: case 0xFF0E: case 0xFF1A:
      return true;
    default:
      return in_ranges(tables::kCaseIgnorableRanges, tables::kCaseIgnorableRanges_size, cp);
  }
}
bool is_cased(char32_t cp) { return is_letter(cp) && !is_case_ignorable(cp); }

}  // namespace

std::u32string utf8_to_u32(std::string_view s, std::string_view what) {
  std::u32string out;
  out.reserve(s.size());
  std::size_t i = 0;
  auto bad = [&](std::size_t at) {
    LDMG_FAIL("{}: invalid UTF-8 at byte {} (0x{:02X}); expected UTF-8 text", what, at,
              static_cast<unsigned>(static_cast<unsigned char>(s[at])));
  };
  while (i < s.size()) {
    auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
      out.push_back(b0);
      ++i;
      continue;
    }
    int len = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC0 ? 2 : 0;
    if (len == 0 || b0 > 0xF4 || i + len > s.size()) bad(i);
    char32_t cp = b0 & (0x7F >> len);
    for (int k = 1; k < len; ++k) {
      auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) bad(i);
      cp = (cp << 6) | (b & 0x3F);
    }
    static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) bad(i);
    out.push_back(cp);
    i += len;
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string u32_to_utf8(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t cp : s) append_utf8(out, cp);
  return out;
}

bool is_letter(char32_t cp) { return in_ranges(tables::kLetterRanges, tables::kLetterRanges_size, cp); }
bool is_number(char32_t cp) { return in_ranges(tables::kNumberRanges, tables::kNumberRanges_size, cp); }
bool is_space(char32_t cp) { return in_ranges(tables::kSpaceRanges, tables::kSpaceRanges_size, cp); }

unsigned combining_class(char32_t cp) {
  const auto* b = tables::kCombiningClasses;
  const auto* e = b + tables::kCombiningClasses_size;
  const auto* it = std::upper_bound(b, e, cp, [](char32_t c, const tables::CccRange& x) { return c < x.lo; });
  if (it == b) return 0;
  --it;
  return cp <= it->hi ? it->ccc : 0;
}

// CPython unicodeobject.c do_lower() + handle_capital_sigma().
std::u32string to_lower(std::u32string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char32_t c = s[i];
    if (c == 0x3A3) {
      std::size_t j = i;
      while (j > 0 && is_case_ignorable(s[j - 1])) --j;
      bool final_sigma = j > 0 && is_cased(s[j - 1]);
      if (final_sigma) {
        std::size_t k = i + 1;
        while (k < s.size() && is_case_ignorable(s[k])) ++k;
        final_sigma = k == s.size() || !is_cased(s[k]);
      }
      out.push_back(final_sigma ? 0x3C2 : 0x3C3);
      continue;
    }
    const auto* m = find_mapping(tables::kLowerMap, tables::kLowerMap_size, c);
    if (!m) {
      out.push_back(c);
      continue;
    }
    for (char32_t t : m->to) {
      if (!t) break;
      out.push_back(t);
    }
  }
  return out;
}

// UAX #15: D = full canonical decomposition, stable sort of non-starter runs
// by combining class, then canonical composition (blocked unless the last
// character between starter and c has a lower, non-zero class).
std::u32string nfc(std::u32string_view s) {
  bool ascii = std::all_of(s.begin(), s.end(), [](char32_t c) { return c < 0x80; });
  if (ascii) return std::u32string(s);
  std::u32string d;
  d.reserve(s.size() + 8);
  for (char32_t c : s) decompose_into(c, d);
  for (std::size_t i = 0; i < d.size();) {
    if (combining_class(d[i]) == 0) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < d.size() && combining_class(d[j]) != 0) ++j;
    std::stable_sort(d.begin() + static_cast<std::ptrdiff_t>(i), d.begin() + static_cast<std::ptrdiff_t>(j),
                     [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
    i = j;
  }
  std::u32string out;
  out.reserve(d.size());
  std::ptrdiff_t starter = -1;  // index in `out` of the last starter
  unsigned last_ccc = 0;
  for (char32_t c : d) {
    unsigned ccc = combining_class(c);
    if (starter >= 0) {
      bool adjacent = static_cast<std::size_t>(starter) + 1 == out.size();
      bool blocked = !adjacent && (last_ccc == 0 || last_ccc >= ccc);
      if (!blocked) {
        if (char32_t comp = compose_pair(out[static_cast<std::size_t>(starter)], c)) {
          out[static_cast<std::size_t>(starter)] = comp;
          continue;
        }
      }
    }
    if (ccc == 0) starter = static_cast<std::ptrdiff_t>(out.size());
    last_ccc = ccc;
    out.push_back(c);
  }
  return out;
}

std::u32string whitespace_clean(std::u32string_view s) {
  std::u32string out;
  out.reserve(s.size());
  bool pending_space = false;
  for (char32_t c : s) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(U' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

}  // namespace ldmg::text
