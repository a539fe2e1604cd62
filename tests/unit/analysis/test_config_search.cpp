// The search's cross-validation on hand-made score tables (the expected
// choices and scores worked out by hand below), the space and grid files,
// and the Table III restriction.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "analysis/config_search.h"
#include "analysis/paper_tables.h"
#include "analysis/search_space.h"
#include "core/check.h"

using namespace ldmg;
using namespace ldmg::analysis;

namespace {

data::MsCxrDataset make_dataset(const std::vector<std::string>& cats) {
  std::vector<data::Pair> pairs;
  for (std::size_t i = 0; i < cats.size(); ++i) {
    data::Pair p;
    p.index = static_cast<int>(i);
    p.dicom_id = "d" + std::to_string(i);
    p.category = cats[i];
    p.prompt = "prompt " + std::to_string(i);
    p.path = "p" + std::to_string(i) + ".jpg";
    pairs.push_back(p);
  }
  return data::MsCxrDataset("hand-made", pairs);
}

ScoreTable make_table(const data::MsCxrDataset& ds, std::vector<pipeline::HeatmapConfig> configs,
                      const std::vector<std::vector<double>>& miou /* [config][pair] */) {
  ScoreTable t;
  t.T = 100;
  t.configs = std::move(configs);
  for (std::size_t i = 0; i < ds.size(); ++i) t.sources.push_back({static_cast<int>(i), 0, static_cast<int>(i), {}});
  t.values.assign(t.configs.size() * t.sources.size() * kNumFields, 0.0);
  for (std::size_t c = 0; c < t.configs.size(); ++c)
    for (std::size_t i = 0; i < ds.size(); ++i) t.values[(c * ds.size() + i) * kNumFields + kMiou] = miou[c][i];
  return t;
}

}  // namespace

TEST(ConfigSearch, CrossValidationByHand) {
  // A: 6 pairs, B: 4 pairs. Folds 10 > n: leave-one-out in both.
  const auto ds = make_dataset({"A", "A", "A", "A", "A", "A", "B", "B", "B", "B"});
  std::vector<pipeline::HeatmapConfig> cfgs(3);
  cfgs[1].otsu = false;
  cfgs[2].sigma = 0;
  const ScoreTable t = make_table(ds, cfgs,
                                  {{.5, .5, .5, .5, .5, .5, 1, 0, 0, 0},
                                   {.9, .9, .9, .9, .9, 0, 0, .3, .3, .3},
                                   {.1, .1, .1, .1, .1, 1, .2, .2, .2, .2}});
  SearchOptions o;
  o.folds = 10;
  const auto r = search_configs(t, ds, o, 0);
  ASSERT_EQ(r.size(), 2u);
  // A in-sample: c0 .5, c1 4.5/6 = .75, c2 1.5/6 = .25 -> c1. LOO: every training set still prefers c1
  // (.72 or .9 vs .5), held-out scores .9 x5 and 0 -> CV .75.
  EXPECT_EQ(r[0].n, 6u);
  EXPECT_EQ(r[0].folds, 6);
  EXPECT_EQ(r[0].best, 1u);
  EXPECT_NEAR(r[0].best_score, 0.75, 1e-12);
  EXPECT_NEAR(r[0].cv_score, 0.75, 1e-12);
  EXPECT_NEAR(r[0].default_score, 0.5, 1e-12);
  // B in-sample: c0 .25, c1 .225, c2 .2 -> c0. LOO: without pair 6, c1 (.3) wins and scores 0 on it;
  // without pair 7/8/9, c0 (1/3) wins and scores 0 there -> CV 0: the in-sample .25 is optimism.
  EXPECT_EQ(r[1].best, 0u);
  EXPECT_NEAR(r[1].best_score, 0.25, 1e-12);
  EXPECT_NEAR(r[1].cv_score, 0.0, 1e-12);
  const std::vector<std::size_t> choices = {1, 0, 0, 0};
  std::vector<std::size_t> got = r[1].fold_choice;
  std::sort(got.begin(), got.end());
  std::vector<std::size_t> want = choices;
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
  const std::string ini = best_ini(t, r, o);
  EXPECT_NE(ini.find("config = " + heatmap_spec(cfgs[1])), std::string::npos);
  EXPECT_NE(ini.find("config = " + heatmap_spec(cfgs[0])), std::string::npos);
  // best.ini is a grid analyze accepts, in the same order.
  const auto back = parse_grid(ini, "best.ini");
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].name(), cfgs[1].name());
  const auto j = search_json(t, r, o, {});
  EXPECT_NE(search_markdown(j).find("| A | 6 |"), std::string::npos);
}

