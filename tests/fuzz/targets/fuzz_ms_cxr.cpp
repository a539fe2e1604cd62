// libFuzzer: the MS-CXR table parser (src/data/ms_cxr.h) on arbitrary CSV
// text, without an images root (lexical path checks only) and with strict
// bounds on odd inputs.
#include "data/ms_cxr.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  LDMG_FUZZ_BODY({
    const auto t = ldmg::data::parse_csv(ldmg::fuzz::bytes(data, size), "ms_cxr.csv");
    ldmg::data::MsCxrOptions o;
    o.strict_bounds = size % 2 == 1;
    const auto ds = ldmg::data::parse_ms_cxr(t, o);
    for (const auto& p : ds.pairs()) {
      if (p.boxes.empty() || p.csv_width <= 0 || p.csv_height <= 0) __builtin_trap();
      if (p.path.empty() || p.path[0] == '/') __builtin_trap();
    }
  });
  return 0;
}
