#include "runner/attention_cache_reader.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/check.h"
#include "io/hdf5_file.h"
#include "runner/attention_cache_writer.h"

namespace ldmg::runner {

namespace {

nlohmann::json parse_config(const std::string& text, const std::string& what, const std::string& path) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    LDMG_FAIL("attention cache '{}': {} is not valid JSON: {}", path, what, e.what());
  }
}

// Opens `path`, turning HDF5's failure into a message about what usually
// causes it (a copy cut short, a writer killed before commit()).
io::h5::File open_unit(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    const bool tmp = fs::exists(path + ".tmp", ec);
    LDMG_FAIL("attention cache '{}' not found{}", path,
              tmp ? " (only an uncommitted '.tmp' exists: the writer did not finish)" : "");
  }
  try {
    return io::h5::File::open(path, io::h5::Access::read_only);
  } catch (const Error& e) {
    LDMG_FAIL("cannot open attention cache '{}': truncated or unfinished cache file, or not HDF5 ({})", path, e.what());
  }
}

}  // namespace

struct AttentionCacheReader::Impl {
  std::string path;
  io::h5::File file;
  CacheUnitSpec spec;
  CacheDType dtype = CacheDType::f16;
  std::int64_t schema_version = 0;

  io::h5::Dataset dataset(int prompt, int layer_index, int* pos) const {
    LDMG_CHECK(prompt >= 0 && prompt < static_cast<int>(spec.prompts.size()),
               "attention cache '{}': prompt {} outside 0..{}", path, prompt, spec.prompts.size() - 1);
    *pos = spec.layer_position(layer_index);
    LDMG_CHECK(*pos >= 0, "attention cache '{}' has no attn2 layer {} (cached: {})", path, layer_index,
               fmt::join(layer_indices(), ", "));
    return file.open_dataset(cache_layer_dataset(prompt, layer_index));
  }

  std::vector<int> layer_indices() const {
    std::vector<int> v;
    for (const CachedLayer& l : spec.layers) v.push_back(l.index);
    return v;
  }
};

AttentionCacheReader::AttentionCacheReader(const std::string& path, const CacheExpectation& expect) {
  LDMG_CHECK(hdf5_is_threadsafe() || AttentionCacheWriter::live_background_writers() == 0,
             "cannot read attention cache '{}' while {} background cache writer(s) are alive: this HDF5 library is "
             "not thread-safe (commit or destroy the writers first)",
             path, AttentionCacheWriter::live_background_writers());
  io::h5::File file = open_unit(path);

  LDMG_CHECK(file.has_attr("format") && file.string_attr("format") == kAttentionCacheFormat,
             "'{}' is not an ldmground attention cache (root attribute 'format' is not '{}')", path,
             kAttentionCacheFormat);
  LDMG_CHECK(file.has_attr("schema_version"), "attention cache '{}' has no 'schema_version' attribute", path);
  const std::int64_t version = file.int_attr("schema_version");
  LDMG_CHECK(version == kAttentionCacheSchemaVersion,
             "attention cache '{}' has schema version {}, this build reads version {}: recompute the cache with this "
             "build or read it with a matching one",
             path, version, kAttentionCacheSchemaVersion);
  LDMG_CHECK(file.has_attr("complete") && file.int_attr("complete") == 1,
             "attention cache '{}': truncated or unfinished cache file (no 'complete' mark; its writer did not "
             "commit)",
             path);

  CacheUnitSpec spec;
  spec.unit_id = file.string_attr("unit_id");
  spec.T = file.int_attr("T");
  spec.config_json = file.string_attr("config");
  spec.provenance_json = file.string_attr("provenance");
  spec.model_digest = file.string_attr("model_digest");
  if (expect.model_digest)
    LDMG_CHECK(spec.model_digest == *expect.model_digest,
               "attention cache '{}' was made from different model files: model digest '{}', expected '{}' "
               "(recompute the cache, or point the analysis at the model it was made with)",
               path, spec.model_digest, *expect.model_digest);
  if (expect.config_json) {
    const nlohmann::json want = parse_config(*expect.config_json, "the expected configuration", path);
    const nlohmann::json have = parse_config(spec.config_json, "its 'config' attribute", path);
    if (want != have) {
      const nlohmann::json patch = nlohmann::json::diff(have, want);
      std::string first = patch.empty() ? "" : patch.front().dump();
      LDMG_FAIL("attention cache '{}' was made with a different configuration ({} difference(s), first: {})", path,
                patch.size(), first);
    }
  }

  const std::string dtype = file.string_attr("dtype");
  LDMG_CHECK(dtype == "float16" || dtype == "float32",
             "attention cache '{}': dtype '{}' is neither float16 nor float32", path, dtype);
  spec.timesteps = file.open_dataset("timesteps").read_ints();
  for (std::int64_t s : file.open_dataset("cached_steps").read_ints()) spec.cached_steps.push_back(static_cast<int>(s));
  {
    const auto index = file.open_dataset("layers/index").read_ints();
    const auto names = file.open_dataset("layers/name").read_strings();
    const auto hs = file.open_dataset("layers/h").read_ints();
    const auto ws = file.open_dataset("layers/w").read_ints();
    LDMG_CHECK(names.size() == index.size() && hs.size() == index.size() && ws.size() == index.size(),
               "attention cache '{}': /layers columns have different lengths ({}, {}, {}, {})", path, index.size(),
               names.size(), hs.size(), ws.size());
    for (std::size_t i = 0; i < index.size(); ++i)
      spec.layers.push_back({static_cast<int>(index[i]), names[i], hs[i], ws[i]});
  }
  const std::int64_t n_prompts = file.int_attr("n_prompts");
  for (std::int64_t p = 0; p < n_prompts; ++p) {
    const io::h5::Group g = file.open_group(cache_prompt_group(static_cast<int>(p)));
    CachedPrompt pr;
    pr.text = g.string_attr("prompt");
    pr.category = g.string_attr("category");
    pr.pair_index = g.int_attr("pair_index");
    pr.dicom_id = g.string_attr("dicom_id");
    pr.image_path = g.string_attr("image_path");
    pr.image_width = g.int_attr("image_width");
    pr.image_height = g.int_attr("image_height");
    pr.token_ids = g.open_dataset("token_ids").read_ints();
    pr.token_strings = g.open_dataset("token_strings").read_strings();
    const io::h5::Dataset boxes = g.open_dataset("boxes");
    const auto bshape = boxes.shape();
    LDMG_CHECK(bshape.size() == 2 && bshape[1] == 4, "attention cache '{}': {}/boxes is not [n, 4]", path, g.path());
    const auto b = boxes.read_doubles();
    for (std::size_t i = 0; i + 3 < b.size(); i += 4) pr.boxes.push_back({b[i], b[i + 1], b[i + 2], b[i + 3]});
    spec.prompts.push_back(std::move(pr));
  }
  validate_spec(spec, path);

  // Every map dataset must match the metadata.
  const io::h5::ElemType want_type = dtype == "float16" ? io::h5::ElemType::f16 : io::h5::ElemType::f32;
  const auto rows = static_cast<std::int64_t>(spec.cached_steps.size());
  for (std::size_t p = 0; p < spec.prompts.size(); ++p)
    for (const CachedLayer& l : spec.layers) {
      const std::string name = cache_layer_dataset(static_cast<int>(p), l.index);
      LDMG_CHECK(file.exists(name), "attention cache '{}' lacks dataset '{}'", path, name);
      const io::h5::DatasetInfo info = file.open_dataset(name).info();
      const std::vector<std::int64_t> want = {rows, l.h * l.w, spec.prompts[p].n_tokens()};
      LDMG_CHECK(info.shape == want && info.type == want_type,
                 "attention cache '{}': dataset '{}' is {} [{}], the metadata says {} [{}]", path, name,
                 io::h5::to_string(info.type), fmt::join(info.shape, ", "), dtype, fmt::join(want, ", "));
    }

  impl_.reset(new Impl{path, std::move(file), std::move(spec), dtype == "float16" ? CacheDType::f16 : CacheDType::f32,
                       version});
}

