#include "sweep/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "core/check.h"
#include "core/provenance.h"
#include "sweep/mpi_env.h"

namespace fs = std::filesystem;

namespace ldmg::sweep {

namespace {

std::string read_all(int fd) {
  std::string out;
  char buf[512];
  off_t off = 0;
  for (ssize_t n; (n = ::pread(fd, buf, sizeof buf, off)) > 0 && out.size() < 4096; off += n)
    out.append(buf, static_cast<std::size_t>(n));
  while (!out.empty() && (out.back() == '\n' || out.back() == '\0')) out.pop_back();
  return out;
}

// Tries the flock without waiting: 0, or the errno that refused it.
int try_flock(int fd) {
  int rc;
  while ((rc = ::flock(fd, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR) {
  }
  return rc == 0 ? 0 : errno;
}

// What to do about a lock held by `holder_text`, for the refusal message.
std::string advice(const fs::path& run_dir, const std::string& holder_text) {
  const auto holder = parse_lock_holder(holder_text);
  const std::string here = lock_host_name();
  if (!holder || holder->host == here) return "Wait for it to end, or use another run folder";
  return fmt::format(
      "Wait for it to end, or use another run folder. The holder runs on host {}, not on this host ({}), so it "
      "cannot be checked from here: if {} is lost (crashed, hung or cut off) and no process of that sweep is left "
      "on any host, break the lock with `ldmground unlock --run {} --host-lost {}` and run the sweep again",
      holder->host, here, holder->host, run_dir.string(), holder->host);
}

}  // namespace

std::string lock_host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown-host";
  return buf;
}

std::optional<LockHolder> parse_lock_holder(const std::string& text) {
  std::string line = text;
  if (!line.empty() && line.back() == '\n') line.pop_back();
  if (line.find('\n') != std::string::npos) return std::nullopt;
  std::istringstream in(line);
  std::string pid, host, since, extra;
  if (!(in >> pid >> host >> since) || (in >> extra)) return std::nullopt;
  auto value = [](const std::string& field, const char* key) -> std::optional<std::string> {
    const std::string k = std::string(key) + "=";
    if (field.rfind(k, 0) != 0 || field.size() == k.size()) return std::nullopt;
    return field.substr(k.size());
  };
  const auto p = value(pid, "pid"), h = value(host, "host"), s = value(since, "since");
  if (!p || !h || !s) return std::nullopt;
  char* end = nullptr;
  const long n = std::strtol(p->c_str(), &end, 10);
  if (*end != '\0' || n <= 0) return std::nullopt;
  return LockHolder{n, *h, *s};
}

LockBreak break_run_lock(const fs::path& run_dir, const std::string& lost_host) {
  const fs::path lock_path = run_dir / ".lock";
  LDMG_CHECK(fs::exists(lock_path), "{} has no lock file {}: not a sweep run folder, or no sweep ever started there",
             run_dir.string(), lock_path.string());
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CLOEXEC);
  LDMG_CHECK(fd >= 0, "cannot open the lock file {}: {}", lock_path.string(), std::strerror(errno));
  const int err = try_flock(fd);
  LockBreak out;
  if (err == 0) {  // free: the holder ended (or died where the kernel could see it)
    ::flock(fd, LOCK_UN);
    ::close(fd);
    return out;
  }
  const std::string text = read_all(fd);
  ::close(fd);
  LDMG_CHECK(err == EWOULDBLOCK, "cannot lock {}: {}", lock_path.string(), std::strerror(err));
  const auto holder = parse_lock_holder(text);
  LDMG_CHECK(holder.has_value(),
             "the lock file {} is held but does not name its holder ('{}'; expected 'pid=<pid> host=<host> "
             "since=<time>'): a sweep may be starting right now; try again in a minute",
             lock_path.string(), text);
  const std::string here = lock_host_name();
  LDMG_CHECK(holder->host != here,
             "the lock of {} is held by pid {} on this host ({}) since {}: that sweep is alive (the kernel holds "
             "its lock); stop it (kill {}) or wait for it, instead of breaking the lock",
             run_dir.string(), holder->pid, here, holder->since, holder->pid);
  LDMG_CHECK(holder->host == lost_host,
             "the lock of {} is held by pid {} on host {} since {}, not by host {} named as lost: nothing changed",
             run_dir.string(), holder->pid, holder->host, holder->since, lost_host);
  out.was_held = true;
  out.holder = *holder;
  std::string stamp = utc_now_iso8601();  // 2026-12-05T01:02:03Z -> 20261205T010203Z
  std::erase_if(stamp, [](char c) { return c == '-' || c == ':'; });
  out.moved_to = run_dir / (".lock.broken-" + stamp);
  std::error_code ec;
  fs::rename(lock_path, out.moved_to, ec);
  LDMG_CHECK(!ec, "cannot move the lock file {} to {}: {}", lock_path.string(), out.moved_to.string(), ec.message());
  return out;
}

RunLock::RunLock(const fs::path& run_dir) : path_(run_dir / ".lock") {
  std::error_code ec;
  fs::create_directories(run_dir, ec);
  LDMG_CHECK(!ec, "cannot create the run folder {}: {}", run_dir.string(), ec.message());
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  LDMG_CHECK(fd_ >= 0, "cannot open the lock file {}: {}", path_.string(), std::strerror(errno));
  if (const int err = try_flock(fd_); err != 0) {
    std::string holder = err == EWOULDBLOCK ? read_all(fd_) : std::string{};
    ::close(fd_);
    fd_ = -1;
    LDMG_CHECK(err != EWOULDBLOCK,
               "run folder {} is in use by another sweep ({}; lock file {}). {}", run_dir.string(),
               holder.empty() ? "holder not recorded yet" : holder, path_.string(), advice(run_dir, holder));
    LDMG_FAIL("cannot lock {}: {}", path_.string(), std::strerror(err));
  }
  const std::string me =
      fmt::format("pid={} host={} since={}\n", ::getpid(), lock_host_name(), utc_now_iso8601());
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
