#include "io/byte_store.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/check.h"

namespace ldmg::io {

struct ByteStore::Owner {
  std::string buffer;        // in-memory bytes, or
  void* map = nullptr;       // a read-only mapping of `map_size` bytes
  std::size_t map_size = 0;

  Owner() = default;
  Owner(const Owner&) = delete;
  Owner& operator=(const Owner&) = delete;
  ~Owner() {
    if (map) ::munmap(map, map_size);
  }
};

ByteStore::ByteStore() = default;

ByteStore::ByteStore(std::string bytes) {
  auto owner = std::make_shared<Owner>();
  owner->buffer = std::move(bytes);
  data_ = owner->buffer.data();
  size_ = owner->buffer.size();
  owner_ = std::move(owner);
}

ByteStore ByteStore::map_file(const std::string& path) {
  std::error_code ec;
  LDMG_CHECK(std::filesystem::exists(path, ec), "file not found: '{}'", path);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  LDMG_CHECK(fd >= 0, "cannot open '{}': {}", path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    LDMG_FAIL("cannot stat '{}': {}", path, std::strerror(err));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    LDMG_FAIL("expected a file but '{}' is a directory", path);
  }
  ByteStore out;
  auto owner = std::make_shared<Owner>();
  if (st.st_size > 0) {
    void* p = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    const int err = errno;
    ::close(fd);
    LDMG_CHECK(p != MAP_FAILED, "cannot map '{}' ({} bytes): {}", path, static_cast<long long>(st.st_size),
               std::strerror(err));
    ::madvise(p, static_cast<std::size_t>(st.st_size), MADV_SEQUENTIAL);
    owner->map = p;
    owner->map_size = static_cast<std::size_t>(st.st_size);
    out.data_ = static_cast<const char*>(p);
    out.size_ = owner->map_size;
  } else {
    ::close(fd);
  }
  out.owner_ = std::move(owner);
  return out;
}

void ByteStore::release(std::size_t offset, std::size_t length) const {
  if (!owner_ || !owner_->map || offset >= size_) return;
  length = std::min(length, size_ - offset);
  static const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  // Only pages wholly inside the range: a neighbour's bytes stay resident.
  const std::size_t begin = (offset + page - 1) / page * page;
  const std::size_t end = (offset + length) / page * page;
  if (end > begin) ::madvise(static_cast<char*>(owner_->map) + begin, end - begin, MADV_DONTNEED);
}

}  // namespace ldmg::io
