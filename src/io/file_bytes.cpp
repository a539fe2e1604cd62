#include "io/file_bytes.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/check.h"

namespace ldmg::io {

std::string read_file_bytes(const std::string& path) {
  std::error_code ec;
  LDMG_CHECK(std::filesystem::exists(path, ec), "file not found: '{}'", path);
  LDMG_CHECK(!std::filesystem::is_directory(path, ec), "expected a file but '{}' is a directory", path);
  std::ifstream in(path, std::ios::binary);
  LDMG_CHECK(in, "cannot open '{}': {}", path, std::strerror(errno));
  std::string bytes;
  in.seekg(0, std::ios::end);
  const auto size = in.tellg();
  LDMG_CHECK(size >= 0, "cannot determine the size of '{}'", path);
  bytes.resize(static_cast<std::size_t>(size));
  in.seekg(0);
  in.read(bytes.data(), size);
  LDMG_CHECK(in.gcount() == size, "short read of '{}': got {} of {} bytes", path, in.gcount(), static_cast<long long>(size));
  return bytes;
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  LDMG_CHECK(fd >= 0, "cannot create '{}': {}", tmp, std::strerror(errno));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      LDMG_FAIL("cannot write '{}' ({} of {} bytes written): {}", tmp, done, bytes.size(), std::strerror(err));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    LDMG_FAIL("cannot flush '{}': {}", tmp, std::strerror(err));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    LDMG_FAIL("cannot rename '{}' to '{}': {}", tmp, path, std::strerror(err));
  }
}

}  // namespace ldmg::io
