// libFuzzer: the attention cache reader (src/cache/attention_cache_unit.h,
// the torch-free part of AttentionCacheReader), structure-aware.
//
// libhdf5 itself is not robust to arbitrary corrupt bytes, and its crashes
// are not ours to fix, so the input does not become the file's bytes: it
// drives what a small, well-formed HDF5 file written through our own wrappers
// (io/hdf5_file.h, plus raw HDF5 for types we never write) contains - each
// attribute and dataset of docs/cache-format.md is kept valid, left out,
// written with another type, shape or kind of object, or given fuzzed values;
// the unit's sizes, steps, layers, prompts and map datasets come from the
// input too. The reader must then open and read every map, or refuse with
// ldmg::Error; any other exception, sanitizer report or wrong map size is a
// finding.
#include <fuzzer/FuzzedDataProvider.h>
#include <hdf5.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "cache/attention_cache_format.h"
#include "cache/attention_cache_unit.h"
#include "fuzz_common.h"
#include "io/hdf5_file.h"

namespace {

using ldmg::io::h5::DatasetOptions;
using ldmg::io::h5::ElemType;
using ldmg::io::h5::Group;
using Ints = std::vector<std::int64_t>;

// One file per process, on tmpfs where there is one: every input rewrites it.
const std::string& scratch_path() {
  static const std::string path = [] {
    const std::filesystem::path dir = std::filesystem::exists("/dev/shm") ? std::filesystem::path("/dev/shm")
                                                                          : std::filesystem::temp_directory_path();
    std::string p = (dir / ("ldmg-fuzz-cache-" + std::to_string(getpid()) + ".h5")).string();
    std::atexit([] { std::remove(scratch_path().c_str()); });
    return p;
  }();
  return path;
}

// How one attribute or dataset is written. Choice 0 (also what an exhausted
// input yields) and most others keep it valid, so deep checks are reached.
enum class Variant { valid, absent, fuzzed, other_type, other_shape, other_kind };

Variant variant(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 15)) {
    case 1:
      return Variant::absent;
    case 2:
    case 3:
      return Variant::fuzzed;
    case 4:
      return Variant::other_type;
    case 5:
      return Variant::other_shape;
    case 6:
      return Variant::other_kind;
    default:
      return Variant::valid;
  }
}

std::int64_t fuzzed_int(FuzzedDataProvider& in) {
  static const std::int64_t kEdges[] = {0,
                                        -1,
                                        1,
                                        2,
                                        77,
                                        78,
                                        1024,
                                        1025,
                                        std::numeric_limits<int>::max(),
                                        std::int64_t{1} << 32,
                                        std::numeric_limits<std::int64_t>::max(),
                                        std::numeric_limits<std::int64_t>::min()};
  return in.ConsumeBool() ? in.PickValueInArray(kEdges) : in.ConsumeIntegral<std::int64_t>();
}

// A fixed-length string attribute (our writer only makes variable-length
// ones; h5py and other tools may write these).
void fixed_string_attr(const Group& g, const std::string& name, const std::string& value) {
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, value.empty() ? 1 : value.size());
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t attr = H5Acreate2(g.id(), name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT);
  if (attr >= 0) {
    std::string buf = value.empty() ? std::string(1, '\0') : value;
    H5Awrite(attr, type, buf.data());
    H5Aclose(attr);
  }
  H5Sclose(space);
  H5Tclose(type);
}

void string_attr(Group& g, const std::string& name, const std::string& valid, FuzzedDataProvider& in) {
  switch (variant(in)) {
    case Variant::absent:
      return;
    case Variant::fuzzed:
      g.set_string_attr(name, in.ConsumeRandomLengthString(96));
      return;
    case Variant::other_type:
      g.set_int_attr(name, fuzzed_int(in));
      return;
    case Variant::other_shape:
      g.set_strings_attr(name, {valid, in.ConsumeRandomLengthString(16)});
      return;
    case Variant::other_kind:
      fixed_string_attr(g, name, in.ConsumeBool() ? valid : in.ConsumeRandomLengthString(96));
      return;
    case Variant::valid:
      g.set_string_attr(name, valid);
      return;
  }
}

