#include "sweep/work_queue.h"

#include <algorithm>

#include "core/check.h"

namespace ldmg::sweep {

WorkQueue::WorkQueue(MPI_Comm comm, std::int64_t n_units) : n_(n_units), counter_(comm) {
  LDMG_CHECK(n_units >= 0, "work queue: {} units is negative", n_units);
}

std::int64_t WorkQueue::next() {
  if (done_) return -1;
  const std::int64_t got = counter_.fetch_add(1);
  seen_ = got + 1;
  if (got >= n_) {
    done_ = true;  // the counter only grows: no more calls to MPI
    return -1;
  }
  ++taken_;
  return got;
}

WorkQueue::Range WorkQueue::next_range(std::int64_t max) {
  LDMG_CHECK(max >= 1, "work queue: a range of {} units", max);
  if (done_) return {};
  const std::int64_t got = counter_.fetch_add(max);
  seen_ = got + max;
  if (got >= n_) {
    done_ = true;
    return {};
  }
  const std::int64_t count = std::min(max, n_ - got);
  taken_ += count;
  return {got, count};
}

std::int64_t WorkQueue::guided_range(std::int64_t max, int ranks) const {
  LDMG_CHECK(max >= 1 && ranks >= 1, "work queue: a range of {} units over {} ranks", max, ranks);
  if (ranks == 1) return max;
  const std::int64_t left = std::max<std::int64_t>(n_ - seen_, 1);
  return std::clamp<std::int64_t>((left + 2 * ranks - 1) / (2 * ranks), 1, max);
}

}  // namespace ldmg::sweep
