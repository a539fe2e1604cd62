#pragma once
// Named parameter tensors loaded from the formats their publishers ship, and
// strict loading into modules whose submodule names equal checkpoint keys.
#include <torch/nn/module.h>

#include <functional>
#include <map>
#include <set>
#include <string>

#include "io/tensor_archive.h"

namespace ldmg::model {

using StateDict = std::map<std::string, at::Tensor>;

// io::read_tensor_archive() (safetensors or torch.save zip, by content), cloned.
StateDict load_state_dict(const std::string& path);
StateDict to_state_dict(const io::TensorArchive& archive);
at::Tensor to_tensor(const io::TensorArchive& archive, const io::TensorRecord& rec);
io::TensorBlob to_blob(const std::string& name, const at::Tensor& t);

// Copies every parameter and buffer of `module` from `sd`. Strict: missing,
// unexpected (except `ignorable`) or mis-shaped keys raise one error listing
// them all. Floating tensors are converted to the parameter's dtype.
// `copied`, if given, hears each key once its tensor has been copied.
void load_into(torch::nn::Module& module, const StateDict& sd, const std::string& source,
               const std::set<std::string>& ignorable = {},
               const std::function<void(const std::string&)>& copied = {});

// load_into() straight from a weights file: every parameter is copied from
// the mapped file and its pages released at once, so the peak is the
// module's parameters plus one tensor (not plus a copy of the whole file).
void load_weights_into(torch::nn::Module& module, const std::string& path,
                       const std::set<std::string>& ignorable = {});

// All parameters of a module as blobs (float32), for writing test models.
std::vector<io::TensorBlob> module_blobs(const torch::nn::Module& module);

}  // namespace ldmg::model
