// libFuzzer: one ledger line (src/sweep/ledger.h parse_ledger_line); an
// accepted record must survive format -> parse unchanged.
#include "fuzz_common.h"
#include "sweep/ledger.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  LDMG_FUZZ_BODY({
    const auto r = ldmg::sweep::parse_ledger_line(ldmg::fuzz::bytes(data, size));
    const auto s = ldmg::sweep::parse_ledger_line(ldmg::sweep::format_ledger_line(r));
    if (s.unit_id != r.unit_id || s.status != r.status || s.error != r.error || s.rank != r.rank ||
        s.time != r.time)
      __builtin_trap();
  });
  return 0;
}