void int_attr(Group& g, const std::string& name, std::int64_t valid, FuzzedDataProvider& in) {
  switch (variant(in)) {
    case Variant::absent:
      return;
    case Variant::fuzzed:
      g.set_int_attr(name, fuzzed_int(in));
      return;
    case Variant::other_type:
      in.ConsumeBool() ? g.set_string_attr(name, std::to_string(valid)) : g.set_double_attr(name, valid + 0.5);
      return;
    case Variant::other_shape: {
      const Ints v{valid, fuzzed_int(in)};
      g.set_ints_attr(name, in.ConsumeBool() ? std::span<const std::int64_t>(v) : std::span<const std::int64_t>());
      return;
    }
    case Variant::other_kind:
      g.set_doubles_attr(name, std::vector<double>{static_cast<double>(valid)});
      return;
    case Variant::valid:
      g.set_int_attr(name, valid);
      return;
  }
}

void int_column(Group& g, const std::string& name, const Ints& valid, FuzzedDataProvider& in) {
  switch (variant(in)) {
    case Variant::absent:
      return;
    case Variant::fuzzed: {
      Ints v = valid;
      const auto n = in.ConsumeIntegralInRange<std::size_t>(0, 12);
      v.resize(n, 0);
      for (auto& x : v)
        if (in.ConsumeBool()) x = fuzzed_int(in);
      g.write_ints(name, v, {static_cast<std::int64_t>(v.size())});
      return;
    }
    case Variant::other_type: {
      if (in.ConsumeBool()) {
        std::vector<std::string> s;
        for (auto x : valid) s.push_back(std::to_string(x));
        g.write_strings(name, s);
      } else {
        std::vector<double> d(valid.begin(), valid.end());
        g.write_doubles(name, d, {static_cast<std::int64_t>(d.size())});
      }
      return;
    }
    case Variant::other_shape: {
      // The same values as a column [n, 1], or a huge declared length that is never written.
      if (in.ConsumeBool())
        g.write_ints(name, valid, {static_cast<std::int64_t>(valid.size()), 1});
      else
        g.create_dataset(name, ElemType::i64, {in.ConsumeIntegralInRange<std::int64_t>(13, std::int64_t{1} << 40)},
                         DatasetOptions{{1024}, false, 0, {}});
      return;
    }
    case Variant::other_kind:
      in.ConsumeBool() ? (void)g.create_group(name) : g.link_soft(name, "/nowhere");
      return;
    case Variant::valid:
      g.write_ints(name, valid, {static_cast<std::int64_t>(valid.size())});
      return;
  }
}

void string_column(Group& g, const std::string& name, const std::vector<std::string>& valid, FuzzedDataProvider& in) {
  switch (variant(in)) {
    case Variant::absent:
      return;
    case Variant::fuzzed: {
      std::vector<std::string> v = valid;
      v.resize(in.ConsumeIntegralInRange<std::size_t>(0, 12));
      for (auto& s : v)
        if (in.ConsumeBool()) s = in.ConsumeRandomLengthString(32);
      g.write_strings(name, v);
      return;
    }
    case Variant::other_type:
      g.write_ints(name, Ints(valid.size(), 7), {static_cast<std::int64_t>(valid.size())});
      return;
    case Variant::other_shape:
      g.create_dataset(name, ElemType::string, {1, 1});
      return;
    case Variant::other_kind:
      g.create_group(name);
      return;
    case Variant::valid:
      g.write_strings(name, valid);
      return;
  }
}

// The small unit the input starts from, and how its maps are stored.
struct Unit {
  Ints timesteps;
  Ints cached_steps;
  Ints layer_index, layer_h, layer_w;
  std::vector<Ints> tokens;  // per prompt
  std::vector<int> boxes;    // per prompt
  bool f16 = true;
};

