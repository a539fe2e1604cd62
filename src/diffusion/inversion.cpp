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

// The conditional call of a batched inversion: batch row b is prompt
// rows[b].prompt of the image whose maps go to rows[b].sink. Heads as above.
class BatchCaptureObserver final : public model::AttentionObserver {
 public:
  struct Row {
    AttentionSink* sink = nullptr;
    int prompt = 0;
  };
  BatchCaptureObserver(const std::vector<int>& layers, std::vector<Row> rows)
      : layers_(layers), rows_(std::move(rows)) {}

  void set_step(int step) { step_ = step; }

  bool wants(int layer) const override { return std::binary_search(layers_.begin(), layers_.end(), layer); }

  void on_attention(int layer, const at::Tensor& probs, std::int64_t heads, std::int64_t h, std::int64_t w) override {
    const auto batch = static_cast<std::int64_t>(rows_.size());
    LDMG_ASSERT(probs.size(0) == batch * heads, "attention batch {} != {} x {} heads", probs.size(0), batch, heads);
    const auto per_batch = probs.view({batch, heads, probs.size(1), probs.size(2)});  // [B, heads, HW, S]
    for (std::int64_t b = 0; b < batch; ++b) {
      const at::Tensor maps = heads == 1 ? per_batch[b][0] : per_batch[b].mean(0);  // [HW, S]
      const Row& r = rows_[static_cast<std::size_t>(b)];
      r.sink->on_maps(step_, layer, r.prompt, maps, h, w);
    }
  }

 private:
  std::vector<int> layers_;
  std::vector<Row> rows_;
  int step_ = 0;
};

// Made on the latents' device: a filled tensor needs no host-to-device copy,
// which LibTorch would follow with a stream synchronisation at every step.
at::Tensor timestep_tensor(std::int64_t t, const at::Device& device) {
  return at::full({1}, t, at::TensorOptions().dtype(at::kLong).device(device));
}

bool same_steps(const std::vector<ScheduleStep>& a, const std::vector<ScheduleStep>& b) {
  auto same_float = [](float x, float y) { return x == y || (x != x && y != y); };  // NaN: no next step
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].timestep != b[i].timestep || !same_float(a[i].alpha_t, b[i].alpha_t) ||
        !same_float(a[i].alpha_next, b[i].alpha_next))
      return false;
  return true;
}

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
        const at::Tensor out = unet(at::cat({z, z}, 0), timestep_tensor(req.steps[i].timestep, req.z0.device()), context,
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
    const at::Tensor t = timestep_tensor(req.steps[i].timestep, req.z0.device());
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

InversionStats run_batched_inversion(const UNetCall& unet, const InverseStepFn& inverse_step,
                                     const std::vector<BatchedImage>& images) {
  LDMG_CHECK(!images.empty(), "batched inversion: no images");
  for (const BatchedImage& im : images)
    LDMG_ASSERT(im.request && im.sink, "batched inversion: image without request or sink");
  const InversionRequest& first = *images.front().request;
  const int n_steps = static_cast<int>(first.steps.size());
  LDMG_CHECK(first.capture_begin >= 0 && first.capture_begin <= first.capture_end && first.capture_end <= n_steps,
             "capture window [{}, {}) does not fit the {}-step schedule", first.capture_begin, first.capture_end,
             n_steps);
  for (std::size_t i = 1; i < first.layers.size(); ++i)
    LDMG_ASSERT(first.layers[i - 1] < first.layers[i], "capture layers must be ascending and unique");

  // Rows of the conditional call, image by image; the latent each row starts from.
  std::vector<BatchCaptureObserver::Row> rows;
  std::vector<std::int64_t> latent_of_row;
  std::vector<at::Tensor> z0s, unconds, conds;
  for (std::size_t k = 0; k < images.size(); ++k) {
    const InversionRequest& r = *images[k].request;
    LDMG_CHECK(r.mode == InversionMode::fast, "batched inversion: image {} is not in fast mode", k);
    LDMG_CHECK(r.z0.dim() == 4 && r.z0.size(0) == 1 && r.z0.sizes() == first.z0.sizes(),
               "batched inversion: image {}'s z0 must be [1,C,h,w] like image 0's", k);
    LDMG_CHECK(r.conds.dim() == 3 && r.conds.size(0) >= 1, "image {}: need at least one conditional prompt embedding",
               k);
    LDMG_CHECK(same_steps(r.steps, first.steps) && r.layers == first.layers && r.capture_begin == first.capture_begin &&
                   r.capture_end == first.capture_end,
               "batched inversion: image {} has another schedule, capture layers or window than image 0", k);
    z0s.push_back(r.z0);
    unconds.push_back(r.uncond);
    conds.push_back(r.conds);
    for (std::int64_t p = 0; p < r.conds.size(0); ++p) {
      rows.push_back({images[k].sink, static_cast<int>(p)});
      latent_of_row.push_back(static_cast<std::int64_t>(k));
    }
  }
  const auto n_images = static_cast<int>(images.size());
  const auto n_rows = static_cast<int>(rows.size());
  at::Tensor z = at::cat(z0s, 0);                 // [N,C,h,w]
  const at::Tensor uncond = at::cat(unconds, 0);  // [N,S,D]
  const at::Tensor cond = at::cat(conds, 0);      // [sum P,S,D]
  const at::Tensor row_latent =
      at::tensor(latent_of_row, at::TensorOptions().dtype(at::kLong)).to(z.device());  // [sum P]

  BatchCaptureObserver observer(first.layers, std::move(rows));
  const bool capture_any = !first.layers.empty() && first.capture_end > first.capture_begin;
  const int last_layer = first.layers.empty() ? -1 : first.layers.back();
  InversionStats stats;

  // As the fast path above, with every image's rows in the same calls.
  const int end = capture_any ? first.capture_end : 0;
  for (int i = 0; i < end; ++i) {
    const at::Tensor t = timestep_tensor(first.steps[i].timestep, z.device());
    if (i >= first.capture_begin) {
      observer.set_step(i);
      unet(z.index_select(0, row_latent), t, cond, &observer, last_layer);  // [sum P,C,h,w] in
      ++stats.unet_calls;
      stats.unet_batch_rows += n_rows;
    }
    if (i + 1 < end) {
      const at::Tensor out = unet(z, t, uncond, nullptr, -1);  // [N,C,h,w]
      ++stats.unet_calls;
      stats.unet_batch_rows += n_images;
      z = inverse_step(z, out, first.steps[i]);  // elementwise: each image's own step
    }
    for (const BatchedImage& im : images)
      if (im.progress) im.progress(i + 1, end);
  }
  return stats;
}

}  // namespace ldmg::diffusion
