#pragma once
// Dynamic scheduling of work units across ranks: a shared counter that every
// rank bumps to take the next unit, so ranks with slow units simply take fewer.
#include <mpi.h>

#include <cstdint>

#include "sweep/shared_counter.h"

namespace ldmg::sweep {

// One MPI one-sided counter (MPI_Win_allocate on rank 0 of `comm`, bumped with
// MPI_Fetch_and_op under a shared passive-target lock): no rank serves
// requests, so rank 0 computes units like the others.
// Checked with OpenMPI 4.1 on one node, 1-4 ranks, --oversubscribe: the
// default choice (osc/sm) balances, also with btl self,tcp or osc/pt2pt,
// and while rank 0 sleeps between calls. Caveat: osc/ucx without hardware
// atomics (shared memory, TCP-only clusters) progresses the counter only when
// rank 0 enters MPI; forced here, rank 0 took all 60 units of the balance
// test (still each exactly once). There, run with `--mca osc ^ucx`.
// Completed units (ledger) are skipped by the caller, not here: the queue
// indexes the caller's list of units still to do.
// Without MPI (not initialised) or with one rank it is a plain counter.
class WorkQueue {
 public:
  // Collective over `comm`: every rank constructs it with the same n_units.
  WorkQueue(MPI_Comm comm, std::int64_t n_units);
  // Collective (MPI_Win_free) when the queue uses MPI.
  ~WorkQueue() = default;
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // The next index in [0, n_units) no rank has taken yet, or -1 when all are taken.
  std::int64_t next();
  // Up to `max` (>= 1) consecutive indices no rank has taken yet, taken in
  // one atomic step: [first, first + count); count is 0 when all are taken.
  struct Range {
    std::int64_t first = 0, count = 0;
  };
  Range next_range(std::int64_t max);
  // Guided self-scheduling for next_range: `max` while much is left, smaller
  // ranges towards the end (about a (2 x ranks)-th of what this rank last saw
  // left), so that no rank holds a full batch while the others have nothing.
  // One rank: always `max`.
  std::int64_t guided_range(std::int64_t max, int ranks) const;
  std::int64_t size() const { return n_; }
  // Indices this rank took so far.
  std::int64_t taken() const { return taken_; }

 private:
  std::int64_t n_ = 0;
  std::int64_t taken_ = 0;
  std::int64_t seen_ = 0;  // the counter's value after this rank's last fetch
  bool done_ = false;
  SharedCounter counter_;
};

}  // namespace ldmg::sweep