AttentionCacheReader::~AttentionCacheReader() = default;
AttentionCacheReader::AttentionCacheReader(AttentionCacheReader&&) noexcept = default;
AttentionCacheReader& AttentionCacheReader::operator=(AttentionCacheReader&&) noexcept = default;

const std::string& AttentionCacheReader::path() const { return impl_->path; }
const CacheUnitSpec& AttentionCacheReader::spec() const { return impl_->spec; }
CacheDType AttentionCacheReader::dtype() const { return impl_->dtype; }
std::int64_t AttentionCacheReader::schema_version() const { return impl_->schema_version; }

at::Tensor AttentionCacheReader::maps(int prompt, int layer_index, int step) const {
  const Impl& m = *impl_;
  int pos = -1;
  const io::h5::Dataset d = m.dataset(prompt, layer_index, &pos);
  const int row = m.spec.row_of_step(step);
  LDMG_CHECK(row >= 0, "attention cache '{}' does not hold step {} (cached steps: {})", m.path, step,
             fmt::join(m.spec.cached_steps, ", "));
  const CachedLayer& l = m.spec.layers[static_cast<std::size_t>(pos)];
  const std::int64_t n = m.spec.prompts[static_cast<std::size_t>(prompt)].n_tokens();
  std::vector<float> v = d.read_floats_slab({row, 0, 0}, {1, l.h * l.w, n});
  return at::from_blob(v.data(), {l.h * l.w, n}, at::TensorOptions().dtype(at::kFloat)).clone();  // [HW, n]
}

at::Tensor AttentionCacheReader::layer_maps(int prompt, int layer_index) const {
  const Impl& m = *impl_;
  int pos = -1;
  const io::h5::Dataset d = m.dataset(prompt, layer_index, &pos);
  const CachedLayer& l = m.spec.layers[static_cast<std::size_t>(pos)];
  const std::int64_t n = m.spec.prompts[static_cast<std::size_t>(prompt)].n_tokens();
  const auto rows = static_cast<std::int64_t>(m.spec.cached_steps.size());
  std::vector<float> v = d.read_floats();
  return at::from_blob(v.data(), {rows, l.h * l.w, n}, at::TensorOptions().dtype(at::kFloat)).clone();  // [R, HW, n]
}

}  // namespace ldmg::runner
