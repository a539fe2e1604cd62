#pragma once
// A file of named tensors held in memory, format-neutral (safetensors and
// torch.save zips both load into this). Torch-free, so fuzzers stay small.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "io/dtype.h"

namespace ldmg::io {

struct TensorRecord {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  std::vector<std::int64_t> strides;  // in elements; row-major when contiguous
  std::size_t data_offset = 0;        // byte offset of element [0,...,0] in TensorArchive::bytes
};

struct TensorArchive {
  std::string source;                  // file path, for error messages
  std::string bytes;                   // backing store for every record
  std::vector<TensorRecord> tensors;   // file order (safetensors: header order)
  std::map<std::string, std::string> metadata;

  const TensorRecord* find(const std::string& name) const;
};

// Row-major element strides for a shape.
std::vector<std::int64_t> contiguous_strides(const std::vector<std::int64_t>& shape);

// One tensor to write: contiguous little-endian bytes.
struct TensorBlob {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  std::string bytes;
};

}  // namespace ldmg::io
