#pragma once
// One sweep per run folder: an exclusive flock(2) on <run>/.lock, taken by
// rank 0 only (one lock per run, and no reliance on flock being coherent
// across the nodes' views of a shared file system). The holder writes
// "pid=<pid> host=<host> since=<UTC time>" into the file, so whoever is
// refused learns who has it. The kernel drops the lock when the holder dies,
// even by kill -9: there are no stale locks to clean up.
#include <filesystem>
#include <memory>
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

// Collective: rank 0 takes the lock and every rank learns the outcome; on
// refusal every rank throws the same ldmg::Error. Null on ranks other than 0.
std::unique_ptr<RunLock> lock_run_folder(const MpiEnv& env, const std::filesystem::path& run_dir);

}  // namespace ldmg::sweep
