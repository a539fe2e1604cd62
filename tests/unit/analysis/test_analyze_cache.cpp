// analyze on a real sweep (demo model, float32 cache, an MPI singleton):
// the exact path writes pairs.csv byte-identical to the sweep's own for
// every config of the sweep; the fast path (prefix sums, one resize per
// size, weighted 512-grid metrics) agrees with the exact rows within the
// stated tolerances; the paper tables are written.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "analysis/offline_analysis.h"
#include "analysis/paper_tables.h"
#include "core/threads.h"
#include "demo/demo_dataset.h"
#include "demo/demo_model.h"
#include "io/file_bytes.h"
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
}
