#include "cache/attention_cache_format.h"

#include <fmt/format.h>
#include <hdf5.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "core/check.h"

namespace ldmg::cache {

const char* to_string(CacheDType t) { return t == CacheDType::f16 ? "float16" : "float32"; }

int CacheUnitSpec::layer_position(int index) const {
  for (std::size_t i = 0; i < layers.size(); ++i)
    if (layers[i].index == index) return static_cast<int>(i);
  return -1;
}

int CacheUnitSpec::row_of_step(int step) const {
  const auto it = std::lower_bound(cached_steps.begin(), cached_steps.end(), step);
  return it != cached_steps.end() && *it == step ? static_cast<int>(it - cached_steps.begin()) : -1;
}

void validate_spec(const CacheUnitSpec& spec, const std::string& what) {
  LDMG_CHECK(!spec.unit_id.empty() && spec.unit_id.find('/') == std::string::npos && spec.unit_id != "." &&
                 spec.unit_id != "..",
             "attention cache '{}': unit id '{}' is not a plain file name", what, spec.unit_id);
  LDMG_CHECK(!spec.prompts.empty(), "attention cache '{}': no prompts", what);
  LDMG_CHECK(!spec.layers.empty(), "attention cache '{}': no layers to cache", what);
  LDMG_CHECK(!spec.timesteps.empty(), "attention cache '{}': empty schedule", what);
  LDMG_CHECK(!spec.cached_steps.empty(), "attention cache '{}': no cached steps", what);
  LDMG_CHECK(static_cast<std::int64_t>(spec.timesteps.size()) <= kMaxCacheSteps,
             "attention cache '{}': {} schedule steps, more than {}", what, spec.timesteps.size(), kMaxCacheSteps);
  LDMG_CHECK(static_cast<std::int64_t>(spec.prompts.size()) <= kMaxCachePrompts,
             "attention cache '{}': {} prompts, more than {}", what, spec.prompts.size(), kMaxCachePrompts);
  for (std::size_t i = 1; i < spec.timesteps.size(); ++i)
    LDMG_CHECK(spec.timesteps[i] > spec.timesteps[i - 1],
               "attention cache '{}': timesteps must be strictly ascending, but [{}] = {} follows {}", what, i,
               spec.timesteps[i], spec.timesteps[i - 1]);
  const auto n_steps = static_cast<int>(spec.timesteps.size());
  for (std::size_t i = 0; i < spec.cached_steps.size(); ++i) {
    const int s = spec.cached_steps[i];
    LDMG_CHECK(s >= 0 && s < n_steps, "attention cache '{}': cached step {} outside the schedule's 0..{}", what, s,
               n_steps - 1);
    LDMG_CHECK(i == 0 || s > spec.cached_steps[i - 1],
               "attention cache '{}': cached steps must be strictly ascending, but {} follows {}", what, s,
               spec.cached_steps[i - 1]);
  }
  std::set<int> seen;
  for (const CachedLayer& l : spec.layers) {
    LDMG_CHECK(l.index >= 0 && l.index < kMaxCacheLayers, "attention cache '{}': layer index {} outside 0..{}", what,
               l.index, kMaxCacheLayers - 1);
    LDMG_CHECK(seen.insert(l.index).second, "attention cache '{}': layer {} listed twice", what, l.index);
    LDMG_CHECK(l.h > 0 && l.w > 0 && l.h <= kMaxCacheMapSide && l.w <= kMaxCacheMapSide,
               "attention cache '{}': layer {} ('{}') has map size {}x{}, expected 1..{} each", what, l.index, l.name,
               l.h, l.w, kMaxCacheMapSide);
  }
  for (std::size_t p = 0; p < spec.prompts.size(); ++p) {
    const CachedPrompt& pr = spec.prompts[p];
    LDMG_CHECK(pr.n_tokens() >= 1, "attention cache '{}': prompt {} ('{}') has no tokens", what, p, pr.text);
    LDMG_CHECK(pr.n_tokens() <= kCacheContextLength,
               "attention cache '{}': prompt {} has {} tokens, more than the {} of the context", what, p,
               pr.n_tokens(), kCacheContextLength);
    LDMG_CHECK(pr.token_strings.size() == pr.token_ids.size(),
               "attention cache '{}': prompt {} has {} token ids but {} token strings", what, p, pr.token_ids.size(),
               pr.token_strings.size());
  }
}

std::string cache_unit_path(const std::string& dir, const std::string& unit_id) {
  return (std::filesystem::path(dir) / (unit_id + ".h5")).string();
}

std::string cache_prompt_group(int prompt) { return fmt::format("/prompts/{}", prompt); }

std::string cache_layer_dataset(int prompt, int layer_index) {
  return fmt::format("/prompts/{}/layer_{:02d}", prompt, layer_index);
}

bool hdf5_is_threadsafe() {
  hbool_t ts = 0;
  return H5is_library_threadsafe(&ts) >= 0 && ts;
}

}  // namespace ldmg::cache
