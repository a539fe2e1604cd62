// `evaluate`'s outputs on the parity fixtures: pairs.csv rows agree with the
// golden per-pair metrics, summary.json/md are written, heatmaps.h5 holds the
// final heatmaps that were scored.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/threads.h"
#include "data/csv.h"
#include "io/file_bytes.h"
#include "io/hdf5_file.h"
#include "pipeline/evaluation.h"
#include "pipeline/heatmap_store.h"
#include "support/fixtures.h"

using namespace ldmg;

TEST(EvaluateOutputs, PairsCsvSummaryAndHeatmapsOnFixtures) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  set_compute_threads(0);
  const std::string fx = test::parity_dir();
  pipeline::ModelPaths paths;
  paths.fill_from_dir(fx + "/models");
  pipeline::ModelBundle models = pipeline::load_models(paths);
  pipeline::EvaluateOptions eo;
  eo.dataset_csv = fx + "/dataset/ms_cxr.csv";
  eo.images_root = fx + "/dataset/images";
  eo.grounding.T = 20;
  eo.grounding.mode = diffusion::InversionMode::fast;
  eo.limit = 3;
  const std::string out = test::temp_dir("evaluate");
  std::map<int, float> heatmap_sums;
  {
    pipeline::HeatmapStore store(out + "/heatmaps.h5", {{"version", "test"}}, eo.grounding.configs);
    const auto res = pipeline::run_evaluation(models, eo, [&](const pipeline::PairHeatmap& h) {
      store.add(h);
      heatmap_sums[h.pair] = at::nan_to_num(h.heatmap512, 0.0).sum().item<float>();
    });
    store.commit();
    pipeline::ReportOptions ro;
    ro.bootstrap.resamples = 100;
    pipeline::write_evaluation_report(out, res.rows[0], res.class_order, ro, {{"version", "test"}});
  }
  const auto golden = nlohmann::json::parse(io::read_file_bytes(fx + "/golden/T20/metrics.json"));
  const data::CsvTable csv = data::read_csv(out + "/pairs.csv");
  EXPECT_EQ(csv.header, (std::vector<std::string>{"pair", "dicom_id", "path", "category", "prompt", "skipped", "cnr_abs",
                                                  "cnr", "miou", "auroc", "auroc_exact"}));
  ASSERT_EQ(csv.rows.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const auto& f = csv.rows[i].fields;
    const auto& g = golden["per_sample"][i];
    EXPECT_EQ(std::stoi(f[0]), g["pair_index"].get<int>());
    EXPECT_EQ(f[4], g["prompt"].get<std::string>());
    EXPECT_EQ(f[5], "0");
    EXPECT_NEAR(std::stod(f[6]), g["CNR"].get<double>(), 5e-3);
    EXPECT_NEAR(std::stod(f[8]), g["mIoU"].get<double>(), 5e-3);
    EXPECT_NEAR(std::stod(f[9]), g["AUC_ROC"].get<double>(), 5e-3);
  }
  const auto summary = nlohmann::json::parse(io::read_file_bytes(out + "/summary.json"));
  EXPECT_EQ(summary["pairs"]["total"].get<int>(), 3);
  EXPECT_TRUE(std::filesystem::exists(out + "/summary.md"));
  EXPECT_NE(io::read_file_bytes(out + "/summary.log").find("MS-CXR results (len=3)"), std::string::npos);

  auto h5 = io::h5::File::open(out + "/heatmaps.h5");
  for (const auto& [pair, sum] : heatmap_sums) {
    const auto values = h5.open_dataset("/pairs/" + std::to_string(pair) + "/heatmap_512").read_floats();
    ASSERT_EQ(values.size(), 512u * 512u);
    double s = 0;
    for (float v : values) s += std::isnan(v) ? 0.0 : v;
    EXPECT_NEAR(s, sum, 1e-3 * std::abs(sum) + 1e-3);
  }
}
