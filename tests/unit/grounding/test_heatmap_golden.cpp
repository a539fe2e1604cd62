// The heatmap chain against every golden sample (T20, T50, T20_libstep,
// Table III variants included), starting from the golden layer_token_mean.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "grounding/golden_chain.h"
#include "grounding/otsu.h"

using namespace ldmg;
using namespace ldmg::grounding;

namespace {

struct MaxErr {
  double norm16 = 0, avg = 0, avg_s8 = 0, avg_sums = 0, gauss_s8 = 0, gauss_sums = 0, norm_s8 = 0, norm_sums = 0,
         final_s8 = 0, final_sums = 0, orig_s8 = 0, orig_sums = 0, gauss_minmax = 0;
  int thresholds_exact = 0, thresholds_skipped = 0, thresholds_equal = 0, samples = 0;
  std::int64_t mask_count_diff = 0;
};

void upd(double& m, double v) { m = std::max(m, v); }

// Pixels whose Otsu decision may flip (|norm - thr| tiny) can differ by up to
// the threshold itself; everything else must match to `tol`.
double masked_diff(const at::Tensor& ours, const at::Tensor& gold, const at::Tensor& gold_norm, float thr, double tol) {
  const at::Tensor d = (ours.to(at::kDouble) - gold.to(at::kDouble)).abs();
  const at::Tensor near = (gold_norm.to(at::kDouble) - thr).abs() < 1e-5;
  return at::where(near, at::zeros_like(d), d).max().item<double>();
}

}  // namespace

