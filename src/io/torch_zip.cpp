#include "io/torch_zip.h"

#include <fmt/ranges.h>

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "core/check.h"
#include "io/file_bytes.h"
#include "io/pickle_reader.h"
#include "io/pickle_writer.h"
#include "io/zip_reader.h"
#include "io/zip_writer.h"

namespace ldmg::io {

// Layout and pickle follow torch/serialization.py `_save` / `_load` (torch
// 2.x): <archive>/data.pkl, <archive>/data/<key>, <archive>/byteorder,
// <archive>/version; tensors are _rebuild_tensor_v2(storage, offset, size,
// stride, requires_grad, hooks[, metadata]) over persistent storages
// ('storage', torch.<T>Storage, key, location, numel).

namespace {
using Kind = PickleValue::Kind;

struct StorageClass {
  const char* name;
  DType dtype;
};
// torch.<name>Storage classes a state dict may name, and their element type.
constexpr StorageClass kStorageClasses[] = {
    {"FloatStorage", DType::F32}, {"HalfStorage", DType::F16}, {"BFloat16Storage", DType::BF16},
    {"DoubleStorage", DType::F64}, {"LongStorage", DType::I64}, {"IntStorage", DType::I32},
    {"ByteStorage", DType::U8},   {"BoolStorage", DType::Bool}, {"UntypedStorage", DType::U8},
};

const char* storage_class_of(DType t) {
  for (const auto& c : kStorageClasses)
    if (c.dtype == t) return c.name;
  LDMG_ASSERT(false, "no storage class for dtype {}", dtype_name(t));
  return "";
}

// torch.<dtype> objects allowed as values (torch.load(weights_only=True) allows them too).
const std::set<std::string> kTorchDtypes = {"float32", "float", "float16", "half", "bfloat16", "float64",
                                            "double",  "int64", "long",    "int32", "int",   "uint8",
                                            "bool"};

struct Storage {
  std::string key;
  DType dtype;
  std::int64_t numel;
  std::uint64_t data_offset;  // in the file
};

struct Tensor {
  DType dtype;
  std::vector<std::int64_t> shape, strides;
  std::uint64_t data_offset;
};

// Interprets the pickle of one archive: the allowed globals, storages and tensors.
class StateDictLoader {
 public:
  StateDictLoader(const std::string& source, std::string where, std::string prefix,
                  const std::map<std::string, const ZipEntry*>& entries)
      : source_(source), where_(std::move(where)), prefix_(std::move(prefix)), entries_(entries) {}

  PickleHooks hooks() {
    PickleHooks h;
    h.find_class = [this](const std::string& m, const std::string& n) { return find_class(m, n); };
    h.reduce = [this](const PickleRef& c, const PickleRef& a) { return reduce(c, a); };
    h.persistent_load = [this](const PickleRef& pid) { return persistent_load(pid); };
    h.build = [this](const PickleRef& obj, const PickleRef& state) { build(obj, state); };
    return h;
  }

  void flatten(const PickleValue& dict, const std::string& prefix, int depth, TensorArchive& ar) {
    LDMG_CHECK(depth < 16, "{}: state dict nested more than 16 levels deep at '{}'", where_, prefix);
    for (const auto& [k, v] : dict.entries) {
      LDMG_CHECK(k->is(Kind::String), "{}: state dict key of type {} under '{}'; keys must be strings", where_,
                 pickle_kind_name(*k), prefix);
      const std::string name = prefix + k->s;
      LDMG_CHECK(names_.insert(name).second, "{}: tensor name '{}' occurs twice after flattening nested dicts",
                 where_, name);
      switch (v->kind) {
        case Kind::Object: {
          LDMG_ASSERT(v->s == "tensor", "only tensors are made as objects");
          const Tensor& t = tensors_.at(static_cast<std::size_t>(v->i));
          ar.tensors.push_back({name, t.dtype, t.shape, t.strides, static_cast<std::size_t>(t.data_offset)});
          break;
        }
        case Kind::Dict: flatten(*v, name + ".", depth + 1, ar); break;
        case Kind::None: ar.metadata[name] = "None"; break;
        case Kind::Bool: ar.metadata[name] = v->b ? "True" : "False"; break;
        case Kind::Int: ar.metadata[name] = std::to_string(v->i); break;
        case Kind::Float: ar.metadata[name] = fmt::format("{}", v->f); break;
        case Kind::String: ar.metadata[name] = v->s; break;
        default:
          LDMG_FAIL("{}: '{}' holds a {}; a state dict holds tensors (nested dicts are flattened to dotted names, "
                    "plain numbers and strings go to the metadata)",
                    where_, name, pickle_kind_name(*v));
      }
    }
  }

