#pragma once
// safetensors (huggingface/safetensors format spec): 8-byte little-endian
// header length N, N bytes of JSON {name: {dtype, shape, data_offsets}},
// optional "__metadata__" {str: str}, then the data buffer.
#include <string>
#include <string_view>
#include <vector>

#include "io/tensor_archive.h"

namespace ldmg::io {

// Parses and validates a whole file: header length within the file, JSON
// object, supported dtypes, offsets inside the buffer, byte sizes matching
// the shapes, no overlapping tensors. Throws ldmg::Error naming `source`.
TensorArchive parse_safetensors(ByteStore bytes, const std::string& source);
TensorArchive read_safetensors(const std::string& path);

// Serialises tensors (sorted by name, header padded with spaces to a
// multiple of 8, as the reference writer does) and writes atomically.
std::string serialize_safetensors(std::vector<TensorBlob> tensors,
                                  const std::map<std::string, std::string>& metadata = {});
void write_safetensors(const std::string& path, std::vector<TensorBlob> tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace ldmg::io
