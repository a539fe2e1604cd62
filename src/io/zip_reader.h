#pragma once
// A minimal zip archive reader for torch.save files (APPNOTE.TXT 6.3:
// end-of-central-directory record, ZIP64 records, central directory, local
// headers). Only stored (uncompressed) entries can be read; every offset and
// size is checked against the file, and entry data against its CRC-32.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ldmg::io {

struct ZipEntry {
  std::string name;
  std::uint16_t method = 0;      // 0 = stored, 8 = deflate, ...
  std::uint32_t crc32 = 0;       // from the central directory
  std::uint64_t size = 0;        // uncompressed size
  std::uint64_t compressed_size = 0;
  std::uint64_t header_offset = 0;  // local file header
  std::uint64_t data_offset = 0;    // first byte of the entry's data in the file
};

// Reads the central directory of the archive held in `bytes`. Validates
// the EOCD/ZIP64 records, each central and local header, that data lies
// inside the file, that names are unique and that entries are neither
// encrypted nor split across disks. Compressed entries are listed (their
// method says so); zip_entry_data() refuses them. Errors name `source`.
std::vector<ZipEntry> read_zip_directory(std::string_view bytes, const std::string& source);

// The stored bytes of an entry (a view into `bytes`), after checking that it
// is stored uncompressed and that its CRC-32 matches.
std::string_view zip_entry_data(std::string_view bytes, const ZipEntry& entry, const std::string& source);

}  // namespace ldmg::io
