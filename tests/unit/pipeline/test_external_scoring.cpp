// `score`'s building blocks: boxes drawn as a map (hand-computed), a box equal
// to the ground truth (mIoU 1, CNR by hand), the 512-grid and original-size
// readings of the same map scoring identically, Otsu on our normalised map
// giving our final map's scores, NaN-aware Otsu and clamping, the readers'
// dtypes, and malformed files naming file, pair and field.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "grounding/back_to_original.h"
#include "grounding/otsu.h"
#include "grounding/postprocess.h"
#include "io/hdf5_file.h"
#include "io/npy.h"
#include "pipeline/external_scoring.h"
#include "pipeline/pair_scoring.h"
#include "support/fixtures.h"

using namespace ldmg;
using namespace ldmg::pipeline;
namespace fs = std::filesystem;

namespace {

Prediction boxes_prediction(std::vector<PredictedBox> b) {
  Prediction p;
  p.origin = "test boxes";
  p.boxes = std::move(b);
  return p;
}

Prediction map_prediction(const at::Tensor& m) {
  const at::Tensor c = m.to(at::kFloat).contiguous();
  Prediction p;
  p.origin = "test map";
  p.height = c.size(0);
  p.width = c.size(1);
  p.values.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  return p;
}

ScoringConventions off() {
  ScoringConventions c;
  c.otsu = false;
  return c;
}

void expect_same(const metrics::PairMetrics& a, const metrics::PairMetrics& b) {
  EXPECT_EQ(a.abs_cnr, b.abs_cnr);
  EXPECT_EQ(a.cnr, b.cnr);
  EXPECT_EQ(a.miou, b.miou);
  EXPECT_EQ(a.auroc, b.auroc);
  EXPECT_EQ(a.auroc_exact, b.auroc_exact);
}

at::Tensor smooth_map(int seed, std::int64_t n = 512) {
  at::manual_seed(seed);
  const at::Tensor small = at::rand({1, 1, 16, 16});
  return at::upsample_bilinear2d(small, {n, n}, false)[0][0].contiguous();  // [n,n]
}

}  // namespace

TEST(ExternalScoring, BoxesBecomeAMapOfTheHighestCoveringScore) {
  // Integer boxes cover columns x..x+w-1 and rows y..y+h-1; fractional ones the pixels whose centres they hold.
  const at::Tensor m = prediction_map(boxes_prediction({{1, 1, 3, 2, 0.5}, {2, 2, 2, 2, 0.8}, {5.6, 0, 1.0, 1.4, -1}}),
                                      8, 5, BoxMap::max);
  ASSERT_EQ(m.sizes(), (at::IntArrayRef{5, 8}));
  const float expected[5][8] = {{0, 0, 0, 0, 0, 0, -1, 0},
                                {0, .5f, .5f, .5f, 0, 0, 0, 0},
                                {0, .5f, .8f, .8f, 0, 0, 0, 0},
                                {0, 0, .8f, .8f, 0, 0, 0, 0},
                                {0, 0, 0, 0, 0, 0, 0, 0}};
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 8; ++x) EXPECT_EQ(m[y][x].item<float>(), expected[y][x]) << y << "," << x;
}

TEST(ExternalScoring, BoxEqualToGroundTruthGivesMiouOneAndTheHandComputedCnr) {
  // Image 20 x 10, ground truth columns 4..8, rows 2..4 (15 pixels).
  const std::vector<data::Box> gt = {{4, 2, 5, 3}};
  for (bool otsu : {false, true}) {  // Otsu on a 0/1 map keeps it
    ScoringConventions c;
    c.otsu = otsu;
    const auto m = score_prediction(boxes_prediction({{4, 2, 5, 3, 1.0}}), gt, 20, 10, c, "img");
    EXPECT_EQ(m.miou, 1.0);
    // inside: mean 1, variance 0; outside: mean 0, variance 0 -> 1/0 = inf -> nan_to_num: float max.
    EXPECT_EQ(m.cnr, 3.4028234663852886e38);
    EXPECT_EQ(m.abs_cnr, 3.4028234663852886e38);
    EXPECT_EQ(m.auroc, 1.0);
    EXPECT_EQ(m.auroc_exact, 1.0);
  }
  // Plus a false positive of score 0.25 on 4 pixels elsewhere: a finite CNR.
  const auto m = score_prediction(boxes_prediction({{4, 2, 5, 3, 1.0}, {14, 6, 2, 2, 0.25}}), gt, 20, 10, off(), "img");
  const double n_out = 200 - 15, mu_out = 4 * 0.25 / n_out, var_out = 4 * 0.0625 / n_out - mu_out * mu_out;
  const double cnr = (1.0 - mu_out) / std::sqrt(0.0 + var_out);
  EXPECT_NEAR(m.cnr, cnr, 1e-5 * cnr);
  EXPECT_NEAR(m.abs_cnr, cnr, 1e-5 * cnr);
  // thresholds 0.1, 0.2 keep 19 pixels (IoU 15/19), 0.3..0.5 the ground truth (IoU 1); float32 as upstream.
  EXPECT_NEAR(m.miou, (2 * 15.0 / 19.0 + 3) / 5, 1e-6);
}

