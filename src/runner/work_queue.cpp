#include "runner/work_queue.h"

#include "core/check.h"

namespace ldmg::runner {

WorkQueue::WorkQueue(MPI_Comm comm, std::int64_t n_units) : n_(n_units), counter_(comm) {
  LDMG_CHECK(n_units >= 0, "work queue: {} units is negative", n_units);
}

std::int64_t WorkQueue::next() {
  if (done_) return -1;
  const std::int64_t got = counter_.fetch_add(1);
  if (got >= n_) {
    done_ = true;  // the counter only grows: no more calls to MPI
    return -1;
  }
  ++taken_;
  return got;
}

}  // namespace ldmg::runner
