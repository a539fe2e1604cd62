#pragma once
// <run>/cache/manifest.json, the JSON twin of cache/index.h5 that
// write_cache_index (sweep_report.h) writes: every cached unit, its file in
// the cache folder, its T and the pairs it holds (pair index -> prompt group
// of the file). Torch-free, so tests/fuzz can fuzz the reader.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ldmg::cache {

inline constexpr const char* kCacheManifestFormat = "ldmground.attention_cache_manifest";

struct CacheManifestPair {
  int pair = 0;    // row of the dataset's pair table
  int prompt = 0;  // /prompts/<prompt> of the unit file
};

struct CacheManifestUnit {
  std::string unit;  // unit id
  std::string file;  // "<unit>.h5", a plain name in the cache folder
  int T = 0;
  std::string path;  // the unit's image path
  std::vector<CacheManifestPair> pairs;
};

struct CacheManifest {
  std::int64_t schema_version = 0;
  std::vector<CacheManifestUnit> units;
};

// Parses manifest text; `where` names the file in errors. Refuses (ldmg::Error)
// invalid JSON, another format or schema version, a missing or mistyped key,
// a unit file that is not a plain `.h5` name (it is joined to the cache
// folder), and negative or out-of-range T, pair or prompt numbers.
CacheManifest parse_cache_manifest(std::string_view text, const std::string& where);
CacheManifest read_cache_manifest(const std::string& path);

}  // namespace ldmg::cache
