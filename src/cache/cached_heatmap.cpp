#include "cache/cached_heatmap.h"

#include <torch/torch.h>

#include "core/check.h"

namespace ldmg::cache {

CachedPromptMaps::CachedPromptMaps(const AttentionCacheReader& reader, int prompt)
    : reader_(&reader), spec_(&reader.spec()), prompt_(prompt) {
  LDMG_CHECK(prompt >= 0 && prompt < static_cast<int>(spec_->prompts.size()), "{}: no prompt {} (the unit has {})",
             reader.path(), prompt, spec_->prompts.size());
}

const at::Tensor& CachedPromptMaps::layer(int index) const {
  auto it = layers_.find(index);
  if (it == layers_.end()) {
    LDMG_CHECK(spec_->layer_position(index) >= 0, "{}: attn2 layer {} is not cached", reader_->path(), index);
    it = layers_.emplace(index, reader_->layer_maps(prompt_, index)).first;  // [steps, HW, n]
  }
  return it->second;
}

pipeline::ConfigHeatmap CachedPromptMaps::heatmap(const pipeline::HeatmapConfig& config, const grounding::TokenSlice& tokens) const {
  const int n_steps = static_cast<int>(spec_->timesteps.size());
  const auto [begin, end] = config.window(static_cast<int>(spec_->T), n_steps);
  for (int s = begin; s < end; ++s)
    LDMG_CHECK(spec_->row_of_step(s) >= 0, "{}: config {} needs step {} (window {}:{}) but the cache holds steps {}:{}; "
               "run the sweep with --cache full", reader_->path(), config.name(), s, begin, end,
               spec_->cached_steps.front(), spec_->cached_steps.back() + 1);
  grounding::AggregationOptions ao;
  ao.order = config.order;
  grounding::HeatmapAccumulator acc(tokens, ao);
  // The online order: every step, and within it every layer in U-Net order.
  for (int s = begin; s < end; ++s)
    for (int l : config.layers) {
      const CachedLayer& info = spec_->layers.at(static_cast<std::size_t>(spec_->layer_position(l)));
      const at::Tensor& maps = layer(l);
      acc.add_probs(l, s, maps[spec_->row_of_step(s)], info.h, info.w);  // [HW, n]
    }
  return finish_config_heatmap(acc, config);
}

}  // namespace ldmg::cache