TEST(ConfigSearch, ScoresCsvHoldsEveryConfigsMeanPerPathology) {
  const auto ds = make_dataset({"A", "A", "A", "B", "B"});
  std::vector<pipeline::HeatmapConfig> cfgs(2);
  cfgs[1] = pipeline::parse_heatmap_spec("layers=6,7;window=0:10;otsu=off");
  ScoreTable t = make_table(ds, cfgs, {{.1, .2, .6, .5, std::numeric_limits<double>::quiet_NaN()}, {.4, .4, .4, .25, .75}});
  t.sources[4].prompt = -1;  // pair 4 not grounded: in no mean (its NaN would be skipped anyway)
  SearchOptions o;
  const std::string csv = search_scores_csv(t, ds, o, 100);
  // By hand: c0 A (.1+.2+.6)/3 = .3, B .5 (n 1), Average (.3+.5)/2 = .4 over 4 pairs; c1 A .4, B .25, Average .325.
  // The paper window at T=100 is 50-10 .. 50+10.
  const std::string want =
      "T,metric,config,layers,window,window_begin,window_end,tokens,otsu,sigma,order,category,n,score\n"
      "100,mIoU,\"L3,4,6,7_Wpaper_Tall_otsu_s2.5_code\",\"3,4,6,7\",paper,40,60,all,on,2.5,code,A,3," +
      fmt::format("{}", (.1 + .2 + .6) / 3) + "\n"
      "100,mIoU,\"L3,4,6,7_Wpaper_Tall_otsu_s2.5_code\",\"3,4,6,7\",paper,40,60,all,on,2.5,code,B,1,0.5\n"
      "100,mIoU,\"L3,4,6,7_Wpaper_Tall_otsu_s2.5_code\",\"3,4,6,7\",paper,40,60,all,on,2.5,code,Average,4," +
      fmt::format("{}", ((.1 + .2 + .6) / 3 + .5) / 2) + "\n"
      "100,mIoU,\"L6,7_W0-10_Tall_nootsu_s2.5_code\",\"6,7\",0:10,0,10,all,off,2.5,code,A,3," +
      fmt::format("{}", (.4 + .4 + .4) / 3) + "\n"
      "100,mIoU,\"L6,7_W0-10_Tall_nootsu_s2.5_code\",\"6,7\",0:10,0,10,all,off,2.5,code,B,1,0.25\n"
      "100,mIoU,\"L6,7_W0-10_Tall_nootsu_s2.5_code\",\"6,7\",0:10,0,10,all,off,2.5,code,Average,4," +
      fmt::format("{}", ((.4 + .4 + .4) / 3 + .25) / 2) + "\n";
  EXPECT_EQ(csv, want);
  // The in-sample best of each category is the largest score of the CSV, bit for bit (search.json's numbers).
  const auto r = search_configs(t, ds, o, 0);
  EXPECT_EQ(r[0].best, 1u);
  EXPECT_NE(csv.find(fmt::format(",A,3,{}\n", r[0].best_score)), std::string::npos);
  // A category without a scored pair: n 0, score nan, left out of the average.
  const auto ds2 = make_dataset({"A", "A", "A", "B", "C"});
  t.sources[3].prompt = -1;
  const std::string csv2 = search_scores_csv(t, ds2, o, 100);
  EXPECT_NE(csv2.find(",B,0,nan\n"), std::string::npos);
  EXPECT_NE(csv2.find(",C,0,nan\n"), std::string::npos);
  EXPECT_NE(csv2.find(fmt::format(",Average,3,{}\n", (.1 + .2 + .6) / 3)), std::string::npos);
  // A window beyond the inversion's steps is an error (the search could not have scored it).
  EXPECT_THROW(search_scores_csv(t, ds, o, 5), Error);
}

