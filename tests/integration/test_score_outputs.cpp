// `score` on our own heatmaps reproduces `evaluate` byte for byte: evaluate
// on the demo model and dataset (non-square images, two heatmap configs) with
// its heatmaps.h5, then score from that file (both configs' groups) and from
// a folder of NPY (float32 and float64): pairs.csv and summary.log are
// byte-identical, summary.json too apart from its `title` and `provenance`
// (which name the tool, the method and the options). `compare` then puts the
// two side by side with equal cells.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "analysis/method_comparison.h"
#include "core/threads.h"
#include "data/ms_cxr.h"
#include "demo/demo_dataset.h"
#include "demo/demo_model.h"
#include "io/file_bytes.h"
#include "io/hdf5_file.h"
#include "io/npy.h"
#include "pipeline/evaluation.h"
#include "pipeline/external_scoring.h"
#include "pipeline/heatmap_store.h"
#include "support/fixtures.h"

using namespace ldmg;
namespace fs = std::filesystem;

namespace {

nlohmann::json summary_without_provenance(const std::string& dir) {
  nlohmann::json j = nlohmann::json::parse(io::read_file_bytes(dir + "/summary.json"));
  j.erase("title");
  j.erase("provenance");
  return j;
}

void expect_same_report(const std::string& evaluated, const std::string& scored) {
  EXPECT_EQ(io::read_file_bytes(scored + "/pairs.csv"), io::read_file_bytes(evaluated + "/pairs.csv")) << scored;
  EXPECT_EQ(io::read_file_bytes(scored + "/summary.log"), io::read_file_bytes(evaluated + "/summary.log")) << scored;
  EXPECT_EQ(summary_without_provenance(scored).dump(2), summary_without_provenance(evaluated).dump(2)) << scored;
}

}  // namespace

TEST(ScoreOutputs, OurHeatmapsScoreByteIdenticalToEvaluate) {
  set_compute_threads(1);
  const fs::path d = test::temp_dir("score_outputs");
  demo::write_demo_model(d / "model");
  const demo::DemoDataset data = demo::write_demo_dataset(d / "data", {.images = 8});
  pipeline::ModelPaths paths;
  paths.fill_from_dir((d / "model").string());
  pipeline::ModelBundle models = pipeline::load_models(paths);

  pipeline::EvaluateOptions eo;
  eo.dataset_csv = data.csv;
  eo.images_root = data.images_root;
  eo.grounding.T = 10;
  eo.grounding.mode = diffusion::InversionMode::fast;
  eo.grounding.configs = {pipeline::HeatmapConfig{}, pipeline::parse_heatmap_spec("layers=all;otsu=off")};
  const std::string eval_dir = (d / "evaluate").string();
  pipeline::ReportOptions ro;
  ro.bootstrap.resamples = 200;
  ro.bootstrap.seed = 3;
  const data::MsCxrDataset ds = data::read_ms_cxr(eo.dataset_csv, {.images_root = eo.images_root});
  fs::create_directories(eval_dir);
  {
    pipeline::HeatmapStore store(eval_dir + "/heatmaps.h5", {{"version", "test"}}, eo.grounding.configs);
    const auto res = pipeline::run_evaluation(models, ds, eo, [&](const pipeline::PairHeatmap& h) { store.add(h); });
    store.commit();
    pipeline::write_evaluation_report(eval_dir, res.rows[0], res.class_order, ro, {{"tool", "evaluate"}});
    pipeline::write_evaluation_report(eval_dir + "/cfg1", res.rows[1], res.class_order, ro, {{"tool", "evaluate"}});
    std::size_t scored = 0;
    for (const auto& r : res.rows[0]) scored += !r.skipped && r.error.empty();
    ASSERT_GE(scored, 5u) << "the demo dataset should give scored pairs";
  }

  pipeline::ExternalScoringOptions so;
  so.dataset_csv = eo.dataset_csv;
  so.conventions.otsu = false;  // heatmap_512 is final (post-Otsu) already
  auto score_into = [&](const std::string& out, const pipeline::PredictionSourceOptions& po) {
    const auto reader = pipeline::open_predictions(po);
    const auto rows = pipeline::score_external(ds, *reader, so);
    ro.title = "score";
    pipeline::write_evaluation_report(out, rows, ds.categories(), ro, {{"tool", "score"}, {"method", "ours again"}});
  };
  const std::string h5 = eval_dir + "/heatmaps.h5";
  score_into((d / "score_h5").string(), {.path = h5, .format = pipeline::PredictionFormat::h5});
  expect_same_report(eval_dir, (d / "score_h5").string());
  const std::string cfg1_group = "/configs/" + eo.grounding.configs[1].name() + "/pairs";
  score_into((d / "score_h5_cfg1").string(),
             {.path = h5, .format = pipeline::PredictionFormat::h5, .h5_group = cfg1_group});
  expect_same_report(eval_dir + "/cfg1", (d / "score_h5_cfg1").string());

  // The same maps as a folder of <pair>.npy, float32 and float64 (exact).
  const fs::path npy32 = d / "npy32", npy64 = d / "npy64";
  fs::create_directories(npy32);
  fs::create_directories(npy64);
  {
    auto f = io::h5::File::open(h5);
    for (const auto& name : f.open_group("/pairs").members()) {
      const auto v = f.open_dataset("/pairs/" + name + "/heatmap_512").read_floats();
      io::write_npy((npy32 / (name + ".npy")).string(), io::DType::F32, {512, 512}, v.data());
      const std::vector<double> v64(v.begin(), v.end());
      io::write_npy((npy64 / (name + ".npy")).string(), io::DType::F64, {1, 512, 512}, v64.data());
    }
  }
  score_into((d / "score_npy32").string(), {.path = npy32.string(), .format = pipeline::PredictionFormat::npy});
  expect_same_report(eval_dir, (d / "score_npy32").string());
  score_into((d / "score_npy64").string(), {.path = npy64.string(), .format = pipeline::PredictionFormat::npy});
  expect_same_report(eval_dir, (d / "score_npy64").string());

  // Otsu on evaluate's final maps would threshold twice: refused.
  so.conventions.otsu = true;
  test::expect_error_mentions(
      [&] { score_into((d / "twice").string(), {.path = h5, .format = pipeline::PredictionFormat::h5}); },
      {h5, "heatmap_512", "--otsu off"});

  // compare: the two side by side, every cell the same.
  const auto t = analysis::compare_methods(
      {analysis::read_method_summary("ours=" + eval_dir), analysis::read_method_summary((d / "score_h5").string())});
  const auto j = nlohmann::json::parse(t.json);
  ASSERT_EQ(j["methods"].size(), 2u);
  EXPECT_EQ(j["methods"][0]["label"], "ours");
  EXPECT_EQ(j["methods"][1]["label"], "ours again");  // provenance.method
  EXPECT_EQ(j["methods"][0]["rows"], j["methods"][1]["rows"]);
}
