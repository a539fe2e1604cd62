#pragma once
// CRC-32 (ISO-HDLC / zlib polynomial 0xEDB88320), as zip archives store it.
#include <cstdint>
#include <string_view>

namespace ldmg::io {

// crc32(b, crc32(a)) == crc32(a + b); crc32("123456789") == 0xCBF43926.
std::uint32_t crc32(std::string_view data, std::uint32_t crc = 0);

}  // namespace ldmg::io
