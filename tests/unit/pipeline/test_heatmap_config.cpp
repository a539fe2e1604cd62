#include <gtest/gtest.h>

#include "core/check.h"
#include "pipeline/heatmap_config.h"

using namespace ldmg;
using namespace ldmg::pipeline;

TEST(HeatmapConfig, PaperWindowUsesPythonPrecedence) {
  const HeatmapConfig c;  // the paper's best setup
  EXPECT_EQ(c.window(300, 334), (std::pair<int, int>{120, 180}));  // SPEC §6: 120..179
  EXPECT_EQ(c.window(100, 100), (std::pair<int, int>{40, 60}));
  EXPECT_EQ(c.window(20, 20), (std::pair<int, int>{8, 12}));
  EXPECT_EQ(c.window(50, 50), (std::pair<int, int>{20, 30}));
  EXPECT_EQ(c.name(), "L3,4,6,7_Wpaper_Tall_otsu_s2.5_code");
}

TEST(HeatmapConfig, ParsesSpecs) {
  const HeatmapConfig c = parse_heatmap_spec("layers=all;window=5:9;tokens=pathology;otsu=off;sigma=0;order=paper");
  EXPECT_EQ(c.layers.size(), 11u);
  EXPECT_EQ(c.window(20, 20), (std::pair<int, int>{5, 9}));
  EXPECT_EQ(c.tokens, TokenMode::pathology);
  EXPECT_FALSE(c.otsu);
  EXPECT_EQ(c.sigma, 0.0);
  EXPECT_EQ(c.order, grounding::TokenOrder::NormaliseThenMean);
  EXPECT_EQ(parse_layers("7,3,4"), (std::vector<int>{3, 4, 7}));
}

TEST(HeatmapConfig, RejectsBadValuesWithTheOptionName) {
  auto msg = [](auto f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(msg([] { parse_layers("3,11"); }).find("--layers: 11"), std::string::npos);
  EXPECT_NE(msg([] { parse_layers("3,3"); }).find("repeats"), std::string::npos);
  EXPECT_NE(msg([] { parse_layers("x"); }).find("not an integer"), std::string::npos);
  EXPECT_NE(msg([] { parse_heatmap_spec("window=9:5"); }).find("--window"), std::string::npos);
  EXPECT_NE(msg([] { parse_heatmap_spec("otsu=maybe"); }).find("--otsu"), std::string::npos);
  EXPECT_NE(msg([] { parse_heatmap_spec("colour=red"); }).find("unknown key 'colour'"), std::string::npos);
  EXPECT_NE(msg([] { HeatmapConfig c; c.window_begin = 10; c.window_end = 30; c.window(20, 20); }).find("does not fit"),
            std::string::npos);
}
