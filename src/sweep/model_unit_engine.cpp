#include "sweep/model_unit_engine.h"

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/check.h"
#include "core/version.h"
#include "pipeline/image_scoring.h"

namespace ldmg::sweep {

namespace {

// The steps a unit caches: all, the union of the configs' windows, or none.
std::pair<int, int> cache_window(const SweepOptions& o, int T, int n_steps) {
  if (o.cache == CacheMode::full) return {0, n_steps};
  int b = n_steps, e = 0;
  for (const auto& c : o.grounding.configs) {
    const auto [cb, ce] = c.window(T, n_steps);
    b = std::min(b, cb);
    e = std::max(e, ce);
  }
  return {b, e};
}

}  // namespace

std::string ModelUnitEngine::describe() const {
  return fmt::format("device {}, {} CPU thread(s)", models_.device, at::get_num_threads());
}

SweepSettings ModelUnitEngine::settings(const SweepOptions& o) const {
  const pipeline::GroundingOptions& g = o.grounding;
  SweepSettings s;
  s.inversion = fmt::format("spacing={};stepper={};mode={};attention={};latent_scale={};precision={}",
                            g.spacing == diffusion::Spacing::TrailingUpstream ? "trailing" : "exact",
                            g.stepper == diffusion::Stepper::New ? "new" : "library",
                            g.mode == diffusion::InversionMode::faithful ? "faithful" : "fast", o.attention_kernel,
                            g.latent_scale, model::to_string(models_.unet_precision));
  std::vector<std::string> configs;
  for (const auto& c : g.configs) configs.push_back(c.name());
  s.outputs = fmt::format("cache={};dtype={};configs={};box_rule={};class_name={}", to_string(o.cache),
                          to_string(o.cache_options.dtype), fmt::join(configs, "|"),
                          o.survival == data::SurvivalRule::faithful ? "faithful" : "geometric",
                          o.class_name_override);
  // Only a conversion other than the default is named, so that runs made
  // before the option existed resume under their own unit names.
  if (o.dicom_conversion != data::DicomConversion::mimic_jpg)
    s.outputs += fmt::format(";dicom={}", data::to_string(o.dicom_conversion));
  s.model_digest = models_digest(models_);
  s.code_version = version_string();
  return s;
}

void ModelUnitEngine::check_grid(const SweepOptions& o) const {
  for (int T : o.Ts) {
    pipeline::GroundingOptions g = o.grounding;
    g.T = T;
    const int n_steps = static_cast<int>(make_run_schedule(models_, g).steps.size());
    for (const auto& c : g.configs) c.window(T, n_steps);
  }
}

nlohmann::json ModelUnitEngine::file_hashes() const { return models_.file_hashes; }

void ModelUnitEngine::run_units(const SweepOptions& o, std::vector<UnitTask>& units,
                                const pipeline::OutcomeHook& on_outcome) {
  LDMG_ASSERT(!units.empty(), "an empty batch of units");
  const int T = units.front().unit->T;
  pipeline::ImageScoringOptions so;
  so.grounding = o.grounding;
  so.grounding.T = T;
  so.survival = o.survival;
  so.class_name_override = o.class_name_override;
  so.image.dicom = o.dicom_conversion;
  const auto schedule = make_run_schedule(models_, so.grounding);
  const int n_steps = static_cast<int>(schedule.steps.size());
  const auto [cb, ce] = cache_window(o, T, n_steps);
  for (int l = 0; l < models_.unet->num_attn2_layers(); ++l) so.extra_capture.layers.push_back(l);
  so.extra_capture.begin = cb;
  so.extra_capture.end = ce;

  const std::string provenance =
      nlohmann::json{{"version", version_string()}, {"files", models_.file_hashes}}.dump();
  const std::string digest = models_digest(models_);
  const auto& ae = models_.autoencoder->config();
  const std::int64_t latent = 512 >> (ae.num_channels.size() - 1);
  const auto layers = models_.unet->attn2_layers(latent, latent);

  std::vector<pipeline::ImageTask> tasks(units.size());
  for (std::size_t k = 0; k < units.size(); ++k) {
    UnitTask& u = units[k];
    LDMG_ASSERT(u.unit->T == T, "a batch mixes T={} and T={}", T, u.unit->T);
    tasks[k].pairs = u.pairs;
    tasks[k].progress = u.progress;
    tasks[k].sink_factory = [&, cb = cb, ce = ce](const data::GrayImage& img,
                                                  const std::vector<const data::Pair*>& grounded) {
      cache::CacheUnitSpec spec;
      if (o.cache != CacheMode::none) {
        spec.provenance_json = provenance;
        spec.model_digest = digest;
        for (const auto* p : grounded) {
          cache::CachedPrompt cp;
          cp.text = p->prompt;
          cp.token_ids = models_.tokenizer.encode(p->prompt);
          for (auto id : cp.token_ids) cp.token_strings.push_back(models_.tokenizer.token_string(id));
          cp.category = p->category;
          for (const auto& b : p->boxes) cp.boxes.push_back({double(b.x), double(b.y), double(b.w), double(b.h)});
          cp.image_width = img.width;
          cp.image_height = img.height;
          cp.pair_index = p->index;
          cp.dicom_id = p->dicom_id;
          cp.image_path = p->path;
          spec.prompts.push_back(std::move(cp));
        }
        for (const auto& s : schedule.steps) spec.timesteps.push_back(s.timestep);
        for (int s = cb; s < ce; ++s) spec.cached_steps.push_back(s);
        for (const auto& l : layers) spec.layers.push_back({l.index, l.name, l.h, l.w});
      }
      return u.open_cache(std::move(spec));
    };
  }
  pipeline::score_images(models_, tasks, so, on_outcome);
}

}  // namespace ldmg::sweep
