#include "io/zip_writer.h"

#include "core/check.h"
#include "io/zip_crc32.h"

namespace ldmg::io {

namespace {
constexpr std::uint64_t k32 = 0xffffffff;
constexpr std::uint16_t kVersion20 = 20, kVersion45 = 45;  // 4.5: ZIP64
constexpr std::uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01, time 00:00

void put(std::string& s, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
}  // namespace

void ZipWriter::add(const std::string& name, std::string_view data) { add_with_method(name, data, 0); }

void ZipWriter::add_with_method(const std::string& name, std::string_view data, std::uint16_t method) {
  LDMG_ASSERT(!finished_, "ZipWriter::add after finish");
  LDMG_CHECK(!name.empty() && name.size() <= 0xffff, "zip entry name '{}' must have 1 to 65535 bytes", name);
  LDMG_ASSERT(options_.alignment >= 1 && options_.alignment <= 0x8000, "alignment {}", options_.alignment);
  const std::uint64_t offset = out_.size(), size = data.size();
  const std::uint32_t crc = crc32(data);
  const bool big_size = size >= k32 || options_.force_zip64_entries;
  const bool big_offset = offset >= k32 || options_.force_zip64_entries;

  // Local header: ZIP64 sizes if needed, then "FB" padding up to the alignment.
  std::string extra;
  if (big_size) {
    put(extra, 0x0001, 2);
    put(extra, 16, 2);
    put(extra, size, 8);
    put(extra, size, 8);
  }
  const std::uint64_t unpadded = offset + 30 + name.size() + extra.size() + 4;
  const std::uint64_t pad = (options_.alignment - unpadded % options_.alignment) % options_.alignment;
  put(extra, 'F' | ('B' << 8), 2);
  put(extra, pad, 2);
  extra.append(pad, 'Z');

  const std::uint16_t version = (big_size || big_offset) ? kVersion45 : kVersion20;
  put(out_, 0x04034b50, 4);
  put(out_, version, 2);
  put(out_, 0, 2);  // flags
  put(out_, method, 2);
  put(out_, 0, 2);  // time
  put(out_, kDosDate, 2);
  put(out_, crc, 4);
  put(out_, big_size ? k32 : size, 4);
  put(out_, big_size ? k32 : size, 4);
  put(out_, name.size(), 2);
  put(out_, extra.size(), 2);
  out_ += name;
  out_ += extra;
  LDMG_ASSERT(out_.size() % options_.alignment == 0, "entry data must start aligned");
  out_.append(data);

  // Central header: ZIP64 extra holds, in order, the sizes and offset that overflow.
  std::string cextra;
  if (big_size || big_offset) {
    put(cextra, 0x0001, 2);
    put(cextra, (big_size ? 16 : 0) + (big_offset ? 8 : 0), 2);
    if (big_size) {
      put(cextra, size, 8);
      put(cextra, size, 8);
    }
    if (big_offset) put(cextra, offset, 8);
  }
  put(central_, 0x02014b50, 4);
  put(central_, kVersion45, 2);  // made by: MS-DOS attributes, spec 4.5
  put(central_, version, 2);
  put(central_, 0, 2);
  put(central_, method, 2);
  put(central_, 0, 2);
  put(central_, kDosDate, 2);
  put(central_, crc, 4);
  put(central_, big_size ? k32 : size, 4);
  put(central_, big_size ? k32 : size, 4);
  put(central_, name.size(), 2);
  put(central_, cextra.size(), 2);
  put(central_, 0, 2);  // comment
  put(central_, 0, 2);  // disk
  put(central_, 0, 2);  // internal attributes
  put(central_, 0, 4);  // external attributes
  put(central_, big_offset ? k32 : offset, 4);
  central_ += name;
  central_ += cextra;
  ++count_;
}

std::string ZipWriter::finish() {
  LDMG_ASSERT(!finished_, "ZipWriter::finish twice");
  finished_ = true;
  const std::uint64_t cd_offset = out_.size(), cd_size = central_.size();
  out_ += central_;
  const std::uint64_t z = out_.size();
  // ZIP64 end of central directory record and its locator.
  put(out_, 0x06064b50, 4);
  put(out_, 44, 8);  // size of the rest of the record
  put(out_, kVersion45, 2);
  put(out_, kVersion45, 2);
  put(out_, 0, 4);
  put(out_, 0, 4);
  put(out_, count_, 8);
  put(out_, count_, 8);
  put(out_, cd_size, 8);
  put(out_, cd_offset, 8);
  put(out_, 0x07064b50, 4);
  put(out_, 0, 4);
  put(out_, z, 8);
  put(out_, 1, 4);
  // Classic end record, saturated where ZIP64 is needed.
  put(out_, 0x06054b50, 4);
  put(out_, 0, 2);
  put(out_, 0, 2);
  put(out_, count_ >= 0xffff ? 0xffff : count_, 2);
  put(out_, count_ >= 0xffff ? 0xffff : count_, 2);
  put(out_, cd_size >= k32 ? k32 : cd_size, 4);
  put(out_, cd_offset >= k32 ? k32 : cd_offset, 4);
  put(out_, 0, 2);
  return std::move(out_);
}

}  // namespace ldmg::io
