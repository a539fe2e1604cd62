// libFuzzer: <run>/cache/manifest.json (src/cache/cache_manifest.h). Besides
// rejecting only with ldmg::Error, every accepted unit file must be a plain
// name, since it is joined to the cache folder.
#include "cache/cache_manifest.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  LDMG_FUZZ_BODY({
    const auto m = ldmg::cache::parse_cache_manifest(ldmg::fuzz::bytes(data, size), "manifest.json");
    for (const auto& u : m.units) {
      if (u.file.find('/') != std::string::npos || u.file == ".." || u.file.empty()) __builtin_trap();
      for (const auto& p : u.pairs)
        if (p.pair < 0 || p.prompt < 0) __builtin_trap();
    }
  });
  return 0;
}
