#pragma once
// Element-wise sums of a double buffer across the ranks onto rank 0: the
// reduction behind `analyze` and `search` under MPI. Two backends: MPI on
// host memory (always built), and NCCL on device buffers (built when the CUDA
// toolkit and NCCL are found, LDMG_HAVE_NCCL; the communicator is set up from
// an MPI-broadcast unique id). Both are exact where every element is non-zero
// on at most one rank, which is how the analysis deals its pairs.
#include <memory>
#include <string>
#include <vector>

namespace ldmg::sweep {

class MpiEnv;

enum class ReduceBackend { automatic, mpi, nccl };

// "auto" | "mpi" | "nccl"; throws ldmg::Error naming `what` otherwise.
ReduceBackend parse_reduce_backend(const std::string& s, const std::string& what = "--reduce");

class SumReducer {
 public:
  virtual ~SumReducer() = default;
  // Collective: on return rank 0's `values` hold the sums over all ranks;
  // the other ranks' `values` are unspecified. Sizes must agree on every rank.
  virtual void sum_to_root(std::vector<double>& values) = 0;
  virtual std::string name() const = 0;
};

// Collective. `automatic` picks NCCL when this build has it and every rank
// has a CUDA device of its own (no node runs more ranks than it has GPUs),
// MPI otherwise; `nccl` throws ldmg::Error on every rank (never a hang) when
// this build lacks NCCL, some rank has no device or ranks would share one.
std::unique_ptr<SumReducer> make_sum_reducer(const MpiEnv& env, ReduceBackend backend);

// Whether this build has the NCCL path (LDMG_HAVE_NCCL).
bool nccl_built();
// CUDA devices visible to this process (0 without NCCL/CUDA or a driver).
int visible_cuda_devices();

}  // namespace ldmg::sweep
