#pragma once
// A heatmap recomputed from a cached unit (offline: `analyze`, `search`)
// with the online path's own code and order: the cached maps of the config's
// layers and steps go through the same HeatmapAccumulator, step by step and
// layer by layer as the inversion delivered them, then the same
// post-processing. From a float32 cache the result equals the online heatmap
// bit for bit; from float16, within the cache's rounding.
#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <vector>

#include "cache/attention_cache_reader.h"
#include "pipeline/image_grounder.h"

namespace ldmg::cache {

// The cached maps of one prompt, read once per layer and kept for any
// number of configs: layer index -> [n_cached_steps, h*w, n_tokens] float32.
class CachedPromptMaps {
 public:
  CachedPromptMaps(const AttentionCacheReader& reader, int prompt);
  // Throws ldmg::Error naming the unit file when a layer or step the config
  // needs is not in the cache (e.g. a --cache window run and another window).
  pipeline::ConfigHeatmap heatmap(const pipeline::HeatmapConfig& config, const grounding::TokenSlice& tokens) const;
  const CachedPrompt& prompt() const { return spec_->prompts.at(static_cast<std::size_t>(prompt_)); }
  const CacheUnitSpec& spec() const { return *spec_; }

 private:
  const at::Tensor& layer(int index) const;
  const AttentionCacheReader* reader_;
  const CacheUnitSpec* spec_;
  int prompt_;
  mutable std::map<int, at::Tensor> layers_;  // read on first use
};

}  // namespace ldmg::cache
