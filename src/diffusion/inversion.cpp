#include "diffusion/inversion.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "core/check.h"

namespace ldmg::diffusion {

namespace {

// Adapts the U-Net's per-layer observer to the sink: selects the conditional
// rows of the batch and averages heads. (Upstream takes row [1] after a
// reshape, which equals the conditional half only when heads == 1, as in the
// real model; with more heads we average them, which is what the heatmap means.)
class CaptureObserver final : public model::AttentionObserver {
 public:
  CaptureObserver(const std::vector<int>& layers, AttentionSink& sink) : layers_(layers), sink_(sink) {}

  void set_step(int step, std::int64_t batch, std::int64_t first_cond, std::int64_t first_prompt) {
    step_ = step;
    batch_ = batch;
    first_cond_ = first_cond;
    first_prompt_ = first_prompt;
  }

  bool wants(int layer) const override { return std::binary_search(layers_.begin(), layers_.end(), layer); }

  void on_attention(int layer, const at::Tensor& probs, std::int64_t heads, std::int64_t h, std::int64_t w) override {
    LDMG_ASSERT(probs.size(0) == batch_ * heads, "attention batch {} != {} x {} heads", probs.size(0), batch_, heads);
    const auto per_batch = probs.view({batch_, heads, probs.size(1), probs.size(2)});  // [B, heads, HW, S]
    for (std::int64_t b = first_cond_; b < batch_; ++b) {
      const at::Tensor maps = heads == 1 ? per_batch[b][0] : per_batch[b].mean(0);  // [HW, S]
      sink_.on_maps(step_, layer, static_cast<int>(first_prompt_ + b - first_cond_), maps, h, w);
    }
  }

 private:
  std::vector<int> layers_;
  AttentionSink& sink_;
  int step_ = 0;
  std::int64_t batch_ = 0, first_cond_ = 0, first_prompt_ = 0;
};

at::Tensor timestep_tensor(std::int64_t t) { return at::full({1}, t, at::TensorOptions().dtype(at::kLong)); }

}  // namespace

InversionStats run_inversion(const UNetCall& unet, const InverseStepFn& inverse_step, const InversionRequest& req,
                             AttentionSink& sink, const LatentHook& latent_hook, const ProgressHook& progress) {
  const int n_steps = static_cast<int>(req.steps.size());
  LDMG_CHECK(req.capture_begin >= 0 && req.capture_begin <= req.capture_end && req.capture_end <= n_steps,
             "capture window [{}, {}) does not fit the {}-step schedule", req.capture_begin, req.capture_end, n_steps);
  LDMG_CHECK(req.z0.dim() == 4 && req.z0.size(0) == 1, "z0 must be [1,C,h,w]");
  LDMG_CHECK(req.conds.dim() == 3 && req.conds.size(0) >= 1, "need at least one conditional prompt embedding");
  for (std::size_t i = 1; i < req.layers.size(); ++i)
    LDMG_ASSERT(req.layers[i - 1] < req.layers[i], "capture layers must be ascending and unique");

  CaptureObserver observer(req.layers, sink);
  const bool capture_any = !req.layers.empty() && req.capture_end > req.capture_begin;
  const int last_layer = req.layers.empty() ? -1 : req.layers.back();
  const std::int64_t n_prompts = req.conds.size(0);
  InversionStats stats;

  if (req.mode == InversionMode::faithful) {
    // official/sampler.py:99-116: per prompt, a batch of 2 at every step.
    const int end = req.full_schedule ? n_steps : req.capture_end;
    const int total = end * static_cast<int>(n_prompts);
    for (std::int64_t p = 0; p < n_prompts; ++p) {
      const at::Tensor context = at::cat({req.uncond, req.conds.slice(0, p, p + 1)}, 0);  // [2,S,D]
      at::Tensor z = req.z0;
      for (int i = 0; i < end; ++i) {
        const bool capture = capture_any && i >= req.capture_begin && i < req.capture_end;
        observer.set_step(i, 2, 1, p);
        const at::Tensor out = unet(at::cat({z, z}, 0), timestep_tensor(req.steps[i].timestep), context,
                                    capture ? &observer : nullptr, -1);  // [2,C,h,w]
        ++stats.unet_calls;
        stats.unet_batch_rows += 2;
        // Guidance scale 0 (official/eval_ldm.py:76): only the unconditional half moves z.
        // The latent after the final step is never used (and the library stepper has
        // no noise level beyond t=999: upstream raised IndexError there).
        if (i + 1 < n_steps) {
          z = inverse_step(z, out.slice(0, 0, 1), req.steps[i]);
          if (latent_hook && p == 0) latent_hook(i, z);
        }
        if (progress) progress(static_cast<int>(p) * end + i + 1, total);
      }
    }
    return stats;
  }

  // Fast path: the unconditional chain is shared by every prompt; the
  // conditional batch runs only where maps are captured and stops after the
  // last captured layer.
  const int end = capture_any ? req.capture_end : 0;
  at::Tensor z = req.z0;
  for (int i = 0; i < end; ++i) {
    const at::Tensor t = timestep_tensor(req.steps[i].timestep);
    if (i >= req.capture_begin) {
      observer.set_step(i, n_prompts, 0, 0);
      unet(z.expand({n_prompts, z.size(1), z.size(2), z.size(3)}).contiguous(), t, req.conds, &observer, last_layer);
      ++stats.unet_calls;
      stats.unet_batch_rows += static_cast<int>(n_prompts);
    }
    if (i + 1 < end) {  // the latent after the last captured step is never used
      const at::Tensor out = unet(z, t, req.uncond, nullptr, -1);
      ++stats.unet_calls;
      stats.unet_batch_rows += 1;
      z = inverse_step(z, out, req.steps[i]);
      if (latent_hook) latent_hook(i, z);
    }
    if (progress) progress(i + 1, end);
  }
  return stats;
}

}  // namespace ldmg::diffusion
