#pragma once
// The MPI environment of one sweep process: RAII init/finalize, rank, size,
// ranks on this node, node name, and checked wrappers around MPI calls.
#include <mpi.h>

#include <functional>
#include <string>

namespace ldmg::sweep {

// Throws ldmg::Error "<call> failed: <MPI error string> (error class N)" when
// rc != MPI_SUCCESS. Needs MPI_ERRORS_RETURN on the object (MpiEnv sets it on
// MPI_COMM_WORLD; WorkQueue on its window), otherwise MPI aborts first.
void mpi_check(int rc, const char* call);
#define LDMG_MPI(call) ::ldmg::sweep::mpi_check((call), #call)

enum class MpiThreads { funneled, serialized };

// Initialises MPI if nobody has (MPI_Init_thread; also as a singleton without
// mpirun) and finalises it in the destructor if it was the one to initialise.
// Collective: every rank constructs one. On a rank-local error during a run,
// call abort(): finalising while other ranks wait in a collective would hang.
class MpiEnv {
 public:
  explicit MpiEnv(int* argc = nullptr, char*** argv = nullptr, MpiThreads threads = MpiThreads::funneled);
  ~MpiEnv();
  MpiEnv(const MpiEnv&) = delete;
  MpiEnv& operator=(const MpiEnv&) = delete;

  MPI_Comm comm() const { return MPI_COMM_WORLD; }
  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_rank() const { return local_rank_; }  // rank among the ranks on this node
  int local_size() const { return local_size_; }  // ranks on this node
  const std::string& node_name() const { return node_name_; }
  // "rank R/N" for log prefixes.
  std::string label() const;

  // CPU threads for this rank's compute without oversubscribing the node:
  // the cores in this rank's affinity mask / the ranks on this node whose
  // masks overlap it (so binding to cores, to sockets or no binding all work).
  int cpu_threads() const { return cpu_threads_; }
  // True on every rank iff `local` is true on every rank (collective).
  bool all_true(bool local) const;
  // `s` from `root` on every rank (collective).
  std::string broadcast(std::string s, int root = 0) const;
  void barrier() const;
  [[noreturn]] void abort(int exit_code) const;

 private:
  bool owns_ = false;
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1, cpu_threads_ = 1;
  std::string node_name_;
};

// Whether MPI_Init* has run and MPI_Finalize has not.
bool mpi_active();

// "cuda:<local_rank % n_gpus>", or "cpu" when n_gpus <= 0.
std::string choose_device(int local_rank, int n_gpus);
// The local rank comes from MPI (MPI_COMM_TYPE_SHARED), not from the
// launcher's variables, so it is right under mpirun, srun and any other
// launcher. The launcher's own view is a cross-check: a warning (empty when
// consistent or not launched by one) when OpenMPI's mpirun
// (OMPI_COMM_WORLD_SIZE/_LOCAL_RANK) or, without mpirun, Slurm's srun
// (SLURM_STEP_NUM_TASKS, SLURM_LOCALID; under mpirun these describe the
// daemons, not the ranks) disagrees with MPI on the number of ranks or on
// this rank's local rank: N tasks of `srun --mpi=none` are N one-rank sweeps,
// and a wrong local rank puts several ranks on one GPU. `getenv` reads the
// environment (a parameter for tests). MpiEnv logs it as a warning.
using EnvLookup = std::function<const char*(const char*)>;
std::string launcher_mismatch(int size, int local_rank, const EnvLookup& getenv);

// cores / ranks_on_node, at least 1.
int threads_per_rank(int cores, int ranks_on_node);

}  // namespace ldmg::sweep
