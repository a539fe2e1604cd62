#pragma once
// A work unit: one image at one T with all its prompts, named by content
// (STYLE.md §11) so resume and de-duplication are exact across runs, rank
// counts and machines. Everything is passed in as strings: no model here.
#include <string>
#include <vector>

namespace ldmg::sweep {

struct UnitKey {
  std::string image_sha256;          // sha256_file() of the image file bytes (64 lowercase hex)
  std::vector<std::string> prompts;  // all prompts of the image, in order
  int T = 0;                         // inversion strength
  std::string inversion;             // spacing/stepper/mode settings, e.g. "trailing/library/faithful"
  std::string model_digest;          // digest of the model files
  std::string cache;                 // heatmap cache settings
  std::string code_version;          // ldmg::version_string() or a stricter code version
};

inline constexpr std::size_t kUnitIdHexChars = 24;  // 96 bits of sha256

// The canonical bytes that unit_id() hashes (version 1). Each field is one
// '\n'-terminated line "<name>:<byte length>:<bytes>", so no value (not even
// a prompt holding ':' or '\n') can shift into the next field:
//   ldmg.work_unit.v1\n
//   image_sha256:64:<hex>\n
//   prompts:<count>\n
//   prompt:<len>:<bytes>\n        (count times, in order)
//   T:<len>:<decimal T>\n
//   inversion:<len>:<bytes>\n
//   model:<len>:<bytes>\n
//   cache:<len>:<bytes>\n
//   code:<len>:<bytes>\n
// Throws ldmg::Error if image_sha256 is not 64 lowercase hex or T < 0.
std::string canonical_unit_bytes(const UnitKey& key);

// The first kUnitIdHexChars hex digits of sha256(canonical_unit_bytes(key)).
std::string unit_id(const UnitKey& key);

}  // namespace ldmg::sweep
