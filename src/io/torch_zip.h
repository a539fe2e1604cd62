#pragma once
// torch.save() zip archives of state dicts (autoencoder.pth,
// diffusion_model.pth, pytorch_model.bin), read without Python or
// torch::pickle_load: a zip reader (stored entries, CRC-32 checked) and a
// restricted unpickler for the state-dict subset, like Python's
// torch.load(weights_only=True).
#include <string>

#include "io/tensor_archive.h"

namespace ldmg::io {

// Reads a torch.save zip held in `bytes` (kept as TensorArchive::bytes; each
// record points at its stored entry's data, with the pickle's storage offset
// and strides, so views and shared storages are exact). The archive folder
// is whatever the first entry's top folder is ("archive", "diffusion_model").
// Every entry must be stored (not compressed) with a matching CRC-32; a
// "byteorder" record, if present, must say "little"; a "version" record must
// exist. The pickle may only use collections.OrderedDict,
// torch._utils._rebuild_tensor_v2 / _rebuild_tensor / _rebuild_parameter,
// torch.<T>Storage / UntypedStorage and torch dtypes (as
// torch.load(weights_only=True)). The top object must be a dict: nested
// dicts are flattened with dotted names ({"state_dict": {"w": t}} gives
// "state_dict.w"), None/bool/int/float/str values go to
// TensorArchive::metadata under their dotted name, anything else is an error.
// Throws ldmg::Error naming the file and what is wrong (not a zip, bad CRC,
// forbidden pickle global, storage out of range, ...).
TensorArchive parse_torch_zip(ByteStore bytes, const std::string& source);
TensorArchive read_torch_zip(const std::string& path);

// Writes a state dict as torch.save(..., _use_new_zipfile_serialization=True)
// does: <archive>/data.pkl (protocol 2: an OrderedDict of
// _rebuild_tensor_v2 over one storage per tensor), .format_version,
// .storage_alignment, byteorder = "little", data/<i>, version = "3\n"; data
// 64-byte aligned, ZIP64 end records. PyTorch's own reader
// (PyTorchStreamReader + torch::jit::pickle_load) reads the result
// (tests/unit/io/test_torch_zip_libtorch.cpp). write_torch_zip names the archive folder after
// the file's stem, as torch.save does.
std::string serialize_torch_zip(const std::vector<TensorBlob>& tensors, const std::string& archive_name = "archive");
void write_torch_zip(const std::string& path, const std::vector<TensorBlob>& tensors);

}  // namespace ldmg::io