TEST(ExternalScoring, GridAndOriginalSizeReadingsScoreLikeEvaluate) {
  const at::Tensor map = smooth_map(3);
  const std::vector<data::Box> gt = {{100, 120, 200, 150}, {400, 50, 120, 300}};
  const int w = 700, h = 600;
  const auto ours = score_heatmap(map, gt, w, h);  // evaluate's call
  expect_same(score_prediction(map_prediction(map), gt, w, h, off(), "img"), ours);
  // The same map already at the original size (back-mapped, NaN padding) scores the same.
  const at::Tensor orig = grounding::back_to_original(map, w, h);
  expect_same(score_prediction(map_prediction(orig), gt, w, h, off(), "img"), ours);
}

TEST(ExternalScoring, OtsuOnOurNormalisedMapGivesOurFinalMapsScores) {
  const auto post = grounding::postprocess_heatmap(smooth_map(5) * 3.0 - 1.0);  // sigma 2.5, min-max, Otsu
  const std::vector<data::Box> gt = {{50, 60, 300, 200}};
  ScoringConventions on;
  expect_same(score_prediction(map_prediction(post.norm), gt, 640, 512, on, "img"),
              score_heatmap(post.final, gt, 640, 512));
}

TEST(ExternalScoring, OtsuIgnoresNanPaddingAndClampKeepsNan) {
  const at::Tensor inner = smooth_map(7, 40);
  at::Tensor padded = at::full({40, 50}, std::numeric_limits<float>::quiet_NaN());
  padded.narrow(1, 4, 40).copy_(inner);
  ScoringConventions c;
  const at::Tensor got = apply_conventions(padded, c);
  const at::Tensor want = grounding::apply_otsu(inner).masked;
  EXPECT_TRUE(at::equal(got.narrow(1, 4, 40), want));
  EXPECT_TRUE(at::isnan(got.narrow(1, 0, 4)).all().item<bool>());
  EXPECT_TRUE(at::isnan(got.narrow(1, 44, 6)).all().item<bool>());

  c.otsu = false;
  c.clamp_negative = true;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const at::Tensor m = at::tensor({-0.5f, 0.3f, nan, 0.f}).reshape({2, 2});
  const at::Tensor k = apply_conventions(m, c);
  EXPECT_EQ(k[0][0].item<float>(), 0.f);
  EXPECT_EQ(k[0][1].item<float>(), 0.3f);
  EXPECT_TRUE(std::isnan(k[1][0].item<float>()));
  // An all-NaN map under Otsu stays all NaN (as ours: no threshold).
  c.otsu = true;
  EXPECT_TRUE(at::isnan(apply_conventions(at::full({3, 3}, nan), c)).all().item<bool>());
}

TEST(ExternalScoring, NpyReaderConvertsFloatDtypesAndDropsLeadingOnes) {
  const fs::path d = test::temp_dir("npy_predictions");
  const double v64[6] = {0.1, 0.2, 0.3, -0.4, 0.5, 0.6};
  io::write_npy((d / "0.npy").string(), io::DType::F64, {1, 2, 3}, v64);
  const std::uint16_t v16[4] = {io::h5::float_to_half(0.25f), io::h5::float_to_half(-1.5f), io::h5::float_to_half(0.f),
                                io::h5::float_to_half(1.f)};
  io::write_npy((d / "1.npy").string(), io::DType::F16, {2, 2}, v16);
  const auto r = open_predictions({.path = d.string(), .format = PredictionFormat::npy});
  const Prediction p0 = r->read(0);
  EXPECT_EQ(p0.height, 2);
  EXPECT_EQ(p0.width, 3);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(p0.values[i], static_cast<float>(v64[i]));
  EXPECT_EQ(r->read(1).values, (std::vector<float>{0.25f, -1.5f, 0.f, 1.f}));
  EXPECT_EQ(parse_prediction_format("auto", d.string()), PredictionFormat::npy);
}

