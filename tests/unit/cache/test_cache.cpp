// The per-work-unit attention cache: round trips against known map values
// (float16 within half precision, float32 exact), the on-disk layout, the
// writer's bounded queue, and every way a unit can be incomplete or foreign.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include "cache/attention_cache_reader.h"
#include "cache/attention_cache_writer.h"
#include "cache_fixture.h"
#include "core/check.h"
#include "io/hdf5_file.h"
#include "io/safetensors.h"
#include "support/fixtures.h"

using namespace ldmg;
using namespace ldmg::cache;
namespace fs = std::filesystem;

namespace {

// Runs `f`, expects ldmg::Error, returns its message.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ldmg::Error thrown";
  return {};
}

std::string write_unit(const std::string& dir, const AttentionCacheOptions& opt, const CacheUnitSpec& spec) {
  AttentionCacheWriter w(dir, spec, opt);
  test::produce(w, spec);
  w.commit();
  return w.path();
}

std::string write_default_unit(const std::string& dir) { return write_unit(dir, {}, test::make_spec()); }

// Max |got - want| / |want| over all maps of a unit; also checks layer_maps.
double max_rel_error(const AttentionCacheReader& r, const CacheUnitSpec& spec) {
  double worst = 0;
  for (int p = 0; p < static_cast<int>(spec.prompts.size()); ++p)
    for (const CachedLayer& l : spec.layers) {
      const at::Tensor all = r.layer_maps(p, l.index);  // [R, HW, n]
      EXPECT_EQ(all.sizes().vec(), (std::vector<std::int64_t>{4, l.h * l.w, spec.prompts[p].n_tokens()}));
      for (std::size_t i = 0; i < spec.cached_steps.size(); ++i) {
        const int s = spec.cached_steps[i];
        const at::Tensor want = test::expected_map(spec, p, l.index, s);
        const at::Tensor got = r.maps(p, l.index, s);
        EXPECT_EQ(got.sizes().vec(), want.sizes().vec());
        EXPECT_TRUE(at::equal(got, all[static_cast<std::int64_t>(i)])) << "maps() and layer_maps() differ";
        worst = std::max(worst, ((got - want).abs() / want.abs()).max().item<double>());
      }
    }
  return worst;
}

}  // namespace

TEST(AttentionCache, Float16RoundTripAndMetadata) {
  const std::string dir = test::temp_dir("cache_f16");
  const CacheUnitSpec spec = test::make_spec();
  AttentionCacheWriter w(dir, spec);
  EXPECT_EQ(w.path(), dir + "/unit-abc123.h5");
  EXPECT_TRUE(fs::exists(w.path() + ".tmp"));
  EXPECT_FALSE(fs::exists(w.path()));
  test::produce(w, spec);
  w.commit();
  EXPECT_TRUE(fs::exists(w.path()));
  EXPECT_FALSE(fs::exists(w.path() + ".tmp"));
  const AttentionCacheStats st = w.stats();
  EXPECT_EQ(st.slabs_written, 2u * 3 * 4);
  EXPECT_EQ(st.slabs_ignored, 10u * 11 * 2 - 2 * 3 * 4);
  EXPECT_EQ(st.in_flight_slabs, 0u);
  EXPECT_EQ(st.in_flight_bytes, 0u);

  const AttentionCacheReader r(w.path(), {spec.model_digest, spec.config_json});
  EXPECT_EQ(r.dtype(), CacheDType::f16);
  EXPECT_EQ(r.schema_version(), kAttentionCacheSchemaVersion);
  const CacheUnitSpec& got = r.spec();
  EXPECT_EQ(got.unit_id, spec.unit_id);
  EXPECT_EQ(got.T, 10);
  EXPECT_EQ(got.config_json, spec.config_json);
  EXPECT_EQ(got.provenance_json, spec.provenance_json);
  EXPECT_EQ(got.model_digest, spec.model_digest);
  EXPECT_EQ(got.timesteps, spec.timesteps);
  EXPECT_EQ(got.cached_steps, spec.cached_steps);
  ASSERT_EQ(got.layers.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(got.layers[i].index, spec.layers[i].index);
    EXPECT_EQ(got.layers[i].name, spec.layers[i].name);
    EXPECT_EQ(got.layers[i].h, spec.layers[i].h);
    EXPECT_EQ(got.layers[i].w, spec.layers[i].w);
  }
  ASSERT_EQ(got.prompts.size(), 2u);
  for (std::size_t p = 0; p < 2; ++p) {
    const CachedPrompt& a = got.prompts[p];
    const CachedPrompt& b = spec.prompts[p];
    EXPECT_EQ(a.text, b.text);
    EXPECT_EQ(a.token_ids, b.token_ids);
    EXPECT_EQ(a.token_strings, b.token_strings);
    EXPECT_EQ(a.category, b.category);
    EXPECT_EQ(a.boxes, b.boxes);
    EXPECT_EQ(a.image_width, 2544);
    EXPECT_EQ(a.image_height, 3056);
    EXPECT_EQ(a.pair_index, b.pair_index);
    EXPECT_EQ(a.dicom_id, b.dicom_id);
    EXPECT_EQ(a.image_path, b.image_path);
  }
  EXPECT_EQ(got.prompts[0].n_tokens(), 5);
  EXPECT_EQ(got.prompts[1].n_tokens(), 8);

  // binary16 has an 11-bit significand: relative rounding error <= 2^-11 for
  // our values (all >= 0.01, far above the subnormal range).
  const double err = max_rel_error(r, spec);
  std::printf("float16 round trip: max relative error %.3g (bound 2^-11 = %.3g)\n", err, std::ldexp(1.0, -11));
  EXPECT_LE(err, std::ldexp(1.0, -11));
  EXPECT_LT(err, 1e-3);
  EXPECT_GT(err, 0.0);  // it really is float16

  // Uncached steps and unknown layers are refused with the file named.
  EXPECT_NE(error_of([&] { r.maps(0, 0, 5); }).find("does not hold step 5"), std::string::npos);
  EXPECT_NE(error_of([&] { r.maps(0, 4, 2); }).find("no attn2 layer 4"), std::string::npos);
  EXPECT_NE(error_of([&] { r.maps(2, 0, 2); }).find(w.path()), std::string::npos);
}

