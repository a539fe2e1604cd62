// Hand-computed metric values on tiny maps, weights, all of a pair at once
// (score_map), aggregation, bootstrap.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>

#include "core/check.h"
#include "metrics/aggregate.h"
#include "metrics/auroc.h"
#include "metrics/bootstrap.h"
#include "metrics/cnr.h"
#include "metrics/miou.h"
#include "metrics/score_map.h"

using namespace ldmg;
using namespace ldmg::metrics;

namespace {
const float kNaN = NAN;
}

TEST(Cnr, HandComputedTwoBoxes) {
  const float m[] = {1, 2, kNaN, 3, 4, 5};
  const MapView v{m, 2, 3};
  // box 1: in {1,2} mu 1.5 var .25; out {3,4,5} mu 4 var 2/3
  const Box b1{0, 0, 2, 1};
  const double c1 = -2.5 / std::sqrt(0.25 + 2.0 / 3.0);
  CnrValue r = cnr(v, std::vector<Box>{b1});
  EXPECT_NEAR(r.cnr, c1, 1e-6);
  EXPECT_NEAR(r.abs_cnr, -c1, 1e-6);
  // box 2 after box 1 was set to NaN: in {4,5} mu 4.5 var .25; out {3}: 1.5 / .5 = 3
  r = cnr(v, std::vector<Box>{b1, Box{1, 1, 2, 1}});
  EXPECT_NEAR(r.cnr, (c1 + 3.0) / 2, 1e-6);
  EXPECT_NEAR(r.abs_cnr, (-c1 + 3.0) / 2, 1e-6);
  // a box past the map edge is clipped like a Python slice
  EXPECT_NEAR(cnr(v, std::vector<Box>{Box{0, 0, 2, 1}}).cnr, cnr(v, std::vector<Box>{Box{0, 0, 2, 1}}).cnr, 0);
  EXPECT_NEAR(cnr(v, std::vector<Box>{Box{1, 1, 50, 50}}).cnr, cnr(v, std::vector<Box>{Box{1, 1, 2, 1}}).cnr, 0);
}

TEST(Cnr, NanToNumSemantics) {
  const float m[] = {1, 2, 2};
  const MapView v{m, 1, 3};
  // zero variances with different means: -1 / 0 = -inf -> lowest float; |.| -> max float
  const CnrValue r = cnr(v, std::vector<Box>{Box{0, 0, 1, 1}});
  EXPECT_EQ(r.cnr, -static_cast<double>(FLT_MAX));
  EXPECT_EQ(r.abs_cnr, static_cast<double>(FLT_MAX));
  // an all-NaN box: NaN -> 0
  const float n[] = {kNaN, 2, 3};
  EXPECT_EQ(cnr(MapView{n, 1, 3}, std::vector<Box>{Box{0, 0, 1, 1}}).cnr, 0.0);
  EXPECT_THROW(cnr(v, std::vector<Box>{Box{-1, 0, 1, 1}}), Error);
}

TEST(Miou, HandComputed) {
  const float m[] = {0.05f, 0.15f, 0.25f, 0.35f, 0.45f, kNaN};
  const MapView v{m, 2, 3};
  // IoUs .6, .4, .5, .25, 0
  EXPECT_NEAR(miou(v, std::vector<Box>{Box{0, 0, 2, 2}}), 0.35, 1e-7);
  // the comparison is in float32: a pixel at exactly 0.1f is not above 0.1f
  const float e[] = {0.1f, 0.2f};
  const float thr[] = {0.1f};
  EXPECT_EQ(miou(MapView{e, 1, 2}, std::vector<Box>{Box{0, 0, 2, 1}}, thr), 0.5);
}

TEST(Auroc, HandComputedBinnedAndExact) {
  const float m[] = {0.05f, 0.15f, 0.25f, 0.35f, 0.45f, kNaN};
  const MapView v{m, 2, 3};
  const std::vector<Box> box{Box{0, 0, 2, 2}};
  // thresholds 0, .25, .5, .75, 1: tp 4,2,0,0,0; fp 1,1,0,0,0 -> area 1 / (4*1)
  EXPECT_DOUBLE_EQ(auroc_binned(v, box), 0.25);
  // exact: positives .05 .15 .35 .45 vs negative .25 -> 2 of 4 pairs
  EXPECT_DOUBLE_EQ(auroc_exact(v, box), 0.5);
  // ties count one half
  const float t[] = {0.5f, 0.5f};
  EXPECT_DOUBLE_EQ(auroc_exact(MapView{t, 1, 2}, std::vector<Box>{Box{0, 0, 1, 1}}), 0.5);
  // no negatives -> 0.5 (binned, torcheval) and NaN (exact)
  EXPECT_DOUBLE_EQ(auroc_binned(v, std::vector<Box>{Box{0, 0, 3, 2}}), 0.5);
  EXPECT_TRUE(std::isnan(auroc_exact(v, std::vector<Box>{Box{0, 0, 3, 2}})));
  const float all_nan[] = {kNaN, kNaN};
  EXPECT_DOUBLE_EQ(auroc_binned(MapView{all_nan, 1, 2}, std::vector<Box>{Box{0, 0, 1, 1}}), 0.5);
}

