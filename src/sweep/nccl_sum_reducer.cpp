// The NCCL backend of SumReducer (built only with LDMG_HAVE_NCCL): device
// buffers reduced with ncclReduce on `cuda:<local rank mod devices>`, the
// device a sweep rank uses (choose_device), so a GPU analysis job reduces
// where it scores.
#include <cuda_runtime.h>
#include <nccl.h>

#include <algorithm>
#include <cstddef>

#include "core/check.h"
#include "core/log.h"
#include "sweep/mpi_env.h"
#include "sweep/nccl_sum_reducer.h"

namespace ldmg::sweep {

namespace {

void cuda_check(cudaError_t rc, const char* call) {
  if (rc != cudaSuccess) LDMG_FAIL("{} failed: {} ({})", call, cudaGetErrorString(rc), static_cast<int>(rc));
}
void nccl_check(ncclResult_t rc, const char* call) {
  if (rc != ncclSuccess) LDMG_FAIL("{} failed: {} (NCCL result {})", call, ncclGetErrorString(rc), static_cast<int>(rc));
}
#define LDMG_CUDA(call) cuda_check((call), #call)
#define LDMG_NCCL(call) nccl_check((call), #call)

class NcclSumReducer final : public SumReducer {
 public:
  explicit NcclSumReducer(const MpiEnv& env) : rank_(env.rank()) {
    const int devices = nccl_visible_devices();
    device_ = env.local_rank() % devices;
    LDMG_CUDA(cudaSetDevice(device_));
    ncclUniqueId id{};
    if (rank_ == 0) LDMG_NCCL(ncclGetUniqueId(&id));
    LDMG_MPI(MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, env.comm()));
    LDMG_NCCL(ncclCommInitRank(&comm_, env.size(), id, rank_));
    LDMG_CUDA(cudaStreamCreate(&stream_));
    log::debug("NCCL reducer on cuda:{} ({} ranks)", device_, env.size());
  }
  ~NcclSumReducer() override {
    if (buffer_) cudaFree(buffer_);
    if (stream_) cudaStreamDestroy(stream_);
    if (comm_) ncclCommDestroy(comm_);
  }
  NcclSumReducer(const NcclSumReducer&) = delete;
  NcclSumReducer& operator=(const NcclSumReducer&) = delete;

  void sum_to_root(std::vector<double>& values) override {
    if (values.empty()) return;
    LDMG_CUDA(cudaSetDevice(device_));
    const std::size_t bytes = values.size() * sizeof(double);
    if (bytes > capacity_) {
      if (buffer_) LDMG_CUDA(cudaFree(buffer_));
      buffer_ = nullptr;
      LDMG_CUDA(cudaMalloc(&buffer_, bytes));
      capacity_ = bytes;
    }
    LDMG_CUDA(cudaMemcpyAsync(buffer_, values.data(), bytes, cudaMemcpyHostToDevice, stream_));
    // In place on the root; x + 0 = x exactly, so sums of one-rank values are exact.
    LDMG_NCCL(ncclReduce(buffer_, buffer_, values.size(), ncclDouble, ncclSum, 0, comm_, stream_));
    if (rank_ == 0) LDMG_CUDA(cudaMemcpyAsync(values.data(), buffer_, bytes, cudaMemcpyDeviceToHost, stream_));
    LDMG_CUDA(cudaStreamSynchronize(stream_));
  }
  std::string name() const override { return "nccl"; }

 private:
  int rank_ = 0, device_ = 0;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  void* buffer_ = nullptr;
  std::size_t capacity_ = 0;
};

}  // namespace

int nccl_visible_devices() {
  int n = 0;
  // No driver or no device is an answer (0), not an error.
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return n;
}

std::unique_ptr<SumReducer> make_nccl_sum_reducer(const MpiEnv& env) { return std::make_unique<NcclSumReducer>(env); }

}  // namespace ldmg::sweep
