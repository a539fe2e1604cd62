#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <functional>

#include "core/check.h"
#include "io/file_bytes.h"
#include "io/pickle_writer.h"
#include "io/safetensors.h"
#include "io/torch_zip.h"
#include "io/zip_crc32.h"
#include "io/zip_reader.h"
#include "io/zip_writer.h"
#include "support/fixtures.h"

using namespace ldmg;
using namespace ldmg::io;
using namespace std::string_literals;

namespace {
template <typename T>
std::string raw_bytes(std::initializer_list<T> v) {
  std::string s(v.size() * sizeof(T), '\0');
  std::memcpy(s.data(), std::data(v), s.size());
  return s;
}

// The tensor's elements in row-major order, gathered through its strides (an
// independent walk of what parse_* promise: data_offset + strides index bytes).
std::string contiguous_bytes(const TensorArchive& ar, const TensorRecord& r) {
  const std::size_t es = dtype_size(r.dtype);
  const std::int64_t n = numel_of(r.shape);
  std::string out;
  out.reserve(static_cast<std::size_t>(n) * es);
  std::vector<std::int64_t> idx(r.shape.size(), 0);
  for (std::int64_t k = 0; k < n; ++k) {
    std::int64_t off = 0;
    for (std::size_t d = 0; d < idx.size(); ++d) off += idx[d] * r.strides[d];
    const std::size_t at = r.data_offset + static_cast<std::size_t>(off) * es;
    EXPECT_LE(at + es, ar.bytes.size()) << r.name;
    out.append(ar.bytes, at, es);
    for (std::size_t d = idx.size(); d-- > 0;) {
      if (++idx[d] < r.shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

// One tensor of a hand-made state-dict pickle.
struct PickledTensor {
  std::string name;
  std::string storage_class = "FloatStorage";
  std::string key = "0";
  std::int64_t numel = 0;  // declared storage numel
  std::int64_t offset = 0;
  std::vector<std::int64_t> size, stride;
};

// OrderedDict of _rebuild_tensor_v2(...) as torch.save pickles it, with the given global for the rebuild
// function (tests swap in forbidden ones).
std::string state_dict_pickle(const std::vector<PickledTensor>& ts) {
  PickleWriter w;
  w.global("collections", "OrderedDict");
  w.put(0);
  w.empty_tuple();
  w.reduce();
  w.mark();
  for (const auto& t : ts) {
    w.unicode(t.name);
    w.global("torch._utils", "_rebuild_tensor_v2");
    w.mark();
    w.mark();
    w.unicode("storage");
    w.global("torch", t.storage_class);
    w.unicode(t.key);
    w.unicode("cpu");
    w.integer(t.numel);
    w.tuple();
    w.binpersid();
    w.integer(t.offset);
    w.mark();
    for (auto d : t.size) w.integer(d);
    w.tuple();
    w.mark();
    for (auto d : t.stride) w.integer(d);
    w.tuple();
    w.boolean(false);
    w.get(0);
    w.empty_tuple();
    w.reduce();
    w.tuple();
    w.reduce();
  }
  w.setitems();
  return w.stop();
}

using Entries = std::vector<std::pair<std::string, std::string>>;

std::string make_zip(const Entries& entries, ZipWriterOptions opt = {}) {
  ZipWriter z(opt);
  for (const auto& [name, data] : entries) z.add(name, data);
  return z.finish();
}

// An archive "a/" with the given pickle, storages and the version record.
std::string torch_like_zip(const std::string& pkl, const Entries& storages) {
  Entries e{{"a/data.pkl", pkl}, {"a/byteorder", "little"}};
  for (const auto& [k, v] : storages) e.emplace_back("a/data/" + k, v);
  e.emplace_back("a/version", "3\n");
  return make_zip(e);
}

void expect_error(const std::function<void()>& f, const std::vector<std::string>& needles) {
  test::expect_error_mentions(f, needles);
}

void expect_parse_error(const std::string& bytes, const std::string& problem) {
  expect_error([&] { parse_torch_zip(bytes, "bad.pth"); }, {"bad.pth", problem});
}
}  // namespace

TEST(Crc32, MatchesTheCheckValueAndChains) {
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);  // the CRC-32/ISO-HDLC check value
  EXPECT_EQ(crc32(""), 0u);
  const std::string s = "The quick brown fox jumps over the lazy dog";
  EXPECT_EQ(crc32(s), 0x414FA339u);
  EXPECT_EQ(crc32(s.substr(13), crc32(s.substr(0, 13))), crc32(s));
}

TEST(TorchZip, RoundTripKeepsDtypesShapesAndBytes) {
  const std::vector<TensorBlob> blobs = {
      {"conv.weight", DType::F32, {2, 3}, raw_bytes<float>({1.f, -2.f, 3.5f, 0.f, 1e-8f, -0.f})},
      {"half", DType::F16, {4}, raw_bytes<std::uint16_t>({0x3c00, 0xc000, 0x7bff, 0x0001})},
      {"step", DType::I64, {}, raw_bytes<std::int64_t>({-1234567890123LL})},
      {"empty", DType::F32, {0, 5}, ""},
      {"ids", DType::I64, {1, 3}, raw_bytes<std::int64_t>({0, 70000, 1LL << 40})},
  };
  const std::string bytes = serialize_torch_zip(blobs, "mymodel");
  const TensorArchive ar = parse_torch_zip(bytes, "mem.pth");
  ASSERT_EQ(ar.tensors.size(), blobs.size());
  for (std::size_t i = 0; i < blobs.size(); ++i) {
    const TensorRecord& r = ar.tensors[i];
    EXPECT_EQ(r.name, blobs[i].name);  // file order = insertion order of the OrderedDict
    EXPECT_EQ(r.dtype, blobs[i].dtype) << r.name;
    EXPECT_EQ(r.shape, blobs[i].shape) << r.name;
    EXPECT_EQ(r.strides, contiguous_strides(blobs[i].shape)) << r.name;
    EXPECT_EQ(contiguous_bytes(ar, r), blobs[i].bytes) << r.name;
    EXPECT_EQ(r.data_offset % 64, 0u) << r.name << ": torch aligns entry data to 64 bytes";
  }
  EXPECT_TRUE(ar.metadata.empty());

  // The layout torch.save writes, checked with the zip reader.
  const auto entries = read_zip_directory(bytes, "mem.pth");
  std::vector<std::string> names;
  for (const auto& e : entries) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{"mymodel/data.pkl", "mymodel/.format_version",
                                             "mymodel/.storage_alignment", "mymodel/byteorder", "mymodel/data/0",
                                             "mymodel/data/1", "mymodel/data/2", "mymodel/data/3", "mymodel/data/4",
                                             "mymodel/version"}));
  EXPECT_EQ(zip_entry_data(bytes, entries.back(), "mem.pth"), "3\n");
  EXPECT_EQ(zip_entry_data(bytes, entries[3], "mem.pth"), "little");
}

TEST(TorchZip, WriteAndReadAFileNamesTheArchiveAfterIt) {
  const std::string dir = test::temp_dir("torchzip");
  const std::string path = dir + "/unet.pth";
  write_torch_zip(path, {{"w", DType::F64, {2}, raw_bytes<double>({0.25, -7.0})}});
  const TensorArchive ar = read_torch_zip(path);
  EXPECT_EQ(ar.source, path);
  ASSERT_EQ(ar.tensors.size(), 1u);
  EXPECT_EQ(contiguous_bytes(ar, ar.tensors[0]), raw_bytes<double>({0.25, -7.0}));
  EXPECT_EQ(read_zip_directory(ar.bytes, path).front().name, "unet/data.pkl");
}

TEST(TorchZip, ReadsZip64ExtraFields) {
  // Same archive with every entry's sizes and offset moved to ZIP64 extra fields.
  const std::string plain = serialize_torch_zip({{"x", DType::I32, {3}, raw_bytes<std::int32_t>({1, -2, 3})}});
  ZipWriter z({64, true});
  for (const auto& e : read_zip_directory(plain, "plain")) z.add(e.name, zip_entry_data(plain, e, "plain"));
  const std::string big = z.finish();
  ASSERT_NE(big, plain);
  const TensorArchive ar = parse_torch_zip(big, "zip64.pth");
  ASSERT_EQ(ar.tensors.size(), 1u);
  EXPECT_EQ(contiguous_bytes(ar, ar.tensors[0]), raw_bytes<std::int32_t>({1, -2, 3}));
}

TEST(TorchZip, StridedViewsSharedStoragesAndLegacyOpcodes) {
  // Storage "s" = [0..5]; t = storage[1:].as_strided((2, 2), (1, 2)) -> [[1, 3], [2, 4]]; u = all of it.
  const std::string storage = raw_bytes<float>({0.f, 1.f, 2.f, 3.f, 4.f, 5.f});
  const std::string pkl = state_dict_pickle({{"t", "FloatStorage", "s", 6, 1, {2, 2}, {1, 2}},
                                             {"u", "FloatStorage", "s", 6, 0, {6}, {1}}});
  const TensorArchive ar = parse_torch_zip(torch_like_zip(pkl, {{"s", storage}}), "views.pth");
  ASSERT_EQ(ar.tensors.size(), 2u);
  EXPECT_EQ(contiguous_bytes(ar, ar.tensors[0]), raw_bytes<float>({1.f, 3.f, 2.f, 4.f}));
  EXPECT_EQ(contiguous_bytes(ar, ar.tensors[1]), storage);
}

TEST(TorchZip, FlattensNestedDictsAndKeepsScalarsAsMetadata) {
  // {"epoch": 3, "state_dict": OrderedDict(w=tensor)} in protocol 2 with a plain dict at the top.
  const std::string inner = state_dict_pickle({{"w", "LongStorage", "0", 1, 0, {1}, {1}}});
  // Wrap: \x80\x02 } ( X"epoch" K3 X"state_dict" <inner without PROTO/STOP> u .
  std::string pkl = "\x80\x02}(";
  pkl += "X" + raw_bytes<std::uint32_t>({5}) + "epoch" + "K\x03";
  pkl += "X" + raw_bytes<std::uint32_t>({10}) + "state_dict";
  pkl += inner.substr(2, inner.size() - 3);
  pkl += "u.";
  const TensorArchive ar =
      parse_torch_zip(torch_like_zip(pkl, {{"0", raw_bytes<std::int64_t>({42})}}), "ckpt.pth");
  ASSERT_EQ(ar.tensors.size(), 1u);
  EXPECT_EQ(ar.tensors[0].name, "state_dict.w");
  EXPECT_EQ(ar.tensors[0].dtype, DType::I64);
  EXPECT_EQ(ar.metadata.at("epoch"), "3");
}

TEST(TorchZip, ParityFixturesEqualTheirSafetensorsBitForBit) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  const std::string m = test::parity_dir() + "/models/";
  const std::pair<std::string, std::string> pairs[] = {
      {"autoencoder.pth", "autoencoder.safetensors"},
      {"diffusion_model.pth", "diffusion_model.safetensors"},
      {"text_encoder/pytorch_model.bin", "text_encoder/model.safetensors"},
  };
  for (const auto& [pth, st] : pairs) {
    if (!std::filesystem::exists(m + pth) || !std::filesystem::exists(m + st)) {
      ADD_FAILURE() << "fixture missing: " << m + pth;
      continue;
    }
    const TensorArchive a = read_torch_zip(m + pth);
    const TensorArchive b = read_safetensors(m + st);
    EXPECT_EQ(a.tensors.size(), b.tensors.size()) << pth;
    std::size_t compared = 0, differing = 0;
    for (const auto& rb : b.tensors) {
      const TensorRecord* ra = a.find(rb.name);
      if (!ra) {
        ADD_FAILURE() << pth << " lacks " << rb.name;
        continue;
      }
      EXPECT_EQ(ra->dtype, rb.dtype) << rb.name;
      EXPECT_EQ(ra->shape, rb.shape) << rb.name;
      if (contiguous_bytes(a, *ra) != contiguous_bytes(b, rb)) ++differing;
      ++compared;
    }
    EXPECT_EQ(differing, 0u) << pth;
    EXPECT_GT(compared, 30u) << pth;
    // What we write reads back identically too.
    std::vector<TensorBlob> blobs;
    for (const auto& r : a.tensors) blobs.push_back({r.name, r.dtype, r.shape, contiguous_bytes(a, r)});
    const TensorArchive c = parse_torch_zip(serialize_torch_zip(blobs), "rewritten");
    ASSERT_EQ(c.tensors.size(), a.tensors.size());
    for (std::size_t i = 0; i < c.tensors.size(); ++i)
      EXPECT_EQ(contiguous_bytes(c, c.tensors[i]), blobs[i].bytes) << blobs[i].name;
  }
}