 private:
  static PickleRef global(const std::string& full) {
    auto v = PickleValue::make(Kind::Global);
    v->s = full;
    return v;
  }

  PickleRef find_class(const std::string& module, const std::string& name) {
    const std::string full = module + "." + name;
    if (full == "collections.OrderedDict" || full == "torch._utils._rebuild_tensor_v2" ||
        full == "torch._utils._rebuild_tensor" || full == "torch._utils._rebuild_parameter" ||
        full == "torch.storage.UntypedStorage")
      return global(full);
    if (module == "torch") {
      for (const auto& c : kStorageClasses)
        if (name == c.name) return global(full);
      if (kTorchDtypes.count(name)) return global(full);
    }
    LDMG_FAIL("forbidden pickle global '{}' in {} (only state-dict tensors are allowed, like "
              "torch.load(weights_only=True))",
              full, where_);
  }

  const std::vector<PickleRef>& args_of(const PickleRef& args, const std::string& fn, std::size_t lo,
                                        std::size_t hi) const {
    LDMG_CHECK(args->items.size() >= lo && args->items.size() <= hi, "{}: {} called with {} arguments, expected {}{}",
               where_, fn, args->items.size(), lo, hi == lo ? "" : fmt::format(" to {}", hi));
    return args->items;
  }

  std::vector<std::int64_t> int_tuple(const PickleRef& v, const char* what) const {
    LDMG_CHECK(v->is(Kind::Tuple), "{}: tensor {} must be a tuple, got {}", where_, what, pickle_kind_name(*v));
    std::vector<std::int64_t> out;
    for (const auto& x : v->items) {
      LDMG_CHECK(x->is(Kind::Int) && x->i >= 0, "{}: tensor {} must hold non-negative integers", where_, what);
      out.push_back(x->i);
    }
    return out;
  }

  PickleRef rebuild_tensor(const std::vector<PickleRef>& a, const std::string& fn) {
    LDMG_CHECK(a[0]->is(Kind::Object) && a[0]->s == "storage", "{}: {} expects a storage first, got {}", where_, fn,
               pickle_kind_name(*a[0]));
    const Storage& st = storages_.at(static_cast<std::size_t>(a[0]->i));
    LDMG_CHECK(a[1]->is(Kind::Int) && a[1]->i >= 0, "{}: {}: storage offset must be a non-negative integer", where_,
               fn);
    const std::int64_t offset = a[1]->i;
    Tensor t;
    t.dtype = st.dtype;
    t.shape = int_tuple(a[2], "size");
    t.strides = int_tuple(a[3], "stride");
    LDMG_CHECK(t.shape.size() == t.strides.size(), "{}: tensor over storage '{}' has {} sizes but {} strides", where_,
               st.key, t.shape.size(), t.strides.size());
    if (a.size() > 4) {
      LDMG_CHECK(a[4]->is(Kind::Bool), "{}: {}: requires_grad must be a bool", where_, fn);
      LDMG_CHECK(a[5]->is(Kind::Dict) && a[5]->entries.empty(),
                 "{}: tensor over storage '{}' carries backward hooks, which a state dict cannot hold", where_,
                 st.key);
    }
    // Extent: the last element reached, offset + sum((size_i - 1) * stride_i), must lie in the storage.
    std::int64_t numel = 0;
    try {
      numel = numel_of(t.shape);
    } catch (const Error& e) {
      LDMG_FAIL("{}: tensor over storage '{}': {}", where_, st.key, e.what());
    }
    std::int64_t reach = offset;
    if (numel > 0) {
      for (std::size_t d = 0; d < t.shape.size(); ++d) {
        const std::int64_t step = t.shape[d] - 1;
        LDMG_CHECK(t.strides[d] == 0 || step <= (INT64_MAX - reach) / t.strides[d],
                   "{}: tensor over storage '{}': sizes and strides overflow", where_, st.key);
        reach += step * t.strides[d];
      }
      LDMG_CHECK(reach < st.numel,
                 "{}: tensor of shape [{}] with strides [{}] at offset {} reaches element {} of storage '{}', which "
                 "holds only {} {} elements (storage too small)",
                 where_, fmt::join(t.shape, ","), fmt::join(t.strides, ","), offset, reach, st.key, st.numel,
                 dtype_name(st.dtype));
    } else {
      LDMG_CHECK(offset <= st.numel, "{}: empty tensor at offset {} beyond storage '{}' of {} elements", where_,
                 offset, st.key, st.numel);
    }
    t.data_offset = st.data_offset + static_cast<std::uint64_t>(offset) * dtype_size(st.dtype);
    tensors_.push_back(std::move(t));
    auto v = PickleValue::make(Kind::Object);
    v->s = "tensor";
    v->i = static_cast<std::int64_t>(tensors_.size() - 1);
    return v;
  }

