// The run lock when its holder is on a lost host (sweep/run_lock.h): the
// holder is a child process that takes the flock and records another host
// name, as rank 0 of a sweep on that host would; what the lock file says and
// what break_run_lock() may do with it.
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <string>

#include "core/check.h"
#include "support/fixtures.h"
#include "sweep/run_lock.h"

namespace fs = std::filesystem;
using namespace ldmg::sweep;

namespace {

// A child that holds <run>/.lock with `record` as its text until killed.
class LockHolderProcess {
 public:
  LockHolderProcess(const fs::path& run, const std::string& record) {
    fs::create_directories(run);
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    pid_ = fork();
    if (pid_ == 0) {
      const int fd = open((run / ".lock").c_str(), O_RDWR | O_CREAT, 0644);
      if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) _exit(1);
      const std::string text = record + "\n";
      if (ftruncate(fd, 0) != 0 || write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) _exit(1);
      (void)!write(fds[1], "x", 1);
      for (;;) pause();
    }
    char c = 0;
    EXPECT_EQ(read(fds[0], &c, 1), 1) << "the holder did not take the lock";
    close(fds[0]);
    close(fds[1]);
  }
  ~LockHolderProcess() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const ldmg::Error& e) {
    return e.what();
  }
  return "(no error)";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST(RunLockHolder, ParsesWhatRunLockWrites) {
  const auto h = parse_lock_holder("pid=4242 host=node-07.cluster since=2026-12-04T23:50:00Z\n");
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->pid, 4242);
  EXPECT_EQ(h->host, "node-07.cluster");
  EXPECT_EQ(h->since, "2026-12-04T23:50:00Z");
  EXPECT_TRUE(parse_lock_holder("pid=1 host=a since=b").has_value());  // no newline
  for (const char* bad : {"", "\n", "pid=1 host=a", "pid=x host=a since=b", "pid=0 host=a since=b",
                          "pid=1 host= since=b", "host=a pid=1 since=b", "pid=1 host=a since=b extra=c",
                          "pid=1 host=a since=b\npid=2 host=c since=d\n"})
    EXPECT_FALSE(parse_lock_holder(bad).has_value()) << "'" << bad << "'";
}

TEST(RunLockBreak, LockHeldOnALostHostIsBrokenOnlyWhenThatHostIsNamed) {
  const fs::path run = fs::path(ldmg::test::temp_dir("lock_lost_host")) / "run";
  const std::string lost = "lost-node-" + lock_host_name();  // never this host's name
  LockHolderProcess holder(run, fmt::format("pid=777 host={} since=2026-12-04T23:00:00Z", lost));

  // A sweep here is refused and told how to go on.
  const std::string refused = error_of([&] { RunLock lock(run); });
  EXPECT_TRUE(contains(refused, "host=" + lost)) << refused;
  EXPECT_TRUE(contains(refused, fmt::format("ldmground unlock --run {} --host-lost {}", run.string(), lost)))
      << refused;

  // Another host named: refused, nothing moved.
  const std::string wrong = error_of([&] { break_run_lock(run, "some-other-node"); });
  EXPECT_TRUE(contains(wrong, "not by host some-other-node")) << wrong;
  EXPECT_TRUE(fs::exists(run / ".lock"));

  const LockBreak b = break_run_lock(run, lost);
  EXPECT_TRUE(b.was_held);
  EXPECT_EQ(b.holder.pid, 777);
  EXPECT_EQ(b.holder.host, lost);
  EXPECT_EQ(b.moved_to.parent_path(), run);
  EXPECT_EQ(b.moved_to.filename().string().rfind(".lock.broken-", 0), 0u) << b.moved_to;
  EXPECT_TRUE(fs::exists(b.moved_to));
  EXPECT_FALSE(fs::exists(run / ".lock"));
  // The lost holder still holds its (moved) file; a new sweep locks a new one.
  { RunLock lock(run); }
  EXPECT_TRUE(fs::exists(run / ".lock"));
  EXPECT_EQ(break_run_lock(run, lost).was_held, false);  // now free: nothing to break
}

TEST(RunLockBreak, LockHeldOnThisHostIsNeverBroken) {
  const fs::path run = fs::path(ldmg::test::temp_dir("lock_this_host")) / "run";
  const std::string here = lock_host_name();
  LockHolderProcess holder(run, fmt::format("pid={} host={} since=2026-12-04T23:00:00Z", getpid(), here));
  const std::string refused = error_of([&] { RunLock lock(run); });
  EXPECT_FALSE(contains(refused, "unlock")) << "a live holder on this host is not to be broken: " << refused;
  for (const std::string& named : {here, std::string("lost-node")}) {
    const std::string e = error_of([&] { break_run_lock(run, named); });
    EXPECT_TRUE(contains(e, "on this host (" + here + ")")) << e;
    EXPECT_TRUE(fs::exists(run / ".lock"));
  }
}

TEST(RunLockBreak, UnrecordedHolderAndMissingLockAreErrors) {
  const fs::path run = fs::path(ldmg::test::temp_dir("lock_unrecorded")) / "run";
  const std::string missing = error_of([&] { break_run_lock(run, "x"); });
  EXPECT_TRUE(contains(missing, (run / ".lock").string())) << missing;
  LockHolderProcess holder(run, "");
  const std::string e = error_of([&] { break_run_lock(run, "x"); });
  EXPECT_TRUE(contains(e, "does not name its holder")) << e;
  EXPECT_TRUE(fs::exists(run / ".lock"));
}
