// Hand-computed cases for the post-processing pieces.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "core/check.h"
#include "grounding/back_to_original.h"
#include "grounding/gaussian_filter.h"
#include "grounding/heatmap_aggregation.h"
#include "grounding/otsu.h"
#include "grounding/postprocess.h"

using namespace ldmg;
using namespace ldmg::grounding;

TEST(GaussianFilter, KernelIsScipys) {
  const auto w = gaussian_kernel1d(2.5);
  ASSERT_EQ(w.size(), 21u);  // radius int(4 * 2.5 + 0.5) = 10
  double sum = 0;
  for (double v : w) sum += v;
  EXPECT_NEAR(sum, 1.0, 1e-15);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(w[i], w[20 - i]);
  // exp(-0.5 x^2 / 6.25) relative to the centre
  EXPECT_NEAR(w[13] / w[10], std::exp(-0.5 * 9 / 6.25), 1e-15);
  EXPECT_EQ(gaussian_kernel1d(1.0).size(), 9u);
}

TEST(GaussianFilter, DeltaGivesOuterProductAndReflectsAtEdges) {
  const auto w = gaussian_kernel1d(1.0);  // radius 4
  at::Tensor m = at::zeros({15, 15});
  m[7][7] = 1.f;
  const at::Tensor out = gaussian_filter(m, 1.0);
  for (int y = 3; y <= 11; ++y)
    for (int x = 3; x <= 11; ++x) {
      const float expect = static_cast<float>(static_cast<float>(w[y - 3]) * w[x - 3]);
      EXPECT_NEAR(out[y][x].item<float>(), expect, 1e-8);
    }
  EXPECT_EQ(out[0][0].item<float>(), 0.f);
  // Corner delta with reflect (d c b a | a b c d): row 0 sees the sample twice.
  at::Tensor c = at::zeros({15, 15});
  c[0][0] = 1.f;
  const at::Tensor oc = gaussian_filter(c, 1.0);
  const double w0 = w[4] + w[3];  // taps at offsets 0 and the mirrored -1
  EXPECT_NEAR(oc[0][0].item<float>(), w0 * w0, 1e-7);
  EXPECT_NEAR(oc[1][0].item<float>(), (w[5] + w[2]) * w0, 1e-7);
}

TEST(Otsu, TwoValueMapShowsTheS0Quirk) {
  // Half 0, half 1: p[0] = p[255] = 0.5. With skimage's S[0] = p[0], var(0, k)
  // = 0.5 for k >= 1 but var(0, 0) = 0, so the first strict maximum is k = 1:
  // threshold = bin centre 1 = 3/512 (a textbook Otsu would give 1/512).
  at::Tensor m = at::zeros({8, 8});
  m.slice(0, 0, 4).fill_(1.f);
  EXPECT_EQ(otsu_threshold(m), 3.0f / 512.0f);
  const OtsuResult r = apply_otsu(m);
  EXPECT_EQ(r.mask_count, 32);
  EXPECT_NEAR(r.margin, 3.0 / 512.0, 1e-12);
  EXPECT_EQ(r.masked.sum().item<float>(), 32.f);
}

TEST(Otsu, BimodalMapSplitsBetweenModes) {
  // 0, 1 and two clusters at 0.2 and 0.8: the threshold lies between them.
  at::Tensor m = at::full({10, 10}, 0.2f);
  m.slice(0, 5, 10).fill_(0.8f);
  m[0][0] = 0.f;
  m[9][9] = 1.f;
  const float thr = otsu_threshold(m);
  EXPECT_GT(thr, 0.2f);
  EXPECT_LT(thr, 0.8f);
  EXPECT_EQ(std::fmod(thr * 512.0f, 2.0f), 1.0f);  // a bin centre (2k+1)/512
  EXPECT_TRUE(std::isnan(otsu_threshold(at::full({4, 4}, 0.3f))));
  at::Tensor n = m.clone();
  n[3][3] = NAN;
  EXPECT_TRUE(std::isnan(otsu_threshold(n)));
  EXPECT_TRUE(apply_otsu(n).masked.isnan().all().item<bool>());
}

TEST(Postprocess, NormaliseHitsZeroAndOneExactly) {
  const at::Tensor m = at::rand({32, 32}) * 0.3 + 0.11;
  const at::Tensor n = normalise_01(m);
  EXPECT_EQ(n.min().item<float>(), 0.f);
  EXPECT_EQ(n.max().item<float>(), 1.f);
  EXPECT_TRUE(normalise_01(at::full({3, 3}, 2.f)).isnan().all().item<bool>());
  const PostprocessResult r = postprocess_heatmap(at::full({16, 16}, NAN));
  EXPECT_TRUE(r.final.isnan().all().item<bool>());
}

