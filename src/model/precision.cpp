#include "model/precision.h"

#include <ATen/Context.h>

#include "core/check.h"

namespace ldmg::model {

Precision parse_precision(const std::string& text) {
  if (text == "fp32") return Precision::fp32;
  if (text == "bf16") return Precision::bf16;
  if (text == "fp16") return Precision::fp16;
  if (text == "tf32") return Precision::tf32;
  LDMG_FAIL("--precision: expected fp32, bf16, fp16 or tf32, got '{}'", text);
}

std::string to_string(Precision p) {
  switch (p) {
    case Precision::fp32: return "fp32";
    case Precision::bf16: return "bf16";
    case Precision::fp16: return "fp16";
    case Precision::tf32: return "tf32";
  }
  return "?";
}

c10::ScalarType scalar_type(Precision p) {
  switch (p) {
    case Precision::fp32: return c10::kFloat;
    case Precision::bf16: return c10::kBFloat16;
    case Precision::fp16: return c10::kHalf;
    case Precision::tf32: return c10::kFloat;
  }
  return c10::kFloat;
}

void set_cuda_math_mode(Precision p, bool on_cuda) {
  const bool tf32 = p == Precision::tf32 && on_cuda;
  at::globalContext().setAllowTF32CuBLAS(tf32);
  at::globalContext().setAllowTF32CuDNN(tf32);
}

}  // namespace ldmg::model
