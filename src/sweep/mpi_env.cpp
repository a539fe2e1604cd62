#include "sweep/mpi_env.h"

#include <chrono>
#include <thread>

#include <sched.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <vector>

#include "core/check.h"
#include "core/log.h"
#include "core/threads.h"

namespace ldmg::sweep {

void mpi_check(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {};
  int len = 0;
  if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) std::snprintf(text, sizeof text, "unknown MPI error");
  int error_class = rc;
  MPI_Error_class(rc, &error_class);
  LDMG_FAIL("{} failed: {} (MPI error class {})", call, std::string(text, static_cast<std::size_t>(len)), error_class);
}

bool mpi_active() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized && !finalized;
}

namespace {

int to_mpi(MpiThreads t) { return t == MpiThreads::funneled ? MPI_THREAD_FUNNELED : MPI_THREAD_SERIALIZED; }

// Cores in this process's affinity mask, divided by the ranks on this node
// whose masks overlap it: right whether the launcher binds ranks to their own
// cores, to a shared socket, or not at all.
int node_aware_threads(MPI_Comm node_comm, int local_size) {
  cpu_set_t mine;
  CPU_ZERO(&mine);
  if (sched_getaffinity(0, sizeof mine, &mine) != 0) return threads_per_rank(available_cores(), local_size);
  std::vector<cpu_set_t> all(static_cast<std::size_t>(local_size));
  LDMG_MPI(MPI_Allgather(&mine, sizeof mine, MPI_BYTE, all.data(), sizeof mine, MPI_BYTE, node_comm));
  int sharing = 0;
  for (auto& other : all) {
    cpu_set_t both;
    CPU_AND(&both, &mine, &other);
    if (CPU_COUNT(&both) > 0) ++sharing;
  }
  return threads_per_rank(CPU_COUNT(&mine), std::max(1, sharing));
}

}  // namespace

MpiEnv::MpiEnv(int* argc, char*** argv, MpiThreads threads) {
  int initialized = 0;
  LDMG_MPI(MPI_Initialized(&initialized));
  const int wanted = to_mpi(threads);
  if (!initialized) {
    int provided = 0;
    // Errors before init are fatal by definition; nothing to return to.
    if (MPI_Init_thread(argc, argv, wanted, &provided) != MPI_SUCCESS) LDMG_FAIL("MPI_Init_thread failed");
    owns_ = true;
    if (provided < wanted) {
      MPI_Finalize();
      owns_ = false;
      LDMG_FAIL("MPI_Init_thread: the MPI library provides thread level {}, ldmground needs {}", provided, wanted);
    }
  } else {
    int provided = 0;
    LDMG_MPI(MPI_Query_thread(&provided));
    LDMG_CHECK(provided >= wanted, "MPI was initialised with thread level {}, ldmground needs {}", provided, wanted);
  }
  LDMG_MPI(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  LDMG_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
  LDMG_MPI(MPI_Comm_size(MPI_COMM_WORLD, &size_));

  MPI_Comm node = MPI_COMM_NULL;
  LDMG_MPI(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node));
  LDMG_MPI(MPI_Comm_set_errhandler(node, MPI_ERRORS_RETURN));
  LDMG_MPI(MPI_Comm_rank(node, &local_rank_));
  LDMG_MPI(MPI_Comm_size(node, &local_size_));
  cpu_threads_ = node_aware_threads(node, local_size_);
  LDMG_MPI(MPI_Comm_free(&node));

  char name[MPI_MAX_PROCESSOR_NAME] = {};
  int len = 0;
  LDMG_MPI(MPI_Get_processor_name(name, &len));
  node_name_.assign(name, static_cast<std::size_t>(len));
  const std::string mismatch = launcher_mismatch(size_, local_rank_, [](const char* k) { return std::getenv(k); });
  if (!mismatch.empty()) log::warn("rank {} on {}: {}", rank_, node_name_, mismatch);
}

MpiEnv::~MpiEnv() {
  if (owns_ && mpi_active()) MPI_Finalize();
}

std::string MpiEnv::label() const { return fmt::format("rank {}/{}", rank_, size_); }

