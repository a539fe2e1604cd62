#pragma once
// Cross-attention maps -> one 512x512 heatmap (SPEC.md §6; upstream
// official/sampler.py:31-68, get_heatmap_from_attention).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "grounding/token_selection.h"

namespace ldmg::grounding {

enum class TokenOrder {
  // The authors' code (sampler.py:53-57): mean over the selected tokens of
  // the raw probabilities, THEN one spatial min-max of that mean.
  MeanThenNormalise,
  // The paper's Eq. 2: every selected token's map is min-max normalised over
  // space first, then the token mean is taken. The mean is NOT normalised
  // again (it already lies in [0, 1]). A constant token map gives NaN.
  NormaliseThenMean,
};

struct AggregationOptions {
  TokenOrder order = TokenOrder::MeanThenNormalise;
  std::int64_t out_size = 512;  // torchvision Resize(512) to the image size
};

// Mean over token columns `tokens` of probs [HW, S] -> [h, w] (y-major).
at::Tensor token_mean_map(const at::Tensor& probs, const TokenSlice& tokens, std::int64_t h, std::int64_t w);

// Spatial min-max of each map of [..., h, w] in float32, as upstream:
// (x - min) / (max - min); a constant map becomes NaN.
at::Tensor minmax_spatial(const at::Tensor& maps);

// Bilinear resize of [N, h, w] to [N, size, size]: align_corners=False, no
// antialiasing (torchvision 0.14 Resize on tensors when upsampling).
at::Tensor resize_bilinear(const at::Tensor& maps, std::int64_t size);

// Streams (layer, step) maps in any order and keeps only a running sum:
// add() normalises and resizes one map, finish() returns the mean over
// everything added = stack(...).mean([0, 1]) upstream. The sum is kept in
// float64 (upstream: a float32 mean), which moves results by ~1 ulp.
class HeatmapAccumulator {
 public:
  explicit HeatmapAccumulator(TokenSlice tokens, AggregationOptions options = {});

  // probs: [HW, S] cross-attention probabilities of the conditional prompt
  // (any S > tokens.end - 1); map of h x w.
  void add_probs(int layer, int step, const at::Tensor& probs, std::int64_t h, std::int64_t w);
  // An already token-averaged map [h, w] (before min-max); MeanThenNormalise only.
  void add_token_mean(int layer, int step, const at::Tensor& map);

  int count() const { return static_cast<int>(seen_.size()); }
  const TokenSlice& tokens() const { return tokens_; }
  // [out_size, out_size] float32 on the maps' device. All NaN (CPU) when the token slice is empty;
  // throws ldmg::Error when nothing was added.
  at::Tensor finish() const;

 private:
  void add_normalised(int layer, int step, const at::Tensor& map01);  // [h, w]

  TokenSlice tokens_;
  AggregationOptions options_;
  std::set<std::pair<int, int>> seen_;
  at::Tensor sum_;  // [out, out] float64
};

}  // namespace ldmg::grounding