Unit make_unit(FuzzedDataProvider& in) {
  Unit u;
  const int n_steps = in.ConsumeIntegralInRange(1, 8);
  std::int64_t t = 0;
  for (int s = 0; s < n_steps; ++s) u.timesteps.push_back(t += in.ConsumeIntegralInRange(1, 100));
  for (int s = 0; s < n_steps; ++s)
    if (s == 0 || in.ConsumeBool()) u.cached_steps.push_back(s);
  const int n_layers = in.ConsumeIntegralInRange(1, 3);
  for (int l = 0; l < n_layers; ++l) {
    u.layer_index.push_back(3 * l + in.ConsumeIntegralInRange(0, 2));
    u.layer_h.push_back(in.ConsumeIntegralInRange(1, 6));
    u.layer_w.push_back(in.ConsumeIntegralInRange(1, 6));
  }
  const int n_prompts = in.ConsumeIntegralInRange(1, 2);
  for (int p = 0; p < n_prompts; ++p) {
    Ints tok{49406};
    for (int k = in.ConsumeIntegralInRange(0, 4); k > 0; --k) tok.push_back(in.ConsumeIntegralInRange(0, 49405));
    tok.push_back(49407);
    u.tokens.push_back(tok);
    u.boxes.push_back(in.ConsumeIntegralInRange(0, 3));
  }
  u.f16 = in.ConsumeBool();
  return u;
}

void write_map(Group& g, const std::string& name, std::int64_t rows, std::int64_t hw, std::int64_t n, bool f16,
               FuzzedDataProvider& in) {
  Ints shape{rows, hw, n};
  ElemType type = f16 ? ElemType::f16 : ElemType::f32;
  switch (variant(in)) {
    case Variant::absent:
      return;
    case Variant::fuzzed:  // a wrong dimension: the reader must compare before it reads
      shape[in.ConsumeIntegralInRange(0, 2)] = in.ConsumeIntegralInRange<std::int64_t>(0, 20);
      break;
    case Variant::other_type: {
      static const ElemType kTypes[] = {ElemType::f16, ElemType::f32, ElemType::f64, ElemType::i64, ElemType::u8};
      type = in.PickValueInArray(kTypes);
      break;
    }
    case Variant::other_shape:
      shape.resize(in.ConsumeIntegralInRange<std::size_t>(1, 4), 1);
      break;
    case Variant::other_kind:
      g.create_group(name);
      return;
    case Variant::valid:
      break;
  }
  std::int64_t numel = 1;
  for (auto d : shape) numel *= d;
  DatasetOptions opt;
  if (in.ConsumeBool() && numel > 0) {  // chunked + compressed, as the writer stores maps
    opt.chunk = shape;
    opt.chunk[0] = 1;
    opt.shuffle = true;
    opt.gzip_level = 4;
  }
  auto d = g.create_dataset(name, type, shape, opt);
  if (in.ConsumeBool()) return;  // never written: reads give the fill value
  std::vector<float> v(static_cast<std::size_t>(numel));
  for (auto& x : v) x = in.ConsumeFloatingPoint<float>();
  if (type == ElemType::f32 || type == ElemType::f16 || type == ElemType::f64) d.write(std::span<const float>(v));
}

