#include "io/tensor_archive.h"

#include "io/safetensors.h"
#include "io/torch_zip.h"

namespace ldmg::io {

const TensorRecord* TensorArchive::find(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

bool looks_like_zip(std::string_view bytes) { return bytes.substr(0, 4) == std::string_view("PK\x03\x04", 4); }

TensorArchive read_tensor_archive(const std::string& path) {
  ByteStore bytes = ByteStore::map_file(path);
  if (looks_like_zip(bytes)) return parse_torch_zip(std::move(bytes), path);
  return parse_safetensors(std::move(bytes), path);
}

std::vector<std::int64_t> contiguous_strides(const std::vector<std::int64_t>& shape) {
  std::vector<std::int64_t> strides(shape.size(), 1);
  for (int i = static_cast<int>(shape.size()) - 2; i >= 0; --i) strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

}  // namespace ldmg::io
