// libFuzzer: the safetensors reader (src/io/safetensors.h): header length,
// JSON header, dtypes, offsets, sizes, overlaps. Every accepted tensor must
// lie inside the buffer.
#include "fuzz_common.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  LDMG_FUZZ_BODY({
    const auto a = ldmg::io::parse_safetensors(ldmg::fuzz::bytes(data, size), "fuzz.safetensors");
    (void)a;
  });
  return 0;
}
