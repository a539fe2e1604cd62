#pragma once
// Writes zip archives the way PyTorch's PyTorchStreamWriter lays them out:
// stored entries whose data starts at a multiple of `alignment` (padding in
// an "FB" extra field of the local header), CRC-32 and sizes in the headers,
// and ZIP64 end records always written (entry-level ZIP64 fields only when a
// size or offset needs them).
#include <cstdint>
#include <string>
#include <string_view>

namespace ldmg::io {

struct ZipWriterOptions {
  std::uint64_t alignment = 64;
  bool force_zip64_entries = false;  // ZIP64 extra fields on every entry (tests the reader's ZIP64 path)
};

class ZipWriter {
 public:
  explicit ZipWriter(ZipWriterOptions options = {}) : options_(options) {}

  // Appends a stored entry.
  void add(const std::string& name, std::string_view data);
  // Appends a stored entry as-is but with `method` in its headers (tests only:
  // the data is not actually compressed).
  void add_with_method(const std::string& name, std::string_view data, std::uint16_t method);
  // Writes the central directory and end records; returns the archive.
  std::string finish();

 private:
  struct Entry {
    std::string name;
    std::uint16_t method;
    std::uint32_t crc;
    std::uint64_t size, header_offset;
  };
  ZipWriterOptions options_;
  std::string out_;
  std::string central_;
  std::uint64_t count_ = 0;
  bool finished_ = false;
};

}  // namespace ldmg::io
