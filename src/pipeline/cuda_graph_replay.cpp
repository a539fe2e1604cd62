#include "pipeline/cuda_graph_replay.h"

#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/cuda.h>

#include <algorithm>
#include <chrono>

#include "core/check.h"

namespace ldmg::pipeline {

GraphReplayTiming time_cuda_graph_replay(const at::Device& device, const std::function<at::Tensor()>& call, int reps) {
  LDMG_CHECK(device.is_cuda(), "CUDA graph timing needs a CUDA device, not {}", device.str());
  const c10::cuda::CUDAGuard on_device(device.index());
  const auto sync = [&] { torch::cuda::synchronize(device.index()); };
  sync();
  const at::Tensor eager = call().to(at::kFloat).clone();

  at::cuda::CUDAGraph graph;
  at::Tensor out;
  try {
    // Capture must not run on the legacy default stream, and the warm-up
    // calls on the capturing stream let cuBLAS and cuDNN make their
    // workspaces and plans before the capture (they may not allocate inside).
    const c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool(false, device.index());
    const c10::cuda::CUDAStreamGuard on_side(side);
    for (int i = 0; i < 3; ++i) (void)call();
    side.synchronize();
    graph.capture_begin();
    out = call();
    graph.capture_end();
  } catch (const std::exception& e) {
    LDMG_FAIL("CUDA graph capture of one call on {} failed: {}", device.str(), e.what());
  }
  sync();
  graph.replay();
  sync();

  GraphReplayTiming timing;
  timing.max_abs_diff = (out.to(at::kFloat) - eager).abs().max().item<double>();
  for (int r = 0; r < std::max(1, reps); ++r) {
    sync();
    const auto t0 = std::chrono::steady_clock::now();
    graph.replay();
    sync();
    timing.replay_seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return timing;
}

}  // namespace ldmg::pipeline
