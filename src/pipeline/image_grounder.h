#pragma once
// One image, all its prompts: encode, invert once per image (fast) or once
// per prompt (faithful), stream the captured maps into one heatmap
// accumulator per (prompt, config), post-process. The online path of
// `ground`, `evaluate` and `sweep`; ground_images does the same for several
// images in one batched inversion (--batch-images).
#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <vector>

#include "diffusion/ddim_scheduler.h"
#include "diffusion/inversion.h"
#include "grounding/heatmap_aggregation.h"
#include "grounding/postprocess.h"
#include "grounding/token_selection.h"
#include "pipeline/heatmap_config.h"
#include "pipeline/model_bundle.h"

namespace ldmg::pipeline {

struct GroundingOptions {
  int T = 300;
  diffusion::Spacing spacing = diffusion::Spacing::TrailingUpstream;
  diffusion::Stepper stepper = diffusion::Stepper::New;
  diffusion::InversionMode mode = diffusion::InversionMode::faithful;
  float latent_scale = 0.3f;  // official/sampler.py:94
  std::vector<HeatmapConfig> configs = {HeatmapConfig{}};
};

struct PromptInput {
  std::string prompt;
  std::string category;  // class name for TokenMode::pathology
};

struct ConfigHeatmap {
  grounding::TokenSlice tokens;
  at::Tensor averaged;                // [512,512] mean of the resized maps
  grounding::PostprocessResult post;  // post.final = the heatmap that is scored
};

struct PromptGrounding {
  std::vector<std::int64_t> ids;  // unpadded token ids (BOS..EOS)
  bool truncated = false;         // the prompt had more than 77 tokens
  std::vector<ConfigHeatmap> per_config;
};

struct ImageGrounding {
  at::Tensor z0;  // [1,C,h,w]
  std::vector<PromptGrounding> prompts;
  diffusion::InversionStats stats;
  diffusion::InversionSchedule schedule;
};

// The tokens a config averages for one prompt (unpadded ids BOS..EOS);
// tokens=pathology uses `class_name`'s sub-tokens (the Table III rule).
grounding::TokenSlice config_tokens(const HeatmapConfig& config, const std::vector<std::int64_t>& ids,
                                    const text::ClipTokenizer& tokenizer, const std::string& class_name);
// The same, with the tokenizer asked for only when tokens=pathology needs it
// (readers of a cache load it on first use).
grounding::TokenSlice config_tokens(const HeatmapConfig& config, const std::vector<std::int64_t>& ids,
                                    const std::function<const text::ClipTokenizer&()>& tokenizer,
                                    const std::string& class_name);

// The averaged map of an accumulator, post-processed as `config` says.
ConfigHeatmap finish_config_heatmap(const grounding::HeatmapAccumulator& acc, const HeatmapConfig& config);

// The scheduler section of the models' YAML as the diffusion module's parameters.
diffusion::NoiseScheduleParams schedule_params(const model::SchedulerConfig& config);

// The noise schedule of the models' config for T steps.
diffusion::InversionSchedule make_run_schedule(const ModelBundle& models, const GroundingOptions& options);

// Layers and steps to capture beyond what the heatmap configs need (the
// attention cache: every layer at every step with --cache full).
struct CaptureExtent {
  std::vector<int> layers;  // attn2 indices; empty = nothing extra
  int begin = 0, end = 0;   // step window [begin, end)
  bool empty() const { return layers.empty() || begin >= end; }
};

// image512: [1,1,512,512] in [0,1]. `extra_sink` (optional) also receives
// every captured map (the HDF5 cache); `extra_capture` widens the capture
// beyond what the configs need.
ImageGrounding ground_image(ModelBundle& models, const at::Tensor& image512, const std::vector<PromptInput>& prompts,
                            const GroundingOptions& options, diffusion::AttentionSink* extra_sink = nullptr,
                            const diffusion::ProgressHook& progress = {}, const CaptureExtent& extra_capture = {});

// One image of ground_images: as ground_image's arguments.
struct ImageInput {
  at::Tensor image512;  // [1,1,512,512] in [0,1]
  std::vector<PromptInput> prompts;
  diffusion::AttentionSink* extra_sink = nullptr;  // optional: also receives this image's maps
  diffusion::ProgressHook progress;                // optional
};

struct BatchGrounding {
  std::vector<ImageGrounding> images;  // in input order; each one's stats are the batch's
  diffusion::InversionStats stats;     // the batch's U-Net calls
};

// Several images (different prompt counts allowed) in one batched inversion
// (diffusion::run_batched_inversion), options.mode == fast only: each image's
// heatmaps equal ground_image's within float32 batch rounding. When any
// image has an extra sink, every image captures `extra_capture` too (the
// routes of those without one drop the extra maps). Throws if anything fails:
// the caller decides whether to retry the images one by one (score_images).
BatchGrounding ground_images(ModelBundle& models, const std::vector<ImageInput>& images,
                             const GroundingOptions& options, const CaptureExtent& extra_capture = {});

}  // namespace ldmg::pipeline
