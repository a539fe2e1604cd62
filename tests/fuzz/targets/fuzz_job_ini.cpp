// libFuzzer: the job file reader used by analyze/search (src/analysis/job_ini.h).
#include "analysis/job_ini.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  LDMG_FUZZ_BODY({
    const auto j = ldmg::analysis::JobIni::parse(ldmg::fuzz::bytes(data, size), "fuzz.ini");
    for (const char* k : {"run", "dataset", "config", "steps"}) {
      if (j.has(k)) (void)j.get(k);
      (void)j.all(k);
      (void)j.get_or(k, "");
    }
  });
  return 0;
}
