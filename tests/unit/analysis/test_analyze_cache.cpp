// analyze on a real sweep (demo model, float32 cache, an MPI singleton):
// the exact path writes pairs.csv byte-identical to the sweep's own for
// every config of the sweep; the fast path (prefix sums, one resize per
// size, weighted 512-grid metrics) agrees with the exact rows within the
// stated tolerances; the paper tables are written; `--heatmaps` files hold
// the exact path's heatmaps (mapped back by hand here), the image, the boxes
// and the pair's metrics as analyze scored them.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "analysis/heatmap_export.h"
#include "analysis/offline_analysis.h"
#include "analysis/paper_tables.h"
#include "core/check.h"
#include "core/threads.h"
#include "data/image.h"
#include "demo/demo_dataset.h"
#include "demo/demo_model.h"
#include "grounding/back_to_original.h"
#include "io/file_bytes.h"
#include "io/hdf5_file.h"
#include "runner/mpi_env.h"
#include "runner/sweep.h"
#include "runner/sweep_report.h"
#include "support/fixtures.h"

using namespace ldmg;

TEST(AnalyzeCache, ExactIsByteIdenticalFastIsClose) {
  set_compute_threads(1);
  const std::string dir = test::temp_dir("analyze_cache");
  demo::write_demo_model(dir + "/model");
  const auto ds_files = demo::write_demo_dataset(dir + "/data", {.images = 3});
  runner::ModelPaths paths;
  paths.fill_from_dir(dir + "/model");
  runner::ModelBundle models = runner::load_models(paths);

  runner::SweepOptions o;
  o.run_dir = dir + "/run";
  o.dataset_csv = ds_files.csv;
  o.images_root = ds_files.images_root;
  o.Ts = {10};
  o.grounding.mode = diffusion::InversionMode::fast;
  const std::vector<std::string> extra = {"layers=all;window=0:10;otsu=off;order=paper", "tokens=pathology;window=2:8",
                                          "layers=6,7;window=3:9;sigma=0"};
  o.grounding.configs = {runner::HeatmapConfig{}};
  for (const auto& s : extra) o.grounding.configs.push_back(runner::parse_heatmap_spec(s));
  o.cache = runner::CacheMode::full;
  o.cache_options.dtype = runner::CacheDType::f32;
  o.report.bootstrap.resamples = 10;
  // What `ldmground sweep` writes as job.ini (the keys analyze reads).
  o.job_ini = fmt::format("bootstrap = 10\nbox-rule = faithful\ndataset = {}\nimages = {}\nlayers = 3,4,6,7\n"
                          "model-dir = {}/model\norder = code\notsu = on\nsigma = 2.5\nsteps = 10\ntokens = all\n"
                          "window = paper\n",
                          ds_files.csv, ds_files.images_root, dir);
  for (const auto& s : extra) o.job_ini += "config = " + s + "\n";
  runner::MpiEnv env;
  ASSERT_EQ(runner::run_sweep(env, models, o).exit_code, 0);

  const analysis::RunInputs run(o.run_dir);
  ASSERT_EQ(run.configs().size(), o.grounding.configs.size());
  analysis::AnalysisOptions ao;
  ao.configs = run.configs();
  const auto exact = analysis::analyze_run(run, ao);
  analysis::write_analysis_reports(dir + "/out", run, exact, {{"test", true}});
  for (const auto& c : ao.configs) {
    const std::string want = io::read_file_bytes(runner::results_dir(o.run_dir, 10, c.name()) + "/pairs.csv");
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
