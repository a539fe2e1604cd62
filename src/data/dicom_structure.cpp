#include "data/dicom_structure.h"

#include <cstdint>

#include "core/check.h"

namespace ldmg::data {

namespace {

constexpr std::uint32_t kUndefinedLength = 0xffffffffu;
constexpr std::size_t kToDelimiter = std::string_view::npos;  // "until the delimitation item"
constexpr int kMaxDepth = 32;

// VRs whose explicit encoding has 2 reserved bytes and a 4-byte length (PS3.5 7.1.2).
bool long_vr(std::string_view vr) {
  for (const char* v : {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"})
    if (vr == v) return true;
  return false;
}

class Walker {
 public:
  Walker(std::string_view bytes, const std::string& source, bool big_endian)
      : b_(bytes), source_(source), big_endian_(big_endian) {}

  std::uint32_t u16(std::size_t at) const {
    const auto x0 = static_cast<std::uint8_t>(b_[at]), x1 = static_cast<std::uint8_t>(b_[at + 1]);
    return big_endian_ ? (std::uint32_t{x0} << 8) | x1 : (std::uint32_t{x1} << 8) | x0;
  }
  std::uint32_t u32(std::size_t at) const {
    return big_endian_ ? (u16(at) << 16) | u16(at + 2) : u16(at) | (u16(at + 2) << 16);
  }

  void need(std::size_t at, std::size_t n, std::uint32_t group, std::uint32_t element) const {
    LDMG_CHECK(at <= b_.size() && n <= b_.size() - at,
               "'{}': DICOM file is truncated: element ({:04x},{:04x}) at byte {} needs {} more bytes, the file ends "
               "at byte {}",
               source_, group, element, at, n, b_.size());
  }

  // Elements from `pos` to `end`, or to an item delimitation item when end is
  // kToDelimiter; returns the position after the last one.
  std::size_t data_set(std::size_t pos, std::size_t end, bool explicit_vr, int depth) const {
    LDMG_CHECK(depth < kMaxDepth, "'{}': DICOM sequences nested deeper than {} (corrupt file?)", source_, kMaxDepth);
    while (end == kToDelimiter || pos < end) {
      LDMG_CHECK(pos + 8 <= b_.size(), "'{}': DICOM file is truncated at byte {} (inside a data element header{})",
                 source_, pos, end == kToDelimiter ? ", or a sequence item missing its end" : "");
      const std::uint32_t group = u16(pos), element = u16(pos + 2);
      if (group == 0xfffe) {
        LDMG_CHECK(element == 0xe00d && end == kToDelimiter,
                   "'{}': unexpected delimiter ({:04x},{:04x}) at byte {} in a DICOM data set", source_, group, element,
                   pos);
        return pos + 8;
      }
      std::uint32_t length = 0;
      std::string_view vr;
      if (explicit_vr) {
        vr = b_.substr(pos + 4, 2);
        if (long_vr(vr)) {
          need(pos, 12, group, element);
          length = u32(pos + 8);
          pos += 12;
        } else {
          length = u16(pos + 6);
          pos += 8;
        }
      } else {
        length = u32(pos + 4);
        pos += 8;
      }
      const bool pixel_data = group == 0x7fe0 && element == 0x0010;
      if (length == kUndefinedLength) {
        // A sequence, encapsulated pixel data, or UN holding an implicit-VR sequence (PS3.5 6.2.2).
        pos = items(pos, kToDelimiter, group, element, explicit_vr && vr != "UN", pixel_data, depth + 1);
      } else {
        need(pos, length, group, element);
        if (explicit_vr && vr == "SQ") items(pos, pos + length, group, element, true, false, depth + 1);
        pos += length;
      }
      LDMG_CHECK(end == kToDelimiter || pos <= end,
                 "'{}': DICOM element ({:04x},{:04x}) runs past the end of its sequence item at byte {}", source_,
                 group, element, end);
    }
    return pos;
  }

  // Items (or pixel data fragments) of element (group,element).
  std::size_t items(std::size_t pos, std::size_t end, std::uint32_t group, std::uint32_t element, bool explicit_vr,
                    bool fragments, int depth) const {
    while (end == kToDelimiter || pos < end) {
      need(pos, 8, group, element);
      const std::uint32_t ig = u16(pos), ie = u16(pos + 2), length = u32(pos + 4);
      LDMG_CHECK(ig == 0xfffe && (ie == 0xe000 || ie == 0xe0dd),
                 "'{}': DICOM element ({:04x},{:04x}): expected an item at byte {}, found ({:04x},{:04x})", source_,
                 group, element, pos, ig, ie);
      pos += 8;
      if (ie == 0xe0dd) return pos;  // sequence delimitation item
      if (length == kUndefinedLength) {
        LDMG_CHECK(!fragments, "'{}': pixel data fragment of undefined length at byte {}", source_, pos - 8);
        pos = data_set(pos, kToDelimiter, explicit_vr, depth);
      } else {
        need(pos, length, group, element);
        if (!fragments) data_set(pos, pos + length, explicit_vr, depth);
        pos += length;
      }
    }
    return pos;
  }

 private:
  std::string_view b_;
  const std::string& source_;
  bool big_endian_;
};

}  // namespace

void check_dicom_structure(std::string_view b, const std::string& source) {
  const bool preamble = b.size() >= 132 && b.substr(128, 4) == "DICM";
  std::size_t pos = 0;
  bool explicit_vr = true, big_endian = false;
  if (preamble) {
    // File meta information: explicit VR little endian, group 0002 (PS3.10 7.1).
    const Walker meta(b, source, false);
    pos = 132;
    std::string ts;
    while (pos + 8 <= b.size() && meta.u16(pos) == 0x0002) {
      const std::uint32_t element = meta.u16(pos + 2);
      const std::string_view vr = b.substr(pos + 4, 2);
      std::size_t header = 8, length = meta.u16(pos + 6);
      if (long_vr(vr)) {
        meta.need(pos, 12, 0x0002, element);
        header = 12;
        length = meta.u32(pos + 8);
      }
      LDMG_CHECK(length != kUndefinedLength, "'{}': DICOM file meta element (0002,{:04x}) has an undefined length",
                 source, element);
      meta.need(pos + header, length, 0x0002, element);
      if (element == 0x0010) ts.assign(b.substr(pos + header, length));
      pos += header + length;
    }
    while (!ts.empty() && (ts.back() == '\0' || ts.back() == ' ')) ts.pop_back();
    LDMG_CHECK(!ts.empty(),
               "'{}': DICOM file meta information has no Transfer Syntax UID (0002,0010) (truncated or corrupt header)",
               source);
    LDMG_CHECK(pos < b.size(), "'{}': DICOM file ends after its file meta information (no data set)", source);
    if (ts == "1.2.840.10008.1.2.1.99") return;  // deflated: GDCM inflates it
    explicit_vr = ts != "1.2.840.10008.1.2";
    big_endian = ts == "1.2.840.10008.1.2.2";
  } else {
    LDMG_CHECK(b.size() >= 8, "'{}': {} bytes is too short for a DICOM file", source, b.size());
    explicit_vr = b[4] >= 'A' && b[4] <= 'Z' && b[5] >= 'A' && b[5] <= 'Z';
  }
  Walker(b, source, big_endian).data_set(pos, b.size(), explicit_vr, 0);
}

}  // namespace ldmg::data
