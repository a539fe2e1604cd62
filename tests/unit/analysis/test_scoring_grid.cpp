// Shortcut (c): metrics on the compressed 512 grid with per-cell weights
// equal the metrics on the materialised original-size map
// (pipeline::score_heatmap): mIoU and AUC-ROC exactly, CNR within 1e-5.
#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "analysis/scoring_grid.h"
#include "pipeline/pair_scoring.h"

using namespace ldmg;

namespace {

void expect_same(const metrics::PairMetrics& fast, const metrics::PairMetrics& direct, const std::string& what) {
  EXPECT_EQ(fast.miou, direct.miou) << what;
  EXPECT_EQ(fast.auroc, direct.auroc) << what;
  if (std::isnan(direct.auroc_exact)) EXPECT_TRUE(std::isnan(fast.auroc_exact)) << what;
  else EXPECT_EQ(fast.auroc_exact, direct.auroc_exact) << what;
  EXPECT_NEAR(fast.abs_cnr, direct.abs_cnr, 1e-5) << what;
  EXPECT_NEAR(fast.cnr, direct.cnr, 1e-5) << what;
}

// A post-Otsu-like map: values in [0, 1], a third of them zero, some NaN rows.
at::Tensor test_map(std::int64_t n, std::uint64_t seed, bool with_nan) {
  at::manual_seed(static_cast<std::int64_t>(seed));
  at::Tensor m = at::rand({n, n});
  m.masked_fill_(m < 0.33, 0.0);
  if (with_nan) m.slice(0, 0, 3).fill_(std::nanf(""));
  return m;
}

}  // namespace

TEST(ScoringGrid, EqualsOriginalSizeMetrics) {
  struct Case {
    int w, h;
    std::vector<data::Box> boxes;
  };
  const std::vector<Case> cases = {
      {700, 600, {{10, 20, 300, 200}}},                              // landscape, s > 512
      {600, 900, {{0, 0, 600, 900}, {100, 850, 50, 200}}},           // portrait, box past the bottom edge
      {1024, 1024, {{511, 511, 2, 2}, {0, 1000, 1024, 24}}},         // out == 2 * in: the dst >> 1 case
      {400, 300, {{50, 40, 100, 100}, {120, 60, 100, 100}}},         // s < 512, overlapping boxes (CNR removal)
      {512, 520, {{0, 0, 10, 10}, {2000, 10, 5, 5}, {30, 30, 0, 4}}}, // box outside, zero-width box
  };
  int k = 0;
  for (const auto& c : cases)
    for (bool nan : {false, true}) {
      const at::Tensor m = test_map(512, 17 + k++, nan);
      const analysis::ScoringGrid grid(c.w, c.h, c.boxes);
      EXPECT_LE(grid.rows(), 512 + 2 + 2 * static_cast<std::int64_t>(c.boxes.size()));
      expect_same(grid.score(m), pipeline::score_heatmap(m, c.boxes, c.w, c.h),
                  fmt::format("{}x{} nan={}", c.w, c.h, nan));
    }
}

TEST(ScoringGrid, AllNanMapAndConstantMap) {
  const std::vector<data::Box> boxes = {{100, 100, 200, 150}};
  const analysis::ScoringGrid grid(800, 640, boxes);
  for (const at::Tensor& m : {at::full({512, 512}, std::nanf("")), at::zeros({512, 512})})
    expect_same(grid.score(m), pipeline::score_heatmap(m, boxes, 800, 640), "degenerate");
}

// Hand-computed: a 2x2 map on a 6x4 image. s = 4, padding 1 column each side;
// nearest 4 -> from 2: columns/rows 0,1 -> 0 and 2,3 -> 1 (out == 2 * in).
// Box x=1..3 (w=3), y=0..1 (h=2) cuts column 3 (=map column 1) and row 2.
TEST(ScoringGrid, HandComputedCells) {
  const analysis::ScoringGrid grid(6, 4, {{1, 0, 3, 2}}, 2);
  // Columns: [0] pad, [1,2] src 0, [3] src 1 (box ends at x=4), [4] src 1, [5] pad -> 5 segments.
  // Rows: [0,1] src 0, [2,3] src 1 -> 2 segments (box ends at y=2, already a cut).
  ASSERT_EQ(grid.cols(), 5);
  ASSERT_EQ(grid.rows(), 2);
  const std::vector<std::uint32_t> expect = {2, 4, 2, 2, 2, 2, 4, 2, 2, 2};
  EXPECT_EQ(grid.weights(), expect);
  ASSERT_EQ(grid.boxes().size(), 1u);
  EXPECT_EQ(grid.boxes()[0].x, 1);
  EXPECT_EQ(grid.boxes()[0].w, 2);
  EXPECT_EQ(grid.boxes()[0].y, 0);
  EXPECT_EQ(grid.boxes()[0].h, 1);
  // map [[1, 0], [0, 0]]: box pixels (x 1..3, y 0..1) are 1,1,0 per row -> inside mean 2/3.
  const at::Tensor m = at::tensor({1.f, 0.f, 0.f, 0.f}).view({2, 2});
  const auto r = grid.score(m);
  // mIoU at thresholds 0.1..0.5: pred = 4 pixels (x1,2 y0,1), target 6 -> IoU 4/6 each.
  EXPECT_NEAR(r.miou, 4.0 / 6.0, 1e-6);
}