  PickleRef reduce(const PickleRef& callable, const PickleRef& args) {
    LDMG_CHECK(callable->is(Kind::Global), "{}: calling a {} is not allowed in a state dict", where_,
               pickle_kind_name(*callable));
    const std::string& fn = callable->s;
    if (fn == "collections.OrderedDict") {
      args_of(args, fn, 0, 0);
      return PickleValue::make(Kind::Dict);
    }
    if (fn == "torch._utils._rebuild_tensor_v2") return rebuild_tensor(args_of(args, fn, 6, 7), fn);
    if (fn == "torch._utils._rebuild_tensor") return rebuild_tensor(args_of(args, fn, 4, 4), fn);
    if (fn == "torch._utils._rebuild_parameter") {
      const auto& a = args_of(args, fn, 3, 3);
      LDMG_CHECK(a[0]->is(Kind::Object) && a[0]->s == "tensor", "{}: {} expects a tensor", where_, fn);
      LDMG_CHECK(a[2]->is(Kind::Dict) && a[2]->entries.empty(),
                 "{}: parameter carries backward hooks, which a state dict cannot hold", where_);
      return a[0];
    }
    LDMG_FAIL("{}: '{}' cannot be called in a state dict", where_, fn);
  }

  PickleRef persistent_load(const PickleRef& pid) {
    const auto& p = pid->items;
    LDMG_CHECK(pid->is(Kind::Tuple) && p.size() == 5 && p[0]->is(Kind::String) && p[0]->s == "storage",
               "{}: persistent id must be ('storage', type, key, location, numel), got a {} of {} items", where_,
               pickle_kind_name(*pid), p.size());
    LDMG_CHECK(p[1]->is(Kind::Global), "{}: storage type must be a torch storage class", where_);
    LDMG_CHECK(p[2]->is(Kind::String) && p[3]->is(Kind::String) && p[4]->is(Kind::Int) && p[4]->i >= 0,
               "{}: persistent id needs a string key, a string location and a non-negative numel", where_);
    const std::string& cls = p[1]->s;
    const std::string& key = p[2]->s;
    const StorageClass* sc = nullptr;
    for (const auto& c : kStorageClasses)
      if (cls == std::string("torch.") + c.name || (cls == "torch.storage.UntypedStorage" && c.dtype == DType::U8))
        sc = &c;
    LDMG_CHECK(sc, "{}: '{}' is not a storage type", where_, cls);
    if (auto it = by_key_.find(key); it != by_key_.end()) {
      const Storage& st = storages_[it->second];
      LDMG_CHECK(st.dtype == sc->dtype, "{}: storage '{}' is used as both {} and {}", where_, key,
                 dtype_name(st.dtype), dtype_name(sc->dtype));
      return storage_ref(it->second);
    }
    const std::string entry = prefix_ + "/data/" + key;
    auto e = entries_.find(entry);
    LDMG_CHECK(e != entries_.end(), "'{}': the pickle refers to storage '{}' but there is no entry '{}'", source_, key,
               entry);
    const std::uint64_t itemsize = dtype_size(sc->dtype);
    const auto numel = static_cast<std::uint64_t>(p[4]->i);
    LDMG_CHECK(numel <= UINT64_MAX / itemsize && e->second->size == numel * itemsize,
               "'{}': entry '{}' holds {} bytes but the pickle declares {} {} elements ({} bytes)", source_, entry,
               e->second->size, numel, dtype_name(sc->dtype), numel * itemsize);
    storages_.push_back({key, sc->dtype, p[4]->i, e->second->data_offset});
    by_key_[key] = storages_.size() - 1;
    return storage_ref(storages_.size() - 1);
  }