TEST(HeatmapGolden, WholeChainOnEverySample) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  for (const char* run : {"T20", "T50", "T20_libstep"}) {
    const auto meta = test::load_json(test::golden_dir(run) + "/metrics.json");
    MaxErr e;
    std::map<int, std::pair<std::int64_t, std::int64_t>> size_of_pair;  // pair_index -> (w, h)
    for (const auto& s : meta.at("per_sample"))
      if (s.contains("sim_map_orig_shape"))
        size_of_pair[s.at("pair_index").get<int>()] = {s.at("sim_map_orig_shape")[1].get<std::int64_t>(),
                                                       s.at("sim_map_orig_shape")[0].get<std::int64_t>()};
    for (const auto& s : meta.at("per_sample")) {
      if (!s.contains("file")) continue;
      const std::string key = s.at("key");
      SCOPED_TRACE(std::string(run) + " " + key);
      const auto g = test::load_golden(test::golden_dir(run) + "/" + s.at("file").get<std::string>());
      const bool t3 = key.rfind("t3_", 0) == 0;
      const bool no_tokens = t3 && s.at("cls_token_positions").empty();
      const bool with_orig = s.contains("sim_map_orig_shape");
      const auto [w, h] = with_orig ? size_of_pair.at(s.at("pair_index").get<int>()) : std::pair<std::int64_t, std::int64_t>{0, 0};
      const test::ChainOutput c = test::run_golden_chain(g, no_tokens, w, h);
      ++e.samples;

      upd(e.norm16, test::max_abs_diff(c.token_mean_norm, g.at("layer_token_mean_norm")));
      if (no_tokens) {
        EXPECT_TRUE(c.post.final.isnan().all().item<bool>());
        EXPECT_TRUE(g.at("heatmap_final_512_s8").isnan().all().item<bool>());
        continue;
      }
      if (g.count("heatmap_avg")) upd(e.avg, test::max_abs_diff(c.avg, g.at("heatmap_avg")));
      upd(e.avg_s8, test::max_abs_diff(test::s8(c.avg), g.at("heatmap_avg_s8")));
      upd(e.avg_sums, test::max_rel_diff(test::rowsum(c.avg), g.at("heatmap_avg_rowsum")));
      upd(e.avg_sums, test::max_rel_diff(test::colsum(c.avg), g.at("heatmap_avg_colsum")));
      upd(e.gauss_s8, test::max_abs_diff(test::s8(c.post.gauss), g.at("heatmap_gauss_s8")));
      upd(e.gauss_sums, test::max_rel_diff(test::rowsum(c.post.gauss), g.at("heatmap_gauss_rowsum")));
      upd(e.gauss_sums, test::max_rel_diff(test::colsum(c.post.gauss), g.at("heatmap_gauss_colsum")));
      upd(e.gauss_minmax, std::abs(c.post.gauss_min - s.at("heatmap_gauss_min").get<double>()));
      upd(e.gauss_minmax, std::abs(c.post.gauss_max - s.at("heatmap_gauss_max").get<double>()));
      upd(e.norm_s8, test::max_abs_diff(test::s8(c.post.norm), g.at("heatmap_norm_s8")));
      upd(e.norm_sums, test::max_rel_diff(test::rowsum(c.post.norm), g.at("heatmap_norm_rowsum")));
      upd(e.norm_sums, test::max_rel_diff(test::colsum(c.post.norm), g.at("heatmap_norm_colsum")));
      EXPECT_NEAR(c.post.norm.to(at::kDouble).sum().item<double>(), s.at("heatmap_norm_checksum").get<double>(),
                  1e-3 * s.at("heatmap_norm_checksum").get<double>());

      const float gold_thr = static_cast<float>(s.at("otsu_thresholds")[0].get<double>());
      const double margin = s.at("otsu_margin").get<double>();
      e.thresholds_equal += c.post.threshold == gold_thr;
      e.mask_count_diff = std::max<std::int64_t>(
          e.mask_count_diff, std::abs(c.post.mask_count - s.at("heatmap_mask_count").get<std::int64_t>()));
      if (margin > 1e-6) {
        EXPECT_EQ(c.post.threshold, gold_thr);
        EXPECT_EQ(c.post.mask_count, s.at("heatmap_mask_count").get<std::int64_t>());
        ++e.thresholds_exact;
      } else {
        // A pixel within ~1e-6 of the threshold may flip; the threshold itself
        // should still agree, and the count to a few pixels.
        EXPECT_NEAR(c.post.threshold, gold_thr, 2.0 / 256);
        EXPECT_NEAR(c.post.mask_count, s.at("heatmap_mask_count").get<std::int64_t>(), 16);
        ++e.thresholds_skipped;
      }
      upd(e.final_s8, masked_diff(test::s8(c.post.final), g.at("heatmap_final_512_s8"), g.at("heatmap_norm_s8"),
                                  gold_thr, 1e-5));
      upd(e.final_sums, test::max_rel_diff(test::rowsum(c.post.final), g.at("heatmap_final_512_rowsum")));
      upd(e.final_sums, test::max_rel_diff(test::colsum(c.post.final), g.at("heatmap_final_512_colsum")));
      EXPECT_NEAR(c.post.final.to(at::kDouble).sum().item<double>(), s.at("heatmap_final_checksum").get<double>(),
                  1e-3 * s.at("heatmap_final_checksum").get<double>());

      if (with_orig) {
        const at::Tensor o = c.orig;
        EXPECT_EQ(o.size(0), s.at("sim_map_orig_shape")[0].get<std::int64_t>());
        EXPECT_EQ(o.size(1), s.at("sim_map_orig_shape")[1].get<std::int64_t>());
        EXPECT_EQ(o.isnan().sum().item<std::int64_t>(), s.at("sim_map_orig_nan_count").get<std::int64_t>());
        const at::Tensor gs8 = g.at("sim_map_orig_s8");
        EXPECT_TRUE(at::equal(test::s8(o).isnan(), gs8.isnan()));
        // nearest resize copies pixels: compare away from Otsu flips
        const at::Tensor ours = test::s8(o).nan_to_num(0), gold = gs8.nan_to_num(0);
        const at::Tensor d = (ours - gold).abs();
        const at::Tensor flip = ((ours == 0) & ((gold - gold_thr).abs() < 1e-5)) |
                                ((gold == 0) & ((ours - gold_thr).abs() < 1e-5));
        upd(e.orig_s8, at::where(flip, at::zeros_like(d), d).max().item<double>());
        upd(e.orig_sums, test::max_rel_diff(test::rowsum(o), g.at("sim_map_orig_rowsum_nan0")));
        upd(e.orig_sums, test::max_rel_diff(test::colsum(o), g.at("sim_map_orig_colsum_nan0")));
      }
    }
    std::printf(
        "[%s] %d samples: token-mean min-max %.3g | avg (rich) %.3g s8 %.3g sums(rel) %.3g | gauss s8 %.3g sums %.3g "
        "min/max %.3g | norm s8 %.3g sums %.3g | final s8 %.3g sums %.3g | orig s8 %.3g sums %.3g | Otsu checked %d + "
        "near-threshold %d, identical thresholds %d, max mask-count diff %lld\n",
        run, e.samples, e.norm16, e.avg, e.avg_s8, e.avg_sums, e.gauss_s8, e.gauss_sums, e.gauss_minmax, e.norm_s8,
        e.norm_sums, e.final_s8, e.final_sums, e.orig_s8, e.orig_sums, e.thresholds_exact, e.thresholds_skipped,
        e.thresholds_equal, static_cast<long long>(e.mask_count_diff));
    EXPECT_LE(e.norm16, 1e-6);
    EXPECT_LE(e.avg, 1e-5);
    EXPECT_LE(e.avg_s8, 1e-5);
    EXPECT_LE(e.avg_sums, 1e-3);
    EXPECT_LE(e.gauss_s8, 1e-5);
    EXPECT_LE(e.gauss_sums, 1e-3);
    EXPECT_LE(e.gauss_minmax, 1e-5);
    EXPECT_LE(e.norm_s8, 1e-5);
    EXPECT_LE(e.norm_sums, 1e-3);
    EXPECT_LE(e.final_s8, 1e-5);
    EXPECT_LE(e.final_sums, 1e-3);
    EXPECT_LE(e.orig_s8, 1e-5);
    EXPECT_LE(e.orig_sums, 1e-3);
  }
}

