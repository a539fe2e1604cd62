// The runner's MPI parts under mpiexec -n 1/2/3 (and as a singleton): the
// shared work queue hands out every index exactly once and balances uneven
// work, several ranks write one run's ledger, the run lock is collective.
// Every rank runs every test (the collectives line up); rank 0 checks the
// gathered results and reports; other ranks print only their failures.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/check.h"
#include "core/threads.h"
#include "mpi_gtest.h"
#include "support/fixtures.h"
#include "sweep/ledger.h"
#include "sweep/mpi_env.h"
#include "sweep/run_lock.h"
#include "sweep/work_queue.h"

using namespace ldmg::sweep;

namespace {

const MpiEnv& env() { return ldmg::testing_mpi::env(); }

// All ranks' int64 vectors, concatenated in rank order, on rank 0 (empty elsewhere).
std::vector<std::int64_t> gather_on_root(const std::vector<std::int64_t>& mine,
                                         std::vector<int>* counts_out = nullptr) {
  const int n = static_cast<int>(mine.size());
  std::vector<int> counts(static_cast<std::size_t>(env().size())), displs(counts.size());
  LDMG_MPI(MPI_Gather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, env().comm()));
  std::exclusive_scan(counts.begin(), counts.end(), displs.begin(), 0);
  std::vector<std::int64_t> all(env().rank() == 0 ? static_cast<std::size_t>(displs.back() + counts.back()) : 0);
  LDMG_MPI(
      MPI_Gatherv(mine.data(), n, MPI_INT64_T, all.data(), counts.data(), displs.data(), MPI_INT64_T, 0, env().comm()));
  if (counts_out) *counts_out = counts;
  return all;
}

// Drains a queue of n units; each unit takes `cost` of sleep.
std::vector<std::int64_t> drain(WorkQueue& q, std::chrono::microseconds cost) {
  std::vector<std::int64_t> got;
  for (std::int64_t i; (i = q.next()) >= 0;) {
    got.push_back(i);
    if (cost.count() > 0) std::this_thread::sleep_for(cost);
  }
  return got;
}

}  // namespace

TEST(MpiEnv, RankSizeNode) {
  int rank = -1, size = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  EXPECT_EQ(env().rank(), rank);
  EXPECT_EQ(env().size(), size);
  EXPECT_FALSE(env().node_name().empty());
  // One node here: local ranks are a permutation of 0..size-1.
  EXPECT_EQ(env().local_size(), size);
  const auto locals = gather_on_root({env().local_rank()});
  if (rank == 0) {
    std::set<std::int64_t> distinct(locals.begin(), locals.end());
    EXPECT_EQ(distinct.size(), static_cast<std::size_t>(size));
    EXPECT_EQ(*distinct.begin(), 0);
    EXPECT_EQ(*distinct.rbegin(), size - 1);
  }
  EXPECT_GE(env().cpu_threads(), 1);
  EXPECT_LE(env().cpu_threads(), ldmg::available_cores());
  const auto threads = gather_on_root({env().cpu_threads()});
  if (rank == 0) {  // the ranks together do not oversubscribe the node (unless there are more ranks than cores)
    const auto total = std::accumulate(threads.begin(), threads.end(), std::int64_t{0});
    EXPECT_LE(total, std::max<std::int64_t>(size, sysconf(_SC_NPROCESSORS_ONLN)));
  }
  EXPECT_EQ(env().broadcast(rank == 0 ? std::string("from root\n\0x", 12) : "junk"), std::string("from root\n\0x", 12));
  EXPECT_TRUE(env().all_true(true));
  EXPECT_EQ(env().all_true(rank != size - 1), false);
}

// Collective: the indices every rank took (`mine` on each) are 0..n-1, each once.
void expect_every_index_once(const std::vector<std::int64_t>& mine, std::int64_t n, const std::string& what) {
  auto all = gather_on_root(mine);
  if (env().rank() != 0) return;
  std::sort(all.begin(), all.end());
  std::vector<std::int64_t> expected(static_cast<std::size_t>(n));
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(all, expected) << what;
}