TEST(AttentionCache, Float32IsExactInBothThreadingModes) {
  for (bool background : {true, false}) {
    SCOPED_TRACE(background ? "background writer" : "synchronous writer");
    const std::string dir = test::temp_dir("cache_f32");
    AttentionCacheOptions opt;
    opt.dtype = CacheDType::f32;
    opt.background = background;
    const CacheUnitSpec spec = test::make_spec();
    const std::string path = write_unit(dir, opt, spec);
    const AttentionCacheReader r(path);
    EXPECT_EQ(r.dtype(), CacheDType::f32);
    EXPECT_EQ(max_rel_error(r, spec), 0.0);
  }
}

TEST(AttentionCache, ChunkLayoutIsOneMapPerChunk) {
  const std::string dir = test::temp_dir("cache_layout");
  const std::string path = write_default_unit(dir);
  io::h5::File f = io::h5::File::open(path);
  EXPECT_EQ(f.string_attr("format"), kAttentionCacheFormat);
  EXPECT_EQ(f.int_attr("complete"), 1);
  EXPECT_EQ(f.open_dataset("cached_timesteps").read_ints(), (std::vector<std::int64_t>{201, 301, 401, 701}));
  const CacheUnitSpec spec = test::make_spec();
  for (int p = 0; p < 2; ++p)
    for (const CachedLayer& l : spec.layers) {
      const io::h5::DatasetInfo info = f.open_dataset(cache_layer_dataset(p, l.index)).info();
      const std::int64_t n = spec.prompts[p].n_tokens();
      EXPECT_EQ(info.type, io::h5::ElemType::f16);
      EXPECT_EQ(info.shape, (std::vector<std::int64_t>{4, l.h * l.w, n}));
      EXPECT_EQ(info.chunk, (std::vector<std::int64_t>{1, l.h * l.w, n}));
      EXPECT_TRUE(info.shuffle);
      EXPECT_EQ(info.gzip_level, 4);
    }
  EXPECT_TRUE(f.exists("/prompts/1/layer_08"));
  EXPECT_FALSE(f.exists("/prompts/1/layer_01"));
}

