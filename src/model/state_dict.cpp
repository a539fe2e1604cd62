#include "model/state_dict.h"

#include <torch/torch.h>

#include <functional>

#include "core/check.h"

namespace ldmg::model {

namespace {
at::ScalarType scalar_type(io::DType t) {
  switch (t) {
    case io::DType::F32: return at::kFloat;
    case io::DType::F16: return at::kHalf;
    case io::DType::BF16: return at::kBFloat16;
    case io::DType::F64: return at::kDouble;
    case io::DType::I64: return at::kLong;
    case io::DType::I32: return at::kInt;
    case io::DType::U8: return at::kByte;
    case io::DType::Bool: return at::kBool;
  }
  LDMG_ASSERT(false, "dtype");
  return at::kFloat;
}

io::DType io_dtype(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return io::DType::F32;
    case at::kHalf: return io::DType::F16;
    case at::kBFloat16: return io::DType::BF16;
    case at::kDouble: return io::DType::F64;
    case at::kLong: return io::DType::I64;
    case at::kInt: return io::DType::I32;
    case at::kByte: return io::DType::U8;
    case at::kBool: return io::DType::Bool;
    default: LDMG_FAIL("tensor dtype {} cannot be written", c10::toString(t));
  }
}

// A tensor viewing the archive's bytes: valid while the archive lives, never written.
at::Tensor view_tensor(const io::TensorArchive& archive, const io::TensorRecord& rec) {
  void* p = const_cast<char*>(archive.bytes.data() + rec.data_offset);
  return at::from_blob(p, rec.shape, rec.strides, at::TensorOptions().dtype(scalar_type(rec.dtype)));
}

// The bytes a record's elements span (views may skip some in between).
std::size_t span_bytes(const io::TensorRecord& rec) {
  std::size_t last = 0;
  for (std::size_t d = 0; d < rec.shape.size(); ++d) {
    if (rec.shape[d] == 0) return 0;
    last += static_cast<std::size_t>((rec.shape[d] - 1) * rec.strides[d]);
  }
  return (last + 1) * io::dtype_size(rec.dtype);
}
}  // namespace

at::Tensor to_tensor(const io::TensorArchive& archive, const io::TensorRecord& rec) {
  return view_tensor(archive, rec).clone();  // its own storage
}

StateDict to_state_dict(const io::TensorArchive& archive) {
  StateDict sd;
  for (const auto& rec : archive.tensors) sd[rec.name] = to_tensor(archive, rec);
  return sd;
}

StateDict load_state_dict(const std::string& path) { return to_state_dict(io::read_tensor_archive(path)); }

void load_weights_into(torch::nn::Module& module, const std::string& path, const std::set<std::string>& ignorable) {
  const io::TensorArchive archive = io::read_tensor_archive(path);
  StateDict views;
  for (const auto& rec : archive.tensors) views[rec.name] = view_tensor(archive, rec);
  std::map<std::string, const io::TensorRecord*> records;
  for (const auto& rec : archive.tensors) records[rec.name] = &rec;
  load_into(module, views, path, ignorable, [&](const std::string& name) {
    const io::TensorRecord& rec = *records.at(name);
    archive.bytes.release(rec.data_offset, span_bytes(rec));
  });
}

io::TensorBlob to_blob(const std::string& name, const at::Tensor& t) {
  io::TensorBlob b;
  b.name = name;
  auto c = t.detach().to(at::kCPU).contiguous();
  b.dtype = io_dtype(c.scalar_type());
  b.shape.assign(c.sizes().begin(), c.sizes().end());
  b.bytes.assign(static_cast<const char*>(c.data_ptr()), c.nbytes());
  return b;
}

void load_into(torch::nn::Module& module, const StateDict& sd, const std::string& source,
               const std::set<std::string>& ignorable, const std::function<void(const std::string&)>& copied) {
  std::vector<std::string> missing, mis_shaped, unexpected;
  std::set<std::string> known;
  auto assign = [&](const std::string& name, at::Tensor& target) {
    known.insert(name);
    auto it = sd.find(name);
    if (it == sd.end()) {
      missing.push_back(name);
      return;
    }
    if (it->second.sizes() != target.sizes()) {
      mis_shaped.push_back(fmt::format("{} (file {}, model {})", name, c10::str(it->second.sizes()), c10::str(target.sizes())));
      return;
    }
    if (!it->second.is_floating_point() && target.is_floating_point()) {
      mis_shaped.push_back(fmt::format("{} (file dtype {}, expected floating point)", name, c10::toString(it->second.scalar_type())));
      return;
    }
    torch::NoGradGuard no_grad;
    target.copy_(it->second);
    if (copied) copied(name);
  };
  for (auto& p : module.named_parameters(/*recurse=*/true)) assign(p.key(), p.value());
  for (auto& b : module.named_buffers(/*recurse=*/true)) assign(b.key(), b.value());
  for (const auto& [name, _] : sd)
    if (!known.count(name) && !ignorable.count(name)) unexpected.push_back(name);

  if (missing.empty() && mis_shaped.empty() && unexpected.empty()) return;
  auto list = [](const std::vector<std::string>& v) {
    std::string s;
    for (std::size_t i = 0; i < v.size() && i < 20; ++i) s += "\n    " + v[i];
    if (v.size() > 20) s += fmt::format("\n    ... and {} more", v.size() - 20);
    return s;
  };
  std::string msg = fmt::format("'{}' does not match the model built from its config:", source);
  if (!missing.empty()) msg += fmt::format("\n  {} missing key(s):{}", missing.size(), list(missing));
  if (!unexpected.empty()) msg += fmt::format("\n  {} unexpected key(s):{}", unexpected.size(), list(unexpected));
  if (!mis_shaped.empty()) msg += fmt::format("\n  {} mis-shaped key(s):{}", mis_shaped.size(), list(mis_shaped));
  msg += "\n  (is the config the one these weights were trained with?)";
  throw Error(msg);
}

std::vector<io::TensorBlob> module_blobs(const torch::nn::Module& module) {
  std::vector<io::TensorBlob> out;
  for (const auto& p : module.named_parameters(true)) out.push_back(to_blob(p.key(), p.value()));
  for (const auto& b : module.named_buffers(true)) out.push_back(to_blob(b.key(), b.value()));
  return out;
}

}  // namespace ldmg::model
