#pragma once
// Reads a committed attention cache unit (docs/cache-format.md) for offline
// analysis. Opening validates the format, the schema version, the `complete`
// mark, the optional expected model digest / configuration, and every map
// dataset's shape against the metadata; each failure names the file.
//
// HDF5 calls happen on the calling thread: with an HDF5 library built without
// thread safety, do not open or read while an AttentionCacheWriter's
// background thread is alive (the constructor refuses).
#include <ATen/core/Tensor.h>

#include <memory>
#include <optional>
#include <string>

#include "runner/attention_cache_format.h"

namespace ldmg::runner {

// What the caller expects of the unit's origin; unset fields are not checked.
struct CacheExpectation {
  std::optional<std::string> model_digest;  // compared with the `model_digest` attribute
  std::optional<std::string> config_json;   // compared as parsed JSON with the `config` attribute
};

class AttentionCacheReader {
 public:
  explicit AttentionCacheReader(const std::string& path, const CacheExpectation& expect = {});
  ~AttentionCacheReader();
  AttentionCacheReader(AttentionCacheReader&&) noexcept;
  AttentionCacheReader& operator=(AttentionCacheReader&&) noexcept;

  const std::string& path() const;
  const CacheUnitSpec& spec() const;  // prompts, timesteps, cached steps, layers, attributes
  CacheDType dtype() const;
  std::int64_t schema_version() const;

  // Map of prompt `prompt`, attn2 layer `layer_index` (the U-Net index, as in
  // AttentionSink::on_maps), schedule step `step` (must be cached):
  // [h*w, n_tokens] float32, y-major rows.
  at::Tensor maps(int prompt, int layer_index, int step) const;
  // Every cached step of one layer: [n_cached_steps, h*w, n_tokens] float32,
  // row i = spec().cached_steps[i].
  at::Tensor layer_maps(int prompt, int layer_index) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ldmg::runner
