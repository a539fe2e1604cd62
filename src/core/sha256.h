#pragma once
// SHA-256 (FIPS 180-4): content names for work units and model provenance.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ldmg {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, std::size_t size);
  void update(std::string_view s) { update(s.data(), s.size()); }
  std::string hex_digest();  // finalises; the object is spent afterwards

 private:
  void block(const std::uint8_t* p);
  std::array<std::uint32_t, 8> h_;
  std::array<std::uint8_t, 64> buf_{};
  std::size_t buf_len_ = 0;
  std::uint64_t total_ = 0;
};

std::string sha256_hex(std::string_view bytes);
// Streams the file; throws ldmg::Error naming the path if it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace ldmg
