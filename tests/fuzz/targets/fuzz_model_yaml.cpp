// libFuzzer: the YAML model configs (src/model/model_config.h): autoencoder,
// U-Net and scheduler parsers on the same text. yaml-cpp's own exceptions
// must be turned into ldmg::Error naming the file.
#include "fuzz_common.h"
#include "model/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text = ldmg::fuzz::bytes(data, size);
  LDMG_FUZZ_BODY((void)ldmg::model::parse_autoencoder_config(text, "aekl.yaml"));
  LDMG_FUZZ_BODY((void)ldmg::model::parse_unet_config(text, "ldm.yaml"));
  LDMG_FUZZ_BODY((void)ldmg::model::parse_scheduler_config(text, "ldm.yaml"));
  return 0;
}