// Ranks that finish early wait for the others here. A blocking collective
// busy-polls (OpenMPI's default) and takes a core from the ranks still
// computing, which halved a 2-core node's throughput; polling a
// non-blocking one every few milliseconds costs nothing measurable.
static void wait_idle(MPI_Request& request, const char* call) {
  for (int done = 0;;) {
    mpi_check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), call);
    if (done) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool MpiEnv::all_true(bool local) const {
  int in = local ? 1 : 0, out = 0;
  MPI_Request req = MPI_REQUEST_NULL;
  LDMG_MPI(MPI_Iallreduce(&in, &out, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD, &req));
  wait_idle(req, "MPI_Iallreduce");
  return out != 0;
}

std::string MpiEnv::broadcast(std::string s, int root) const {
  unsigned long long n = s.size();
  MPI_Request req = MPI_REQUEST_NULL;
  LDMG_MPI(MPI_Ibcast(&n, 1, MPI_UNSIGNED_LONG_LONG, root, MPI_COMM_WORLD, &req));
  wait_idle(req, "MPI_Ibcast");  // the root may plan for a while first
  s.resize(n);
  // One call per 1 GiB chunk: MPI counts are int.
  for (unsigned long long off = 0; off < n; off += (1ull << 30)) {
    const int chunk = static_cast<int>(std::min<unsigned long long>(n - off, 1ull << 30));
    LDMG_MPI(MPI_Bcast(s.data() + off, chunk, MPI_CHAR, root, MPI_COMM_WORLD));
  }
  return s;
}

void MpiEnv::barrier() const {
  MPI_Request req = MPI_REQUEST_NULL;
  LDMG_MPI(MPI_Ibarrier(MPI_COMM_WORLD, &req));
  wait_idle(req, "MPI_Ibarrier");
}

void MpiEnv::abort(int exit_code) const {
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);  // MPI_Abort should not return
}

std::string choose_device(int local_rank, int n_gpus) {
  LDMG_CHECK(local_rank >= 0, "choose_device: local rank {} is negative", local_rank);
  if (n_gpus <= 0) return "cpu";
  return fmt::format("cuda:{}", local_rank % n_gpus);
}

namespace {

// The variable as a non-negative integer, or -1 when unset or not a number.
long env_count(const EnvLookup& getenv, const char* name) {
  const char* v = getenv(name);
  if (v == nullptr || *v == '\0') return -1;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  return *end == '\0' && n >= 0 ? n : -1;
}

}  // namespace

std::string launcher_mismatch(int size, int local_rank, const EnvLookup& getenv) {
  const char* launcher = nullptr;
  long tasks = -1, local = -1;
  if (getenv("OMPI_COMM_WORLD_SIZE") != nullptr) {
    launcher = "mpirun";
    tasks = env_count(getenv, "OMPI_COMM_WORLD_SIZE");
    local = env_count(getenv, "OMPI_COMM_WORLD_LOCAL_RANK");
  } else if (getenv("SLURM_STEP_NUM_TASKS") != nullptr && getenv("SLURM_PROCID") != nullptr) {
    launcher = "srun";
    tasks = env_count(getenv, "SLURM_STEP_NUM_TASKS");
    local = env_count(getenv, "SLURM_LOCALID");
  } else {
    return {};
  }
  if (tasks >= 0 && tasks != size) {
    const bool srun = std::string(launcher) == "srun";
    const char* why = size != 1 ? ""
                      : srun    ? ": each task runs a sweep of its own (the run lock refuses all but one); give srun "
                                  "the MPI plugin (srun --mpi=pmix, see srun --mpi=list)"
                                : ": each process runs a sweep of its own (the run lock refuses all but one); "
                                  "ldmground's MPI library is not this mpirun's";
    return fmt::format("{} started {} task(s) but MPI sees {} rank(s) in this job{}", launcher, tasks, size, why);
  }
  if (local >= 0 && local != local_rank)
    return fmt::format("{} gives this rank local rank {} but MPI (ranks sharing this node's memory) gives {}: the "
                       "GPU and CPU threads follow MPI's; check that the ranks of one node see one another",
                       launcher, local, local_rank);
  return {};
}

int threads_per_rank(int cores, int ranks_on_node) {
  if (ranks_on_node < 1) ranks_on_node = 1;
  return std::max(1, cores / ranks_on_node);
}

}  // namespace ldmg::sweep
