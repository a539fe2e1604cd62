#pragma once
// The per-work-unit attention cache (docs/cache-format.md): one HDF5 file per
// image at one T with all its prompts, holding the heads-averaged attn2 maps
// of the cached inversion steps, token columns 0..n-1 only. This header has
// what the writer and the reader share: the schema version, the metadata
// records and the object names.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace ldmg::cache {

// Bump on any change a reader of an older file would misread.
inline constexpr std::int64_t kAttentionCacheSchemaVersion = 1;
// The `format` attribute of the root group.
inline constexpr const char* kAttentionCacheFormat = "ldmground.attention_cache";

// Bounds a reader checks before it allocates what a file claims. Real units
// hold <= 77 token columns (CLIP's context), 11 layers of <= 64x64 maps,
// some hundred steps and a few prompts and boxes; the bounds are generous.
inline constexpr std::int64_t kCacheContextLength = 77;  // token columns of a prompt, at most
inline constexpr std::int64_t kMaxCacheMapSide = 1024;   // h and w of a layer's map, at most
inline constexpr std::int64_t kMaxCacheLayers = 100;     // layer indices 0..99 (two-digit dataset names)
inline constexpr std::int64_t kMaxCacheSteps = 100000;   // schedule length, at most
inline constexpr std::int64_t kMaxCachePrompts = 10000;  // prompts of one image, at most
inline constexpr std::int64_t kMaxCacheBoxes = 10000;    // boxes of one prompt, at most

enum class CacheDType { f16, f32 };
const char* to_string(CacheDType t);  // "float16" / "float32"

// One conditional prompt of the unit (one MS-CXR pair).
struct CachedPrompt {
  std::string text;
  std::vector<std::int64_t> token_ids;     // unpadded, BOS..EOS
  std::vector<std::string> token_strings;  // one per token id
  std::string category;
  std::vector<std::array<double, 4>> boxes;  // x, y, w, h in original image pixels
  std::int64_t image_width = 0;              // original image size
  std::int64_t image_height = 0;
  std::int64_t pair_index = -1;
  std::string dicom_id;
  std::string image_path;

  std::int64_t n_tokens() const { return static_cast<std::int64_t>(token_ids.size()); }
};

// One cached attn2 layer. `index` is the U-Net's attn2 layer index, the
// `layer` argument of AttentionSink::on_maps; maps are h x w, y-major.
struct CachedLayer {
  int index = 0;
  std::string name;
  std::int64_t h = 0;
  std::int64_t w = 0;
};

// Everything about a unit except the maps: what the writer is given and what
// the reader returns.
struct CacheUnitSpec {
  std::string unit_id;          // file name stem: <dir>/<unit_id>.h5
  std::int64_t T = 0;           // the paper's T (number of inference steps asked for)
  std::string config_json;      // resolved configuration (JSON text)
  std::string provenance_json;  // how the unit was made (JSON text)
  std::string model_digest;     // identifies the model files (e.g. SHA-256 over them)
  std::vector<CachedPrompt> prompts;
  std::vector<std::int64_t> timesteps;  // every step of the schedule, ascending
  std::vector<int> cached_steps;        // step indices stored, ascending; row i = cached_steps[i]
  std::vector<CachedLayer> layers;      // in U-Net order

  // Position of attn2 layer `index` in `layers`, or -1.
  int layer_position(int index) const;
  // Row of schedule step `step` in the layer datasets, or -1 if not cached.
  int row_of_step(int step) const;
};

// Throws ldmg::Error naming `what` (a file path) for an inconsistent spec:
// empty prompts/layers/cached steps, token strings not matching token ids,
// unsorted or out-of-range steps, duplicate layers, a unit id unfit for a
// file name, sizes beyond the bounds above.
void validate_spec(const CacheUnitSpec& spec, const std::string& what);

// "<dir>/<unit_id>.h5"
std::string cache_unit_path(const std::string& dir, const std::string& unit_id);
// "/prompts/<p>" and "/prompts/<p>/layer_<LL>" (LL = attn2 index, two digits).
std::string cache_prompt_group(int prompt);
std::string cache_layer_dataset(int prompt, int layer_index);

// Whether the linked HDF5 library serialises its API calls itself.
bool hdf5_is_threadsafe();

}  // namespace ldmg::cache
