// sweep::SumReducer under mpiexec -n 1/2/3: rank 0 gets the exact sums;
// values held by one rank each come through bit for bit (NaN and -0.0
// included, as analyze's score tables need); backend choice and errors agree
// on every rank. On a machine with CUDA devices and an NCCL build, `auto` and
// `nccl` exercise the NCCL path with the same assertions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/check.h"
#include "mpi_gtest.h"
#include "sweep/sum_reducer.h"

using namespace ldmg::sweep;
using ldmg::testing_mpi::env;

namespace {

bool gpu_path_available() {
  return env().all_true(nccl_built() && visible_cuda_devices() > 0 && env().local_size() <= visible_cuda_devices());
}

// n values; value i belongs to rank i % size and is 0 on the others.
std::vector<double> dealt_values(std::size_t n) {
  std::vector<double> v(n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    if (static_cast<int>(i % static_cast<std::size_t>(env().size())) == env().rank())
      v[i] = i % 7 == 3 ? std::numeric_limits<double>::quiet_NaN() : 1.0 / (3.0 + static_cast<double>(i)) - 0.1;
  return v;
}

void expect_dealt_sums(SumReducer& reducer) {
  constexpr std::size_t n = 1000;
  std::vector<double> v = dealt_values(n);
  reducer.sum_to_root(v);
  if (env().rank() != 0) return;
  ASSERT_EQ(v.size(), n);
  for (std::size_t i = 0; i < n; ++i) {
    if (i % 7 == 3) {
      EXPECT_TRUE(std::isnan(v[i])) << i;
    } else {
      const double want = 1.0 / (3.0 + static_cast<double>(i)) - 0.1;
      EXPECT_EQ(std::memcmp(&v[i], &want, sizeof want), 0) << "element " << i << ": " << v[i] << " vs " << want;
    }
  }
}

}  // namespace

TEST(SumReducer, ParsesBackends) {
  EXPECT_EQ(parse_reduce_backend("auto"), ReduceBackend::automatic);
  EXPECT_EQ(parse_reduce_backend("mpi"), ReduceBackend::mpi);
  EXPECT_EQ(parse_reduce_backend("nccl"), ReduceBackend::nccl);
  try {
    parse_reduce_backend("gloo");
    ADD_FAILURE() << "no error for 'gloo'";
  } catch (const ldmg::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'gloo' is not a reduction backend (expected auto, mpi or nccl)"),
              std::string::npos)
        << e.what();
  }
}

TEST(SumReducer, MpiSumsExactlyOntoRoot) {
  auto r = make_sum_reducer(env(), ReduceBackend::mpi);
  EXPECT_EQ(r->name(), "mpi");
  expect_dealt_sums(*r);
  // Overlapping contributions: small integers sum exactly in any order.
  std::vector<double> v = {1.0, static_cast<double>(env().rank()), -2.0};
  r->sum_to_root(v);
  const double n = env().size();
  if (env().rank() == 0) EXPECT_EQ(v, (std::vector<double>{n, n * (n - 1) / 2, -2.0 * n}));
  std::vector<double> empty;
  r->sum_to_root(empty);  // a collective on nothing is fine
  EXPECT_TRUE(empty.empty());
}

TEST(SumReducer, AutoPicksNcclOnlyWhereEveryRankHasADevice) {
  auto r = make_sum_reducer(env(), ReduceBackend::automatic);
  EXPECT_EQ(r->name(), gpu_path_available() ? "nccl" : "mpi");
  expect_dealt_sums(*r);
}

// The gpu label runs this under mpiexec -n 1 and -n 2: NCCL on device
// buffers, one GPU per rank. Skips (every rank alike) where that cannot be.
TEST(SumReducer, NcclSumsOnGpus) {
  if (!env().all_true(nccl_built() && visible_cuda_devices() > 0))
    GTEST_SKIP() << "no NCCL build or no CUDA device on some rank; NCCL reduction not tested";
  if (!env().all_true(env().local_size() <= visible_cuda_devices()))
    GTEST_SKIP() << env().size() << " ranks need " << env().size() << " GPUs (NCCL refuses two ranks on one GPU), "
                 << "this node has " << visible_cuda_devices() << "; skipped";
  auto r = make_sum_reducer(env(), ReduceBackend::nccl);
  EXPECT_EQ(r->name(), "nccl");
  expect_dealt_sums(*r);
  auto a = make_sum_reducer(env(), ReduceBackend::automatic);
  EXPECT_EQ(a->name(), "nccl");
}

TEST(SumReducer, NcclWithoutDeviceFailsOnEveryRankWithoutHanging) {
  if (gpu_path_available()) {
    auto r = make_sum_reducer(env(), ReduceBackend::nccl);
    EXPECT_EQ(r->name(), "nccl");
    expect_dealt_sums(*r);
    return;
  }
  try {
    make_sum_reducer(env(), ReduceBackend::nccl);
    ADD_FAILURE() << "no error without NCCL devices";
  } catch (const ldmg::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("--reduce nccl: "), std::string::npos) << what;
    EXPECT_NE(what.find("use --reduce mpi"), std::string::npos) << what;
  }
  env().barrier();  // every rank got here: nobody waits in an NCCL set-up
}
