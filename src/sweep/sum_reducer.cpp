#include "sweep/sum_reducer.h"

#include <algorithm>
#include <cstddef>

#include "core/check.h"
#include "core/log.h"
#include "sweep/mpi_env.h"
#if LDMG_HAVE_NCCL
#include "sweep/nccl_sum_reducer.h"
#endif

namespace ldmg::sweep {

ReduceBackend parse_reduce_backend(const std::string& s, const std::string& what) {
  if (s == "auto") return ReduceBackend::automatic;
  if (s == "mpi") return ReduceBackend::mpi;
  if (s == "nccl") return ReduceBackend::nccl;
  LDMG_FAIL("{}: '{}' is not a reduction backend (expected auto, mpi or nccl)", what, s);
}

bool nccl_built() {
#if LDMG_HAVE_NCCL
  return true;
#else
  return false;
#endif
}

int visible_cuda_devices() {
#if LDMG_HAVE_NCCL
  return nccl_visible_devices();
#else
  return 0;
#endif
}

namespace {

class MpiSumReducer final : public SumReducer {
 public:
  explicit MpiSumReducer(const MpiEnv& env) : env_(env) {}

  void sum_to_root(std::vector<double>& values) override {
    const bool root = env_.rank() == 0;
    std::vector<double> sum(root ? values.size() : 0);
    // MPI counts are int: reduce in chunks of 2^26 doubles (512 MiB).
    constexpr std::size_t kChunk = std::size_t{1} << 26;
    for (std::size_t off = 0; off < values.size(); off += kChunk) {
      const int n = static_cast<int>(std::min(kChunk, values.size() - off));
      LDMG_MPI(MPI_Reduce(values.data() + off, root ? sum.data() + off : nullptr, n, MPI_DOUBLE, MPI_SUM, 0,
                          env_.comm()));
    }
    if (root) values = std::move(sum);
  }
  std::string name() const override { return "mpi"; }

 private:
  const MpiEnv& env_;
};

}  // namespace

std::unique_ptr<SumReducer> make_sum_reducer(const MpiEnv& env, ReduceBackend backend) {
  if (backend == ReduceBackend::mpi) return std::make_unique<MpiSumReducer>(env);
  // Decide the same way on every rank: one rank without a device must not
  // leave the others waiting in the NCCL set-up.
  const int devices = visible_cuda_devices();
  const bool all_have_device = env.all_true(devices > 0);
  // NCCL refuses two ranks of one communicator on one GPU ("duplicate GPU"):
  // with more ranks on a node than GPUs, the scores go through MPI.
  const bool own_device_each = env.all_true(env.local_size() <= devices);
  if (backend == ReduceBackend::nccl) {
    LDMG_CHECK(nccl_built(), "--reduce nccl: this build has no NCCL (configure with the CUDA toolkit and NCCL, "
               "LDMG_WITH_NCCL=ON); use --reduce mpi");
    LDMG_CHECK(all_have_device, "--reduce nccl: a rank sees no CUDA device (CUDA_VISIBLE_DEVICES, driver); "
               "use --reduce mpi");
    LDMG_CHECK(own_device_each, "--reduce nccl: NCCL needs one GPU per rank, but a node runs more ranks than it has "
               "GPUs (this one: {} rank(s), {} GPU(s)); use --reduce mpi", env.local_size(), devices);
  }
#if LDMG_HAVE_NCCL
  if (all_have_device && own_device_each) return make_nccl_sum_reducer(env);
#endif
  return std::make_unique<MpiSumReducer>(env);
}

}  // namespace ldmg::sweep
