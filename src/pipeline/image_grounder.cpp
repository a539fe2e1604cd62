#include "pipeline/image_grounder.h"

#include <torch/torch.h>

#include <algorithm>
#include <set>

#include "core/check.h"
#include "core/log.h"
#include "grounding/heatmap_aggregation.h"
#include "text/prompt_embeds.h"

namespace ldmg::pipeline {

namespace {

// Routes each captured map to the accumulators of the (prompt, config)
// pairs that use it, and to an optional extra sink.
class RoutingSink final : public diffusion::AttentionSink {
 public:
  struct Route {
    std::vector<int> layers;
    int begin = 0, end = 0;
  };
  RoutingSink(std::vector<Route> routes, std::vector<std::vector<grounding::HeatmapAccumulator>>& acc,
              diffusion::AttentionSink* extra)
      : routes_(std::move(routes)), acc_(acc), extra_(extra) {}

  void on_maps(int step, int layer, int prompt, const at::Tensor& probs, std::int64_t h, std::int64_t w) override {
    for (std::size_t c = 0; c < routes_.size(); ++c) {
      const Route& r = routes_[c];
      if (step < r.begin || step >= r.end) continue;
      if (!std::binary_search(r.layers.begin(), r.layers.end(), layer)) continue;
      acc_[prompt][c].add_probs(layer, step, probs, h, w);
    }
    if (extra_) extra_->on_maps(step, layer, prompt, probs, h, w);
  }

