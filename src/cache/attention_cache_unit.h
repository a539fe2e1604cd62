#pragma once
// A committed attention cache unit file (docs/cache-format.md), opened and
// validated, its maps read as float32 values. Torch-free: it is everything
// AttentionCacheReader does except wrapping the values in tensors, so the
// libFuzzer target (tests/fuzz/targets/fuzz_cache_reader.cpp) runs exactly
// the reader's checks without LibTorch.
//
// Opening validates the format, the schema version, the `complete` mark, the
// optional expected model digest / configuration, the size of every metadata
// dataset before reading it, and every map dataset's shape and type against
// the metadata; each failure names the file.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cache/attention_cache_format.h"
#include "io/hdf5_file.h"

namespace ldmg::cache {

// What the caller expects of the unit's origin; unset fields are not checked.
struct CacheExpectation {
  std::optional<std::string> model_digest;  // compared with the `model_digest` attribute
  std::optional<std::string> config_json;   // compared as parsed JSON with the `config` attribute
};

// Whether `path` is a committed cache file of unit `unit_id`, cheaply: it
// opens as HDF5 and its root says format, schema version, the `complete` mark
// and the unit id, without reading the metadata or checking the map datasets
// (AttentionCacheUnit does that). The writer marks a file complete and renames
// it into place only after every map is written and flushed, so these prove
// a finished unit; the sweep's resume checks every done unit this way.
// Throws ldmg::Error naming the file otherwise.
void check_committed_unit(const std::string& path, const std::string& unit_id);

class AttentionCacheUnit {
 public:
  explicit AttentionCacheUnit(const std::string& path, const CacheExpectation& expect = {});

  const std::string& path() const { return path_; }
  const CacheUnitSpec& spec() const { return spec_; }
  CacheDType dtype() const { return dtype_; }
  std::int64_t schema_version() const { return schema_version_; }

  // Map of prompt `prompt`, attn2 layer `layer_index`, schedule step `step`
  // (must be cached): h*w*n_tokens values, [h*w, n_tokens] y-major.
  std::vector<float> map_values(int prompt, int layer_index, int step) const;
  // Every cached step of one layer: [n_cached_steps, h*w, n_tokens] values.
  std::vector<float> layer_values(int prompt, int layer_index) const;

 private:
  // The layer's map dataset, after checking the prompt and the layer exist.
  io::h5::Dataset map_dataset(int prompt, int layer_index) const;

  std::string path_;
  io::h5::File file_;
  CacheUnitSpec spec_;
  CacheDType dtype_ = CacheDType::f16;
  std::int64_t schema_version_ = 0;
};

}  // namespace ldmg::cache
