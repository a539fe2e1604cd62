#include "stub_unit_engine.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>

#include "core/sha256.h"
#include "core/version.h"

namespace ldmg::bench {

std::string StubUnitEngine::describe() const { return "zero-cost stub engine (bench/sweep_scale)"; }

sweep::SweepSettings StubUnitEngine::settings(const sweep::SweepOptions& o) const {
  sweep::SweepSettings s;
  s.inversion = "stub";
  std::vector<std::string> configs;
  for (const auto& c : o.grounding.configs) configs.push_back(c.name());
  s.outputs = fmt::format("cache={};configs={}", sweep::to_string(o.cache), fmt::join(configs, "|"));
  s.model_digest = sha256_hex("ldmground sweep_scale stub model");
  s.code_version = version_string();
  return s;
}

nlohmann::json StubUnitEngine::file_hashes() const { return {{"stub", sha256_hex("ldmground sweep_scale stub model")}}; }

pipeline::PairRow stub_row(const data::Pair& pair, int T, int config) {
  pipeline::PairRow r = pipeline::base_row(pair);
  const double x = 0.001 * pair.index + 0.01 * T + 0.1 * config;
  r.metrics.category = r.category;
  r.metrics.cnr = std::sin(x);
  r.metrics.abs_cnr = std::abs(r.metrics.cnr);
  r.metrics.miou = 0.5 + 0.5 * std::cos(3 * x);
  r.metrics.auroc = 0.5 + 0.25 * std::sin(5 * x);
  r.metrics.auroc_exact = r.metrics.auroc;
  r.otsu_threshold = static_cast<float>(0.25 + 0.5 * std::abs(std::sin(7 * x)));
  r.otsu_margin = 0.125;
  return r;
}

void StubUnitEngine::run_units(const sweep::SweepOptions& o, std::vector<sweep::UnitTask>& tasks,
                               const pipeline::OutcomeHook& on_outcome) {
  constexpr std::int64_t kTokens = 3;
  for (std::size_t k = 0; k < tasks.size(); ++k) {
    sweep::UnitTask& t = tasks[k];
    const int T = t.unit->T;
    if (t.progress) t.progress(0, 1);  // where a stop request abandons the unit
    cache::CacheUnitSpec spec;
    spec.provenance_json = nlohmann::json{{"version", version_string()}, {"files", file_hashes()}}.dump();
    spec.model_digest = settings(o).model_digest;
    for (const auto* p : t.pairs) {
      cache::CachedPrompt cp;
      cp.text = p->prompt;
      cp.token_ids = {49406, 320, 49407};
      cp.token_strings = {"<|startoftext|>", "a</w>", "<|endoftext|>"};
      cp.category = p->category;
      for (const auto& b : p->boxes) cp.boxes.push_back({double(b.x), double(b.y), double(b.w), double(b.h)});
      cp.image_width = p->csv_width;
      cp.image_height = p->csv_height;
      cp.pair_index = p->index;
      cp.dicom_id = p->dicom_id;
      cp.image_path = p->path;
      spec.prompts.push_back(std::move(cp));
    }
    spec.timesteps = {0};
    spec.cached_steps = {0};
    spec.layers = {{0, "stub.attn2", 1, 1}};
    if (diffusion::AttentionSink* sink = t.open_cache(std::move(spec))) {
      const at::Tensor probs = at::full({1, kTokens}, 1.0f / kTokens);
      for (std::size_t p = 0; p < t.pairs.size(); ++p) sink->on_maps(0, 0, static_cast<int>(p), probs, 1, 1);
    }
    pipeline::ImageOutcome outcome;
    for (const auto* p : t.pairs) {
      std::vector<pipeline::PairRow> per_cfg;
      for (std::size_t c = 0; c < o.grounding.configs.size(); ++c)
        per_cfg.push_back(stub_row(*p, T, static_cast<int>(c)));
      outcome.scored.rows.push_back(std::move(per_cfg));
    }
    outcome.scored.width = t.pairs.front()->csv_width;
    outcome.scored.height = t.pairs.front()->csv_height;
    on_outcome(k, std::move(outcome));
    if (stop_after_ >= 0 && ++computed_ == stop_after_) std::raise(SIGUSR1);
  }
}

}  // namespace ldmg::bench