TEST(AttentionCache, QueueNeverHoldsMoreThanTheSlabLimit) {
  const std::string dir = test::temp_dir("cache_queue");
  AttentionCacheOptions opt;
  opt.max_slabs_in_flight = 3;
  opt.test_write_delay = std::chrono::milliseconds(3);  // a slow disk against a fast producer
  const CacheUnitSpec spec = test::make_spec();
  AttentionCacheWriter w(dir, spec, opt);
  test::produce(w, spec);
  const AttentionCacheStats mid = w.stats();
  w.commit();
  const AttentionCacheStats st = w.stats();
  std::printf("slab limit 3: peak %zu slabs, %zu bytes in flight\n", st.peak_slabs, st.peak_bytes);
  EXPECT_EQ(st.peak_slabs, 3u);  // reached (the producer outran the writer) and never exceeded
  EXPECT_GE(mid.in_flight_slabs, 1u);
  EXPECT_EQ(st.slabs_written, 24u);
  EXPECT_EQ(max_rel_error(AttentionCacheReader(w.path()), spec) < 1e-3, true);
}

TEST(AttentionCache, QueueNeverHoldsMoreThanTheByteLimit) {
  const std::string dir = test::temp_dir("cache_bytes");
  AttentionCacheOptions opt;
  opt.max_slabs_in_flight = 100;
  // Slabs are 4x4x5 (320 B), 6x5 (120 B), 4x4x8 (512 B) and 6x8 (192 B) floats.
  opt.max_bytes_in_flight = 700;
  opt.test_write_delay = std::chrono::milliseconds(3);
  const CacheUnitSpec spec = test::make_spec();
  AttentionCacheWriter w(dir, spec, opt);
  test::produce(w, spec);
  w.commit();
  const AttentionCacheStats st = w.stats();
  std::printf("byte limit 700: peak %zu slabs, %zu bytes in flight\n", st.peak_slabs, st.peak_bytes);
  EXPECT_LE(st.peak_bytes, 700u);
  EXPECT_GE(st.peak_slabs, 2u);
}