// Writes the unit file the input describes.
void write_unit_file(const std::string& path, FuzzedDataProvider& in) {
  const Unit u = make_unit(in);
  auto f = ldmg::io::h5::File::create(path, /*atomic=*/false);
  string_attr(f, "format", ldmg::cache::kAttentionCacheFormat, in);
  int_attr(f, "schema_version", ldmg::cache::kAttentionCacheSchemaVersion, in);
  int_attr(f, "complete", 1, in);
  string_attr(f, "unit_id", "unit-fuzz", in);
  int_attr(f, "T", static_cast<std::int64_t>(u.timesteps.size()), in);
  string_attr(f, "config", R"({"layers":[0,3],"t_min":1})", in);
  string_attr(f, "provenance", R"({"host":"fuzz"})", in);
  string_attr(f, "model_digest", "sha256:0123", in);
  string_attr(f, "dtype", u.f16 ? "float16" : "float32", in);
  int_attr(f, "n_prompts", static_cast<std::int64_t>(u.tokens.size()), in);
  int_column(f, "timesteps", u.timesteps, in);
  int_column(f, "cached_steps", u.cached_steps, in);
  {
    Group layers = f.create_group("layers");
    int_column(layers, "index", u.layer_index, in);
    std::vector<std::string> names;
    for (auto i : u.layer_index) names.push_back("attn2." + std::to_string(i));
    string_column(layers, "name", names, in);
    int_column(layers, "h", u.layer_h, in);
    int_column(layers, "w", u.layer_w, in);
  }
  for (std::size_t p = 0; p < u.tokens.size(); ++p) {
    if (variant(in) == Variant::absent) continue;
    Group g = f.create_group(ldmg::cache::cache_prompt_group(static_cast<int>(p)));
    string_attr(g, "prompt", "small left pleural effusion", in);
    string_attr(g, "category", "Pleural Effusion", in);
    int_attr(g, "pair_index", static_cast<std::int64_t>(p), in);
    string_attr(g, "dicom_id", "dicom-\xc3\xa9", in);
    string_attr(g, "image_path", "files/p10/img.jpg", in);
    int_attr(g, "image_width", 2544, in);
    int_attr(g, "image_height", 3056, in);
    const Ints& tok = u.tokens[p];
    int_column(g, "token_ids", tok, in);
    std::vector<std::string> strings;
    for (auto id : tok) strings.push_back("tok" + std::to_string(id));
    string_column(g, "token_strings", strings, in);
    const std::int64_t nb = u.boxes[p];
    std::vector<double> boxes(static_cast<std::size_t>(nb) * 4, 10.5);
    switch (variant(in)) {
      case Variant::absent:
        break;
      case Variant::other_shape:
        g.write_doubles("boxes", boxes, {nb * 4});
        break;
      case Variant::other_type:
        g.write_strings("boxes", {"1,2,3,4"});
        break;
      default:
        g.write_doubles("boxes", boxes, {nb, 4});
        break;
    }
    for (std::size_t l = 0; l < u.layer_index.size(); ++l)
      write_map(f, ldmg::cache::cache_layer_dataset(static_cast<int>(p), static_cast<int>(u.layer_index[l])),
                static_cast<std::int64_t>(u.cached_steps.size()), u.layer_h[l] * u.layer_w[l],
                static_cast<std::int64_t>(tok.size()), u.f16, in);
  }
}

// Reads everything the analysis reads; sizes must match the validated spec.
void read_unit(const std::string& path, FuzzedDataProvider& in) {
  ldmg::cache::CacheExpectation expect;
  if (in.ConsumeBool()) expect.model_digest = in.ConsumeBool() ? "sha256:0123" : in.ConsumeRandomLengthString(16);
  if (in.ConsumeBool())
    expect.config_json = in.ConsumeBool() ? R"({"t_min":1,"layers":[0,3]})" : in.ConsumeRandomLengthString(32);
  const ldmg::cache::AttentionCacheUnit unit(path, expect);
  const auto& spec = unit.spec();
  for (std::size_t p = 0; p < spec.prompts.size(); ++p) {
    const auto n = static_cast<std::size_t>(spec.prompts[p].n_tokens());
    for (const auto& l : spec.layers) {
      const auto hw = static_cast<std::size_t>(l.h * l.w);
      for (int step : spec.cached_steps)
        if (unit.map_values(static_cast<int>(p), l.index, step).size() != hw * n) __builtin_trap();
      if (unit.layer_values(static_cast<int>(p), l.index).size() != spec.cached_steps.size() * hw * n) __builtin_trap();
    }
  }
  // Requests outside the unit are errors, never reads out of bounds.
  const int prompt = in.ConsumeIntegralInRange(-2, 3), layer = in.ConsumeIntegralInRange(-1, 100);
  const int step = in.ConsumeIntegralInRange(-1, 10);
  (void)unit.map_values(prompt, layer, step);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const std::string& path = scratch_path();
  LDMG_FUZZ_BODY({
    try {
      write_unit_file(path, in);
    } catch (const ldmg::Error&) {
      return 0;  // the writer refused a combination: nothing to read
    }
    read_unit(path, in);
  });
  return 0;
}