TEST(Weights, WeightedCoarseMapEqualsMaterialisedMap) {
  // Coarse 2x2 map; original 3x4 where coarse row 0 covers rows {0,1}, row 1
  // covers {2}; coarse col 0 covers {0}, col 1 covers {1,2,3}.
  const float coarse[] = {0.2f, 0.9f, kNaN, 0.4f};
  const std::uint32_t w[] = {2, 6, 1, 3};
  const int row_of[] = {0, 0, 1}, col_of[] = {0, 1, 1, 1};
  std::vector<float> full(12);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 4; ++x) full[y * 4 + x] = coarse[row_of[y] * 2 + col_of[x]];
  const MapView mc{coarse, 2, 2, w};
  const MapView mf{full.data(), 3, 4};
  const std::vector<Box> bc{Box{1, 0, 1, 1}}, bf{Box{1, 0, 3, 2}};
  const std::vector<Box> bc2{Box{1, 0, 1, 1}, Box{0, 0, 1, 2}}, bf2{Box{1, 0, 3, 2}, Box{0, 0, 1, 3}};
  for (const auto& [c, f] : {std::pair{bc, bf}, std::pair{bc2, bf2}}) {
    EXPECT_NEAR(cnr(mc, c).cnr, cnr(mf, f).cnr, 1e-6);
    EXPECT_NEAR(cnr(mc, c).abs_cnr, cnr(mf, f).abs_cnr, 1e-6);
    EXPECT_NEAR(miou(mc, c), miou(mf, f), 1e-7);
    EXPECT_DOUBLE_EQ(auroc_binned(mc, c), auroc_binned(mf, f));
    EXPECT_DOUBLE_EQ(auroc_exact(mc, c), auroc_exact(mf, f));
  }
  // and the weights matter: without them the answer differs
  const MapView unweighted{coarse, 2, 2};
  EXPECT_NE(cnr(unweighted, bc).cnr, cnr(mf, bf).cnr);
}

TEST(ScoreMap, HandComputedAndEqualToTheSeparateMetrics) {
  const float m[] = {0.05f, 0.15f, 0.25f, 0.35f, 0.45f, kNaN};
  const MapView v{m, 2, 3};
  // box = column 0: in {.05, .35} (mean .2, var .0225), out {.15, .25, .45} (mean .28333, var .015556)
  const std::vector<Box> box{Box{0, 0, 1, 2}};
  const PairMetrics p = score_map(v, box);
  EXPECT_NEAR(p.cnr, -0.0833333 / std::sqrt(0.0225 + 0.0155556), 1e-6);
  EXPECT_NEAR(p.abs_cnr, 0.0833333 / std::sqrt(0.0225 + 0.0155556), 1e-6);
  EXPECT_NEAR(p.miou, (0.2 + 0.25 + 1.0 / 3 + 0 + 0) / 5, 1e-7);  // IoUs at .1 .. .5
  // thresholds 0, .25, .5, ..: (fp, tp) = (3, 2), (2, 1), (0, 0).. -> (2 * 1 / 2 + 1 * 3 / 2) / (2 * 3)
  EXPECT_DOUBLE_EQ(p.auroc, 2.5 / 6);
  EXPECT_DOUBLE_EQ(p.auroc_exact, 2.0 / 6);  // .35 beats .15 and .25
  EXPECT_TRUE(p.category.empty());
  // The same bits as the separate calls, weighted or not (pipeline::score_heatmap and
  // analysis::ScoringGrid rely on it); exact_auroc = false only leaves auroc_exact NaN.
  const std::uint32_t w[] = {2, 1, 3, 1, 5, 1};
  for (const MapView& view : {v, MapView{m, 2, 3, w}}) {
    const PairMetrics a = score_map(view, box);
    EXPECT_EQ(a.cnr, cnr(view, box).cnr);
    EXPECT_EQ(a.abs_cnr, cnr(view, box).abs_cnr);
    EXPECT_EQ(a.miou, miou(view, box));
    EXPECT_EQ(a.auroc, auroc_binned(view, box));
    EXPECT_EQ(a.auroc_exact, auroc_exact(view, box));
    const PairMetrics b = score_map(view, box, /*exact_auroc=*/false);
    EXPECT_EQ(b.cnr, a.cnr);
    EXPECT_EQ(b.abs_cnr, a.abs_cnr);
    EXPECT_EQ(b.miou, a.miou);
    EXPECT_EQ(b.auroc, a.auroc);
    EXPECT_TRUE(std::isnan(b.auroc_exact));
  }
  EXPECT_NE(score_map(MapView{m, 2, 3, w}, box).cnr, p.cnr);  // the weights reach every metric's input
  EXPECT_THROW(score_map(v, std::vector<Box>{Box{-1, 0, 1, 1}}), Error);
}

