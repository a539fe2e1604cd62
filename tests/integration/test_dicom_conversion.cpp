// --dicom-conversion below the CLI: the conversion chosen in the options of
// evaluate and sweep (ImageScoringOptions::image, EvaluateOptions) reaches
// the image reader of score_image_pairs, whose decoded pixels equal the hand-
// computed ones of each conversion (dicom_pattern.h); evaluate counts the
// DICOM images it read; PNG images decode the same under both conversions.
// Demo model (random weights), T=10: seconds.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/threads.h"
#include "data/ms_cxr.h"
#include "demo/demo_dataset.h"
#include "demo/demo_model.h"
#include "dicom_pattern.h"
#include "io/file_bytes.h"
#include "pipeline/evaluation.h"
#include "pipeline/image_scoring.h"
#include "pipeline/model_bundle.h"
#include "support/fixtures.h"

namespace ldmg {
namespace {

namespace fs = std::filesystem;

// The demo model and a two-image dataset: the demo's first PNG (its first
// row) and the pattern DICOM, one box each.
struct Assets {
  pipeline::ModelBundle models;
  std::string csv, images_root;
};

Assets& assets() {
  static Assets a = [] {
    set_compute_threads(1);
    const fs::path d = test::temp_dir("dicom_conversion");
    demo::write_demo_model(d / "model");
    const demo::DemoDataset demo = demo::write_demo_dataset(d / "data", {.images = 1});
    Assets r;
    r.images_root = demo.images_root;
    const std::string rel = "files/p99/p99000001/s99000001/pattern.dcm";
    fs::create_directories((fs::path(r.images_root) / rel).parent_path());
    test::write_dicom((fs::path(r.images_root) / rel).string(), test::window_pattern_spec());
    const std::string text = io::read_file_bytes(demo.csv);
    const std::size_t first_row_end = text.find('\n', text.find('\n') + 1);
    r.csv = (d / "two_images.csv").string();
    std::ofstream(r.csv) << text.substr(0, first_row_end + 1) << "pattern,Pneumonia,Patchy opacity in the middle.,"
                         << rel << ",8,8,16,16,36,36,test\n";
    pipeline::ModelPaths paths;
    paths.fill_from_dir((d / "model").string());
    r.models = pipeline::load_models(paths);
    return r;
  }();
  return a;
}

pipeline::GroundingOptions small_options() {
  pipeline::GroundingOptions opt;
  opt.T = 10;
  opt.mode = diffusion::InversionMode::fast;
  opt.configs = {pipeline::HeatmapConfig{}};
  return opt;
}

// The pixels score_image_pairs decoded for `pair`, through its sink factory.
struct Scored {
  std::vector<std::uint8_t> pixels;
  pipeline::ScoredImage scored;
};
Scored score_one(const data::Pair& pair, data::DicomConversion conversion) {
  pipeline::ImageScoringOptions so;
  so.grounding = small_options();
  so.image.dicom = conversion;
  Scored out;
  out.scored = pipeline::score_image_pairs(assets().models, {&pair}, so,
                                           [&](const data::GrayImage& img, const std::vector<const data::Pair*>&) {
                                             out.pixels = img.pixels;
                                             return nullptr;
                                           });
  return out;
}

const data::Pair& pair_of(const data::MsCxrDataset& ds, const std::string& dicom_id) {
  for (const auto& p : ds.pairs())
    if (p.dicom_id == dicom_id) return p;
  throw std::runtime_error("no pair " + dicom_id);
}

TEST(DicomConversion, ReachesTheReaderOfScoreImagePairsWithHandComputedPixels) {
  const data::MsCxrDataset ds = data::read_ms_cxr(assets().csv, {.images_root = assets().images_root});
  const data::Pair& dcm = pair_of(ds, "pattern");
  const Scored mimic = score_one(dcm, data::DicomConversion::mimic_jpg);
  const Scored window = score_one(dcm, data::DicomConversion::window);
  ASSERT_EQ(mimic.pixels.size(), std::size_t(test::kPatternSide * test::kPatternSide));
  ASSERT_EQ(window.pixels.size(), mimic.pixels.size());
  int mismatches = 0;
  for (int y = 0; y < test::kPatternSide; ++y)
    for (int x = 0; x < test::kPatternSide; ++x) {
      const std::size_t i = static_cast<std::size_t>(y * test::kPatternSide + x);
      const int level = test::pattern_level(x, y);
      mismatches += mimic.pixels[i] != test::kPatternMimicJpg[level];
      mismatches += window.pixels[i] != test::kPatternWindow[level];
    }
  EXPECT_EQ(mismatches, 0);
  EXPECT_TRUE(mimic.scored.dicom);
  EXPECT_TRUE(window.scored.dicom);
  ASSERT_EQ(mimic.scored.rows.size(), 1u);
  EXPECT_FALSE(mimic.scored.rows[0][0].skipped);

  // A PNG is decoded the same whatever the conversion, and is not DICOM.
  const data::Pair& png = ds.pairs().front();
  ASSERT_NE(png.dicom_id, "pattern");
  const Scored png_m = score_one(png, data::DicomConversion::mimic_jpg);
  const Scored png_w = score_one(png, data::DicomConversion::window);
  EXPECT_FALSE(png_m.scored.dicom);
  EXPECT_EQ(png_m.pixels, png_w.pixels);
  EXPECT_EQ(png_m.scored.rows[0][0].metrics.miou, png_w.scored.rows[0][0].metrics.miou);
  EXPECT_EQ(png_m.scored.rows[0][0].metrics.cnr, png_w.scored.rows[0][0].metrics.cnr);
}

TEST(DicomConversion, EvaluationPassesItOnAndCountsDicomImages) {
  const data::MsCxrDataset ds = data::read_ms_cxr(assets().csv, {.images_root = assets().images_root});
  pipeline::EvaluateOptions eo;
  eo.dataset_csv = assets().csv;
  eo.images_root = assets().images_root;
  eo.grounding = small_options();
  eo.dicom_conversion = data::DicomConversion::window;
  const pipeline::EvaluationResult w = pipeline::run_evaluation(assets().models, ds, eo);
  eo.dicom_conversion = data::DicomConversion::mimic_jpg;
  const pipeline::EvaluationResult m = pipeline::run_evaluation(assets().models, ds, eo);
  EXPECT_EQ(w.images, 2u);
  EXPECT_EQ(w.dicom_images, 1u);
  EXPECT_EQ(m.dicom_images, 1u);

  // The DICOM pair's row is the one score_image_pairs gives with the same conversion.
  const data::Pair& dcm = pair_of(ds, "pattern");
  const pipeline::PairRow& w_row = w.rows[0][static_cast<std::size_t>(dcm.index)];
  const pipeline::PairRow& m_row = m.rows[0][static_cast<std::size_t>(dcm.index)];
  ASSERT_TRUE(w_row.error.empty()) << w_row.error;
  const pipeline::PairRow direct = score_one(dcm, data::DicomConversion::window).scored.rows[0][0];
  EXPECT_EQ(w_row.metrics.cnr, direct.metrics.cnr);
  EXPECT_EQ(w_row.metrics.miou, direct.metrics.miou);
  EXPECT_EQ(w_row.metrics.auroc, direct.metrics.auroc);
  // Other pixels, another latent: the window run's numbers are not mimic_jpg's.
  EXPECT_NE(w_row.metrics.cnr, m_row.metrics.cnr);
  // The PNG pair's row does not depend on the conversion.
  const std::size_t png = static_cast<std::size_t>(ds.pairs().front().index);
  EXPECT_EQ(w.rows[0][png].metrics.cnr, m.rows[0][png].metrics.cnr);
  EXPECT_EQ(w.rows[0][png].metrics.auroc, m.rows[0][png].metrics.auroc);
}

}  // namespace
}  // namespace ldmg
