// Output formats: NPY (against the NPY spec byte for byte), PNG (libpng
// round trip + the PNG header read by hand), HDF5 (round trips, filters,
// float16, strings, attributes, links, virtual datasets, errors).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>

#include "core/check.h"
#include "io/file_bytes.h"
#include "io/hdf5_file.h"
#include "io/npy.h"
#include "io/png_writer.h"
#include "support/fixtures.h"

using namespace ldmg;
using namespace ldmg::io;
namespace fs = std::filesystem;

namespace {

// Runs `fn`, expects ldmg::Error whose message contains every needle.
template <typename Fn>
void expect_error(Fn&& fn, std::initializer_list<std::string> needles) {
  try {
    fn();
    ADD_FAILURE() << "expected ldmg::Error";
  } catch (const ldmg::Error& e) {
    for (const auto& n : needles)
      EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what() << "\n  lacks: " << n;
  }
}

std::string le16(std::size_t v) { return {static_cast<char>(v & 0xff), static_cast<char>((v >> 8) & 0xff)}; }

}  // namespace

// ---- NPY -------------------------------------------------------------------

TEST(Npy, HeaderMatchesHandBuiltSpecBytes) {
  // NPY v1.0: magic, 1, 0, uint16 LE header length, dict, spaces, '\n'; the
  // data starts at a multiple of 64. This dict is 59 characters, so the
  // header block is 128 bytes: 10 + 118.
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  ASSERT_EQ(dict.size(), 59u);
  std::string want = std::string("\x93NUMPY\x01\x00", 8) + le16(118) + dict + std::string(117 - 59, ' ') + "\n";
  ASSERT_EQ(want.size(), 128u);
  EXPECT_EQ(npy_header(DType::F32, {2, 3}), want);

  // 1-D shapes are Python 1-tuples; scalars are ().
  EXPECT_NE(npy_header(DType::I64, {5}).find("'descr': '<i8', 'fortran_order': False, 'shape': (5,), }"),
            std::string::npos);
  EXPECT_NE(npy_header(DType::U8, {}).find("'descr': '|u1', 'fortran_order': False, 'shape': (), }"),
            std::string::npos);
  for (auto shape : {std::vector<std::int64_t>{}, {7}, {1, 2, 3, 4, 5, 6, 7, 8}, {123456789, 2}})
    EXPECT_EQ(npy_header(DType::F64, shape).size() % 64, 0u);

  // Data follows the header unchanged.
  const float v[6] = {0.f, 1.f, -2.5f, 3.25f, 1e-30f, -0.f};
  const std::string bytes = serialize_npy(DType::F32, {2, 3}, v);
  ASSERT_EQ(bytes.size(), 128u + 24u);
  EXPECT_EQ(std::memcmp(bytes.data() + 128, v, 24), 0);
}

TEST(Npy, RoundTripsEveryDtype) {
  const std::string dir = test::temp_dir("npy");
  const std::vector<float> f = {1.5f, -2.f, std::numeric_limits<float>::infinity(), 3e-38f, 0.1f, 7.f};
  write_npy(dir + "/f.npy", std::span<const float>(f), {3, 1, 2});
  const NpyArray a = read_npy(dir + "/f.npy");
  EXPECT_EQ(a.dtype, DType::F32);
  EXPECT_EQ(a.shape, (std::vector<std::int64_t>{3, 1, 2}));
  EXPECT_EQ(a.values<float>(), f);

  const std::vector<double> d = {1.0 / 3.0, -1e300};
  write_npy(dir + "/d.npy", std::span<const double>(d), {2});
  EXPECT_EQ(read_npy(dir + "/d.npy").values<double>(), d);

  const std::vector<std::int64_t> i = {-1, 1LL << 40, 0};
  write_npy(dir + "/i.npy", std::span<const std::int64_t>(i), {3, 1});
  EXPECT_EQ(read_npy(dir + "/i.npy").values<std::int64_t>(), i);

  std::vector<std::uint8_t> u(256);
  std::iota(u.begin(), u.end(), 0);
  write_npy(dir + "/u.npy", std::span<const std::uint8_t>(u), {16, 16});
  const NpyArray ua = read_npy(dir + "/u.npy");
  EXPECT_EQ(ua.values<std::uint8_t>(), u);
  EXPECT_THROW(ua.values<float>(), ldmg::Error);

  // Empty arrays are legal.
  write_npy(dir + "/e.npy", std::span<const float>(), {0, 4});
  EXPECT_EQ(read_npy(dir + "/e.npy").numel(), 0);
  // Counts must fill the shape.
  expect_error([&] { write_npy(dir + "/bad.npy", std::span<const float>(f), {4}); }, {"bad.npy", "6 values"});
}

