#pragma once
// One sweep per run folder: an exclusive flock(2) on <run>/.lock, taken by
// rank 0 only (one lock per run, and no reliance on flock being coherent
// across the nodes' views of a shared file system). The holder writes
// "pid=<pid> host=<host> since=<UTC time>" into the file, so whoever is
// refused learns who has it. The kernel drops the lock when the holder dies,
// even by kill -9. What it cannot drop is a lock held on a node that is lost
// (hung, cut off, powered down): the holder process is still there as far as
// the file system knows (a shared file system may keep a lost client's locks
// until its lease ends, NFSv3 until that node reboots). break_run_lock()
// handles that one case, on the user's word that the host is lost
// (`ldmground unlock`; docs/multinode.md).
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace ldmg::sweep {

class MpiEnv;

class RunLock {
 public:
  // Creates the run folder if needed and takes the lock, or throws
  // ldmg::Error naming the folder and the holder's pid and host.
  explicit RunLock(const std::filesystem::path& run_dir);
  ~RunLock();  // releases the lock; the file stays
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

// What a lock file records about its holder.
struct LockHolder {
  long pid = 0;
  std::string host, since;
};
// Parses "pid=<pid> host=<host> since=<time>" (a trailing newline allowed);
// nullopt for anything else (an empty file: no holder recorded).
std::optional<LockHolder> parse_lock_holder(const std::string& text);

// This machine's host name, as the lock file records it.
std::string lock_host_name();

struct LockBreak {
  bool was_held = false;         // false: the lock was free, nothing was moved
  LockHolder holder;             // who held it (when was_held)
  std::filesystem::path moved_to;  // where the old lock file went (when was_held)
};
// Breaks the run lock of `run_dir` held by a sweep on `lost_host`, a host the
// caller declares lost, by moving the lock file aside to
// ".lock.broken-<UTC time>" (kept as the record): the next sweep locks a new
// file. Throws ldmg::Error, changing nothing, when `run_dir` has no lock file,
// when the holder is not recorded, when it runs on this host (the kernel says
// it is alive: stop it instead), or when it runs on another host than
// `lost_host`. Breaking a lock whose holder is in fact alive lets two sweeps
// write one run folder: the processes of the lost host's sweep must be gone.
LockBreak break_run_lock(const std::filesystem::path& run_dir, const std::string& lost_host);

// Collective: rank 0 takes the lock and every rank learns the outcome; on
// refusal every rank throws the same ldmg::Error. Null on ranks other than 0.
std::unique_ptr<RunLock> lock_run_folder(const MpiEnv& env, const std::filesystem::path& run_dir);

}  // namespace ldmg::sweep
