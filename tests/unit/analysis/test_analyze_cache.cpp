// analyze on a real sweep (demo model, an MPI singleton). With a float32
// cache the exact path writes pairs.csv byte-identical to the sweep's own for
// every config of the sweep; the fast path (prefix sums, one resize per
// size, weighted 512-grid metrics) agrees with the exact rows within the
// stated tolerances; the paper tables are written; `--heatmaps` files hold
// the exact path's heatmaps (mapped back by hand here), the image, the boxes
// and the pair's metrics as analyze scored them. With the default float16
// cache the exact path's metrics stay within kFloat16CacheTolerance of the
// sweep's (README `analyze`, docs/cache-format.md).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>

#include "analysis/heatmap_export.h"
#include "analysis/offline_analysis.h"
#include "analysis/paper_tables.h"
#include "core/check.h"
#include "core/threads.h"
#include "data/csv.h"
#include "data/image.h"
#include "demo/demo_dataset.h"
#include "demo/demo_model.h"
#include "grounding/back_to_original.h"
#include "io/file_bytes.h"
#include "io/hdf5_file.h"
#include "support/fixtures.h"
#include "sweep/mpi_env.h"
#include "sweep/sweep.h"
#include "sweep/sweep_report.h"

using namespace ldmg;

namespace {

// The README's and docs/cache-format.md's bound on how far analyze's metrics
// (exact path, the sweep's own configs) move from the sweep's with the
// float16 cache: each probability is rounded to 2^-11 relative, and with
// Otsu on a pixel at the threshold can flip. Measured here: 3.8e-4 (|CNR|,
// paper config); on a parity-fixture sweep 1.4e-4.
constexpr double kFloat16CacheTolerance = 1e-3;

pipeline::ModelBundle write_and_load_demo_model(const std::string& dir) {
  demo::write_demo_model(dir);
  pipeline::ModelPaths paths;
  paths.fill_from_dir(dir);
  return pipeline::load_models(paths);
}

// The demo model and a 3-image demo dataset under `dir`, loaded once per test.
struct DemoAssets {
  std::string dir;
  pipeline::ModelBundle models;
  demo::DemoDataset data;

  explicit DemoAssets(const std::string& d)
      : dir(d), models(write_and_load_demo_model(d + "/model")),
        data(demo::write_demo_dataset(d + "/data", {.images = 3})) {}
};

// MPI is initialised once per process (MpiEnv finalises it when destroyed).
sweep::MpiEnv& mpi_env() {
  static sweep::MpiEnv env;
  return env;
}

// A finished demo sweep into `run_dir`: T=10, --cache full in `dtype`, the
// paper's config plus `extra`, and the job.ini `ldmground sweep` writes (the
// keys analyze reads). Returns its options.
sweep::SweepOptions demo_sweep(DemoAssets& a, const std::string& run_dir, cache::CacheDType dtype,
                               const std::vector<std::string>& extra) {
  sweep::SweepOptions o;
  o.run_dir = run_dir;
  o.dataset_csv = a.data.csv;
  o.images_root = a.data.images_root;
  o.Ts = {10};
  o.grounding.mode = diffusion::InversionMode::fast;
  o.grounding.configs = {pipeline::HeatmapConfig{}};
  for (const auto& s : extra) o.grounding.configs.push_back(pipeline::parse_heatmap_spec(s));
  o.cache = sweep::CacheMode::full;
  o.cache_options.dtype = dtype;
  o.report.bootstrap.resamples = 10;
  o.job_ini = fmt::format("bootstrap = 10\nbox-rule = faithful\ndataset = {}\nimages = {}\nlayers = 3,4,6,7\n"
                          "model-dir = {}/model\norder = code\notsu = on\nsigma = 2.5\nsteps = 10\ntokens = all\n"
                          "window = paper\n",
                          a.data.csv, a.data.images_root, a.dir);
  for (const auto& s : extra) o.job_ini += "config = " + s + "\n";
  const int rc = sweep::run_sweep(mpi_env(), a.models, o).exit_code;
  LDMG_CHECK(rc == 0, "the demo sweep into '{}' exited {}", run_dir, rc);
  return o;
}

// analyze (exact path) of every config of the sweep in `run_dir`, reports
// written to `out`; returns the configs.
std::vector<pipeline::HeatmapConfig> analyze_sweep_configs(const std::string& run_dir, const std::string& out) {
  const analysis::RunInputs run(run_dir);
  analysis::AnalysisOptions ao;
  ao.configs = run.configs();
  analysis::write_analysis_reports(out, run, analysis::analyze_run(run, ao), {{"test", true}});
  return ao.configs;
}

// pairs.csv without its '#' provenance line, if any.
data::CsvTable read_pairs_csv(const std::string& path) {
  std::string text = io::read_file_bytes(path);
  if (text.starts_with("#")) text.erase(0, text.find('\n') + 1);
  return data::parse_csv(text, path);
}

}  // namespace

