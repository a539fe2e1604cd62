#include "model/precision.h"

#include "core/check.h"

namespace ldmg::model {

Precision parse_precision(const std::string& text) {
  if (text == "fp32") return Precision::fp32;
  if (text == "bf16") return Precision::bf16;
  if (text == "fp16") return Precision::fp16;
  LDMG_FAIL("--precision: expected fp32, bf16 or fp16, got '{}'", text);
}

std::string to_string(Precision p) {
  switch (p) {
    case Precision::fp32: return "fp32";
    case Precision::bf16: return "bf16";
    case Precision::fp16: return "fp16";
  }
  return "?";
}

c10::ScalarType scalar_type(Precision p) {
  switch (p) {
    case Precision::fp32: return c10::kFloat;
    case Precision::bf16: return c10::kBFloat16;
    case Precision::fp16: return c10::kHalf;
  }
  return c10::kFloat;
}

}  // namespace ldmg::model
