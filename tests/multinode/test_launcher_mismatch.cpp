// The launcher cross-check of MpiEnv (sweep/mpi_env.h launcher_mismatch):
// mpirun's and srun's variables, as each launcher sets them for a rank,
// against what MPI reports.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "sweep/mpi_env.h"

using ldmg::sweep::launcher_mismatch;

namespace {

struct FakeEnv {
  std::map<std::string, std::string> vars;
  ldmg::sweep::EnvLookup lookup() const {
    return [this](const char* k) -> const char* {
      const auto it = vars.find(k);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST(LauncherMismatch, NoLauncherNothingToCheck) {
  EXPECT_EQ(launcher_mismatch(1, 0, FakeEnv{}.lookup()), "");
  // The batch step of an sbatch job: Slurm variables but no srun task.
  EXPECT_EQ(launcher_mismatch(1, 0, FakeEnv{{{"SLURM_STEP_NUM_TASKS", "8"}, {"SLURM_NTASKS", "8"}}}.lookup()), "");
}

TEST(LauncherMismatch, MpirunRanksAgreeingWithMpi) {
  // Rank 3 of --host hA:2,hB:2: the second rank on hB.
  const FakeEnv env{{{"OMPI_COMM_WORLD_SIZE", "4"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "1"},
                     // mpirun inside an allocation: srun started its 2 daemons; not the ranks' view.
                     {"SLURM_STEP_NUM_TASKS", "2"}, {"SLURM_PROCID", "1"}, {"SLURM_LOCALID", "0"}}};
  EXPECT_EQ(launcher_mismatch(4, 1, env.lookup()), "");
}

TEST(LauncherMismatch, MpirunLocalRankDisagreeingWithMpi) {
  const FakeEnv env{{{"OMPI_COMM_WORLD_SIZE", "4"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}}};
  const std::string w = launcher_mismatch(4, 0, env.lookup());
  EXPECT_TRUE(contains(w, "mpirun gives this rank local rank 1 but MPI")) << w;
  EXPECT_TRUE(contains(w, "gives 0")) << w;
}

TEST(LauncherMismatch, MpirunOfAnotherMpiStartsOneRankSweeps) {
  const FakeEnv env{{{"OMPI_COMM_WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "0"}}};
  const std::string w = launcher_mismatch(1, 0, env.lookup());
  EXPECT_TRUE(contains(w, "mpirun started 2 task(s) but MPI sees 1 rank(s)")) << w;
  EXPECT_TRUE(contains(w, "not this mpirun's")) << w;
  EXPECT_FALSE(contains(w, "srun")) << w;
}

TEST(LauncherMismatch, SrunWithoutMpiPluginStartsOneRankSweeps) {
  const FakeEnv env{{{"SLURM_STEP_NUM_TASKS", "4"}, {"SLURM_PROCID", "2"}, {"SLURM_LOCALID", "0"}}};
  const std::string w = launcher_mismatch(1, 0, env.lookup());
  EXPECT_TRUE(contains(w, "srun started 4 task(s) but MPI sees 1 rank(s)")) << w;
  EXPECT_TRUE(contains(w, "srun --mpi=pmix")) << w;
}

TEST(LauncherMismatch, SrunTasksAgreeingOrNotOnTheLocalRank) {
  // 2 nodes x 2 tasks, task 3: SLURM_NODEID 1, SLURM_LOCALID 1.
  FakeEnv env{{{"SLURM_STEP_NUM_TASKS", "4"}, {"SLURM_PROCID", "3"}, {"SLURM_NODEID", "1"}, {"SLURM_LOCALID", "1"}}};
  EXPECT_EQ(launcher_mismatch(4, 1, env.lookup()), "");
  // MPI puts every rank on a node of its own (local rank 0): all would take GPU 0.
  const std::string w = launcher_mismatch(4, 0, env.lookup());
  EXPECT_TRUE(contains(w, "srun gives this rank local rank 1")) << w;
  env.vars["SLURM_LOCALID"] = "not-a-number";  // unreadable: not compared
  EXPECT_EQ(launcher_mismatch(4, 0, env.lookup()), "");
}
