#pragma once
// DDIM inversion with attention capture (the paper's Alg. 1; upstream
// official/sampler.py:94-116). The U-Net is a callable, the capture goes to
// an AttentionSink, so the loop knows nothing of heatmaps or caches.
#include <ATen/core/Tensor.h>

#include <functional>
#include <vector>

#include "diffusion/attention_sink.h"
#include "diffusion/ddim_scheduler.h"
#include "model/attention_observer.h"

namespace ldmg::diffusion {

enum class InversionMode {
  // The authors' loop: for every prompt its own inversion, a batch of 2
  // ([z, z] with [uncond, cond]) at every step of the schedule.
  faithful,
  // Same numbers, less work: one unconditional chain per image, stopped after
  // the last captured step; the conditional prompts run together, only at
  // captured steps, and stop after the last captured layer.
  fast,
};

// The U-Net: (x [B,C,h,w], timestep [1] int64, context [B,S,D], observer,
// stop_after_attn2 (-1 = full forward)) -> model output [B,C,h,w] (undefined
// when stopped early).
using UNetCall = std::function<at::Tensor(const at::Tensor& x, const at::Tensor& timestep, const at::Tensor& context,
                                          model::AttentionObserver* observer, int stop_after_attn2)>;
// The scheduler's inverse step: (z, unconditional model output, step) -> next z.
using InverseStepFn = std::function<at::Tensor(const at::Tensor& z, const at::Tensor& model_out, const ScheduleStep&)>;

struct InversionRequest {
  at::Tensor z0;                     // [1,C,h,w] scaled latent
  at::Tensor uncond;                 // [1,S,D] embedding of ""
  at::Tensor conds;                  // [P,S,D] embeddings of the prompts
  std::vector<ScheduleStep> steps;  // ascending schedule
  std::vector<int> layers;           // attn2 layers to capture (ascending, unique)
  int capture_begin = 0;             // captured step indices [begin, end)
  int capture_end = 0;
  InversionMode mode = InversionMode::faithful;
  // faithful only: run the whole schedule (as the authors do) instead of
  // stopping after capture_end. Later steps never change captured maps.
  bool full_schedule = true;
};

struct InversionStats {
  int unet_calls = 0;       // forward passes, any batch size
  int unet_batch_rows = 0;  // sum of batch sizes
};

// Optional hook: the latent after step i (faithful: of prompt 0's chain).
using LatentHook = std::function<void(int step, const at::Tensor& z)>;
// Optional progress: (steps done, steps total).
using ProgressHook = std::function<void(int done, int total)>;

InversionStats run_inversion(const UNetCall& unet, const InverseStepFn& inverse_step, const InversionRequest& request,
                             AttentionSink& sink, const LatentHook& latent_hook = {}, const ProgressHook& progress = {});

// One image of a batched inversion: its request, where its maps go (with its
// own prompt indices) and its progress (optional).
struct BatchedImage {
  const InversionRequest* request = nullptr;
  AttentionSink* sink = nullptr;
  ProgressHook progress;
};

// Several images inverted together, InversionMode::fast only: at every step
// one U-Net call holds the unconditional rows of every image, and at captured
// steps one call holds the conditional rows of every prompt of every image,
// stopped after the last captured layer. The requests must share the
// schedule, the capture layers and the window (and the latent shape); each
// image gets run_inversion's maps within float32 batch rounding. Returns the
// batch's statistics: as many calls as one image alone, the rows of all.
InversionStats run_batched_inversion(const UNetCall& unet, const InverseStepFn& inverse_step,
                                     const std::vector<BatchedImage>& images);

}  // namespace ldmg::diffusion
