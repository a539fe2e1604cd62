// Shortcuts (a)+(b): prefix sums of normalised native maps, one resize per
// native size, against the online HeatmapAccumulator fed map by map
// (|diff| <= 1e-5 on [0, 1] maps), in both token orders, with a constant
// (NaN after min-max) map in the middle of the steps.
#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "analysis/window_prefix.h"
#include "grounding/heatmap_aggregation.h"

using namespace ldmg;

namespace {

struct Layer {
  int index;
  std::int64_t h, w;
  at::Tensor probs;  // [steps, HW, S]
};

at::Tensor direct(const std::vector<Layer>& layers, const std::vector<int>& use, int b, int e, int first,
                  grounding::TokenSlice tokens, grounding::TokenOrder order, std::int64_t out_size) {
  grounding::AggregationOptions ao;
  ao.order = order;
  ao.out_size = out_size;
  grounding::HeatmapAccumulator acc(tokens, ao);
  for (int s = b; s < e; ++s)
    for (const auto& L : layers)
      if (std::find(use.begin(), use.end(), L.index) != use.end())
        acc.add_probs(L.index, s, L.probs[s - first], L.h, L.w);
  return acc.finish();
}

}  // namespace

TEST(WindowPrefix, EqualsAccumulatorOverWindows) {
  at::manual_seed(3);
  const int steps = 12, first = 5, S = 9;
  std::vector<Layer> layers = {{1, 8, 8, at::rand({steps, 64, S}).softmax(-1)},
                               {4, 4, 4, at::rand({steps, 16, S}).softmax(-1)},
                               {7, 8, 8, at::rand({steps, 64, S}).softmax(-1)}};
  layers[1].probs[6].fill_(1.0f / S);  // step first+6 of layer 4: constant -> NaN after min-max
  const grounding::TokenSlice tokens{1, 6};
  for (auto order : {grounding::TokenOrder::MeanThenNormalise, grounding::TokenOrder::NormaliseThenMean}) {
    analysis::WindowPrefix prefix(tokens, order, 64);
    for (const auto& L : layers) prefix.add_layer(L.index, L.probs, L.h, L.w, first);
    const std::vector<std::vector<int>> subsets = {{1, 4, 7}, {1, 7}, {4}};
    const std::vector<std::pair<int, int>> windows = {{5, 17}, {5, 11}, {12, 17}, {8, 9}, {10, 14}};
    for (const auto& use : subsets)
      for (auto [b, e] : windows) {
        const at::Tensor want = direct(layers, use, b, e, first, tokens, order, 64);
        const at::Tensor got = prefix.average(use, b, e);
        const std::string what = fmt::format("order {} layers {} window {}:{}", static_cast<int>(order), use.size(), b, e);
        // The NaN pattern matches exactly (windows holding the constant map are all NaN for layer 4).
        ASSERT_TRUE(at::equal(got.isnan(), want.isnan())) << what;
        const bool with_nan = std::find(use.begin(), use.end(), 4) != use.end() && b <= 11 && 11 < e;
        EXPECT_EQ(with_nan, want.isnan().all().item<bool>()) << what;
        if (!with_nan) EXPECT_LE((got - want).abs().max().item<float>(), 1e-5f) << what;
      }
  }
}

TEST(WindowPrefix, EmptyTokensGiveNan) {
  analysis::WindowPrefix prefix(grounding::TokenSlice{3, 3}, grounding::TokenOrder::MeanThenNormalise, 16);
  prefix.add_layer(0, at::rand({4, 16, 5}), 4, 4, 0);
  EXPECT_TRUE(prefix.average({0}, 0, 4).isnan().all().item<bool>());
}
