#include "io/dtype.h"

#include <limits>

#include "core/check.h"

namespace ldmg::io {

std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F16: return 2;
    case DType::BF16: return 2;
    case DType::F64: return 8;
    case DType::I64: return 8;
    case DType::I32: return 4;
    case DType::U8: return 1;
    case DType::Bool: return 1;
  }
  LDMG_ASSERT(false, "unknown dtype {}", static_cast<int>(t));
  return 0;
}

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::F64: return "F64";
    case DType::I64: return "I64";
    case DType::I32: return "I32";
    case DType::U8: return "U8";
    case DType::Bool: return "BOOL";
  }
  return "?";
}

DType dtype_from_name(std::string_view name) {
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::F64, DType::I64, DType::I32, DType::U8, DType::Bool})
    if (dtype_name(t) == name) return t;
  LDMG_FAIL("unsupported tensor dtype '{}' (expected one of F32, F16, BF16, F64, I64, I32, U8, BOOL)", name);
}

std::int64_t numel_of(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    LDMG_CHECK(d >= 0, "negative tensor dimension {}", d);
    LDMG_CHECK(d == 0 || n <= std::numeric_limits<std::int64_t>::max() / d, "tensor shape overflows");
    n *= d;
  }
  return n;
}

}  // namespace ldmg::io