TEST(Aggregate, EvalLdmSummaryRules) {
  const std::vector<std::string> classes = {"A", "B", "C"};
  std::vector<PairMetrics> pairs = {{"A", 1, -1, .1, .6, .6}, {"A", 3, 3, .3, .8, .8}, {"B", 2, 2, .2, .7, .7}};
  auto cats = per_category(pairs, classes);
  ASSERT_EQ(cats.size(), 3u);
  EXPECT_EQ(cats[0].n, 2u);
  EXPECT_DOUBLE_EQ(cats[0].abs_cnr.mean, 2.0);
  EXPECT_DOUBLE_EQ(cats[0].abs_cnr.std, 1.0);  // population std
  EXPECT_DOUBLE_EQ(cats[0].cnr.mean, 1.0);
  EXPECT_TRUE(std::isnan(cats[2].abs_cnr.mean));
  const Summary s = summarize(cats);
  EXPECT_TRUE(std::isnan(s.abs_cnr.mean));  // empty class C -> NaN
  EXPECT_TRUE(std::isnan(s.miou.std));
  EXPECT_DOUBLE_EQ(s.cnr.mean, 1.5);  // "Avg CNR" skips empty classes in the mean ...
  EXPECT_TRUE(std::isnan(s.cnr.std));  // ... but not in the std
  const std::string text = official_summary_text(cats, 7);
  EXPECT_NE(text.find("MS-CXR results (len=7)\n|CNR|: nan +- nan\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Avg CNR: 1.5000 +- nan\n"), std::string::npos) << text;
  EXPECT_NE(text.find("******Non-absolute CNR results******\nA: 1.0000 +- 2.0000\n"), std::string::npos) << text;
  pairs.push_back({"B", 4, 4, .4, .9, .9});
  pairs.push_back({"C", 1, 1, .1, .5, .5});
  const Summary full = summarize(per_category(pairs, classes));
  EXPECT_DOUBLE_EQ(full.abs_cnr.mean, (2.0 + 3.0 + 1.0) / 3);
  EXPECT_THROW(per_category(std::vector<PairMetrics>{{"Z", 0, 0, 0, 0, 0}}, classes), Error);
}

TEST(Bootstrap, SeededStratifiedPercentileInterval) {
  const std::vector<std::string> classes = {"A", "B", "Empty"};
  std::vector<PairMetrics> pairs;
  for (int i = 0; i < 40; ++i) pairs.push_back({"A", i / 40.0, 0, 0, 0, 0});
  for (int i = 0; i < 10; ++i) pairs.push_back({"B", 5.0, 0, 0, 0, 0});
  BootstrapOptions o;
  o.seed = 7;
  const BootstrapResult r1 = bootstrap_ci(pairs, classes, Metric::AbsCnr, o);
  const BootstrapResult r2 = bootstrap_ci(pairs, classes, Metric::AbsCnr, o);
  EXPECT_EQ(r1.per_category[0].low, r2.per_category[0].low);  // same seed, same interval
  // mean of A is 0.4875, its standard error ~0.046: the 95% interval covers it, width ~0.18
  EXPECT_LT(r1.per_category[0].low, 0.4875);
  EXPECT_GT(r1.per_category[0].high, 0.4875);
  EXPECT_NEAR(r1.per_category[0].high - r1.per_category[0].low, 2 * 1.96 * 0.0456, 0.04);
  EXPECT_EQ(r1.per_category[1].low, 5.0);  // constant category: degenerate interval
  EXPECT_EQ(r1.per_category[1].high, 5.0);
  EXPECT_TRUE(std::isnan(r1.per_category[2].low));
  // average over non-empty classes: (A + 5) / 2
  EXPECT_NEAR((r1.average.low + r1.average.high) / 2, (0.4875 + 5) / 2, 0.02);
  o.seed = 8;
  EXPECT_NE(bootstrap_ci(pairs, classes, Metric::AbsCnr, o).per_category[0].low, r1.per_category[0].low);
  EXPECT_DOUBLE_EQ(percentile_linear({1, 2, 3, 4}, 50), 2.5);
  EXPECT_DOUBLE_EQ(percentile_linear({4, 1, 3, 2}, 2.5), 1.075);
}
