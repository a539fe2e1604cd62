#pragma once
// Where the inversion delivers the conditional prompts' cross-attention maps:
// the online heatmap accumulator, the HDF5 cache writer, or both.
#include <ATen/core/Tensor.h>

namespace ldmg::diffusion {

class AttentionSink {
 public:
  virtual ~AttentionSink() = default;
  // probs: [HW, S] float32, heads averaged, of prompt `prompt` (index into the
  // request's conditional prompts) at inversion step `step` (index into the
  // ascending schedule) for attn2 layer `layer`; map of h x w (y-major).
  // The tensor may be a view of a U-Net buffer: copy what you keep.
  virtual void on_maps(int step, int layer, int prompt, const at::Tensor& probs, std::int64_t h, std::int64_t w) = 0;
};

}  // namespace ldmg::diffusion
