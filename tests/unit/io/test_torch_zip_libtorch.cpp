// Cross-checks against PyTorch's own C++ reader: torch::jit::pickle_load (the
// miniz-based PyTorchStreamReader that torch.load also uses, plus the
// TorchScript unpickler) must accept what serialize_torch_zip writes and agree
// with parse_torch_zip on a real torch.save file. The TorchScript unpickler
// turns collections.OrderedDict() into None, so it can only load state dicts
// whose top level is a plain dict: pytorch_model.bin (transformers saves a
// dict), and our files with OrderedDict() swapped for EMPTY_DICT.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <cstring>
#include <filesystem>

#include "io/file_bytes.h"
#include "io/torch_zip.h"
#include "io/zip_reader.h"
#include "io/zip_writer.h"
#include "support/fixtures.h"

using namespace ldmg;
using namespace ldmg::io;
using namespace std::string_literals;

namespace {
at::ScalarType scalar_type(DType t) {
  switch (t) {
    case DType::F32: return at::kFloat;
    case DType::F16: return at::kHalf;
    case DType::BF16: return at::kBFloat16;
    case DType::F64: return at::kDouble;
    case DType::I64: return at::kLong;
    case DType::I32: return at::kInt;
    case DType::U8: return at::kByte;
    case DType::Bool: return at::kBool;
  }
  return at::kFloat;
}

std::string tensor_bytes(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size());
}

at::Tensor record_tensor(const TensorArchive& ar, const TensorRecord& r) {
  void* p = const_cast<char*>(ar.bytes.data() + r.data_offset);
  return at::from_blob(p, r.shape, r.strides, at::TensorOptions().dtype(scalar_type(r.dtype))).clone();
}

c10::Dict<c10::IValue, c10::IValue> torch_load(const std::string& bytes) {
  const c10::IValue v = torch::jit::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  if (!v.isGenericDict()) throw std::runtime_error("pickle_load gave a " + v.tagKind() + ", not a dict");
  return v.toGenericDict();
}

// Our archive with every OrderedDict() in data.pkl (the top dict and each tensor's empty backward hooks)
// written as EMPTY_DICT instead, re-zipped; everything else is byte-identical.
std::string with_plain_dicts(const std::string& zip) {
  ZipWriter out;
  for (const auto& e : read_zip_directory(zip, "ours")) {
    std::string data(zip_entry_data(zip, e, "ours"));
    if (e.name.ends_with("/data.pkl")) {
      // PROTO 2, GLOBAL, BINPUT 0, EMPTY_TUPLE, REDUCE  ->  PROTO 2, EMPTY_DICT
      const std::string head = "\x80\x02" "ccollections\nOrderedDict\nq\x00)R"s;
      EXPECT_EQ(data.compare(0, head.size(), head), 0);
      data.replace(0, head.size(), "\x80\x02}");
      // NEWFALSE, BINGET 0, EMPTY_TUPLE, REDUCE  ->  NEWFALSE, EMPTY_DICT
      const std::string hooks = "\x89h\x00)R"s;
      for (std::size_t p = 0; (p = data.find(hooks, p)) != std::string::npos;) data.replace(p, hooks.size(), "\x89}");
    }
    out.add(e.name, data);
  }
  return out.finish();
}
}  // namespace

TEST(TorchZipLibTorch, PyTorchReadsWhatWeWrite) {
  at::manual_seed(0);
  const std::vector<std::pair<std::string, at::Tensor>> sd = {
      {"f32", at::randn({3, 4})},
      {"f16", at::randn({5}).to(at::kHalf)},
      {"bf16", at::randn({2, 2}).to(at::kBFloat16)},
      {"f64", at::randn({1, 2, 3}, at::kDouble)},
      {"i64", at::arange(-3, 4, at::kLong)},
      {"i32", at::arange(-8, 8, at::kInt).reshape({4, 4})},
      {"u8", at::arange(250, 256, at::kInt).to(at::kByte)},
      {"bool", at::randn({6}) > 0},
      {"scalar", at::scalar_tensor(2.5f)},
      {"empty", at::zeros({0, 7})},
  };
  std::vector<TensorBlob> blobs;
  for (const auto& [name, t] : sd) {
    TensorBlob b;
    b.name = name;
    b.shape.assign(t.sizes().begin(), t.sizes().end());
    b.bytes = tensor_bytes(t);
    for (DType d : {DType::F32, DType::F16, DType::BF16, DType::F64, DType::I64, DType::I32, DType::U8, DType::Bool})
      if (scalar_type(d) == t.scalar_type()) b.dtype = d;
    blobs.push_back(b);
  }
  const auto loaded = torch_load(with_plain_dicts(serialize_torch_zip(blobs)));
  ASSERT_EQ(loaded.size(), sd.size());
  for (const auto& [name, t] : sd) {
    ASSERT_TRUE(loaded.contains(name)) << name;
    const at::Tensor u = loaded.at(name).toTensor();
    EXPECT_EQ(u.scalar_type(), t.scalar_type()) << name;
    EXPECT_EQ(u.sizes(), t.sizes()) << name;
    EXPECT_EQ(tensor_bytes(u), tensor_bytes(t)) << name;
  }
}

TEST(TorchZipLibTorch, WeAgreeWithPyTorchOnARealTorchSaveFile) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  const std::string m = test::parity_dir() + "/models/";
  for (const std::string f : {"text_encoder/pytorch_model.bin"}) {
    const std::string bytes = read_file_bytes(m + f);
    const TensorArchive ours = parse_torch_zip(bytes, f);
    const auto theirs = torch_load(bytes);
    ASSERT_EQ(ours.tensors.size(), theirs.size()) << f;
    for (const auto& r : ours.tensors) {
      ASSERT_TRUE(theirs.contains(r.name)) << f << ": " << r.name;
      const at::Tensor u = theirs.at(r.name).toTensor();
      const at::Tensor t = record_tensor(ours, r);
      EXPECT_EQ(u.scalar_type(), t.scalar_type()) << r.name;
      EXPECT_EQ(u.sizes(), t.sizes()) << r.name;
      EXPECT_EQ(tensor_bytes(u), tensor_bytes(t)) << r.name;
    }
  }
}
