// Box survival against every pair of golden/T20 and golden/T50 metrics.json
// (original_bbox, bbox_512, skipped), incl. public pair 6's halo quirk, plus
// hand cases for both rules.
#include <gtest/gtest.h>

#include "core/check.h"
#include "data/box_survival.h"
#include "data/ms_cxr.h"
#include "golden.h"
#include "support/fixtures.h"

using namespace ldmg::data;

namespace {
std::vector<Box> boxes_of(const nlohmann::json& j) {
  std::vector<Box> out;
  for (const auto& b : j) out.push_back(Box{b[0].get<int>(), b[1].get<int>(), b[2].get<int>(), b[3].get<int>()});
  return out;
}
}  // namespace

TEST(BoxSurvival, MatchesGoldenMetricsT20AndT50) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  const MsCxrDataset ds = read_ms_cxr(ldmg::test::parity_dir() + "/dataset/ms_cxr.csv");
  int checked = 0;
  for (const char* run : {"T20", "T50"}) {
    const auto m = ldmg::test::golden_metrics(run);
    for (const auto& s : m["per_sample"]) {
      const Pair& p = ds[s["pair_index"].get<int>()];
      const SurvivedBoxes got = survive_boxes(p.boxes, p.csv_width, p.csv_height);
      const std::string key = std::string(run) + " " + s["key"].get<std::string>();
      EXPECT_EQ(p.prompt, s["prompt"].get<std::string>()) << key;
      EXPECT_EQ(p.category, s["category"].get<std::string>()) << key;
      EXPECT_EQ(got.skipped(), s["skipped"].get<bool>()) << key;
      EXPECT_EQ(got.original, boxes_of(s["original_bbox"])) << key;
      EXPECT_EQ(got.cropped, boxes_of(s["bbox_512"])) << key;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 24);
}

TEST(BoxSurvival, HaloKeepsPair6Box1Faithfully) {
  // QUIRKS §7: box 1 lies in the crop margin (rows 5..44 -> ~4..39 < crop top 56),
  // yet box 2's bilinear border rounds to 5 at one pixel.
  const std::vector<Box> boxes = {{100, 5, 200, 40}, {120, 250, 330, 300}};
  const SurvivedBoxes f = survive_boxes(boxes, 575, 702);
  EXPECT_EQ(f.kept, (std::vector<int>{0, 1}));
  EXPECT_EQ(f.cropped[0], (Box{400, 433, 0, 0}));
  const SurvivedBoxes g = survive_boxes(boxes, 575, 702, 512, SurvivalRule::geometric);
  EXPECT_EQ(g.kept, (std::vector<int>{1}));
  EXPECT_EQ(g.original, (std::vector<Box>{boxes[1]}));
  // Box 2 mapped: x 120*512/575 = 106.8 .. 450*512/575 = 400.7 -> pixels 106..400;
  // y 250*625/702 - 56 = 166.6 .. 550*625/702 - 56 = 433.7 -> 166..433.
  EXPECT_EQ(g.cropped[0], (Box{106, 166, 294, 267}));
}

TEST(BoxSurvival, IdentitySizeAndOverwriting) {
  // 512 x 512: no resize; w/h are last - first (one less than the extent).
  SurvivedBoxes s = survive_boxes({{10, 20, 5, 3}}, 512, 512);
  EXPECT_EQ(s.cropped, (std::vector<Box>{{10, 20, 4, 2}}));
  // A later box covering an earlier one completely removes it (overwrite), both rules differ.
  const std::vector<Box> covered = {{10, 10, 5, 5}, {0, 0, 100, 100}};
  s = survive_boxes(covered, 512, 512);
  EXPECT_EQ(s.kept, (std::vector<int>{1}));
  EXPECT_EQ(survive_boxes(covered, 512, 512, 512, SurvivalRule::geometric).kept, (std::vector<int>{0, 1}));
  // A box beyond the raster is clipped like Python slicing; entirely outside -> gone.
  s = survive_boxes({{500, 500, 50, 50}, {600, 0, 10, 10}}, 512, 512);
  EXPECT_EQ(s.cropped, (std::vector<Box>{{500, 500, 11, 11}}));
  EXPECT_EQ(s.kept, (std::vector<int>{0}));
  // Nothing survives -> skipped.
  EXPECT_TRUE(survive_boxes({{0, 0, 10, 10}}, 512, 1024).skipped());  // crop top 256
  EXPECT_EQ(parse_survival_rule("geometric"), SurvivalRule::geometric);
  EXPECT_THROW(parse_survival_rule("nope"), ldmg::Error);
}
