#include "sweep/work_unit.h"

#include <algorithm>

#include "core/check.h"
#include "core/sha256.h"

namespace ldmg::sweep {

namespace {
void field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ':';
  out += std::to_string(value.size());
  out += ':';
  out += value;
  out += '\n';
}
}  // namespace

std::string canonical_unit_bytes(const UnitKey& key) {
  const bool hex = key.image_sha256.size() == 64 &&
                   std::all_of(key.image_sha256.begin(), key.image_sha256.end(),
                               [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  LDMG_CHECK(hex, "work unit: image digest '{}' is not a sha256 (64 lowercase hex digits)", key.image_sha256);
  LDMG_CHECK(key.T >= 0, "work unit: T = {} is negative", key.T);
  std::string out = "ldmg.work_unit.v1\n";
  field(out, "image_sha256", key.image_sha256);
  out += "prompts:" + std::to_string(key.prompts.size()) + "\n";
  for (const auto& p : key.prompts) field(out, "prompt", p);
  field(out, "T", std::to_string(key.T));
  field(out, "inversion", key.inversion);
  field(out, "model", key.model_digest);
  field(out, "cache", key.cache);
  field(out, "code", key.code_version);
  return out;
}

std::string unit_id(const UnitKey& key) { return sha256_hex(canonical_unit_bytes(key)).substr(0, kUnitIdHexChars); }

}  // namespace ldmg::sweep
