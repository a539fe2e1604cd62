#include "io/npy.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cctype>
#include <cstdint>
#include <optional>

#include "core/check.h"
#include "io/file_bytes.h"

namespace ldmg::io {

namespace {

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr std::size_t kAlign = 64;  // numpy >= 1.14 aligns the data to 64 bytes

struct DescrEntry {
  DType dtype;
  std::string_view descr;
};
// What numpy writes on a little-endian machine ('|' for one-byte types).
constexpr DescrEntry kDescrs[] = {{DType::F32, "<f4"}, {DType::F64, "<f8"}, {DType::F16, "<f2"}, {DType::I64, "<i8"},
                                  {DType::I32, "<i4"}, {DType::U8, "|u1"},  {DType::Bool, "|b1"}};

std::optional<DType> dtype_from_descr(std::string_view d) {
  for (const auto& e : kDescrs)
    if (e.descr == d) return e.dtype;
  // One-byte types are byte-order free; accept '<u1' / '=u1' spellings too.
  if (d == "<u1" || d == "=u1") return DType::U8;
  if (d == "<b1" || d == "=b1") return DType::Bool;
  return std::nullopt;
}

// A tiny reader of the Python dict literal numpy writes as the header.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& source) : s_(text), source_(source) {}

  void skip_ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool consume(char c) {
    skip_ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void expect(char c, const char* what) {
    LDMG_CHECK(consume(c), "{}: malformed .npy header: expected '{}' {} at offset {} in \"{}\"", source_, c, what, i_,
               s_);
  }
  bool at(char c) {
    skip_ws();
    return i_ < s_.size() && s_[i_] == c;
  }
  std::string string_literal() {
    skip_ws();
    LDMG_CHECK(i_ < s_.size() && (s_[i_] == '\'' || s_[i_] == '"'),
               "{}: malformed .npy header: expected a quoted string at offset {} in \"{}\"", source_, i_, s_);
    const char q = s_[i_++];
    const std::size_t end = s_.find(q, i_);
    LDMG_CHECK(end != std::string_view::npos, "{}: malformed .npy header: unterminated string", source_);
    std::string out(s_.substr(i_, end - i_));
    i_ = end + 1;
    return out;
  }
  bool boolean() {
    skip_ws();
    if (s_.substr(i_, 4) == "True") {
      i_ += 4;
      return true;
    }
    if (s_.substr(i_, 5) == "False") {
      i_ += 5;
      return false;
    }
    LDMG_FAIL("{}: malformed .npy header: expected True or False at offset {} in \"{}\"", source_, i_, s_);
  }
  std::vector<std::int64_t> shape_tuple() {
    expect('(', "opening the shape");
    std::vector<std::int64_t> shape;
    while (!consume(')')) {
      skip_ws();
      const std::size_t start = i_;
      std::int64_t v = 0;
      while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) {
        LDMG_CHECK(v <= (INT64_MAX - 9) / 10, "{}: .npy shape dimension overflows", source_);
        v = v * 10 + (s_[i_++] - '0');
      }
      LDMG_CHECK(i_ > start,
                 "{}: malformed .npy header: expected a non-negative integer in the shape at offset {} in \"{}\"",
                 source_, start, s_);
      if (i_ < s_.size() && s_[i_] == 'L') ++i_;  // Python 2 longs
      shape.push_back(v);
      if (!consume(',')) {
        expect(')', "closing the shape");
        break;
      }
    }
    return shape;
  }
  bool done() {
    skip_ws();
    return i_ == s_.size();
  }

 private:
  std::string_view s_;
  const std::string& source_;
  std::size_t i_ = 0;
};

}  // namespace

void check_npy_count(const std::string& path, std::size_t count, const std::vector<std::int64_t>& shape) {
  LDMG_CHECK(static_cast<std::int64_t>(count) == numel_of(shape), "{}: {} values do not fill shape ({}) of {} elements",
             path, count, fmt::join(shape, ", "), numel_of(shape));
}

void check_npy_dtype(DType have, DType want) {
  LDMG_CHECK(have == want, "array has dtype {} but {} was requested", dtype_name(have), dtype_name(want));
}

std::string npy_descr(DType dtype) {
  for (const auto& e : kDescrs)
    if (e.dtype == dtype) return std::string(e.descr);
  LDMG_FAIL("dtype {} cannot be stored in a .npy file", dtype_name(dtype));
}

