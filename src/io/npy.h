#pragma once
// NumPy .npy files (numpy/lib/format.py, "NEP 1"): magic "\x93NUMPY", version
// byte pair, little-endian header length, a Python dict literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (h, w), } padded with
// spaces and '\n' so that the data starts at a multiple of 64 bytes, then the
// raw C-order little-endian data. We write v1.0; we read v1.0, v2.0 and v3.0.
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/dtype.h"

namespace ldmg::io {

// A whole array in memory: C order, little-endian elements.
struct NpyArray {
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;  // () for a scalar
  std::string bytes;                // numel(shape) * dtype_size(dtype)

  std::int64_t numel() const { return numel_of(shape); }
  // Copies the data out as T; throws ldmg::Error if T does not match dtype.
  template <typename T>
  std::vector<T> values() const;
};

// The numpy 'descr' of a dtype ('<f4', '<f8', '<f2', '<i8', '<i4', '|u1', '|b1');
// BF16 has none and throws.
std::string npy_descr(DType dtype);

// The 64-byte-aligned v1.0 header (magic through '\n') for an array.
std::string npy_header(DType dtype, const std::vector<std::int64_t>& shape);

// Header + data. `data` holds numel(shape) * dtype_size(dtype) bytes.
std::string serialize_npy(DType dtype, const std::vector<std::int64_t>& shape, const void* data);

// Writes atomically (io::write_file_atomic).
void write_npy(const std::string& path, DType dtype, const std::vector<std::int64_t>& shape, const void* data);

// Validates magic, version, header length, the dict (keys, dtype, C order,
// shape) and the data size; errors name `source` (a path or a label).
NpyArray parse_npy(std::string bytes, const std::string& source);
NpyArray read_npy(const std::string& path);

// Throw ldmg::Error when a value count does not fill `shape` / a dtype differs.
void check_npy_count(const std::string& path, std::size_t count, const std::vector<std::int64_t>& shape);
void check_npy_dtype(DType have, DType want);

// The DType for a C++ element type (float, double, int64, int32, uint8, bool).
template <typename T>
constexpr DType npy_dtype_of();
template <>
constexpr DType npy_dtype_of<float>() {
  return DType::F32;
}
template <>
constexpr DType npy_dtype_of<double>() {
  return DType::F64;
}
template <>
constexpr DType npy_dtype_of<std::int64_t>() {
  return DType::I64;
}
template <>
constexpr DType npy_dtype_of<std::int32_t>() {
  return DType::I32;
}
template <>
constexpr DType npy_dtype_of<std::uint8_t>() {
  return DType::U8;
}
template <>
constexpr DType npy_dtype_of<bool>() {
  return DType::Bool;
}

// Typed convenience: write_npy(path, std::span<const float>(v), {h, w}).
template <typename T>
void write_npy(const std::string& path, std::span<const T> values, const std::vector<std::int64_t>& shape) {
  check_npy_count(path, values.size(), shape);
  write_npy(path, npy_dtype_of<T>(), shape, values.data());
}

template <typename T>
std::vector<T> NpyArray::values() const {
  check_npy_dtype(dtype, npy_dtype_of<T>());
  std::vector<T> out(bytes.size() / sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), bytes.data(), out.size() * sizeof(T));
  return out;
}

}  // namespace ldmg::io