TEST(TorchZipErrors, NotAZipAndTruncatedFiles) {
  expect_parse_error("this is a safetensors file, honest", "is not a zip archive");
  expect_parse_error("", "is not a zip archive");
  const std::string good = serialize_torch_zip({{"x", DType::F32, {100}, std::string(400, '\1')}});
  expect_parse_error(good.substr(0, good.size() / 2), "truncated");
  expect_parse_error(good.substr(0, good.size() - 1), "truncated");
  // A file cut before its central directory but given a valid-looking end record.
  std::string cut = good;
  cut.erase(100, 64);
  expect_parse_error(cut, "bad.pth");
  expect_error([] { read_torch_zip("/nonexistent/dir/model.pth"); }, {"/nonexistent/dir/model.pth"});
}

TEST(TorchZipErrors, CrcMismatchNamesTheEntry) {
  std::string bytes = serialize_torch_zip({{"x", DType::F32, {4}, raw_bytes<float>({1, 2, 3, 4})}});
  const auto entries = read_zip_directory(bytes, "bad.pth");
  const ZipEntry& data = entries[4];
  ASSERT_EQ(data.name, "archive/data/0");
  bytes[static_cast<std::size_t>(data.data_offset) + 5] ^= 0x40;
  expect_parse_error(bytes, "'archive/data/0' fails its CRC-32 check");
}

