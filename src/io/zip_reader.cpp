#include "io/zip_reader.h"

#include <unordered_set>

#include "core/check.h"
#include "io/zip_crc32.h"

namespace ldmg::io {

namespace {
constexpr std::uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEocdSig = 0x06054b50;
constexpr std::uint32_t kZip64EocdSig = 0x06064b50, kZip64LocatorSig = 0x07064b50;
constexpr std::size_t kEocdSize = 22, kZip64EocdSize = 56, kZip64LocatorSize = 20;
constexpr std::size_t kCentralSize = 46, kLocalSize = 30;

// Little-endian field reads; callers have checked the range.
std::uint64_t le(std::string_view b, std::size_t at, int n) {
  std::uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}
std::uint16_t le16(std::string_view b, std::size_t at) { return static_cast<std::uint16_t>(le(b, at, 2)); }
std::uint32_t le32(std::string_view b, std::size_t at) { return static_cast<std::uint32_t>(le(b, at, 4)); }
std::uint64_t le64(std::string_view b, std::size_t at) { return le(b, at, 8); }

// True if [offset, offset + size) lies inside a buffer of `total` bytes.
bool inside(std::uint64_t offset, std::uint64_t size, std::uint64_t total) {
  return offset <= total && size <= total - offset;
}

const char* method_name(std::uint16_t m) {
  switch (m) {
    case 0: return "stored";
    case 8: return "deflate";
    case 9: return "deflate64";
    case 12: return "bzip2";
    case 14: return "lzma";
    case 93: return "zstd";
    case 95: return "xz";
    default: return "unknown";
  }
}

struct Directory {
  std::uint64_t entries = 0, size = 0, offset = 0, end = 0;  // end: where the directory must stop
};

Directory find_directory(std::string_view b, const std::string& source) {
  const std::size_t n = b.size();
  std::size_t eocd = std::string_view::npos;
  if (n >= kEocdSize) {
    const std::size_t lowest = n - kEocdSize > 0xffff ? n - kEocdSize - 0xffff : 0;
    for (std::size_t p = n - kEocdSize + 1; p-- > lowest;) {
      if (le32(b, p) == kEocdSig && p + kEocdSize + le16(b, p + 20) == n) {
        eocd = p;
        break;
      }
    }
  }
  if (eocd == std::string_view::npos) {
    if (n >= 4 && le32(b, 0) == kLocalSig)
      LDMG_FAIL("'{}': zip archive has no end-of-central-directory record: the file is truncated ({} bytes)", source, n);
    LDMG_FAIL("'{}' is not a zip archive (torch.save file): no end-of-central-directory record in its {} bytes", source,
              n);
  }
  LDMG_CHECK(le16(b, eocd + 4) == 0 && le16(b, eocd + 6) == 0,
             "'{}': multi-disk (split) zip archives are not supported", source);
  Directory d;
  d.entries = le16(b, eocd + 10);
  d.size = le32(b, eocd + 12);
  d.offset = le32(b, eocd + 16);
  d.end = eocd;
  // ZIP64: a locator right before the EOCD points at the ZIP64 EOCD record.
  if (eocd >= kZip64LocatorSize && le32(b, eocd - kZip64LocatorSize) == kZip64LocatorSig) {
    const std::size_t loc = eocd - kZip64LocatorSize;
    const std::uint64_t z = le64(b, loc + 8);
    LDMG_CHECK(z <= loc && loc - z >= kZip64EocdSize && le32(b, z) == kZip64EocdSig,
               "'{}': ZIP64 locator points at offset {}, where there is no ZIP64 end-of-central-directory record",
               source, z);
    LDMG_CHECK(le32(b, z + 16) == 0 && le32(b, z + 20) == 0, "'{}': multi-disk ZIP64 archives are not supported",
               source);
    d.entries = le64(b, z + 32);
    d.size = le64(b, z + 40);
    d.offset = le64(b, z + 48);
    d.end = z;
  } else {
    LDMG_CHECK(d.entries != 0xffff && d.size != 0xffffffff && d.offset != 0xffffffff,
               "'{}': zip end-of-central-directory record asks for ZIP64 but there is no ZIP64 locator", source);
  }
  LDMG_CHECK(inside(d.offset, d.size, d.end),
             "'{}': zip central directory (offset {}, {} bytes) lies outside the file before its end record at {}: "
             "truncated or corrupt",
             source, d.offset, d.size, d.end);
  LDMG_CHECK(d.entries <= d.size / kCentralSize, "'{}': zip central directory of {} bytes cannot hold {} entries",
             source, d.size, d.entries);
  return d;
}

// Replaces 0xffffffff sizes/offset with the values of the ZIP64 extra field (id 0x0001).
void apply_zip64_extra(std::string_view extra, ZipEntry& e, bool size_max, bool csize_max, bool offset_max,
                       const std::string& source) {
  std::size_t p = 0;
  while (p + 4 <= extra.size()) {
    const std::uint16_t id = le16(extra, p), len = le16(extra, p + 2);
    LDMG_CHECK(p + 4 + len <= extra.size(), "'{}': zip entry '{}': extra field runs past its header", source, e.name);
    if (id == 0x0001) {
      std::size_t q = p + 4;
      const std::size_t end = q + len;
      auto take = [&](std::uint64_t& field, const char* what) {
        LDMG_CHECK(q + 8 <= end, "'{}': zip entry '{}': ZIP64 extra field lacks the {}", source, e.name, what);
        field = le64(extra, q);
        q += 8;
      };
      if (size_max) take(e.size, "uncompressed size");
      if (csize_max) take(e.compressed_size, "compressed size");
      if (offset_max) take(e.header_offset, "local header offset");
      return;
    }
    p += 4 + len;
  }
  LDMG_CHECK(!size_max && !csize_max && !offset_max, "'{}': zip entry '{}' needs a ZIP64 extra field but has none",
             source, e.name);
}
}  // namespace

std::vector<ZipEntry> read_zip_directory(std::string_view b, const std::string& source) {
  const Directory d = find_directory(b, source);
  std::vector<ZipEntry> entries;
  entries.reserve(static_cast<std::size_t>(d.entries));
  std::unordered_set<std::string> names;
  std::size_t p = static_cast<std::size_t>(d.offset);
  const std::size_t end = static_cast<std::size_t>(d.offset + d.size);
  for (std::uint64_t i = 0; i < d.entries; ++i) {
    LDMG_CHECK(p + kCentralSize <= end && le32(b, p) == kCentralSig,
               "'{}': zip central directory entry {} of {} at offset {} is missing or corrupt", source, i, d.entries, p);
    const std::uint16_t flags = le16(b, p + 8);
    const std::size_t name_len = le16(b, p + 28), extra_len = le16(b, p + 30), comment_len = le16(b, p + 32);
    LDMG_CHECK(p + kCentralSize + name_len + extra_len + comment_len <= end,
               "'{}': zip central directory entry {} runs past the directory", source, i);
    ZipEntry e;
    e.name.assign(b.substr(p + kCentralSize, name_len));
    e.method = le16(b, p + 10);
    e.crc32 = le32(b, p + 16);
    e.compressed_size = le32(b, p + 20);
    e.size = le32(b, p + 24);
    e.header_offset = le32(b, p + 42);
    LDMG_CHECK(!(flags & 0x1), "'{}': zip entry '{}' is encrypted", source, e.name);
    LDMG_CHECK(le16(b, p + 34) == 0 || le16(b, p + 34) == 0xffff, "'{}': zip entry '{}' lies on another disk", source,
               e.name);
    apply_zip64_extra(b.substr(p + kCentralSize + name_len, extra_len), e, e.size == 0xffffffff,
                      e.compressed_size == 0xffffffff, e.header_offset == 0xffffffff, source);
    LDMG_CHECK(names.insert(e.name).second, "'{}': zip archive holds two entries named '{}'", source, e.name);

    // Local header: its name and extra lengths may differ from the central ones (torch pads here).
    const std::uint64_t h = e.header_offset;
    LDMG_CHECK(inside(h, kLocalSize, d.offset) && le32(b, static_cast<std::size_t>(h)) == kLocalSig,
               "'{}': zip entry '{}': no local file header at offset {} (truncated or corrupt file)", source, e.name, h);
    const std::size_t hp = static_cast<std::size_t>(h);
    const std::size_t local_name = le16(b, hp + 26), local_extra = le16(b, hp + 28);
    LDMG_CHECK(inside(h + kLocalSize, local_name + local_extra, d.offset),
               "'{}': zip entry '{}': local header runs into the central directory", source, e.name);
    LDMG_CHECK(b.substr(hp + kLocalSize, local_name) == e.name,
               "'{}': zip entry '{}': local header names it '{}'", source, e.name,
               std::string(b.substr(hp + kLocalSize, local_name)));
    e.data_offset = h + kLocalSize + local_name + local_extra;
    LDMG_CHECK(inside(e.data_offset, e.compressed_size, d.offset),
               "'{}': zip entry '{}': its {} bytes at offset {} run past the data area ({} bytes): truncated file?",
               source, e.name, e.compressed_size, e.data_offset, d.offset);
    entries.push_back(std::move(e));
    p += kCentralSize + name_len + extra_len + comment_len;
  }
  return entries;
}

std::string_view zip_entry_data(std::string_view b, const ZipEntry& e, const std::string& source) {
  LDMG_CHECK(e.method == 0,
             "'{}': zip entry '{}' is compressed (method {}, {}); only stored entries are supported, as torch.save "
             "writes them (re-save the file with torch.save)",
             source, e.name, e.method, method_name(e.method));
  LDMG_CHECK(e.size == e.compressed_size, "'{}': stored zip entry '{}' has size {} but compressed size {}", source,
             e.name, e.size, e.compressed_size);
  LDMG_ASSERT(inside(e.data_offset, e.size, b.size()), "entry checked by read_zip_directory");
  const std::string_view data = b.substr(static_cast<std::size_t>(e.data_offset), static_cast<std::size_t>(e.size));
  const std::uint32_t crc = crc32(data);
  LDMG_CHECK(crc == e.crc32, "'{}': zip entry '{}' fails its CRC-32 check (stored {:08x}, computed {:08x}): the file is "
             "corrupt", source, e.name, e.crc32, crc);
  return data;
}

}  // namespace ldmg::io