TEST(ConfigSearch, FoldsAreBalancedAndSeeded) {
  const auto a = assign_folds(23, 5, 7), b = assign_folds(23, 5, 7), c = assign_folds(23, 5, 8);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  std::vector<int> count(5, 0);
  for (int f : a) ++count[f];
  for (int n : count) EXPECT_TRUE(n == 4 || n == 5);
}

TEST(SearchSpace, CartesianProductAndSpecRoundTrip) {
  const auto cfgs = parse_search_space(
      "layers = 3,4,6,7 | all\nwindow = paper\nwindow-start = 0 | 5  # two starts\nwindow-length = 3\n"
      "tokens = all | pathology\notsu = on | off\n",
      "space.txt");
  EXPECT_EQ(cfgs.size(), 2u * 3u * 2u * 2u);
  for (const auto& c : cfgs) EXPECT_EQ(pipeline::parse_heatmap_spec(heatmap_spec(c)).name(), c.name());
  // Loops nest in key order (layers, window, tokens, otsu, ...): index 4 = the first explicit window.
  ASSERT_TRUE(cfgs[4].window_begin.has_value());
  EXPECT_EQ(*cfgs[4].window_begin, 0);
  EXPECT_EQ(*cfgs[4].window_end, 3);
  EXPECT_THROW(parse_search_space("layer = 1\n", "space.txt"), Error);
  // A job file: the main config it spells out, then the config lines (repeats dropped).
  const auto job = parse_grid("# job\nsteps = 300\nlayers = 6,7\nconfig = layers=all;otsu=off\n"
                              "config = layers=all;otsu=off\n", "job.ini");
  ASSERT_EQ(job.size(), 2u);
  EXPECT_EQ(job[0].layers, (std::vector<int>{6, 7}));
  EXPECT_FALSE(job[1].otsu);
  // A plain grid: one spec per line.
  const auto grid = parse_grid("# grid\nlayers=all;otsu=off\n\nlayers=6,7;window=0:20\n", "grid.txt");
  ASSERT_EQ(grid.size(), 2u);
  EXPECT_EQ(*grid[1].window_end, 20);
}

TEST(PaperTables, TableThreeKeepsPromptsWithTheClassName) {
  const auto ds = make_dataset({"A", "A", "B", "B"});
  std::vector<pipeline::HeatmapConfig> cfgs(2);
  cfgs[1].tokens = pipeline::TokenMode::pathology;
  ScoreTable t = make_table(ds, cfgs, {{.1, .2, .3, .4}, {.5, .6, .7, .8}});
  t.values[(1 * 4 + 1) * kNumFields + kTokensEmpty] = 1.0;  // pair 1: no class-name token
  const auto tab = paper_tables({t}, ds);
  // Table III rows for A have n = 1 in both blocks; Table I has n = 2.
  EXPECT_NE(tab.csv.find("III,\"T=100 " + cfgs[1].name() + " (pathology tokens)\",A,1,"), std::string::npos);
  EXPECT_NE(tab.csv.find("III,\"T=100 " + cfgs[0].name() + " (all tokens, same prompts)\",A,1,"), std::string::npos);
  EXPECT_NE(tab.csv.find("I,\"T=100 " + cfgs[0].name() + "\",A,2,"), std::string::npos);
  EXPECT_NE(tab.latex.find("\\begin{tabular}"), std::string::npos);
  EXPECT_NE(tab.markdown.find("# Table II"), std::string::npos);
}
