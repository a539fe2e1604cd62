#pragma once
// One fixed-shape call captured once as a CUDA graph and replayed: what
// `bench --device cuda` measures to tell whether graphs would pay for the
// inversion's U-Net calls (each replay is one launch instead of hundreds of
// kernel launches; at batch 2 in bf16 an H200 would finish a real-size U-Net
// call (0.64 TFLOP) in about a millisecond, so launch overhead can matter).
//
// The implementation (cuda_graph_replay.cpp) needs LibTorch's CUDA part, so it
// is its own library, ldmg_pipeline_cuda, linked only into programs that run
// models on a device (ldmg_link_device_runtime) in a CUDA build; this header
// has no CUDA types, so the benchmark takes the timer as a function.
#include <ATen/ATen.h>

#include <functional>
#include <vector>

namespace ldmg::pipeline {

struct GraphReplayTiming {
  std::vector<double> replay_seconds;  // wall seconds of each timed replay (device synchronised around it)
  double max_abs_diff = 0;             // max |replay - eager| of the call's output (float32)
};

// call(): one call on `device` whose inputs it holds (the same tensors every
// time, as a graph replays fixed addresses), returning its output.
using GraphReplayTimer =
    std::function<GraphReplayTiming(const at::Device& device, const std::function<at::Tensor()>& call, int reps)>;

// Warm-up calls on a side stream, one capture, one replay checked against an
// eager call, then `reps` timed replays. Throws ldmg::Error
// naming the device when it is not CUDA or capture fails (e.g. a host sync
// inside the call).
GraphReplayTiming time_cuda_graph_replay(const at::Device& device, const std::function<at::Tensor()>& call, int reps);

}  // namespace ldmg::pipeline
