#include "io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/check.h"
#include "io/file_bytes.h"

namespace ldmg::io {

namespace {
constexpr std::uint64_t kMaxHeader = 100ull << 20;  // the reference implementation's limit

std::uint64_t read_le64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
}  // namespace

TensorArchive parse_safetensors(ByteStore bytes, const std::string& source) {
  TensorArchive ar;
  ar.source = source;
  LDMG_CHECK(bytes.size() >= 8, "'{}' is not a safetensors file: {} bytes, need at least the 8-byte header length",
             source, bytes.size());
  const std::uint64_t n = read_le64(bytes.data());
  LDMG_CHECK(n <= kMaxHeader, "'{}': safetensors header length {} exceeds the 100 MiB limit (corrupt file?)", source, n);
  LDMG_CHECK(n <= bytes.size() - 8, "'{}': safetensors header length {} runs past the end of the file ({} bytes): truncated?",
             source, n, bytes.size());
  const std::size_t data_start = 8 + n;
  const std::size_t data_size = bytes.size() - data_start;

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.data() + 8, bytes.data() + data_start);
  } catch (const nlohmann::json::exception& e) {
    LDMG_FAIL("'{}': safetensors header is not valid JSON: {}", source, e.what());
  }
  LDMG_CHECK(header.is_object(), "'{}': safetensors header must be a JSON object", source);

  struct Span { std::size_t begin, end; std::string name; };
  std::vector<Span> spans;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const auto& v = it.value();
    if (name == "__metadata__") {
      LDMG_CHECK(v.is_object(), "'{}': __metadata__ must be an object of strings", source);
      for (auto m = v.begin(); m != v.end(); ++m) {
        LDMG_CHECK(m.value().is_string(), "'{}': __metadata__['{}'] must be a string", source, m.key());
        ar.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    LDMG_CHECK(v.is_object() && v.contains("dtype") && v.contains("shape") && v.contains("data_offsets"),
               "'{}': tensor '{}' needs dtype, shape and data_offsets", source, name);
    LDMG_CHECK(v["dtype"].is_string(), "'{}': tensor '{}': dtype must be a string", source, name);
    TensorRecord rec;
    rec.name = name;
    try {
      rec.dtype = dtype_from_name(v["dtype"].get<std::string>());
    } catch (const Error& e) {
      LDMG_FAIL("'{}': tensor '{}': {}", source, name, e.what());
    }
    LDMG_CHECK(v["shape"].is_array(), "'{}': tensor '{}': shape must be an array", source, name);
    for (const auto& d : v["shape"]) {
      LDMG_CHECK(d.is_number_unsigned() || (d.is_number_integer() && d.get<std::int64_t>() >= 0),
                 "'{}': tensor '{}': shape entries must be non-negative integers", source, name);
      rec.shape.push_back(d.get<std::int64_t>());
    }
    const auto& off = v["data_offsets"];
    LDMG_CHECK(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() && off[1].is_number_unsigned(),
               "'{}': tensor '{}': data_offsets must be [begin, end]", source, name);
    const auto b = off[0].get<std::uint64_t>(), e = off[1].get<std::uint64_t>();
    LDMG_CHECK(b <= e && e <= data_size, "'{}': tensor '{}': data_offsets [{}, {}] outside the {}-byte data buffer",
               source, name, b, e, data_size);
    std::int64_t numel = 0;
    try {
      numel = numel_of(rec.shape);
    } catch (const Error& err) {
      LDMG_FAIL("'{}': tensor '{}': {}", source, name, err.what());
    }
    const auto expected = static_cast<std::uint64_t>(numel) * dtype_size(rec.dtype);
    LDMG_CHECK(e - b == expected, "'{}': tensor '{}': {} bytes for shape of {} {} elements (expected {})", source,
               name, e - b, numel, dtype_name(rec.dtype), expected);
    rec.strides = contiguous_strides(rec.shape);
    rec.data_offset = data_start + b;
    spans.push_back({b, e, name});
    ar.tensors.push_back(std::move(rec));
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
  for (std::size_t i = 1; i < spans.size(); ++i)
    LDMG_CHECK(spans[i].begin >= spans[i - 1].end, "'{}': tensors '{}' and '{}' overlap in the data buffer", source,
               spans[i - 1].name, spans[i].name);
  ar.bytes = std::move(bytes);
  return ar;
}

TensorArchive read_safetensors(const std::string& path) { return parse_safetensors(ByteStore::map_file(path), path); }

std::string serialize_safetensors(std::vector<TensorBlob> tensors, const std::map<std::string, std::string>& metadata) {
  std::sort(tensors.begin(), tensors.end(), [](const TensorBlob& a, const TensorBlob& b) { return a.name < b.name; });
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::size_t offset = 0;
  for (const auto& t : tensors) {
    const auto expected = static_cast<std::size_t>(numel_of(t.shape)) * dtype_size(t.dtype);
    LDMG_CHECK(t.bytes.size() == expected, "tensor '{}': {} bytes given for a shape needing {}", t.name,
               t.bytes.size(), expected);
    LDMG_CHECK(t.name != "__metadata__", "a tensor cannot be named __metadata__");
    header[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  std::uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  out += json;
  out.reserve(out.size() + offset);
  for (const auto& t : tensors) out += t.bytes;
  return out;
}

void write_safetensors(const std::string& path, std::vector<TensorBlob> tensors,
                       const std::map<std::string, std::string>& metadata) {
  write_file_atomic(path, serialize_safetensors(std::move(tensors), metadata));
}

}  // namespace ldmg::io
