// libFuzzer: the structural check that runs before GDCM sees a DICOM file
// (src/data/dicom_structure.h). It must accept or reject any bytes with
// ldmg::Error, and never read outside them, recurse without bound or hang.
#include "data/dicom_structure.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  LDMG_FUZZ_BODY({ ldmg::data::check_dicom_structure(ldmg::fuzz::bytes(data, size), "fuzz.dcm"); });
  return 0;
}