  static PickleRef storage_ref(std::size_t i) {
    auto v = PickleValue::make(Kind::Object);
    v->s = "storage";
    v->i = static_cast<std::int64_t>(i);
    return v;
  }

  // OrderedDict state (state_dict()'s `_metadata` attribute): version numbers only, dropped.
  void build(const PickleRef& obj, const PickleRef& state) {
    LDMG_CHECK(obj->is(Kind::Dict) && (state->is(Kind::Dict) || state->is(Kind::None)),
               "{}: setting the state of a {} is not allowed in a state dict", where_, pickle_kind_name(*obj));
  }

  const std::string& source_;
  std::string where_, prefix_;
  const std::map<std::string, const ZipEntry*>& entries_;
  std::vector<Storage> storages_;
  std::unordered_map<std::string, std::size_t> by_key_;
  std::vector<Tensor> tensors_;
  std::set<std::string> names_;
};

bool safe_archive_name(const std::string& s) {
  return !s.empty() && s.find_first_of("/\\") == std::string::npos && s != "." && s != "..";
}
}  // namespace

TensorArchive parse_torch_zip(ByteStore bytes, const std::string& source) {
  const std::vector<ZipEntry> entries = read_zip_directory(bytes, source);
  LDMG_CHECK(!entries.empty(), "'{}': zip archive is empty, not a torch.save file", source);
  const std::string prefix = entries.front().name.substr(0, entries.front().name.find('/'));
  std::map<std::string, const ZipEntry*> by_name;
  for (const auto& e : entries) {
    LDMG_CHECK(e.name.size() > prefix.size() + 1 && e.name.compare(0, prefix.size() + 1, prefix + "/") == 0,
               "'{}': zip entry '{}' lies outside the archive folder '{}/' that torch.save writes everything into",
               source, e.name, prefix);
    zip_entry_data(bytes, e, source);  // method and CRC-32 of every entry, used or not
    bytes.release(static_cast<std::size_t>(e.data_offset), static_cast<std::size_t>(e.size));
    by_name[e.name] = &e;
  }
  auto record = [&](const std::string& name) -> std::optional<std::string_view> {
    auto it = by_name.find(prefix + "/" + name);
    if (it == by_name.end()) return std::nullopt;
    return bytes.view().substr(static_cast<std::size_t>(it->second->data_offset),
                                          static_cast<std::size_t>(it->second->size));
  };
  const auto pkl = record("data.pkl");
  LDMG_CHECK(pkl, "'{}': no '{}/data.pkl' entry: not a torch.save file (TorchScript archives from torch.jit.save "
             "are not supported)", source, prefix);
  auto version = record("version");
  if (!version) version = record(".data/version");
  LDMG_CHECK(version, "'{}': no '{}/version' entry, which every torch.save file has", source, prefix);
  std::string v(*version);
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
  LDMG_CHECK(!v.empty() && v.size() < 4 && v.find_first_not_of("0123456789") == std::string::npos &&
                 std::stoi(v) >= 1 && std::stoi(v) <= 10,
             "'{}': archive format version '{}' is not one PyTorch reads (1 to 10)", source, v);
  if (const auto order = record("byteorder"))
    LDMG_CHECK(*order == "little", "'{}': tensors are stored '{}'-endian; only little-endian files are supported",
               source, std::string(*order));

  TensorArchive ar;
  ar.source = source;
  StateDictLoader loader(source, fmt::format("'{}' ({}/data.pkl)", source, prefix), prefix, by_name);
  const PickleRef root = unpickle(*pkl, loader.hooks(), fmt::format("'{}' ({}/data.pkl)", source, prefix));
  LDMG_CHECK(root->is(Kind::Dict), "'{}': the pickled object is of type {}, not a state dict (a dict of tensors)", source,
             pickle_kind_name(*root));
  loader.flatten(*root, "", 0, ar);
  ar.bytes = std::move(bytes);
  return ar;
}

TensorArchive read_torch_zip(const std::string& path) { return parse_torch_zip(ByteStore::map_file(path), path); }

std::string serialize_torch_zip(const std::vector<TensorBlob>& tensors, const std::string& archive_name) {
  LDMG_CHECK(safe_archive_name(archive_name), "torch zip archive name '{}' must be a plain folder name",
             archive_name);
  std::set<std::string> names;
  for (const auto& t : tensors) {
    LDMG_CHECK(names.insert(t.name).second, "tensor '{}' given twice", t.name);
    const auto expected = static_cast<std::size_t>(numel_of(t.shape)) * dtype_size(t.dtype);
    LDMG_CHECK(t.bytes.size() == expected, "tensor '{}': {} bytes given for a shape needing {}", t.name,
               t.bytes.size(), expected);
  }
  // OrderedDict([(name, _rebuild_tensor_v2(storage_i, 0, shape, strides, False, OrderedDict())), ...])
  PickleWriter w;
  w.global("collections", "OrderedDict");
  w.put(0);
  w.empty_tuple();
  w.reduce();
  w.put(1);
  std::map<DType, std::uint32_t> class_memo;
  std::uint32_t next_memo = 3;
  w.mark();
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const TensorBlob& t = tensors[i];
    w.unicode(t.name);
    if (i == 0) {
      w.global("torch._utils", "_rebuild_tensor_v2");
      w.put(2);
    } else {
      w.get(2);
    }
    w.mark();
    w.mark();  // persistent id ('storage', torch.<T>Storage, '<i>', 'cpu', numel)
    w.unicode("storage");
    if (auto it = class_memo.find(t.dtype); it != class_memo.end()) {
      w.get(it->second);
    } else {
      w.global("torch", storage_class_of(t.dtype));
      w.put(next_memo);
      class_memo[t.dtype] = next_memo++;
    }
    w.unicode(std::to_string(i));
    w.unicode("cpu");
    w.integer(numel_of(t.shape));
    w.tuple();
    w.binpersid();
    w.integer(0);
    w.mark();
    for (auto d : t.shape) w.integer(d);
    w.tuple();
    w.mark();
    for (auto s : contiguous_strides(t.shape)) w.integer(s);
    w.tuple();
    w.boolean(false);
    w.get(0);
    w.empty_tuple();
    w.reduce();
    w.tuple();
    w.reduce();
  }
  w.setitems();
  const std::string pkl = w.stop();

  // Record order and contents as torch.save writes them (serialization.py `_save`, PyTorchStreamWriter).
  ZipWriter zip;
  const std::string dir = archive_name + "/";
  zip.add(dir + "data.pkl", pkl);
  zip.add(dir + ".format_version", "1");
  zip.add(dir + ".storage_alignment", "64");
  zip.add(dir + "byteorder", "little");
  for (std::size_t i = 0; i < tensors.size(); ++i) zip.add(dir + "data/" + std::to_string(i), tensors[i].bytes);
  zip.add(dir + "version", "3\n");
  return zip.finish();
}

void write_torch_zip(const std::string& path, const std::vector<TensorBlob>& tensors) {
  // torch.save names the archive folder after the file (model.pth -> model/).
  std::string stem = std::filesystem::path(path).stem().string();
  if (!safe_archive_name(stem)) stem = "archive";
  write_file_atomic(path, serialize_torch_zip(tensors, stem));
}

}  // namespace ldmg::io