TEST(AttentionCache, MissingMapFailsCommitAndLeavesNoFile) {
  const std::string dir = test::temp_dir("cache_missing");
  const CacheUnitSpec spec = test::make_spec();
  std::string path;
  {
    AttentionCacheWriter w(dir, spec);
    path = w.path();
    test::produce(w, spec, {1, 3, 4});
    const std::string msg = error_of([&] { w.commit(); });
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("1 of 24 maps never arrived"), std::string::npos) << msg;
    EXPECT_NE(msg.find("prompt 1 layer 3 ('down_blocks.2.attentions.1.transformer_blocks.0.attn2') step 4 (t=401)"),
              std::string::npos)
        << msg;
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

TEST(AttentionCache, UncommittedWriterRemovesItsTemporary) {
  for (bool background : {true, false}) {
    const std::string dir = test::temp_dir("cache_uncommitted");
    const CacheUnitSpec spec = test::make_spec();
    AttentionCacheOptions opt;
    opt.background = background;
    std::string path;
    {
      AttentionCacheWriter w(dir, spec, opt);
      path = w.path();
      test::produce(w, spec);
      EXPECT_TRUE(fs::exists(path + ".tmp"));
      EXPECT_EQ(AttentionCacheWriter::live_background_writers(), background ? 1 : 0);
    }
    EXPECT_EQ(AttentionCacheWriter::live_background_writers(), 0);
    EXPECT_FALSE(fs::exists(path));
    EXPECT_FALSE(fs::exists(path + ".tmp"));
    EXPECT_TRUE(fs::is_empty(dir));
    const std::string msg = error_of([&] { AttentionCacheReader r(path); });
    EXPECT_NE(msg.find("not found"), std::string::npos) << msg;
  }
}

TEST(AttentionCache, ProducerMistakesAreErrors) {
  const std::string dir = test::temp_dir("cache_misuse");
  const CacheUnitSpec spec = test::make_spec();
  AttentionCacheWriter w(dir, spec);
  const std::int64_t n = 5;
  // Wrong map size for layer 3 (2x3 in the table).
  std::string msg = error_of([&] { w.on_maps(2, 3, 0, test::fake_probs(0, 3, 2, 4, n), 2, 2); });
  EXPECT_NE(msg.find("delivered a 2x2 map, the table says 2x3"), std::string::npos) << msg;
  // Fewer columns than the prompt's tokens.
  msg = error_of([&] { w.on_maps(2, 3, 0, at::zeros({6, 4}), 2, 3); });
  EXPECT_NE(msg.find("[6, 4]"), std::string::npos) << msg;
  // Prompt out of range.
  msg = error_of([&] { w.on_maps(2, 3, 2, test::fake_probs(0, 3, 2, 6, n), 2, 3); });
  EXPECT_NE(msg.find("prompt 2 outside 0..1"), std::string::npos) << msg;
  // Twice the same map.
  w.on_maps(2, 3, 0, test::fake_probs(0, 3, 2, 6, n), 2, 3);
  msg = error_of([&] { w.on_maps(2, 3, 0, test::fake_probs(0, 3, 2, 6, n), 2, 3); });
  EXPECT_NE(msg.find("delivered twice"), std::string::npos) << msg;
  // A bad spec is refused before any file exists.
  CacheUnitSpec bad = test::make_spec("bad");
  bad.cached_steps = {4, 2};
  msg = error_of([&] { AttentionCacheWriter x(dir, bad); });
  EXPECT_NE(msg.find("strictly ascending"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(dir + "/bad.h5.tmp"));
}

TEST(AttentionCache, TruncatedCopyIsRefusedNamingTheFile) {
  const std::string dir = test::temp_dir("cache_trunc");
  const std::string path = write_default_unit(dir);
  const std::string cut = dir + "/cut.h5";
  fs::copy_file(path, cut);
  fs::resize_file(cut, fs::file_size(path) / 2);
  const std::string msg = error_of([&] { AttentionCacheReader r(cut); });
  EXPECT_NE(msg.find("'" + cut + "'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
}

TEST(AttentionCache, FileWithoutCompleteMarkIsRefused) {
  const std::string dir = test::temp_dir("cache_incomplete");
  const std::string path = write_default_unit(dir);
  {
    io::h5::File f = io::h5::File::open(path, io::h5::Access::read_write);
    f.delete_attr("complete");
    f.close();
  }
  const std::string msg = error_of([&] { AttentionCacheReader r(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated or unfinished cache file"), std::string::npos) << msg;
}

// The sweep's resume check: a committed file of the right unit passes; the
// wrong unit, no complete mark, a truncated copy or a lone .tmp is refused,
// naming the file.
TEST(AttentionCache, CommittedUnitCheckReadsOnlyTheRoot) {
  const std::string dir = test::temp_dir("cache_committed");
  const std::string path = write_default_unit(dir);
  EXPECT_NO_THROW(check_committed_unit(path, "unit-abc123"));
  std::string msg = error_of([&] { check_committed_unit(path, "unit-other"); });
  EXPECT_NE(msg.find("holds unit 'unit-abc123', expected 'unit-other'"), std::string::npos) << msg;

  const std::string cut = dir + "/cut.h5";
  fs::copy_file(path, cut);
  fs::resize_file(cut, fs::file_size(path) / 2);
  msg = error_of([&] { check_committed_unit(cut, "unit-abc123"); });
  EXPECT_NE(msg.find("'" + cut + "'"), std::string::npos) << msg;

  const std::string unmarked = dir + "/unmarked.h5";
  fs::copy_file(path, unmarked);
  {
    io::h5::File f = io::h5::File::open(unmarked, io::h5::Access::read_write);
    f.delete_attr("complete");
    f.close();
  }
  msg = error_of([&] { check_committed_unit(unmarked, "unit-abc123"); });
  EXPECT_NE(msg.find("truncated or unfinished cache file"), std::string::npos) << msg;

  const std::string pending = dir + "/pending.h5";
  fs::copy_file(path, pending + ".tmp");
  msg = error_of([&] { check_committed_unit(pending, "unit-abc123"); });
  EXPECT_NE(msg.find("only an uncommitted '.tmp' exists"), std::string::npos) << msg;
}

TEST(AttentionCache, SchemaVersionMismatchIsRefused) {
  const std::string dir = test::temp_dir("cache_schema");
  const std::string path = write_default_unit(dir);
  {
    io::h5::File f = io::h5::File::open(path, io::h5::Access::read_write);
    f.set_int_attr("schema_version", 99);
    f.close();
  }
  const std::string msg = error_of([&] { AttentionCacheReader r(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("schema version 99, this build reads version 1"), std::string::npos) << msg;
}

TEST(AttentionCache, ModelDigestAndConfigMismatchAreRefused) {
  const std::string dir = test::temp_dir("cache_digest");
  const std::string path = write_default_unit(dir);
  std::string msg = error_of([&] { AttentionCacheReader r(path, {std::string("sha256:ffff"), std::nullopt}); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("different model files: model digest 'sha256:0123abcd', expected 'sha256:ffff'"),
            std::string::npos)
      << msg;
  msg = error_of([&] {
    AttentionCacheReader r(path, {std::nullopt, std::string(R"({"heatmap":{"t_min":3,"t_max":8},"layers":[0,3,8]})")});
  });
  EXPECT_NE(msg.find("different configuration"), std::string::npos) << msg;
  EXPECT_NE(msg.find("/heatmap/t_min"), std::string::npos) << msg;
  // The same configuration with keys in another order and other spacing is accepted.
  EXPECT_NO_THROW(AttentionCacheReader(
      path,
      {std::string("sha256:0123abcd"), std::string(R"({ "layers": [0, 3, 8], "heatmap": {"t_max": 8, "t_min": 2}})")}));
}

// Metadata a damaged or hostile file could hold: refused naming the file and
// the dataset before anything is allocated from it or narrowed to int.
TEST(AttentionCache, ImplausibleMetadataIsRefusedBeforeReading) {
  const std::string dir = test::temp_dir("cache_implausible");
  const std::string good = write_default_unit(dir);
  auto refused_after = [&](const std::string& name, const std::function<void(io::h5::File&)>& edit) {
    const std::string path = dir + "/" + name + ".h5";
    fs::copy_file(good, path, fs::copy_options::overwrite_existing);
    {
      io::h5::File f = io::h5::File::open(path, io::h5::Access::read_write);
      edit(f);
      f.close();
    }
    const std::string msg = error_of([&] { AttentionCacheReader r(path); });
    EXPECT_NE(msg.find("'" + path + "'"), std::string::npos) << msg;
    return msg;
  };
  // 2^32 + 4 would become step 4 if narrowed to int first.
  std::string msg = refused_after("step", [](io::h5::File& f) {
    f.remove("cached_steps");
    const std::vector<std::int64_t> steps{2, 3, (std::int64_t{1} << 32) + 4};
    f.write_ints("cached_steps", steps, {3});
  });
  EXPECT_NE(msg.find("cached step 4294967300 outside the schedule's 0..9"), std::string::npos) << msg;
  // h * w would overflow int64.
  msg = refused_after("huge_map", [](io::h5::File& f) {
    f.remove("layers/h");
    const std::vector<std::int64_t> hs{std::int64_t{1} << 40, 2, 4};
    f.write_ints("layers/h", hs, {3});
  });
  EXPECT_NE(msg.find("map size 1099511627776x4, expected 1..1024 each"), std::string::npos) << msg;
  msg = refused_after("two_dims", [](io::h5::File& f) {
    f.remove("timesteps");
    const std::vector<std::int64_t> t(10, 1);
    f.write_ints("timesteps", t, {10, 1});
  });
  EXPECT_NE(msg.find("dataset '/timesteps' has shape [10, 1], expected one dimension of at most 100000"),
            std::string::npos)
      << msg;
  msg = refused_after("n_prompts", [](io::h5::File& f) { f.set_int_attr("n_prompts", 3); });
  EXPECT_NE(msg.find("lacks group '/prompts/2' (n_prompts = 3)"), std::string::npos) << msg;
}

// A full disk, for real: RLIMIT_FSIZE makes the writer thread's write fail
// (EFBIG), and the error must come out of on_maps or commit naming the file.
TEST(AttentionCache, WriterThreadErrorSurfacesNamingTheFile) {
  const std::string dir = test::temp_dir("cache_full");
  CacheUnitSpec spec = test::make_spec("full");
  spec.prompts = {test::make_prompt(0, 77)};
  spec.layers = {{0, "big", 64, 64}};  // a 64x64x77 float32 chunk (1.2 MiB) bypasses HDF5's 1 MiB chunk cache
  AttentionCacheOptions opt;
  opt.dtype = CacheDType::f32;
  opt.gzip_level = 0;
  opt.shuffle = false;
  AttentionCacheWriter w(dir, spec, opt);
  const std::string path = w.path();

  struct rlimit old {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old;
  small.rlim_cur = 256 * 1024;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string msg;
  try {
    for (int s : spec.cached_steps) w.on_maps(s, 0, 0, at::rand({64 * 64, 77}), 64, 64);
    w.commit();
  } catch (const Error& e) {
    msg = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  ::signal(SIGXFSZ, old_handler);
  EXPECT_NE(msg.find("writing failed"), std::string::npos) << msg;
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  std::printf("disk-full error: %s\n", msg.c_str());
  // Later calls keep failing; nothing is committed.
  EXPECT_THROW(w.commit(), Error);
  EXPECT_FALSE(fs::exists(path));
}

// Bytes per pair on the real layer sizes, with the parity fixture's attention
// probs (tiny model, rich pair, step t_min, all 11 layers: 5 of 32x32, 6 of
// 16x16, n = 9 tokens) repeated at every step of the T=20 schedule.
TEST(AttentionCache, MeasuredBytesPerPairAtRealLayerSizes) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  const io::TensorArchive ar = io::read_safetensors(test::parity_dir() + "/golden/T20/samples/pair00.safetensors");
  CacheUnitSpec spec = test::make_spec("real");
  spec.T = 20;
  spec.prompts = {test::make_prompt(0, 9)};
  spec.timesteps.clear();
  for (int i = 0; i < 20; ++i) spec.timesteps.push_back(1 + 50 * i);
  spec.cached_steps.clear();
  for (int i = 0; i < 20; ++i) spec.cached_steps.push_back(i);
  spec.layers.clear();
  std::vector<at::Tensor> maps;
  std::int64_t sum_hw = 0;
  for (int l = 0; l < 11; ++l) {
    const io::TensorRecord* rec = ar.find(fmt::format("attn_step_tmin_tok.L{:02d}", l));
    ASSERT_NE(rec, nullptr);
    ASSERT_EQ(rec->shape.size(), 3u);
    const std::int64_t hw = rec->shape[1];
    ASSERT_EQ(rec->shape[2], 9);
    at::Tensor t = at::empty({2, hw, 9}, at::kFloat);
    std::memcpy(t.data_ptr<float>(), ar.bytes.data() + rec->data_offset, t.numel() * sizeof(float));
    maps.push_back(t[1].contiguous());  // [HW, n] conditional half
    const auto side = static_cast<std::int64_t>(std::lround(std::sqrt(static_cast<double>(hw))));
    spec.layers.push_back({l, fmt::format("attn2.{}", l), side, side});
    sum_hw += hw;
  }
  ASSERT_EQ(sum_hw, 5 * 1024 + 6 * 256);
  const std::string dir = test::temp_dir("cache_real");
  std::string path;
  {
    AttentionCacheWriter w(dir, spec);
    for (int s = 0; s < 20; ++s)
      for (int l = 0; l < 11; ++l) w.on_maps(s, l, 0, maps[l], spec.layers[l].h, spec.layers[l].w);
    w.commit();
    path = w.path();
  }
  const auto bytes = static_cast<double>(fs::file_size(path));
  const double raw = 1.0 * sum_hw * 9 * 20 * 2;  // prompts x sum(hw) x n x steps x 2 B
  std::printf("T=20, n=9, 11 layers: %.0f bytes on disk, %.0f raw float16 (ratio %.3f)\n", bytes, raw, bytes / raw);
  std::printf(
      "real model, n=12: raw %.0f B/pair at T=20 (20 steps), %.0f B/pair at T=300 (334 steps); "
      "at this ratio ~%.0f and ~%.0f\n",
      1.0 * sum_hw * 12 * 20 * 2, 1.0 * sum_hw * 12 * 334 * 2, bytes / raw * sum_hw * 12 * 20 * 2,
      bytes / raw * sum_hw * 12 * 334 * 2);
  EXPECT_LT(bytes, raw + 64 * 1024);  // gzip+shuffle must not inflate beyond the metadata

  // The real (peaky) probs survive float16 within half precision.
  const AttentionCacheReader r(path);
  double worst = 0;
  for (int l = 0; l < 11; ++l) {
    const at::Tensor got = r.maps(0, l, 7);
    const at::Tensor bound = maps[l].abs() * std::ldexp(1.0, -11) + std::ldexp(1.0, -25);
    EXPECT_TRUE((got - maps[l]).abs().le(bound).all().item<bool>()) << "layer " << l;
    worst = std::max(worst, (got - maps[l]).abs().max().item<double>());
  }
  std::printf("real probs: max abs error %.3g\n", worst);
}
