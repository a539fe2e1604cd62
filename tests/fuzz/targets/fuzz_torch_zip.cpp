// libFuzzer: the torch.save zip reader (src/io/torch_zip.h: zip directory,
// CRC-32, restricted unpickler, storages and strides).
#include "fuzz_common.h"
#include "io/torch_zip.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  LDMG_FUZZ_BODY({
    const auto a = ldmg::io::parse_torch_zip(ldmg::fuzz::bytes(data, size), "fuzz.pth");
    (void)a;
  });
  return 0;
}
