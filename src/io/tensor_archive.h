#pragma once
// A file of named tensors held in memory, format-neutral (safetensors and
// torch.save zips both load into this). Torch-free, so fuzzers stay small.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "io/byte_store.h"
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
  ByteStore bytes;                     // backing store for every record (a buffer or a mapped file)
  std::vector<TensorRecord> tensors;   // file order (safetensors: header order)
  std::map<std::string, std::string> metadata;

  const TensorRecord* find(const std::string& name) const;
};

// Reads a safetensors file or a torch.save zip, chosen by content (a zip
// starts with "PK\3\4"). The file is mapped, not read into memory.
TensorArchive read_tensor_archive(const std::string& path);
bool looks_like_zip(std::string_view bytes);

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
