#include "sweep/shared_counter.h"

#include "core/check.h"
#include "sweep/mpi_env.h"

namespace ldmg::sweep {

SharedCounter::SharedCounter(MPI_Comm comm) {
  if (!mpi_active() || comm == MPI_COMM_NULL) return;
  int size = 1, rank = 0;
  LDMG_MPI(MPI_Comm_size(comm, &size));
  if (size == 1) return;
  LDMG_MPI(MPI_Comm_rank(comm, &rank));

  MPI_Info info = MPI_INFO_NULL;
  LDMG_MPI(MPI_Info_create(&info));
  // Only MPI_SUM (and NO_OP) on one int64: lets implementations use hardware atomics.
  MPI_Info_set(info, "accumulate_ops", "same_op_no_op");
  const MPI_Aint bytes = rank == 0 ? static_cast<MPI_Aint>(sizeof(std::int64_t)) : 0;
  const int rc = MPI_Win_allocate(bytes, sizeof(std::int64_t), info, comm, &base_, &win_);
  MPI_Info_free(&info);
  try {
    mpi_check(rc, "MPI_Win_allocate");
  } catch (const Error& e) {
    // OpenMPI 4.1's default one-sided component refuses windows on TCP-only
    // nodes (docs/multinode.md); the point-to-point one works everywhere.
    LDMG_FAIL("{}; on TCP-only networks with OpenMPI 4.1, run with --mca osc pt2pt (or OMPI_MCA_osc=pt2pt), "
              "see docs/multinode.md",
              e.what());
  }
  LDMG_MPI(MPI_Win_set_errhandler(win_, MPI_ERRORS_RETURN));
  if (rank == 0) {
    // A local store to window memory belongs in an exclusive epoch on self.
    LDMG_MPI(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, win_));
    *base_ = 0;
    LDMG_MPI(MPI_Win_unlock(0, win_));
  }
  LDMG_MPI(MPI_Barrier(comm));  // nobody bumps before the counter is 0
}

SharedCounter::~SharedCounter() {
  if (win_ != MPI_WIN_NULL && mpi_active()) MPI_Win_free(&win_);
}

std::int64_t SharedCounter::fetch_add(std::int64_t n) {
  if (win_ == MPI_WIN_NULL) {
    const std::int64_t before = local_;
    local_ += n;
    return before;
  }
  std::int64_t got = 0;
  LDMG_MPI(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win_));
  LDMG_MPI(MPI_Fetch_and_op(&n, &got, MPI_INT64_T, 0, 0, MPI_SUM, win_));
  LDMG_MPI(MPI_Win_unlock(0, win_));  // completes the fetch
  return got;
}

}  // namespace ldmg::sweep