TEST(BackToOriginal, NearestIndexAndNanPadding) {
  // 4x4 -> s = 3 (w 3, h 5): scale 4/3 in float -> sources 0, 1, 2; pad top 1, bottom 1.
  const at::Tensor m = at::arange(16, at::kFloat).view({4, 4});
  const at::Tensor o = back_to_original(m, 3, 5);
  ASSERT_EQ(o.size(0), 5);
  ASSERT_EQ(o.size(1), 3);
  EXPECT_TRUE(o[0].isnan().all().item<bool>());
  EXPECT_TRUE(o[4].isnan().all().item<bool>());
  EXPECT_EQ(o[1][0].item<float>(), 0.f);
  EXPECT_EQ(o[2][1].item<float>(), 5.f);
  EXPECT_EQ(o[3][2].item<float>(), 10.f);
  // width 8 > height 5: s = 5, left floor(3/2) = 1, right 2
  const at::Tensor o2 = back_to_original(m, 8, 5);
  EXPECT_TRUE(o2.select(1, 0).isnan().all().item<bool>());
  EXPECT_FALSE(o2.select(1, 1).isnan().any().item<bool>());
  EXPECT_TRUE(o2.select(1, 6).isnan().all().item<bool>());
  EXPECT_TRUE(o2.select(1, 7).isnan().all().item<bool>());
  // The legacy formula: floorf(dst * (float)(512/600)), capped at 511.
  EXPECT_EQ(nearest_source_index(599, 512, 600), 511);
  EXPECT_EQ(nearest_source_index(7, 512, 600), static_cast<std::int64_t>(std::floor(7 * (512.f / 600.f))));
  EXPECT_EQ(nearest_source_index(9, 512, 1024), 4);
  EXPECT_EQ(nearest_source_index(9, 512, 512), 9);
}

TEST(HeatmapAggregation, OrdersAndEdgeCases) {
  // Two tokens on a 2x2 map: token A = [0, 1, 2, 3], token B = [0, 0, 0, 10].
  const at::Tensor probs = at::tensor({0.f, 0.f, 1.f, 0.f, 2.f, 0.f, 3.f, 10.f}).view({4, 2});
  const TokenSlice both{0, 2};
  const at::Tensor code = minmax_spatial(token_mean_map(probs, both, 2, 2));  // mean [0, .5, 1, 6.5]
  EXPECT_NEAR(code[1][0].item<float>(), 1.0f / 6.5f, 1e-7);
  AggregationOptions paper;
  paper.order = TokenOrder::NormaliseThenMean;
  paper.out_size = 2;  // no resize: see the per-token normalisation itself
  HeatmapAccumulator acc(both, paper);
  acc.add_probs(3, 0, probs, 2, 2);
  const at::Tensor p = acc.finish();  // A/3 = [0, 1/3, 2/3, 1], B/10 = [0, 0, 0, 1]
  EXPECT_NEAR(p[0][1].item<float>(), 1.0f / 6.0f, 1e-7);
  EXPECT_NEAR(p[1][0].item<float>(), 1.0f / 3.0f, 1e-7);
  EXPECT_THROW(acc.add_probs(3, 0, probs, 2, 2), Error);  // same (layer, step) twice
  // Constant map -> NaN everywhere; empty token slice -> all NaN.
  HeatmapAccumulator c(TokenSlice{0, 1});
  c.add_token_mean(3, 0, at::ones({16, 16}));
  EXPECT_TRUE(c.finish().isnan().all().item<bool>());
  HeatmapAccumulator e(TokenSlice{});
  e.add_probs(3, 0, probs, 2, 2);
  const at::Tensor en = e.finish();
  EXPECT_EQ(en.size(0), 512);
  EXPECT_TRUE(en.isnan().all().item<bool>());
  EXPECT_THROW(HeatmapAccumulator(TokenSlice{0, 1}).finish(), Error);
  // Upsampling a constant map stays constant; mean of two maps is their average.
  HeatmapAccumulator m2(TokenSlice{0, 1});
  at::Tensor a = at::zeros({16, 16});
  a[0][0] = 1.f;
  m2.add_token_mean(3, 0, a);
  m2.add_token_mean(4, 0, 1 - a);
  EXPECT_NEAR(m2.finish().mean().item<float>(), 0.5f, 1e-6);
}
