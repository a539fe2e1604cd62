#include "cache/attention_cache_reader.h"

#include <ATen/ATen.h>

#include "cache/attention_cache_writer.h"
#include "core/check.h"

namespace ldmg::cache {

struct AttentionCacheReader::Impl {
  AttentionCacheUnit unit;
};

AttentionCacheReader::AttentionCacheReader(const std::string& path, const CacheExpectation& expect) {
  LDMG_CHECK(hdf5_is_threadsafe() || AttentionCacheWriter::live_background_writers() == 0,
             "cannot read attention cache '{}' while {} background cache writer(s) are alive: this HDF5 library is "
             "not thread-safe (commit or destroy the writers first)",
             path, AttentionCacheWriter::live_background_writers());
  impl_.reset(new Impl{AttentionCacheUnit(path, expect)});
}

AttentionCacheReader::~AttentionCacheReader() = default;
AttentionCacheReader::AttentionCacheReader(AttentionCacheReader&&) noexcept = default;
AttentionCacheReader& AttentionCacheReader::operator=(AttentionCacheReader&&) noexcept = default;

const std::string& AttentionCacheReader::path() const { return impl_->unit.path(); }
const CacheUnitSpec& AttentionCacheReader::spec() const { return impl_->unit.spec(); }
CacheDType AttentionCacheReader::dtype() const { return impl_->unit.dtype(); }
std::int64_t AttentionCacheReader::schema_version() const { return impl_->unit.schema_version(); }

at::Tensor AttentionCacheReader::maps(int prompt, int layer_index, int step) const {
  const AttentionCacheUnit& u = impl_->unit;
  std::vector<float> v = u.map_values(prompt, layer_index, step);  // checks prompt, layer and step
  const CachedLayer& l = u.spec().layers[static_cast<std::size_t>(u.spec().layer_position(layer_index))];
  const std::int64_t n = u.spec().prompts[static_cast<std::size_t>(prompt)].n_tokens();
  return at::from_blob(v.data(), {l.h * l.w, n}, at::TensorOptions().dtype(at::kFloat)).clone();  // [HW, n]
}

at::Tensor AttentionCacheReader::layer_maps(int prompt, int layer_index) const {
  const AttentionCacheUnit& u = impl_->unit;
  std::vector<float> v = u.layer_values(prompt, layer_index);  // checks prompt and layer
  const CachedLayer& l = u.spec().layers[static_cast<std::size_t>(u.spec().layer_position(layer_index))];
  const std::int64_t n = u.spec().prompts[static_cast<std::size_t>(prompt)].n_tokens();
  const auto rows = static_cast<std::int64_t>(u.spec().cached_steps.size());
  return at::from_blob(v.data(), {rows, l.h * l.w, n}, at::TensorOptions().dtype(at::kFloat)).clone();  // [R, HW, n]
}

}  // namespace ldmg::cache
