#pragma once
// One int64 counter every rank can bump and read without a server: an MPI
// window on rank 0 of `comm`, updated with MPI_Fetch_and_op under a shared
// passive-target lock. The work queue's "next unit" and the sweep's "units
// done" (rank 0's progress line) are both one of these. Without MPI (not
// initialised) or with one rank it is a plain local counter.
#include <mpi.h>

#include <cstdint>

namespace ldmg::sweep {

class SharedCounter {
 public:
  // Collective over `comm`; the counter starts at 0.
  explicit SharedCounter(MPI_Comm comm);
  // Collective (MPI_Win_free) when the counter uses MPI.
  ~SharedCounter();
  SharedCounter(const SharedCounter&) = delete;
  SharedCounter& operator=(const SharedCounter&) = delete;

  // Adds `n` and returns the value before, atomically across ranks.
  std::int64_t fetch_add(std::int64_t n);
  // The current value (a fetch of 0).
  std::int64_t load() { return fetch_add(0); }

 private:
  std::int64_t local_ = 0;  // when there is no window
  MPI_Win win_ = MPI_WIN_NULL;
  std::int64_t* base_ = nullptr;
};

}  // namespace ldmg::sweep