TEST(TorchZipErrors, ForbiddenGlobalsAreRefused) {
  // GLOBAL 'os system' called with ('echo pwned',), as a malicious checkpoint would.
  const std::string global_pkl = std::string("\x80\x02") + "cos\nsystem\n" + "X" +
                                 raw_bytes<std::uint32_t>({10}) + "echo pwned" + "\x85R.";
  expect_parse_error(torch_like_zip(global_pkl, {}), "forbidden pickle global 'os.system'");
  expect_parse_error(torch_like_zip(global_pkl, {}), "(a/data.pkl)");
  // The same through STACK_GLOBAL (protocol 4).
  const std::string stack_pkl = std::string("\x80\x04") + "\x8c\x02os\x8c\x06system\x93" + "\x8c\x02id\x85R.";
  expect_parse_error(torch_like_zip(stack_pkl, {}), "forbidden pickle global 'os.system'");
  // builtins.eval in place of the storage class.
  PickledTensor t{"w", "FloatStorage", "0", 1, 0, {1}, {1}};
  std::string pkl = state_dict_pickle({t});
  const std::string from = "ctorch\nFloatStorage\n";
  pkl.replace(pkl.find(from), from.size(), "cbuiltins\neval\n");
  expect_parse_error(torch_like_zip(pkl, {{"0", std::string(4, '\0')}}),
                     "forbidden pickle global 'builtins.eval'");
  expect_parse_error(torch_like_zip(pkl, {{"0", std::string(4, '\0')}}), "weights_only=True");
}