TEST(Npy, ReaderAcceptsOtherSpellingsAndVersion2) {
  // Key order, quotes and spacing as other writers may produce them.
  std::string dict = "{\"shape\":(2,),\"fortran_order\":False,\"descr\":\"<i4\"}\n";
  std::string file = std::string("\x93NUMPY\x02\x00", 8) + le16(dict.size()) + std::string(2, '\0') + dict;
  const std::int32_t v[2] = {-7, 9};
  file.append(reinterpret_cast<const char*>(v), 8);
  const NpyArray a = parse_npy(file, "v2");
  EXPECT_EQ(a.dtype, DType::I32);
  EXPECT_EQ(a.values<std::int32_t>(), (std::vector<std::int32_t>{-7, 9}));
}

TEST(Npy, ReaderRejectsBadFilesNamingThem) {
  const std::string good = serialize_npy(DType::F32, {2}, std::vector<float>{1, 2}.data());
  expect_error([&] { parse_npy("PK\x03\x04 not npy at all", "x.npy"); }, {"x.npy", "magic"});
  std::string v9 = good;
  v9[6] = 9;
  expect_error([&] { parse_npy(v9, "v9.npy"); }, {"v9.npy", "version 9.0"});
  expect_error([&] { parse_npy(good.substr(0, good.size() - 1), "short.npy"); }, {"short.npy", "7 bytes", "needs 8"});
  expect_error([&] { parse_npy(good + "xx", "long.npy"); }, {"long.npy", "10 bytes"});
  expect_error([&] { parse_npy(good.substr(0, 40), "cut.npy"); }, {"cut.npy", "past the end"});
  auto with_dict = [](std::string dict) {
    std::string h = std::string("\x93NUMPY\x01\x00", 8) + le16(dict.size() + 1) + dict + "\n";
    return h + std::string(8, '\0');
  };
  expect_error([&] { parse_npy(with_dict("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }"), "be.npy"); },
               {"be.npy", "'>f4'"});
  expect_error([&] { parse_npy(with_dict("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }"), "f.npy"); },
               {"f.npy", "Fortran"});
  expect_error(
      [&] { parse_npy(with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}"), "k.npy"); },
      {"k.npy", "'x'"});
  expect_error([&] { parse_npy(with_dict("{'descr': '<f4', 'shape': (2,), }"), "m.npy"); }, {"m.npy", "lacks"});
  expect_error([&] { parse_npy(with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }"), "n.npy"); },
               {"n.npy", "non-negative integer"});
  expect_error([&] { read_npy("/nonexistent/dir/a.npy"); }, {"/nonexistent/dir/a.npy"});
}

// ---- PNG -------------------------------------------------------------------

TEST(Png, GrayAndRgbRoundTripWithHandCheckedHeader) {
  const std::string dir = test::temp_dir("png");
  const int w = 7, h = 3;
  std::vector<std::uint8_t> gray(w * h);
  for (int i = 0; i < w * h; ++i) gray[i] = static_cast<std::uint8_t>(i * 12);
  write_png_gray(dir + "/g.png", w, h, gray.data());
  const std::string bytes = read_file_bytes(dir + "/g.png");
  // PNG signature, then the IHDR chunk: length 13, "IHDR", width, height (big
  // endian), bit depth 8, colour type 0 (gray).
  ASSERT_GE(bytes.size(), 33u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(bytes.substr(12, 4), "IHDR");
  auto be32 = [&](std::size_t o) {
    return (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[o])) << 24) |
           (static_cast<unsigned char>(bytes[o + 1]) << 16) | (static_cast<unsigned char>(bytes[o + 2]) << 8) |
           static_cast<unsigned char>(bytes[o + 3]);
  };
  EXPECT_EQ(be32(16), 7u);
  EXPECT_EQ(be32(20), 3u);
  EXPECT_EQ(bytes[24], 8);
  EXPECT_EQ(bytes[25], 0);
  const PngPixels g = read_png(dir + "/g.png");
  EXPECT_EQ(g.width, w);
  EXPECT_EQ(g.height, h);
  EXPECT_EQ(g.channels, 1);
  EXPECT_EQ(g.pixels, gray);

  std::vector<std::uint8_t> rgb(w * h * 3);
  for (std::size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<std::uint8_t>((i * 37) ^ 0x5a);
  write_png_rgb(dir + "/c.png", w, h, rgb.data());
  EXPECT_EQ(read_file_bytes(dir + "/c.png")[25], 2);  // colour type RGB
  const PngPixels c = read_png(dir + "/c.png");
  EXPECT_EQ(c.channels, 3);
  EXPECT_EQ(c.pixels, rgb);
  EXPECT_FALSE(fs::exists(dir + "/c.png.tmp"));
}

TEST(Png, ErrorsNameTheFile) {
  const std::string dir = test::temp_dir("pngerr");
  std::vector<std::uint8_t> px(64 * 64, 7);
  write_png_gray(dir + "/a.png", 64, 64, px.data());
  const std::string bytes = read_file_bytes(dir + "/a.png");
  expect_error([&] { decode_png(std::string_view(bytes).substr(0, bytes.size() / 2), "half.png"); },
               {"half.png", "libpng"});
  expect_error([&] { decode_png("GIF89a........", "x.gif"); }, {"x.gif", "signature"});
  expect_error([&] { encode_png(0, 5, 1, px.data(), "zero.png"); }, {"zero.png"});
  expect_error([&] { encode_png(4, 4, 2, px.data(), "two.png"); }, {"two.png", "channels"});
}

// ---- HDF5: float16 conversion ---------------------------------------------

TEST(Hdf5Half, KnownBinary16Encodings) {
  using h5::float_to_half;
  // Reference encodings of IEEE 754 binary16.
  EXPECT_EQ(float_to_half(0.0f), 0x0000);
  EXPECT_EQ(float_to_half(-0.0f), 0x8000);
  EXPECT_EQ(float_to_half(1.0f), 0x3c00);
  EXPECT_EQ(float_to_half(-2.0f), 0xc000);
  EXPECT_EQ(float_to_half(0.1f), 0x2e66);
  EXPECT_EQ(float_to_half(1.0f / 3.0f), 0x3555);
  EXPECT_EQ(float_to_half(65504.0f), 0x7bff);  // largest finite
  EXPECT_EQ(float_to_half(65519.0f), 0x7bff);  // below the halfway point
  EXPECT_EQ(float_to_half(65520.0f), 0x7c00);  // halfway, ties to even = inf
  EXPECT_EQ(float_to_half(1e6f), 0x7c00);
  EXPECT_EQ(float_to_half(-std::numeric_limits<float>::infinity()), 0xfc00);
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -14)), 0x0400);  // smallest normal
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(float_to_half(std::ldexp(1.0f, -25)), 0x0000);  // half of it: tie to even (0)
  EXPECT_EQ(float_to_half(std::ldexp(1.5f, -24)), 0x0002);  // 1.5 ulp: tie to even (2)
  EXPECT_EQ(float_to_half(1e-5f), 0x00a8);                  // 167.77 ulps -> 168
  EXPECT_EQ(float_to_half(2049.0f), 0x6800);                // tie between 2048 and 2050 -> 2048
  EXPECT_EQ(float_to_half(2051.0f), 0x6802);                // tie between 2050 and 2052 -> 2052
  const std::uint16_t nan = float_to_half(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7c00, 0x7c00);
  EXPECT_NE(nan & 0x03ff, 0);
}

