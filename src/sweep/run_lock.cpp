#include "sweep/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "core/check.h"
#include "sweep/mpi_env.h"

namespace fs = std::filesystem;

namespace ldmg::sweep {

namespace {

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown-host";
  return buf;
}

std::string read_all(int fd) {
  std::string out;
  char buf[512];
  off_t off = 0;
  for (ssize_t n; (n = ::pread(fd, buf, sizeof buf, off)) > 0 && out.size() < 4096; off += n)
    out.append(buf, static_cast<std::size_t>(n));
  while (!out.empty() && (out.back() == '\n' || out.back() == '\0')) out.pop_back();
  return out;
}

}  // namespace

RunLock::RunLock(const fs::path& run_dir) : path_(run_dir / ".lock") {
  std::error_code ec;
  fs::create_directories(run_dir, ec);
  LDMG_CHECK(!ec, "cannot create the run folder {}: {}", run_dir.string(), ec.message());
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  LDMG_CHECK(fd_ >= 0, "cannot open the lock file {}: {}", path_.string(), std::strerror(errno));
  int rc;
  while ((rc = ::flock(fd_, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR) {
  }
  if (rc != 0) {
    const int err = errno;
    std::string holder = err == EWOULDBLOCK ? read_all(fd_) : std::string{};
    ::close(fd_);
    fd_ = -1;
    LDMG_CHECK(err != EWOULDBLOCK,
               "run folder {} is in use by another sweep ({}; lock file {}). Wait for it to end, or use "
               "another run folder",
               run_dir.string(), holder.empty() ? "holder not recorded yet" : holder, path_.string());
    LDMG_FAIL("cannot lock {}: {}", path_.string(), std::strerror(err));
  }
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  std::tm tm{};
  gmtime_r(&ts.tv_sec, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  const std::string me = fmt::format("pid={} host={} since={}\n", ::getpid(), host_name(), when);
  // Best effort: the lock is what counts, the text only informs.
  if (::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, me.data(), me.size(), 0) == static_cast<ssize_t>(me.size()))
    ::fsync(fd_);
}

RunLock::~RunLock() {
  if (fd_ < 0) return;
  // An empty file says nobody holds it (failure only leaves stale text).
  if (::ftruncate(fd_, 0) != 0) {
  }
  ::flock(fd_, LOCK_UN);
  ::close(fd_);
}

std::unique_ptr<RunLock> lock_run_folder(const MpiEnv& env, const fs::path& run_dir) {
  std::unique_ptr<RunLock> lock;
  std::string error;
  if (env.rank() == 0) {
    try {
      lock = std::make_unique<RunLock>(run_dir);
    } catch (const Error& e) {
      error = e.what();
    }
  }
  error = env.broadcast(error, 0);
  if (!error.empty()) throw Error(error);
  return lock;
}

}  // namespace ldmg::sweep