TEST(ExternalScoring, MalformedPredictionsNameFilePairAndField) {
  const fs::path d = test::temp_dir("bad_predictions");
  const std::string h5 = (d / "pred.h5").string();
  {
    auto f = io::h5::File::create(h5, /*atomic=*/false);
    const std::vector<float> small(30 * 40, 0.5f);
    f.write_floats("/pairs/0/heatmap", small, {30, 40});
    std::vector<float> inf(512 * 512, 0.f);
    inf[3 * 512 + 7] = std::numeric_limits<float>::infinity();
    f.write_floats("/pairs/1/heatmap", inf, {512, 512});
    const std::vector<std::int64_t> ints(16, 1);
    f.write_ints("/pairs/2/heatmap", ints, {4, 4});
    const std::vector<float> ok(512 * 512, 0.f);
    f.write_floats("/pairs/3/heatmap_512", ok, {512, 512}).set_double_attr("otsu_threshold", 0.4);
    f.write_floats("/pairs/4/other", ok, {512, 512});
    f.close();
  }
  const auto r = open_predictions({.path = h5, .format = PredictionFormat::h5});
  const std::vector<data::Box> gt = {{1, 1, 5, 5}};
  test::expect_error_mentions([&] { r->read(9); }, {h5, "pair 9", "/pairs/9"});
  test::expect_error_mentions([&] { score_prediction(r->read(0), gt, 700, 600, off(), "img.png"); },
                              {h5, "pair 0", "/pairs/0/heatmap", "30x40", "512x512", "600x700", "img.png"});
  test::expect_error_mentions([&] { r->read(1); }, {h5, "pair 1", "/pairs/1/heatmap", "row 3, column 7", "inf"});
  test::expect_error_mentions([&] { r->read(2); }, {h5, "pair 2", "/pairs/2/heatmap", "element type"});
  test::expect_error_mentions([&] { r->read(4); }, {h5, "pair 4", "heatmap", "missing"});
  ScoringConventions on;  // evaluate's final maps are refused under Otsu (it would run twice)
  test::expect_error_mentions([&] { score_prediction(r->read(3), gt, 512, 512, on, "img"); },
                              {h5, "pair 3", "heatmap_512", "--otsu off"});
  expect_same(score_prediction(r->read(3), gt, 512, 512, off(), "img"),
              score_heatmap(at::zeros({512, 512}), gt, 512, 512));
  test::expect_error_mentions([&] { open_predictions({.path = h5, .format = PredictionFormat::h5, .h5_group = "/x"}); },
                              {h5, "/x"});

  const std::string npy_dir = (d / "npy").string();
  fs::create_directories(npy_dir);
  const std::int32_t iv[4] = {1, 2, 3, 4};
  io::write_npy(npy_dir + "/5.npy", io::DType::I32, {2, 2}, iv);
  const auto n = open_predictions({.path = npy_dir, .format = PredictionFormat::npy});
  test::expect_error_mentions([&] { n->read(4); }, {npy_dir, "pair 4", "4.npy"});
  test::expect_error_mentions([&] { n->read(5); }, {"5.npy", "pair 5", "heatmap", "dtype"});

  auto csv = [&](const std::string& name, const std::string& text) {
    const std::string p = (d / name).string();
    std::ofstream(p) << text;
    return p;
  };
  auto boxes = [&](const std::string& p) {
    return open_predictions({.path = p, .format = PredictionFormat::boxes, .known_pairs = {0, 1, 2}});
  };
  const std::string nan_score = csv("nan.csv", "pair,x,y,w,h,score\n0,1,2,3,4,0.9\n1,1,2,3,4,nan\n");
  test::expect_error_mentions([&] { boxes(nan_score); }, {nan_score, "line 3", "pair 1", "'score'", "nan"});
  const std::string bad_x = csv("bad_x.csv", "pair,x,y,w,h,score\n2,abc,2,3,4,0.9\n");
  test::expect_error_mentions([&] { boxes(bad_x); }, {bad_x, "line 2", "pair 2", "'x'", "abc"});
  const std::string neg = csv("neg.csv", "pair,x,y,w,h,score\n2,1,2,-3,4,0.9\n");
  test::expect_error_mentions([&] { boxes(neg); }, {neg, "line 2", "pair 2", "'w'"});
  const std::string no_col = csv("no_col.csv", "pair,x,y,w,h\n0,1,2,3,4\n");
  test::expect_error_mentions([&] { boxes(no_col); }, {no_col, "'score'"});
  const std::string bad_pair = csv("bad_pair.csv", "pair,x,y,w,h,score\nzero,1,2,3,4,1\n");
  test::expect_error_mentions([&] { boxes(bad_pair); }, {bad_pair, "line 2", "'pair'", "zero"});
  const std::string other = csv("other.csv", "pair,x,y,w,h,score\n7,1,2,3,4,1\n");
  test::expect_error_mentions([&] { boxes(other); }, {other, "line 2", "pair 7", "no pair 7"});
  const std::string good = csv("good.csv", "pair,score,x,y,w,h\n0,0.9,1,2,3,4\n0,0.1,5,5,1,1\n");
  const auto g = boxes(good);
  EXPECT_EQ(g->read(0).boxes.size(), 2u);
  test::expect_error_mentions([&] { g->read(1); }, {good, "pair 1"});
}
