#pragma once
// The NCCL backend of SumReducer (sum_reducer.h); only in builds with
// LDMG_HAVE_NCCL. Use make_sum_reducer, not these, outside the runner.
#include <memory>

#include "sweep/sum_reducer.h"

namespace ldmg::sweep {

// Collective over env's ranks; every rank must see a CUDA device.
std::unique_ptr<SumReducer> make_nccl_sum_reducer(const MpiEnv& env);
// cudaGetDeviceCount, 0 on any CUDA error (no driver, no device).
int nccl_visible_devices();

}  // namespace ldmg::sweep
