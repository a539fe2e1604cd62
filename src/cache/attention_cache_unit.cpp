#include "cache/attention_cache_unit.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/check.h"

namespace ldmg::cache {

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

// Metadata datasets are small by nature: check rank and length before
// reading, so a damaged file cannot make us allocate what its shape claims.
io::h5::Dataset column(const io::h5::Group& g, const std::string& name, std::int64_t max_length,
                       const std::string& path) {
  LDMG_CHECK(g.kind(name) == io::h5::ObjectKind::dataset, "attention cache '{}' lacks dataset '{}'", path,
             (g.path() == "/" ? "" : g.path()) + "/" + name);
  io::h5::Dataset d = g.open_dataset(name);
  const std::vector<std::int64_t> shape = d.shape();
  LDMG_CHECK(shape.size() == 1 && shape[0] <= max_length,
             "attention cache '{}': dataset '{}' has shape [{}], expected one dimension of at most {}", path, d.path(),
             fmt::join(shape, ", "), max_length);
  return d;
}


// The root attributes every committed unit file has: format, schema version, the `complete` mark.
void check_committed_header(const io::h5::File& file, const std::string& path) {
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
}

}  // namespace

void check_committed_unit(const std::string& path, const std::string& unit_id) {
  const io::h5::File file = open_unit(path);
  check_committed_header(file, path);
  LDMG_CHECK(file.has_attr("unit_id") && file.string_attr("unit_id") == unit_id,
             "attention cache '{}' holds unit '{}', expected '{}'", path,
             file.has_attr("unit_id") ? file.string_attr("unit_id") : std::string("(none)"), unit_id);
}

AttentionCacheUnit::AttentionCacheUnit(const std::string& path, const CacheExpectation& expect)
    : path_(path), file_(open_unit(path)) {
  const io::h5::File& file = file_;
  check_committed_header(file, path);

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
  spec.timesteps = column(file, "timesteps", kMaxCacheSteps, path).read_ints();
  // Range-checked here, before narrowing to int (validate_spec checks the order).
  for (std::int64_t s : column(file, "cached_steps", kMaxCacheSteps, path).read_ints()) {
    LDMG_CHECK(s >= 0 && s < static_cast<std::int64_t>(spec.timesteps.size()),
               "attention cache '{}': cached step {} outside the schedule's 0..{}", path, s,
               static_cast<std::int64_t>(spec.timesteps.size()) - 1);
    spec.cached_steps.push_back(static_cast<int>(s));
  }
  {
    const auto index = column(file, "layers/index", kMaxCacheLayers, path).read_ints();
    const auto names = column(file, "layers/name", kMaxCacheLayers, path).read_strings();
    const auto hs = column(file, "layers/h", kMaxCacheLayers, path).read_ints();
    const auto ws = column(file, "layers/w", kMaxCacheLayers, path).read_ints();
    LDMG_CHECK(names.size() == index.size() && hs.size() == index.size() && ws.size() == index.size(),
               "attention cache '{}': /layers columns have different lengths ({}, {}, {}, {})", path, index.size(),
               names.size(), hs.size(), ws.size());
    for (std::size_t i = 0; i < index.size(); ++i) {
      LDMG_CHECK(index[i] >= 0 && index[i] < kMaxCacheLayers, "attention cache '{}': layer index {} outside 0..{}",
                 path, index[i], kMaxCacheLayers - 1);
      spec.layers.push_back({static_cast<int>(index[i]), names[i], hs[i], ws[i]});
    }
  }
  const std::int64_t n_prompts = file.int_attr("n_prompts");
  LDMG_CHECK(n_prompts >= 1 && n_prompts <= kMaxCachePrompts,
             "attention cache '{}': attribute 'n_prompts' is {}, expected 1..{}", path, n_prompts, kMaxCachePrompts);
  for (std::int64_t p = 0; p < n_prompts; ++p) {
    const std::string group = cache_prompt_group(static_cast<int>(p));
    LDMG_CHECK(file.kind(group) == io::h5::ObjectKind::group, "attention cache '{}' lacks group '{}' (n_prompts = {})",
               path, group, n_prompts);
    const io::h5::Group g = file.open_group(group);
    CachedPrompt pr;
    pr.text = g.string_attr("prompt");
    pr.category = g.string_attr("category");
    pr.pair_index = g.int_attr("pair_index");
    pr.dicom_id = g.string_attr("dicom_id");
    pr.image_path = g.string_attr("image_path");
    pr.image_width = g.int_attr("image_width");
    pr.image_height = g.int_attr("image_height");
    pr.token_ids = column(g, "token_ids", kCacheContextLength, path).read_ints();
    pr.token_strings = column(g, "token_strings", kCacheContextLength, path).read_strings();
    LDMG_CHECK(g.kind("boxes") == io::h5::ObjectKind::dataset, "attention cache '{}' lacks dataset '{}/boxes'", path,
               g.path());
    const io::h5::Dataset boxes = g.open_dataset("boxes");
    const auto bshape = boxes.shape();
    LDMG_CHECK(bshape.size() == 2 && bshape[1] == 4 && bshape[0] <= kMaxCacheBoxes,
               "attention cache '{}': {}/boxes is [{}], not [n, 4] with n <= {}", path, g.path(),
               fmt::join(bshape, ", "), kMaxCacheBoxes);
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
      LDMG_CHECK(file.kind(name) == io::h5::ObjectKind::dataset, "attention cache '{}' lacks dataset '{}'", path, name);
      const io::h5::DatasetInfo info = file.open_dataset(name).info();
      const std::vector<std::int64_t> want = {rows, l.h * l.w, spec.prompts[p].n_tokens()};
      LDMG_CHECK(info.shape == want && info.type == want_type,
                 "attention cache '{}': dataset '{}' is {} [{}], the metadata says {} [{}]", path, name,
                 io::h5::to_string(info.type), fmt::join(info.shape, ", "), dtype, fmt::join(want, ", "));
    }

  spec_ = std::move(spec);
  dtype_ = dtype == "float16" ? CacheDType::f16 : CacheDType::f32;
  schema_version_ = kAttentionCacheSchemaVersion;  // check_committed_header accepts no other
}