TEST(AnalyzeCache, ExactIsByteIdenticalFastIsClose) {
  set_compute_threads(1);
  DemoAssets assets(test::temp_dir("analyze_cache"));
  const std::string& dir = assets.dir;
  const auto& ds_files = assets.data;
  const std::vector<std::string> extra = {"layers=all;window=0:10;otsu=off;order=paper", "tokens=pathology;window=2:8",
                                          "layers=6,7;window=3:9;sigma=0"};
  const sweep::SweepOptions o = demo_sweep(assets, dir + "/run", cache::CacheDType::f32, extra);

  const analysis::RunInputs run(o.run_dir);
  ASSERT_EQ(run.configs().size(), o.grounding.configs.size());
  analysis::AnalysisOptions ao;
  ao.configs = run.configs();
  const auto exact = analysis::analyze_run(run, ao);
  analysis::write_analysis_reports(dir + "/out", run, exact, {{"test", true}});
  for (const auto& c : ao.configs) {
    const std::string want = io::read_file_bytes(sweep::results_dir(o.run_dir, 10, c.name()) + "/pairs.csv");
    const std::string got = io::read_file_bytes(fmt::format("{}/out/T10/{}/pairs.csv", dir, c.name()));
    EXPECT_EQ(got, want) << c.name();
  }

  ao.fast = true;
  const auto fast = analysis::analyze_run(run, ao);
  const auto& te = exact.front();
  const auto& tf = fast.front();
  int compared = 0;
  for (std::size_t c = 0; c < ao.configs.size(); ++c)
    for (std::size_t i = 0; i < te.sources.size(); ++i) {
      if (!te.grounded(i)) continue;
      ++compared;
      const std::string what = fmt::format("config {} pair {}", ao.configs[c].name(), te.sources[i].pair);
      // The averaged maps differ by ~1e-7 (float64 vs float32 resize): unless Otsu sits that close to a
      // pixel, every thresholded pixel and so every metric agrees; CNR up to float summation order.
      const double margin = te.at(c, i, analysis::kOtsuMargin);
      if (ao.configs[c].otsu && !(margin > 1e-5)) continue;
      for (auto f : {analysis::kMiou, analysis::kAuroc, analysis::kAbsCnr, analysis::kCnr}) {
        const double a = te.at(c, i, f), b = tf.at(c, i, f);
        if (std::isnan(a)) EXPECT_TRUE(std::isnan(b)) << what;
        else EXPECT_NEAR(a, b, 1e-4) << what << " field " << f;
      }
      if (ao.configs[c].otsu)  // NaN (no threshold) without Otsu
        EXPECT_NEAR(te.at(c, i, analysis::kOtsuThreshold), tf.at(c, i, analysis::kOtsuThreshold), 1e-4) << what;
    }
  EXPECT_GE(compared, 8);

  analysis::write_paper_tables(dir + "/out", analysis::paper_tables(exact, run.dataset()));
  EXPECT_TRUE(std::filesystem::exists(dir + "/out/tables.tex"));

  // analyze --heatmaps: two grounded pairs (asked in reverse order) x configs 0 and 2.
  std::vector<std::size_t> srcs;
  for (std::size_t i = 0; i < te.sources.size() && srcs.size() < 2; ++i)
    if (te.grounded(i)) srcs.insert(srcs.begin(), i);
  ASSERT_EQ(srcs.size(), 2u);
  const std::vector<int> pairs = {te.sources[srcs[0]].pair, te.sources[srcs[1]].pair};
  const std::vector<std::size_t> cfg_index = {0, 2};
  const auto files = analysis::write_pair_heatmaps(dir + "/out", run, {10}, {ao.configs[0], ao.configs[2]}, pairs,
                                                   {{"test", true}});
  ASSERT_EQ(files.size(), 2u);
  for (std::size_t k = 0; k < files.size(); ++k) {
    const std::size_t c = cfg_index[k];
    EXPECT_EQ(files[k], fmt::format("{}/out/T10/{}/heatmaps.h5", dir, ao.configs[c].name()));
    const io::h5::File f = io::h5::File::open(files[k]);
    EXPECT_EQ(f.string_attr("format"), "ldmground.heatmaps");
    EXPECT_EQ(f.string_attr("heatmap_config"), ao.configs[c].name());
    EXPECT_EQ(f.open_group("/pairs").members().size(), 2u);
    for (std::size_t i : srcs) {
      const data::Pair& p = run.dataset()[static_cast<std::size_t>(te.sources[i].pair)];
      const std::string what = fmt::format("{} pair {}", ao.configs[c].name(), p.index);
      const io::h5::Group g = f.open_group("/pairs/" + std::to_string(p.index));
      EXPECT_EQ(g.string_attr("prompt"), p.prompt) << what;
      // The metrics analyze wrote to pairs.csv (same code, same bits).
      EXPECT_EQ(g.double_attr("miou"), te.at(c, i, analysis::kMiou)) << what;
      EXPECT_EQ(g.double_attr("abs_cnr"), te.at(c, i, analysis::kAbsCnr)) << what;
      EXPECT_EQ(g.double_attr("auroc"), te.at(c, i, analysis::kAuroc)) << what;
      const data::GrayImage img = data::read_image((std::filesystem::path(ds_files.images_root) / p.path).string());
      const int W = img.width, H = img.height, S = std::min(W, H);
      EXPECT_EQ(g.open_dataset("image").read_bytes(), img.pixels) << what;
      EXPECT_EQ(g.open_dataset("image").shape(), (std::vector<std::int64_t>{H, W})) << what;
      std::vector<double> boxes;
      for (const auto& b : p.boxes) boxes.insert(boxes.end(), {double(b.x), double(b.y), double(b.w), double(b.h)});
      EXPECT_EQ(g.open_dataset("boxes").read_doubles(), boxes) << what;
      // heatmap = heatmap_512 resized to S x S by the legacy nearest rule, NaN-padded to H x W (centred).
      const std::vector<float> h512 = g.open_dataset("heatmap_512").read_floats();
      const std::vector<float> orig = g.open_dataset("heatmap").read_floats();
      ASSERT_EQ(h512.size(), 512u * 512u) << what;
      ASSERT_EQ(orig.size(), static_cast<std::size_t>(W) * H) << what;
      const int top = (H - S) / 2, left = (W - S) / 2;
      int mismatches = 0, finite = 0;
      for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x) {
          const float got = orig[static_cast<std::size_t>(y) * W + x];
          float want = std::nanf("");
          if (y >= top && y < top + S && x >= left && x < left + S)
            want = h512[grounding::nearest_source_index(y - top, 512, S) * 512 +
                        grounding::nearest_source_index(x - left, 512, S)];
          finite += std::isfinite(got);
          mismatches += !(got == want || (std::isnan(got) && std::isnan(want)));
        }
      EXPECT_EQ(mismatches, 0) << what;
      EXPECT_GT(finite, 0) << what;
    }
  }
  // A pair the run does not hold, and malformed lists, are errors.
  EXPECT_THROW(analysis::write_pair_heatmaps(dir + "/out2", run, {10}, {ao.configs[0]}, {9999}, {}), Error);
  EXPECT_EQ(analysis::parse_pair_list("3, 0,7", "--heatmaps"), (std::vector<int>{3, 0, 7}));
  for (const char* bad : {"", "1,,2", "-1", "a", "1,1"}) EXPECT_THROW(analysis::parse_pair_list(bad, "--heatmaps"), Error);
}

