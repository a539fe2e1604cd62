#include <gtest/gtest.h>

#include <cstdio>

#include "mpi_gtest.h"

namespace ldmg::testing_mpi {
namespace {

const sweep::MpiEnv* g_env = nullptr;

// Other ranks: print failed assertions only, with the rank.
class FailurePrinter : public testing::EmptyTestEventListener {
 public:
  explicit FailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const testing::TestPartResult& r) override {
    if (r.failed())
      std::fprintf(stderr, "[rank %d] %s:%d: Failure\n%s\n", rank_, r.file_name() ? r.file_name() : "?",
                   r.line_number(), r.summary());
  }

 private:
  int rank_;
};

}  // namespace

const sweep::MpiEnv& env() { return *g_env; }

}  // namespace ldmg::testing_mpi

int main(int argc, char** argv) {
  ldmg::sweep::MpiEnv mpi(&argc, &argv);
  ldmg::testing_mpi::g_env = &mpi;
  testing::InitGoogleTest(&argc, argv);
  if (mpi.rank() != 0) {
    auto& listeners = testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new ldmg::testing_mpi::FailurePrinter(mpi.rank()));
  }
  const int rc = RUN_ALL_TESTS();
  const bool all_passed = mpi.all_true(rc == 0);
  if (mpi.rank() == 0) std::printf("%s on %d rank(s)\n", all_passed ? "PASSED" : "FAILED", mpi.size());
  return all_passed ? 0 : 1;
}