io::h5::Dataset AttentionCacheUnit::map_dataset(int prompt, int layer_index) const {
  LDMG_CHECK(prompt >= 0 && prompt < static_cast<int>(spec_.prompts.size()),
             "attention cache '{}': prompt {} outside 0..{}", path_, prompt, spec_.prompts.size() - 1);
  if (spec_.layer_position(layer_index) < 0) {
    std::vector<int> cached;
    for (const CachedLayer& l : spec_.layers) cached.push_back(l.index);
    LDMG_FAIL("attention cache '{}' has no attn2 layer {} (cached: {})", path_, layer_index, fmt::join(cached, ", "));
  }
  return file_.open_dataset(cache_layer_dataset(prompt, layer_index));
}

std::vector<float> AttentionCacheUnit::map_values(int prompt, int layer_index, int step) const {
  const io::h5::Dataset d = map_dataset(prompt, layer_index);
  const int row = spec_.row_of_step(step);
  LDMG_CHECK(row >= 0, "attention cache '{}' does not hold step {} (cached steps: {})", path_, step,
             fmt::join(spec_.cached_steps, ", "));
  const CachedLayer& l = spec_.layers[static_cast<std::size_t>(spec_.layer_position(layer_index))];
  const std::int64_t n = spec_.prompts[static_cast<std::size_t>(prompt)].n_tokens();
  return d.read_floats_slab({row, 0, 0}, {1, l.h * l.w, n});
}

std::vector<float> AttentionCacheUnit::layer_values(int prompt, int layer_index) const {
  return map_dataset(prompt, layer_index).read_floats();
}

}  // namespace ldmg::cache