std::string npy_header(DType dtype, const std::vector<std::int64_t>& shape) {
  numel_of(shape);  // validates the dims
  std::string shape_text;
  if (shape.size() == 1) {
    shape_text = fmt::format("({},)", shape[0]);  // a Python 1-tuple
  } else {
    shape_text = fmt::format("({})", fmt::join(shape, ", "));
  }
  std::string dict =
      fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", npy_descr(dtype), shape_text);
  // magic(6) + version(2) + length(2) + dict + padding + '\n' = multiple of 64.
  const std::size_t unpadded = kMagic.size() + 4 + dict.size() + 1;
  dict.append((kAlign - unpadded % kAlign) % kAlign, ' ');
  dict.push_back('\n');
  LDMG_CHECK(dict.size() <= 0xffff, ".npy header of {} bytes does not fit a v1.0 file (shape has {} dims)", dict.size(),
             shape.size());
  std::string out(kMagic);
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(dict.size() & 0xff));
  out.push_back(static_cast<char>(dict.size() >> 8));
  out += dict;
  return out;
}

std::string serialize_npy(DType dtype, const std::vector<std::int64_t>& shape, const void* data) {
  std::string out = npy_header(dtype, shape);
  const std::size_t n = static_cast<std::size_t>(numel_of(shape)) * dtype_size(dtype);
  LDMG_ASSERT(n == 0 || data != nullptr, "null data for a non-empty .npy array");
  out.append(static_cast<const char*>(data), n);
  return out;
}

void write_npy(const std::string& path, DType dtype, const std::vector<std::int64_t>& shape, const void* data) {
  write_file_atomic(path, serialize_npy(dtype, shape, data));
}

NpyArray parse_npy(std::string bytes, const std::string& source) {
  LDMG_CHECK(bytes.size() >= 10 && std::string_view(bytes).substr(0, 6) == kMagic,
             "{}: not a .npy file (missing the \\x93NUMPY magic)", source);
  const int major = static_cast<unsigned char>(bytes[6]);
  const int minor = static_cast<unsigned char>(bytes[7]);
  LDMG_CHECK(major >= 1 && major <= 3 && minor == 0,
             "{}: unsupported .npy format version {}.{} (expected 1.0, 2.0 or 3.0)", source, major, minor);
  std::size_t header_len = 0;
  std::size_t prefix = 0;
  if (major == 1) {
    header_len =
        static_cast<unsigned char>(bytes[8]) | (static_cast<std::size_t>(static_cast<unsigned char>(bytes[9])) << 8);
    prefix = 10;
  } else {
    LDMG_CHECK(bytes.size() >= 12, "{}: truncated .npy header", source);
    for (int k = 0; k < 4; ++k)
      header_len |= static_cast<std::size_t>(static_cast<unsigned char>(bytes[8 + k])) << (8 * k);
    prefix = 12;
  }
  LDMG_CHECK(header_len <= bytes.size() - prefix, "{}: .npy header length {} runs past the end of the {}-byte file",
             source, header_len, bytes.size());
  const std::string_view header(bytes.data() + prefix, header_len);
  LDMG_CHECK(!header.empty() && header.back() == '\n', "{}: .npy header does not end with a newline", source);

  HeaderParser p(header, source);
  std::optional<std::string> descr;
  std::optional<bool> fortran;
  std::optional<std::vector<std::int64_t>> shape;
  p.expect('{', "opening the header dict");
  while (!p.consume('}')) {
    const std::string key = p.string_literal();
    p.expect(':', "after a key");
    if (key == "descr") {
      descr = p.string_literal();
    } else if (key == "fortran_order") {
      fortran = p.boolean();
    } else if (key == "shape") {
      shape = p.shape_tuple();
    } else {
      LDMG_FAIL("{}: unexpected key '{}' in the .npy header", source, key);
    }
    if (!p.consume(',')) {
      p.expect('}', "closing the header dict");
      break;
    }
  }
  LDMG_CHECK(p.done(), "{}: trailing characters after the .npy header dict", source);
  LDMG_CHECK(descr && fortran && shape, "{}: .npy header lacks one of 'descr', 'fortran_order', 'shape'", source);
  const auto dtype = dtype_from_descr(*descr);
  LDMG_CHECK(dtype.has_value(), "{}: unsupported .npy dtype '{}' (expected one of <f4, <f8, <f2, <i8, <i4, |u1, |b1)",
             source, *descr);
  LDMG_CHECK(!*fortran, "{}: Fortran-order .npy arrays are not supported (save with np.ascontiguousarray)", source);

  NpyArray out;
  out.dtype = *dtype;
  out.shape = std::move(*shape);
  const std::int64_t numel = numel_of(out.shape);
  const std::size_t want = static_cast<std::size_t>(numel) * dtype_size(out.dtype);
  const std::size_t have = bytes.size() - prefix - header_len;
  LDMG_CHECK(have == want, "{}: .npy data has {} bytes but shape ({}) of {} needs {}", source, have,
             fmt::join(out.shape, ", "), *descr, want);
  bytes.erase(0, prefix + header_len);
  out.bytes = std::move(bytes);
  return out;
}

NpyArray read_npy(const std::string& path) { return parse_npy(read_file_bytes(path), path); }

}  // namespace ldmg::io
