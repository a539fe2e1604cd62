#pragma once
// Reads a committed attention cache unit (docs/cache-format.md) for offline
// analysis: AttentionCacheUnit (the torch-free opening, validation and
// reading; every failure names the file) with the maps as tensors.
//
// HDF5 calls happen on the calling thread: with an HDF5 library built without
// thread safety, do not open or read while an AttentionCacheWriter's
// background thread is alive (the constructor refuses).
#include <ATen/core/Tensor.h>

#include <memory>
#include <string>

#include "cache/attention_cache_format.h"
#include "cache/attention_cache_unit.h"

namespace ldmg::cache {

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

}  // namespace ldmg::cache
