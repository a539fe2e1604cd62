#include "cache/cache_manifest.h"

#include <limits>
#include <nlohmann/json.hpp>

#include "cache/attention_cache_format.h"
#include "core/check.h"
#include "io/file_bytes.h"

namespace ldmg::cache {

namespace {
using nlohmann::json;

const json& member(const json& j, const char* key, const std::string& where, const std::string& at) {
  LDMG_CHECK(j.is_object(), "{}: {} must be a JSON object, found {}", where, at, j.dump());
  const auto it = j.find(key);
  LDMG_CHECK(it != j.end(), "{}: {} has no key '{}'", where, at, key);
  return *it;
}

std::string string_member(const json& j, const char* key, const std::string& where, const std::string& at) {
  const json& v = member(j, key, where, at);
  LDMG_CHECK(v.is_string(), "{}: {} '{}' must be a string, found {}", where, at, key, v.dump());
  return v.get<std::string>();
}

int int_member(const json& j, const char* key, const std::string& where, const std::string& at) {
  const json& v = member(j, key, where, at);
  LDMG_CHECK(
      v.is_number_integer() && v.get<std::int64_t>() >= 0 && v.get<std::int64_t>() <= std::numeric_limits<int>::max(),
      "{}: {} '{}' must be a non-negative integer, found {}", where, at, key, v.dump());
  return static_cast<int>(v.get<std::int64_t>());
}

const json& array_member(const json& j, const char* key, const std::string& where, const std::string& at) {
  const json& v = member(j, key, where, at);
  LDMG_CHECK(v.is_array(), "{}: {} '{}' must be an array, found {}", where, at, key, v.dump());
  return v;
}
}  // namespace

CacheManifest parse_cache_manifest(std::string_view text, const std::string& where) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    LDMG_FAIL("{}: not valid JSON ({})", where, e.what());
  }
  const std::string top = "the manifest";
  const std::string format = string_member(j, "format", where, top);
  LDMG_CHECK(format == kCacheManifestFormat, "{}: format '{}' is not '{}'", where, format, kCacheManifestFormat);
  CacheManifest m;
  const json& version = member(j, "schema_version", where, top);
  LDMG_CHECK(version.is_number_integer() && version.get<std::int64_t>() == kAttentionCacheSchemaVersion,
             "{}: schema version {}, this build reads version {}", where, version.dump(), kAttentionCacheSchemaVersion);
  m.schema_version = kAttentionCacheSchemaVersion;
  const json& units = array_member(j, "units", where, top);
  for (std::size_t i = 0; i < units.size(); ++i) {
    const std::string at = fmt::format("units[{}]", i);
    CacheManifestUnit u;
    u.unit = string_member(units[i], "unit", where, at);
    u.file = string_member(units[i], "file", where, at);
    LDMG_CHECK(u.file.size() > 3 && u.file.ends_with(".h5") && u.file.find_first_of("/\\") == std::string::npos &&
                   u.file.find('\0') == std::string::npos,
               "{}: {} file '{}' is not a plain '<unit>.h5' name in the cache folder", where, at, u.file);
    u.T = int_member(units[i], "T", where, at);
    u.path = string_member(units[i], "path", where, at);
    const json& pairs = array_member(units[i], "pairs", where, at);
    for (std::size_t k = 0; k < pairs.size(); ++k) {
      const std::string pat = fmt::format("{}.pairs[{}]", at, k);
      u.pairs.push_back({int_member(pairs[k], "pair", where, pat), int_member(pairs[k], "prompt", where, pat)});
      LDMG_CHECK(u.pairs.back().prompt < kMaxCachePrompts, "{}: {} prompt {} is beyond {}", where, pat,
                 u.pairs.back().prompt, kMaxCachePrompts - 1);
    }
    m.units.push_back(std::move(u));
  }
  return m;
}

CacheManifest read_cache_manifest(const std::string& path) {
  return parse_cache_manifest(io::read_file_bytes(path), "'" + path + "'");
}

}  // namespace ldmg::cache