TEST(WorkQueue, EveryIndexExactlyOnce) {
  for (std::int64_t n : {0, 1, 2, 7, 1000}) {
    WorkQueue q(env().comm(), n);
    const auto mine = drain(q, std::chrono::microseconds(0));
    EXPECT_EQ(q.next(), -1) << "a drained queue stays drained";
    EXPECT_TRUE(std::is_sorted(mine.begin(), mine.end()));
    EXPECT_EQ(q.taken(), static_cast<std::int64_t>(mine.size()));
    expect_every_index_once(mine, n, fmt::format("n = {}", n));
  }
}

// sweep --batch-images takes ranges: consecutive, at most `max` long, every
// index exactly once over all ranks, and a drained queue stays drained.
TEST(WorkQueue, RangesCoverEveryIndexOnce) {
  for (std::int64_t n : {0, 1, 5, 7, 100}) {
    for (std::int64_t max : {1, 3, 8}) {
      WorkQueue q(env().comm(), n);
      std::vector<std::int64_t> mine;
      for (WorkQueue::Range r; (r = q.next_range(max)).count > 0;) {
        EXPECT_LE(r.count, max);
        EXPECT_LE(r.first + r.count, n);
        EXPECT_TRUE(r.count == max || r.first + r.count == n) << "only the last range is short";
        for (std::int64_t i = r.first; i < r.first + r.count; ++i) mine.push_back(i);
      }
      EXPECT_EQ(q.next_range(max).count, 0);
      EXPECT_EQ(q.next(), -1);
      EXPECT_EQ(q.taken(), static_cast<std::int64_t>(mine.size()));
      expect_every_index_once(mine, n, fmt::format("n = {}, max = {}", n, max));
    }
  }
}

// Guided ranges: every index exactly once, never more than max, one rank
// always takes max; the size asked for is min(max, ceil(left / 2R)).
TEST(WorkQueue, GuidedRangesCoverEveryIndexOnce) {
  for (std::int64_t n : {1, 7, 100}) {
    WorkQueue q(env().comm(), n);
    std::vector<std::int64_t> mine;
    for (WorkQueue::Range r; (r = q.next_range(q.guided_range(8, env().size()))).count > 0;) {
      EXPECT_LE(r.count, 8);
      if (env().size() == 1) EXPECT_TRUE(r.count == 8 || r.first + r.count == n);
      for (std::int64_t i = r.first; i < r.first + r.count; ++i) mine.push_back(i);
    }
    expect_every_index_once(mine, n, fmt::format("n = {}", n));
  }
  // Asked before any fetch with n = 100 and R ranks: min(8, ceil(100 / 2R)).
  WorkQueue fresh(env().comm(), 100);
  EXPECT_EQ(fresh.guided_range(8, 1), 8);
  EXPECT_EQ(fresh.guided_range(8, 4), 8);    // ceil(100 / 8) = 13 -> 8
  EXPECT_EQ(fresh.guided_range(8, 16), 4);   // ceil(100 / 32) = 4
  EXPECT_EQ(fresh.guided_range(8, 64), 1);   // ceil(100 / 128) = 1
}

TEST(WorkQueue, SlowRanksTakeFewerUnits) {
  if (env().size() < 2) GTEST_SKIP() << "needs 2 or more ranks";
  const std::int64_t n = 60;
  const bool slow = env().rank() == env().size() - 1;  // the last rank's units take 20x longer
  WorkQueue q(env().comm(), n);
  env().barrier();
  const auto mine = drain(q, std::chrono::microseconds(slow ? 40000 : 2000));
  std::vector<int> counts;
  auto all = gather_on_root(mine, &counts);
  if (env().rank() == 0) {
    std::sort(all.begin(), all.end());
    EXPECT_EQ(all.size(), static_cast<std::size_t>(n));
    EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end()) << "an index was handed out twice";
    const int slow_count = counts.back();
    std::printf("units per rank (last one slow):");
    for (int c : counts) std::printf(" %d", c);
    std::printf("\n");
    EXPECT_GE(slow_count, 1);
    for (int r = 0; r + 1 < env().size(); ++r)
      EXPECT_LT(2 * slow_count, counts[static_cast<std::size_t>(r)])
          << "rank " << r << " took " << counts[static_cast<std::size_t>(r)] << ", the slow rank " << slow_count;
  }
}