// README (`analyze`), jobs/README.md and docs/cache-format.md: analyze of a
// sweep's own configs gives pairs.csv byte-identical to the sweep's with
// `--cache-dtype float32`; with the default float16 cache every metric stays
// within kFloat16CacheTolerance of the sweep's (and does move), the rest of
// each row unchanged. The cache's dtype does not touch the sweep's own rows.
TEST(AnalyzeCache, Float16CacheWithinToleranceFloat32ByteIdentical) {
  set_compute_threads(1);
  DemoAssets assets(test::temp_dir("analyze_cache_dtype"));
  const std::string& dir = assets.dir;
  const cache::CacheDType default_dtype = sweep::SweepOptions{}.cache_options.dtype;
  ASSERT_EQ(default_dtype, cache::CacheDType::f16);  // the default the docs speak of
  const std::vector<std::string> extra = {"layers=all;window=0:10;otsu=off;order=paper"};
  const sweep::SweepOptions o16 = demo_sweep(assets, dir + "/run16", default_dtype, extra);
  const sweep::SweepOptions o32 = demo_sweep(assets, dir + "/run32", cache::CacheDType::f32, extra);
  const auto configs = analyze_sweep_configs(o16.run_dir, dir + "/out16");
  ASSERT_EQ(configs.size(), 2u);
  ASSERT_EQ(analyze_sweep_configs(o32.run_dir, dir + "/out32").size(), configs.size());

  double max_diff = 0;
  int compared = 0;
  for (const auto& c : configs) {
    const std::string sweep16 = sweep::results_dir(o16.run_dir, 10, c.name()) + "/pairs.csv";
    const std::string sweep32 = sweep::results_dir(o32.run_dir, 10, c.name()) + "/pairs.csv";
    const std::string analyzed16 = fmt::format("{}/out16/T10/{}/pairs.csv", dir, c.name());
    const std::string analyzed32 = fmt::format("{}/out32/T10/{}/pairs.csv", dir, c.name());
    EXPECT_EQ(io::read_file_bytes(sweep16), io::read_file_bytes(sweep32)) << c.name();
    EXPECT_EQ(io::read_file_bytes(analyzed32), io::read_file_bytes(sweep32)) << c.name();

    const data::CsvTable want = read_pairs_csv(sweep16), got = read_pairs_csv(analyzed16);
    ASSERT_EQ(got.header, want.header) << c.name();
    ASSERT_EQ(got.rows.size(), want.rows.size()) << c.name();
    std::vector<bool> metric(want.header.size(), false);
    for (const char* col : {"cnr_abs", "cnr", "miou", "auroc", "auroc_exact"}) {
      ASSERT_GE(want.column(col), 0) << col;
      metric[static_cast<std::size_t>(want.column(col))] = true;
    }
    for (std::size_t r = 0; r < want.rows.size(); ++r)
      for (std::size_t k = 0; k < want.header.size(); ++k) {
        const std::string& a = want.rows[r].fields[k];
        const std::string& b = got.rows[r].fields[k];
        const std::string what = fmt::format("{} row {} {}", c.name(), r + 1, want.header[k]);
        if (!metric[k] || a.empty()) {  // identity, prompt, skipped flag; empty metrics of skipped pairs
          EXPECT_EQ(b, a) << what;
          continue;
        }
        ASSERT_FALSE(b.empty()) << what;
        const double x = std::strtod(a.c_str(), nullptr), y = std::strtod(b.c_str(), nullptr);
        if (std::isnan(x)) {
          EXPECT_TRUE(std::isnan(y)) << what << ": " << b;
          continue;
        }
        EXPECT_NEAR(y, x, kFloat16CacheTolerance) << what;
        max_diff = std::max(max_diff, std::abs(y - x));
        ++compared;
      }
  }
  EXPECT_GE(compared, 2 * 4 * 2);  // 2 configs x 4+ metrics x 2+ grounded pairs (as above)
  // float16 does move them: byte-identical pairs.csv needs the float32 cache.
  EXPECT_GT(max_diff, 0.0);
  std::cout << fmt::format("float16 cache: {} metric values, max |analyze - sweep| = {:.3g} (tolerance {:.0e})\n",
                           compared, max_diff, kFloat16CacheTolerance);
}