TEST(TorchZipErrors, CompressedEntriesAreRefused) {
  ZipWriter z;
  z.add("a/data.pkl", state_dict_pickle({}));
  z.add_with_method("a/data/0", "xxxx", 8);
  z.add("a/version", "3\n");
  expect_parse_error(z.finish(), "'a/data/0' is compressed (method 8, deflate)");
}

TEST(TorchZipErrors, StorageMustCoverTheTensor) {
  const std::string four = raw_bytes<float>({1, 2, 3, 4});
  expect_parse_error(torch_like_zip(state_dict_pickle({{"w", "FloatStorage", "0", 4, 0, {5}, {1}}}), {{"0", four}}),
                     "storage too small");
  expect_parse_error(torch_like_zip(state_dict_pickle({{"w", "FloatStorage", "0", 4, 2, {2, 2}, {2, 1}}}),
                                    {{"0", four}}),
                     "reaches element 5 of storage '0'");
  // The declared numel must match the entry's bytes.
  expect_parse_error(torch_like_zip(state_dict_pickle({{"w", "FloatStorage", "0", 8, 0, {4}, {1}}}), {{"0", four}}),
                     "holds 16 bytes but the pickle declares 8 F32 elements");
  expect_parse_error(torch_like_zip(state_dict_pickle({{"w", "FloatStorage", "9", 4, 0, {4}, {1}}}), {{"0", four}}),
                     "no entry 'a/data/9'");
  // One storage seen as two dtypes.
  expect_parse_error(torch_like_zip(state_dict_pickle({{"w", "FloatStorage", "0", 4, 0, {4}, {1}},
                                                       {"v", "IntStorage", "0", 4, 0, {4}, {1}}}),
                                    {{"0", four}}),
                     "used as both F32 and I32");
  // Unknown storage class.
  expect_parse_error(torch_like_zip(state_dict_pickle({{"w", "QInt8Storage", "0", 4, 0, {4}, {1}}}), {{"0", four}}),
                     "forbidden pickle global 'torch.QInt8Storage'");
}