 private:
  std::vector<Route> routes_;
  std::vector<std::vector<grounding::HeatmapAccumulator>>& acc_;
  diffusion::AttentionSink* extra_;
};

}  // namespace

grounding::TokenSlice config_tokens(const HeatmapConfig& config, const std::vector<std::int64_t>& ids,
                                    const text::ClipTokenizer& tokenizer, const std::string& class_name) {
  return config_tokens(config, ids, [&]() -> const text::ClipTokenizer& { return tokenizer; }, class_name);
}

grounding::TokenSlice config_tokens(const HeatmapConfig& config, const std::vector<std::int64_t>& ids,
                                    const std::function<const text::ClipTokenizer&()>& tokenizer,
                                    const std::string& class_name) {
  switch (config.tokens) {
    case TokenMode::all: return grounding::prompt_tokens(ids);
    case TokenMode::pathology:
      LDMG_CHECK(!class_name.empty(), "tokens=pathology needs the pair's category name");
      return grounding::pathology_tokens(ids, tokenizer().encode_words(class_name));
    case TokenMode::slice:
      return grounding::explicit_tokens(config.token_begin, config.token_end, static_cast<int>(ids.size()));
  }
  LDMG_FAIL("unknown token mode");
}

ConfigHeatmap finish_config_heatmap(const grounding::HeatmapAccumulator& acc, const HeatmapConfig& config) {
  ConfigHeatmap h;
  h.tokens = acc.tokens();
  h.averaged = acc.finish().to(torch::kCPU);
  grounding::PostprocessOptions po;
  po.sigma = config.sigma;
  po.otsu = config.otsu;
  h.post = grounding::postprocess_heatmap(h.averaged, po);
  return h;
}

diffusion::NoiseScheduleParams schedule_params(const model::SchedulerConfig& c) {
  diffusion::NoiseScheduleParams p;
  p.schedule = diffusion::parse_beta_schedule(model::to_string(c.schedule));
  p.num_train_timesteps = c.num_train_timesteps;
  p.beta_start = c.beta_start;
  p.beta_end = c.beta_end;
  p.prediction_type = diffusion::parse_prediction_type(model::to_string(c.prediction_type));
  return p;
}

diffusion::InversionSchedule make_run_schedule(const ModelBundle& models, const GroundingOptions& options) {
  LDMG_CHECK(options.T >= 1 && options.T <= models.scheduler.num_train_timesteps,
             "--steps {} must be between 1 and the {} training timesteps", options.T,
             models.scheduler.num_train_timesteps);
  return diffusion::make_schedule(schedule_params(models.scheduler), options.T, options.spacing, options.stepper);
}

namespace {

// One image ready to invert: its outputs so far, accumulators per (prompt,
// config), the inversion request and the sink routing maps into them. Not
// movable: the sink refers to the accumulators.
struct PreparedImage {
  ImageGrounding out;
  std::vector<std::vector<grounding::HeatmapAccumulator>> acc;
  diffusion::InversionRequest req;
  std::unique_ptr<RoutingSink> sink;
};

// Everything ground_image does before the inversion. `widen` (optional)
// widens the capture beyond what the configs need (the cache's extent).
std::unique_ptr<PreparedImage> prepare_image(ModelBundle& models, const at::Tensor& image512,
                                             const std::vector<PromptInput>& prompts, const GroundingOptions& options,
                                             diffusion::AttentionSink* extra_sink, const CaptureExtent* widen) {
  LDMG_CHECK(!prompts.empty(), "ground_image: no prompts");
  LDMG_CHECK(!options.configs.empty(), "ground_image: no heatmap configs");
  const torch::Device dev(models.device);
  auto im = std::make_unique<PreparedImage>();
  ImageGrounding& out = im->out;
  out.schedule = make_run_schedule(models, options);
  const int n_steps = static_cast<int>(out.schedule.steps.size());
  const int n_layers = models.unet->num_attn2_layers();

  // Text: "" and every prompt in one batch (official get_prompt_embeds).
  std::vector<std::string> texts = {""};
  for (const auto& p : prompts) texts.push_back(p.prompt);
  std::vector<bool> truncated;
  const at::Tensor emb = text::encode_prompts(models.tokenizer, models.text_encoder, texts, &truncated).to(dev);  // [1+P,77,D]

  // Per prompt and config: the token slice and an accumulator.
  std::vector<RoutingSink::Route> routes;
  std::set<int> layer_union;
  int begin = n_steps, end = 0;
  for (const auto& c : options.configs) {
    for (int l : c.layers)
      LDMG_CHECK(l < n_layers, "heatmap config {}: layer {} but the U-Net has {} attn2 layers", c.name(), l, n_layers);
    const auto [b, e] = c.window(options.T, n_steps);
    routes.push_back({c.layers, b, e});
    layer_union.insert(c.layers.begin(), c.layers.end());
    begin = std::min(begin, b);
    end = std::max(end, e);
  }
  if (widen && !widen->empty()) {
    for (int l : widen->layers)
      LDMG_CHECK(l >= 0 && l < n_layers, "capture: layer {} but the U-Net has {} attn2 layers", l, n_layers);
    LDMG_CHECK(widen->begin >= 0 && widen->end <= n_steps, "capture: steps {}:{} outside 0:{}", widen->begin,
               widen->end, n_steps);
    layer_union.insert(widen->layers.begin(), widen->layers.end());
    begin = std::min(begin, widen->begin);
    end = std::max(end, widen->end);
  }
  im->acc.resize(prompts.size());
  out.prompts.resize(prompts.size());
  for (std::size_t p = 0; p < prompts.size(); ++p) {
    PromptGrounding& pg = out.prompts[p];
    pg.ids = models.tokenizer.encode(prompts[p].prompt);
    pg.truncated = truncated.at(p + 1);
    if (pg.truncated)
      log::warn("prompt longer than {} tokens, truncated as the authors' tokenizer does: \"{}\"",
                models.tokenizer.max_length(), prompts[p].prompt);
    for (const auto& c : options.configs) {
      const grounding::TokenSlice slice = config_tokens(c, pg.ids, models.tokenizer, prompts[p].category);
      grounding::AggregationOptions ao;
      ao.order = c.order;
      ao.out_size = image512.size(-1);
      im->acc[p].emplace_back(slice, ao);
      pg.per_config.push_back(ConfigHeatmap{slice, {}, {}});
    }
  }

  // z0 = encode(x)[0] * 0.3 (official/sampler.py:94): the mean, no sampling.
  out.z0 = models.autoencoder->encode_mean(image512.to(dev)) * options.latent_scale;  // [1,C,64,64]

  diffusion::InversionRequest& req = im->req;
  req.z0 = out.z0;
  req.uncond = emb.slice(0, 0, 1);
  req.conds = emb.slice(0, 1);
  req.steps = out.schedule.steps;
  req.layers.assign(layer_union.begin(), layer_union.end());
  req.capture_begin = begin;
  req.capture_end = end;
  req.mode = options.mode;
  im->sink = std::make_unique<RoutingSink>(std::move(routes), im->acc, extra_sink);
  return im;
}

// The U-Net and the inverse step of `models` as the inversion's callables.
diffusion::UNetCall unet_call(ModelBundle& models) {
  return [&models, dev = torch::Device(models.device)](const at::Tensor& x, const at::Tensor& t, const at::Tensor& ctx,
                                                       model::AttentionObserver* obs, int stop) {
    return models.unet->forward(x, t.to(dev), ctx, obs, stop);
  };
}

diffusion::InverseStepFn inverse_step_fn(const ModelBundle& models) {
  const auto prediction = diffusion::parse_prediction_type(model::to_string(models.scheduler.prediction_type));
  return [prediction](const at::Tensor& z, const at::Tensor& v, const diffusion::ScheduleStep& s) {
    return diffusion::inverse_step(z, v, s, prediction);
  };
}

// The heatmaps of every (prompt, config) once the inversion has run.
ImageGrounding finish_image(PreparedImage& im, const GroundingOptions& options) {
  ImageGrounding& out = im.out;
  for (std::size_t p = 0; p < out.prompts.size(); ++p)
    for (std::size_t c = 0; c < options.configs.size(); ++c) {
      const grounding::TokenSlice slice = out.prompts[p].per_config[c].tokens;
      out.prompts[p].per_config[c] = finish_config_heatmap(im.acc[p][c], options.configs[c]);
      out.prompts[p].per_config[c].tokens = slice;
    }
  return std::move(out);
}

}  // namespace

ImageGrounding ground_image(ModelBundle& models, const at::Tensor& image512, const std::vector<PromptInput>& prompts,
                            const GroundingOptions& options, diffusion::AttentionSink* extra_sink,
                            const diffusion::ProgressHook& progress, const CaptureExtent& extra_capture) {
  c10::InferenceMode inference;
  const auto im = prepare_image(models, image512, prompts, options, extra_sink, extra_sink ? &extra_capture : nullptr);
  im->out.stats =
      diffusion::run_inversion(unet_call(models), inverse_step_fn(models), im->req, *im->sink, {}, progress);
  return finish_image(*im, options);
}

BatchGrounding ground_images(ModelBundle& models, const std::vector<ImageInput>& images,
                             const GroundingOptions& options, const CaptureExtent& extra_capture) {
  LDMG_CHECK(!images.empty(), "ground_images: no images");
  LDMG_CHECK(options.mode == diffusion::InversionMode::fast,
             "ground_images: batching images needs --mode fast (faithful runs one image at a time)");
  c10::InferenceMode inference;
  // One capture extent for the whole batch: images without an extra sink get
  // the extra maps too, and their routes drop them.
  bool any_extra = false;
  for (const auto& in : images) any_extra |= in.extra_sink != nullptr;
  std::vector<std::unique_ptr<PreparedImage>> prepared;
  std::vector<diffusion::BatchedImage> batch;
  for (const auto& in : images) {
    prepared.push_back(
        prepare_image(models, in.image512, in.prompts, options, in.extra_sink, any_extra ? &extra_capture : nullptr));
    batch.push_back({&prepared.back()->req, prepared.back()->sink.get(), in.progress});
  }
  BatchGrounding out;
  out.stats = diffusion::run_batched_inversion(unet_call(models), inverse_step_fn(models), batch);
  for (auto& im : prepared) {
    im->out.stats = out.stats;
    out.images.push_back(finish_image(*im, options));
  }
  return out;
}

}  // namespace ldmg::pipeline
