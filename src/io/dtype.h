#pragma once
// Element types of the tensors we read and write (safetensors and torch.save).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ldmg::io {

enum class DType { F32, F16, BF16, F64, I64, I32, U8, Bool };

std::size_t dtype_size(DType t);
// safetensors spelling: "F32", "F16", "BF16", "F64", "I64", "I32", "U8", "BOOL".
std::string_view dtype_name(DType t);
// Throws ldmg::Error for a name we do not support.
DType dtype_from_name(std::string_view name);

// Number of elements of a shape; throws on negative dims or overflow.
std::int64_t numel_of(const std::vector<std::int64_t>& shape);

}  // namespace ldmg::io
