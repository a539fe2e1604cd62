// libFuzzer: the CLIP text encoder's config.json (src/text/clip_text_config.h).
// nlohmann::json's exceptions must be turned into ldmg::Error naming the file.
#include "fuzz_common.h"
#include "text/clip_text_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  LDMG_FUZZ_BODY((void)ldmg::text::parse_clip_text_config(ldmg::fuzz::bytes(data, size), "config.json"));
  return 0;
}