TEST(TorchZipErrors, LayoutProblems) {
  const std::string pkl = state_dict_pickle({});
  expect_parse_error(make_zip({{"a/version", "3\n"}}), "no 'a/data.pkl' entry");
  expect_parse_error(make_zip({{"a/data.pkl", pkl}}), "no 'a/version' entry");
  expect_parse_error(make_zip({{"a/data.pkl", pkl}, {"a/version", "99\n"}}), "format version");
  expect_parse_error(make_zip({{"a/data.pkl", pkl}, {"a/byteorder", "big"}, {"a/version", "3\n"}}), "little-endian");
  expect_parse_error(make_zip({{"a/data.pkl", pkl}, {"b/version", "3\n"}}), "outside the archive folder");
  expect_parse_error(make_zip({{"a/data.pkl", pkl}, {"a/data.pkl", pkl}}), "two entries named 'a/data.pkl'");
  // Pickle problems: not a dict, truncated, trailing bytes, unknown opcode.
  expect_parse_error(torch_like_zip("\x80\x02K\x05.", {}), "of type int, not a state dict");
  expect_parse_error(torch_like_zip(pkl.substr(0, pkl.size() - 1), {}), "without a STOP opcode");
  expect_parse_error(torch_like_zip(pkl + "N", {}), "after the pickle's STOP");
  expect_parse_error(torch_like_zip("\x80\x02}(]u.", {}), "odd number of items");
  expect_parse_error(torch_like_zip("\x80\x02\xff.", {}), "opcode 0xff at byte 2");
  expect_parse_error(torch_like_zip("\x80\x02h\x07.", {}), "memo key 7 was never stored");
  expect_parse_error(torch_like_zip("\x80\x02}X\x01\x00\x00\x00k]s."s, {}), "'k' holds a list");
}