TEST(Hdf5Half, EveryHalfSurvivesTheRoundTrip) {
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const auto bits = static_cast<std::uint16_t>(b);
    const float f = h5::half_to_float(bits);
    if ((bits & 0x7c00) == 0x7c00 && (bits & 0x3ff)) {
      ASSERT_TRUE(std::isnan(f)) << b;
      continue;
    }
    ASSERT_EQ(h5::float_to_half(f), bits) << "bits " << b << " value " << f;
  }
  EXPECT_EQ(h5::half_to_float(0x3c00), 1.0f);
  EXPECT_EQ(h5::half_to_float(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(h5::half_to_float(0xfbff), -65504.0f);
}

// ---- HDF5: files -----------------------------------------------------------

TEST(Hdf5, AtomicCreateCommitsByRename) {
  const std::string dir = test::temp_dir("h5atomic");
  const std::string path = dir + "/a.h5";
  {
    h5::File f = h5::File::create(path);
    f.set_int_attr("schema", 1);
    EXPECT_TRUE(fs::exists(path + ".tmp"));
    EXPECT_FALSE(fs::exists(path));
    f.commit();
  }
  EXPECT_TRUE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  EXPECT_EQ(h5::File::open(path).int_attr("schema"), 1);
  {
    h5::File f = h5::File::create(dir + "/abandoned.h5");
    f.create_group("g");
  }  // no commit: the temporary goes away, nothing appears
  EXPECT_FALSE(fs::exists(dir + "/abandoned.h5"));
  EXPECT_FALSE(fs::exists(dir + "/abandoned.h5.tmp"));
  {
    h5::File f = h5::File::create(dir + "/busy.h5");
    h5::Group g = f.create_group("g");
    expect_error([&] { f.commit(); }, {"busy.h5", "1 group/dataset/attribute handle(s) still open"});
  }
}

// A full disk makes H5Fclose fail, and HDF5 1.10 then keeps that file's id
// valid and counted among the ids of every other file: later commits of
// healthy files must not mistake it for one of their own open handles (a
// sweep on a full disk failed its cache index that way).
TEST(Hdf5, AFailedCloseDoesNotBlockLaterCommits) {
  const std::string dir = test::temp_dir("h5full");
  struct rlimit old {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old;
  small.rlim_cur = 16 * 1024;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string msg;
  try {
    h5::File full = h5::File::create(dir + "/full.h5");
    for (int i = 0; i < 400; ++i) full.create_group(fmt::format("g{}", i));  // metadata, flushed at close
    full.commit();
  } catch (const Error& e) {
    msg = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  ::signal(SIGXFSZ, old_handler);
  EXPECT_NE(msg.find("full.h5"), std::string::npos) << "the full file should fail to close: " << msg;

  h5::File ok = h5::File::create(dir + "/ok.h5");
  ok.create_group("g");
  EXPECT_NO_THROW(ok.commit());
  EXPECT_TRUE(fs::exists(dir + "/ok.h5"));
}

TEST(Hdf5, GroupsDatasetsFiltersAndAttributes) {
  const std::string path = test::temp_dir("h5rt") + "/rt.h5";
  std::vector<float> maps(2 * 3 * 4);
  for (std::size_t i = 0; i < maps.size(); ++i) maps[i] = std::sin(0.37f * i) * 10.0f;
  const std::vector<float> halves = {0.1f, -2.0f, 65504.0f, 1e-5f, 0.3333333f, 7.0f};
  const std::vector<std::string> tokens = {"<|startoftext|>",     "", "small", "left", "pleural effusion",
                                           "\xc3\xbcml\xc3\xa4ut"};
  {
    h5::File f = h5::File::create(path);
    f.set_string_attr("tool", "ldmground");
    f.set_double_attr("tau", 0.25);
    {
      h5::Group g = f.create_group("pairs/0001/attn");  // intermediate groups
      h5::DatasetOptions opt;
      opt.chunk = {1, 3, 4};
      opt.shuffle = true;
      opt.gzip_level = 4;
      h5::Dataset ds = g.write_floats("maps", maps, {2, 3, 4}, opt);
      ds.set_ints_attr("layers", std::vector<std::int64_t>{3, 4, 6, 7});
      ds.set_floats_attr("range", std::vector<float>{0.f, 1.f});
      ds.set_doubles_attr("sigma", std::vector<double>{2.5});
      ds.set_string_attr("units", "prob");
      ds.set_string_attr("units", "probability");  // replaced
    }                                              // every handle must be closed before commit()
    f.write_floats("pairs/0001/half", halves, {2, 3}, {}, h5::ElemType::f16);
    f.write_strings("pairs/0001/tokens", tokens);
    f.open_group("pairs/0001").set_strings_attr("prompts", {"a", "b c"});
    f.write_ints("pairs/0001/ids", std::vector<std::int64_t>{49406, 320, 49407}, {3});
    f.write_bytes("pairs/0001/mask", std::vector<std::uint8_t>{0, 1, 255, 3}, {2, 2});
    f.write_doubles("pairs/0001/auc", std::vector<double>{0.789}, {});  // scalar
    f.commit();
  }
  h5::File f = h5::File::open(path);
  EXPECT_EQ(f.members(), (std::vector<std::string>{"pairs"}));
  EXPECT_EQ(f.open_group("pairs/0001").members(),
            (std::vector<std::string>{"attn", "auc", "half", "ids", "mask", "tokens"}));
  EXPECT_TRUE(f.exists("pairs/0001/attn/maps"));
  EXPECT_TRUE(f.exists("/pairs/0001"));
  EXPECT_FALSE(f.exists("pairs/0002/attn"));
  EXPECT_FALSE(f.exists("pairs/0001/attn/maps2"));
  EXPECT_EQ(f.kind("pairs/0001/attn"), h5::ObjectKind::group);
  EXPECT_EQ(f.kind("pairs/0001/attn/maps"), h5::ObjectKind::dataset);
  EXPECT_EQ(f.kind("nope"), h5::ObjectKind::none);
  EXPECT_EQ(f.string_attr("tool"), "ldmground");
  EXPECT_EQ(f.double_attr("tau"), 0.25);
  EXPECT_EQ(f.attr_names(), (std::vector<std::string>{"tau", "tool"}));

  h5::Dataset ds = f.open_group("pairs").open_dataset("0001/attn/maps");
  EXPECT_EQ(ds.path(), "/pairs/0001/attn/maps");
  const h5::DatasetInfo info = ds.info();
  EXPECT_EQ(info.type, h5::ElemType::f32);
  EXPECT_EQ(info.shape, (std::vector<std::int64_t>{2, 3, 4}));
  EXPECT_EQ(info.chunk, (std::vector<std::int64_t>{1, 3, 4}));
  EXPECT_TRUE(info.shuffle);
  EXPECT_EQ(info.gzip_level, 4);
  EXPECT_EQ(ds.read_floats(), maps);
  EXPECT_EQ(ds.read_floats_slab({1, 1, 0}, {1, 2, 4}), std::vector<float>(maps.begin() + 16, maps.begin() + 24));
  EXPECT_EQ(ds.ints_attr("layers"), (std::vector<std::int64_t>{3, 4, 6, 7}));
  EXPECT_EQ(ds.floats_attr("range"), (std::vector<float>{0.f, 1.f}));
  EXPECT_EQ(ds.double_attr("sigma"), 2.5);
  EXPECT_EQ(ds.string_attr("units"), "probability");
  expect_error([&] { ds.int_attr("units"); }, {"units", "expected integers", "rt.h5"});
  expect_error([&] { ds.string_attr("missing"); }, {"attribute 'missing' not found", "/pairs/0001/attn/maps", "rt.h5"});
  expect_error([&] { ds.read_ints(); }, {"/pairs/0001/attn/maps", "expected integers"});

  h5::Dataset half = f.open_dataset("pairs/0001/half");
  EXPECT_EQ(half.type(), h5::ElemType::f16);
  const auto hv = half.read_floats();
  ASSERT_EQ(hv.size(), halves.size());
  for (std::size_t i = 0; i < hv.size(); ++i) EXPECT_EQ(hv[i], h5::half_to_float(h5::float_to_half(halves[i])));
  EXPECT_NEAR(hv[0], 0.1f, 1e-4f);
  EXPECT_EQ(hv[2], 65504.0f);
  EXPECT_EQ(f.open_dataset("pairs/0001/tokens").read_strings(), tokens);
  EXPECT_EQ(f.open_group("pairs/0001").strings_attr("prompts"), (std::vector<std::string>{"a", "b c"}));
  EXPECT_EQ(f.open_dataset("pairs/0001/ids").read_ints(), (std::vector<std::int64_t>{49406, 320, 49407}));
  EXPECT_EQ(f.open_dataset("pairs/0001/ids").read_floats(), (std::vector<float>{49406.f, 320.f, 49407.f}));
  EXPECT_EQ(f.open_dataset("pairs/0001/mask").read_bytes(), (std::vector<std::uint8_t>{0, 1, 255, 3}));
  EXPECT_EQ(f.open_dataset("pairs/0001/auc").read_doubles(), (std::vector<double>{0.789}));
  EXPECT_TRUE(f.open_dataset("pairs/0001/auc").shape().empty());
  expect_error([&] { f.open_dataset("pairs/0001/nothing"); }, {"/pairs/0001/nothing", "rt.h5", "not found"});
}

TEST(Hdf5, ExtendibleDatasetGrowsBySlabs) {
  const std::string path = test::temp_dir("h5ext") + "/ext.h5";
  h5::File f = h5::File::create(path, /*atomic=*/false);
  {
    h5::DatasetOptions opt;
    opt.max_shape = {-1, 4};
    opt.chunk = {2, 4};
    opt.gzip_level = 1;
    h5::Dataset ds = f.create_dataset("steps", h5::ElemType::f16, {0, 4}, opt);
    for (int step = 0; step < 3; ++step) {
      ds.resize({step + 1, 4});
      const std::vector<float> row = {step + 0.f, step + 0.5f, -1.f * step, 1024.f};
      ds.write_slab({step, 0}, {1, 4}, row);
    }
    EXPECT_EQ(ds.info().max_shape, (std::vector<std::int64_t>{-1, 4}));
    EXPECT_EQ(ds.read_floats(), (std::vector<float>{0, 0.5f, 0, 1024, 1, 1.5f, -1, 1024, 2, 2.5f, -2, 1024}));
    expect_error([&] { ds.write_slab({3, 0}, {1, 4}, std::vector<float>(4)); }, {"exceeds the extent 3", "/steps"});
  }
  f.close();
  EXPECT_TRUE(fs::exists(path));
}

TEST(Hdf5, ExternalLinksAndVirtualDatasetsResolve) {
  const std::string dir = test::temp_dir("h5link");
  for (int k = 0; k < 2; ++k) {
    h5::File part = h5::File::create(dir + fmt::format("/part{}.h5", k));
    std::vector<float> v(6);
    for (int i = 0; i < 6; ++i) v[i] = 10.f * k + i;
    part.write_floats("heat/maps", v, {2, 3});
    part.commit();
  }
  {
    h5::File index = h5::File::create(dir + "/index.h5");
    // Relative target names: HDF5 finds them beside the linking file.
    index.link_external("runs/part0", "part0.h5", "/heat");
    index.link_external("runs/part1", "part1.h5", "/heat/maps");
    index.link_external("runs/missing", "nowhere.h5", "/x");
    index.create_virtual_dataset(
        "all", h5::ElemType::f32, {5, 3},
        {{"part0.h5", "/heat/maps", {0, 0}, {2, 3}}, {"part1.h5", "/heat/maps", {2, 0}, {2, 3}}});
    index.commit();
  }
  const std::string elsewhere = fs::current_path().string();
  fs::current_path("/");  // relative names must not depend on the working directory
  h5::File index = h5::File::open(dir + "/index.h5");
  EXPECT_EQ(index.open_group("runs/part0").open_dataset("maps").read_floats(), (std::vector<float>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(index.open_dataset("runs/part1").read_floats(), (std::vector<float>{10, 11, 12, 13, 14, 15}));
  EXPECT_TRUE(index.exists("runs/part1"));
  EXPECT_FALSE(index.exists("runs/missing"));  // dangling
  h5::Dataset all = index.open_dataset("all");
  EXPECT_TRUE(all.info().is_virtual);
  const auto v = all.read_floats();
  fs::current_path(elsewhere);
  ASSERT_EQ(v.size(), 15u);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(v[i], i < 6 ? i : 10 + (i - 6)) << i;
  for (int i = 12; i < 15; ++i) EXPECT_TRUE(std::isnan(v[i])) << "unmapped rows read as NaN";
}

TEST(Hdf5, OpenErrorsNameTheFile) {
  const std::string dir = test::temp_dir("h5err");
  expect_error([&] { h5::File::open(dir + "/missing.h5"); }, {"missing.h5", "not found"});
  {
    h5::File f = h5::File::create(dir + "/good.h5");
    std::vector<float> big(64 * 1024, 1.f);
    f.write_floats("x", big, {64, 1024});
    f.commit();
  }
  const std::string bytes = read_file_bytes(dir + "/good.h5");
  {
    std::ofstream out(dir + "/trunc.h5", std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  expect_error([&] { h5::File::open(dir + "/trunc.h5"); }, {"trunc.h5", "H5Fopen", "HDF5:"});
  {
    std::ofstream out(dir + "/text.h5");
    out << "this is not an HDF5 file\n";
  }
  expect_error([&] { h5::File::open(dir + "/text.h5"); }, {"text.h5", "H5Fopen"});
  // Creating where no directory exists.
  expect_error([&] { h5::File::create(dir + "/no/such/dir/x.h5"); }, {"no/such/dir/x.h5", "H5Fcreate"});
  // Creating a dataset twice: the HDF5 error stack is in the message.
  h5::File f = h5::File::create(dir + "/dup.h5");
  f.write_ints("a/b", std::vector<std::int64_t>{1}, {1});
  expect_error([&] { f.write_ints("a/b", std::vector<std::int64_t>{1}, {1}); },
               {"H5Dcreate2", "dup.h5", "/a/b", "HDF5:"});
  expect_error(
      [&] {
        f.write_ints("c", std::vector<std::int64_t>{1, 2}, {3});
      },
      {"2 int64 values", "/c", "3 elements"});
}