TEST(Ledger, SeveralRanksOneRunThenRetry) {
  const std::string run = env().broadcast(env().rank() == 0 ? ldmg::test::temp_dir("mpi_ledger") : "");
  auto lock = lock_run_folder(env(), run);
  EXPECT_EQ(lock != nullptr, env().rank() == 0);
  // A second sweep on the same folder is refused on every rank, holder named.
  try {
    lock_run_folder(env(), run);
    ADD_FAILURE() << "second lock taken";
  } catch (const ldmg::Error& e) {
    EXPECT_NE(std::string(e.what()).find("pid="), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(run), std::string::npos) << e.what();
  }

  const std::int64_t n = 50;
  auto id = [](std::int64_t i) { return "unit" + std::to_string(i); };
  std::vector<std::int64_t> mine;
  {
    LedgerWriter w(run, env().rank());
    WorkQueue q(env().comm(), n);
    for (std::int64_t i; (i = q.next()) >= 0;) {
      LedgerRecord r;
      r.unit_id = id(i);
      r.status = i % 7 == 0 ? UnitStatus::failed : UnitStatus::ok;
      r.error = i % 7 == 0 ? "failed on purpose" : "";
      r.seconds = 0.01;
      w.append(r);
      mine.push_back(i);
    }
  }
  std::vector<int> counts;
  const auto taken = gather_on_root(mine, &counts);
  env().barrier();
  std::vector<std::string> ids;
  for (std::int64_t i = 0; i < n; ++i) ids.push_back(id(i));

  std::int64_t retry = 0;
  if (env().rank() == 0) {
    const LedgerState s = read_ledgers(run);
    EXPECT_EQ(s.records, static_cast<std::size_t>(n));
    EXPECT_EQ(s.skipped, 0u);
    std::size_t k = 0;
    for (int r = 0; r < env().size(); ++r)
      for (int j = 0; j < counts[static_cast<std::size_t>(r)]; ++j, ++k) {
        const auto& rec = s.latest.at(id(taken[k]));
        EXPECT_EQ(rec.rank, r) << id(taken[k]);
        EXPECT_EQ(rec.status, taken[k] % 7 == 0 ? UnitStatus::failed : UnitStatus::ok) << id(taken[k]);
      }
    EXPECT_TRUE(units_to_run(ids, s, false).empty());
    const auto again = units_to_run(ids, s, true);
    EXPECT_EQ(again, (std::vector<std::size_t>{0, 7, 14, 21, 28, 35, 42, 49}));
    retry = static_cast<std::int64_t>(again.size());
  }
  LDMG_MPI(MPI_Bcast(&retry, 1, MPI_INT64_T, 0, env().comm()));
  {  // --retry-failed: the failed units (multiples of 7) succeed this time
    LedgerWriter w(run, env().rank());
    WorkQueue q(env().comm(), retry);
    for (std::int64_t i; (i = q.next()) >= 0;) {
      LedgerRecord r;
      r.unit_id = id(7 * i);
      w.append(r);
    }
  }
  env().barrier();
  if (env().rank() == 0) {
    const LedgerState s = read_ledgers(run);
    EXPECT_EQ(s.records, static_cast<std::size_t>(n + retry));
    for (const auto& u : ids) EXPECT_EQ(s.status(u), UnitStatus::ok) << u;
    EXPECT_TRUE(units_to_run(ids, s, true).empty());
  }
  env().barrier();
}