TEST(HeatmapGolden, RichPairFromAttentionProbabilities) {
  LDMG_REQUIRE_PARITY_FIXTURES();
  const auto meta = test::load_json(test::golden_dir("T20") + "/metrics.json");
  const auto& s = meta.at("per_sample")[0];
  const auto g = test::load_golden(test::golden_dir("T20") + "/samples/pair00.safetensors");
  const TokenSlice tokens = prompt_tokens(test::ids_of(g.at("input_ids")));
  ASSERT_EQ(tokens.begin, s.at("token_slice")[0].get<int>());
  const at::Tensor attn = g.at("attn_sel_cond");  // [4, W, 256, n]
  HeatmapAccumulator acc(tokens);
  double tm_err = 0;
  const int layers[] = {3, 4, 6, 7};
  for (std::int64_t l = 0; l < 4; ++l)
    for (std::int64_t st = 0; st < attn.size(1); ++st) {
      const at::Tensor tm = token_mean_map(attn[l][st], tokens, 16, 16);
      tm_err = std::max(tm_err, test::max_abs_diff(tm, g.at("layer_token_mean")[l][st]));
      acc.add_probs(layers[l], static_cast<int>(st), attn[l][st], 16, 16);
    }
  const double avg_err = test::max_abs_diff(acc.finish(), g.at("heatmap_avg"));
  // The 77-wide maps give the same token mean as the n-wide ones.
  const at::Tensor full = g.at("attn_step_tmin_full.L03")[1];  // [256, 77]
  const double full_err = test::max_abs_diff(token_mean_map(full, tokens, 16, 16), g.at("layer_token_mean")[0][0]);
  std::printf("rich pair: token mean %.3g, heatmap_avg from probabilities %.3g, 77-wide %.3g\n", tm_err, avg_err,
              full_err);
  EXPECT_LE(tm_err, 1e-7);
  EXPECT_LE(full_err, 1e-7);
  EXPECT_LE(avg_err, 1e-5);
}
