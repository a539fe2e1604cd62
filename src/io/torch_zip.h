#pragma once
// torch.save() zip archives of state dicts (autoencoder.pth,
// diffusion_model.pth, pytorch_model.bin), read without Python or
// torch::pickle_load: a zip reader (stored entries, CRC-32 checked) and a
// restricted unpickler for the state-dict subset, like Python's
// torch.load(weights_only=True).
#include <string>

#include "io/tensor_archive.h"

namespace ldmg::io {

// Throws ldmg::Error naming the file and what is wrong (not a zip, bad CRC,
// forbidden pickle global, storage out of range, ...).
TensorArchive parse_torch_zip(std::string bytes, const std::string& source);
TensorArchive read_torch_zip(const std::string& path);

// Writes a state dict as torch.save(..., _use_new_zipfile_serialization=True)
// does (archive/data.pkl protocol 2, archive/data/<n>, archive/version), so
// that tests and the demo can make .pth files that PyTorch also loads.
std::string serialize_torch_zip(const std::vector<TensorBlob>& tensors, const std::string& archive_name = "archive");
void write_torch_zip(const std::string& path, const std::vector<TensorBlob>& tensors);

}  // namespace ldmg::io
