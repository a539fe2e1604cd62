#include "runner/image_grounder.h"

#include <torch/torch.h>

#include <algorithm>
#include <set>

#include "core/check.h"
#include "core/log.h"
#include "grounding/heatmap_aggregation.h"
#include "text/prompt_embeds.h"

namespace ldmg::runner {

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
  switch (config.tokens) {
    case TokenMode::all: return grounding::prompt_tokens(ids);
    case TokenMode::pathology:
      LDMG_CHECK(!class_name.empty(), "tokens=pathology needs the pair's category name");
      return grounding::pathology_tokens(ids, tokenizer.encode_words(class_name));
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

ImageGrounding ground_image(ModelBundle& models, const at::Tensor& image512, const std::vector<PromptInput>& prompts,
                            const GroundingOptions& options, diffusion::AttentionSink* extra_sink,
                            const diffusion::ProgressHook& progress, const CaptureExtent& extra_capture) {
  LDMG_CHECK(!prompts.empty(), "ground_image: no prompts");
  LDMG_CHECK(!options.configs.empty(), "ground_image: no heatmap configs");
  c10::InferenceMode inference;
  const torch::Device dev(models.device);
  ImageGrounding out;
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
  if (extra_sink && !extra_capture.empty()) {
    for (int l : extra_capture.layers)
      LDMG_CHECK(l >= 0 && l < n_layers, "capture: layer {} but the U-Net has {} attn2 layers", l, n_layers);
    LDMG_CHECK(extra_capture.begin >= 0 && extra_capture.end <= n_steps, "capture: steps {}:{} outside 0:{}",
               extra_capture.begin, extra_capture.end, n_steps);
    layer_union.insert(extra_capture.layers.begin(), extra_capture.layers.end());
    begin = std::min(begin, extra_capture.begin);
    end = std::max(end, extra_capture.end);
  }
  std::vector<std::vector<grounding::HeatmapAccumulator>> acc(prompts.size());
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
      acc[p].emplace_back(slice, ao);
      pg.per_config.push_back(ConfigHeatmap{slice, {}, {}});
    }
  }

  // z0 = encode(x)[0] * 0.3 (official/sampler.py:94): the mean, no sampling.
  out.z0 = models.autoencoder->encode_mean(image512.to(dev)) * options.latent_scale;  // [1,C,64,64]

  diffusion::InversionRequest req;
  req.z0 = out.z0;
  req.uncond = emb.slice(0, 0, 1);
  req.conds = emb.slice(0, 1);
  req.steps = out.schedule.steps;
  req.layers.assign(layer_union.begin(), layer_union.end());
  req.capture_begin = begin;
  req.capture_end = end;
  req.mode = options.mode;
  const auto prediction = diffusion::parse_prediction_type(model::to_string(models.scheduler.prediction_type));
  auto unet = [&](const at::Tensor& x, const at::Tensor& t, const at::Tensor& ctx, model::AttentionObserver* obs,
                  int stop) { return models.unet->forward(x, t.to(dev), ctx, obs, stop); };
  auto step = [&](const at::Tensor& z, const at::Tensor& v, const diffusion::ScheduleStep& s) {
    return diffusion::inverse_step(z, v, s, prediction);
  };
  RoutingSink sink(routes, acc, extra_sink);
  out.stats = diffusion::run_inversion(unet, step, req, sink, {}, progress);

  for (std::size_t p = 0; p < prompts.size(); ++p)
    for (std::size_t c = 0; c < options.configs.size(); ++c) {
      const grounding::TokenSlice slice = out.prompts[p].per_config[c].tokens;
      out.prompts[p].per_config[c] = finish_config_heatmap(acc[p][c], options.configs[c]);
      out.prompts[p].per_config[c].tokens = slice;
    }
  return out;
}

}  // namespace ldmg::runner
