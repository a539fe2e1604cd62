#include "grounding/heatmap_aggregation.h"

#include <ATen/ATen.h>

#include <limits>

#include "core/check.h"

namespace ldmg::grounding {

at::Tensor token_mean_map(const at::Tensor& probs, const TokenSlice& tokens, std::int64_t h, std::int64_t w) {
  LDMG_CHECK(probs.dim() == 2 && probs.size(0) == h * w, "attention probabilities must be [{}, S] for a {}x{} map",
             h * w, h, w);
  LDMG_CHECK(tokens.empty() || tokens.end <= probs.size(1), "token slice {} outside the {} attention columns",
             to_string(tokens), probs.size(1));
  if (tokens.empty()) return at::full({h, w}, std::numeric_limits<float>::quiet_NaN(), probs.options());
  // sampler.py:53: [..., tok0:tok1, steps].mean(-2)
  return probs.slice(1, tokens.begin, tokens.end).mean(1).view({h, w});  // [h, w]
}

at::Tensor minmax_spatial(const at::Tensor& maps) {
  LDMG_CHECK(maps.dim() >= 2, "min-max needs [..., h, w] maps");
  // sampler.py:55-57
  const at::Tensor mx = maps.amax({-2, -1}, /*keepdim=*/true);
  const at::Tensor mn = maps.amin({-2, -1}, /*keepdim=*/true);
  return (maps - mn) / (mx - mn);
}

at::Tensor resize_bilinear(const at::Tensor& maps, std::int64_t size) {
  LDMG_CHECK(maps.dim() == 3, "resize expects [N, h, w]");
  return at::upsample_bilinear2d(maps.unsqueeze(0), {size, size}, /*align_corners=*/false)[0];  // [N, size, size]
}

HeatmapAccumulator::HeatmapAccumulator(TokenSlice tokens, AggregationOptions options)
    : tokens_(tokens), options_(options) {
  LDMG_CHECK(options_.out_size > 0, "heatmap size must be positive");
}

void HeatmapAccumulator::add_probs(int layer, int step, const at::Tensor& probs, std::int64_t h, std::int64_t w) {
  if (tokens_.empty()) {  // nothing to average: the result is all NaN anyway
    seen_.emplace(layer, step);
    return;
  }
  const at::Tensor p = probs.to(at::kFloat);
  if (options_.order == TokenOrder::MeanThenNormalise) {
    add_normalised(layer, step, minmax_spatial(token_mean_map(p, tokens_, h, w)));
  } else {
    LDMG_CHECK(p.dim() == 2 && p.size(0) == h * w && tokens_.end <= p.size(1),
               "attention probabilities [HW={}, S] with token slice {}", h * w, to_string(tokens_));
    const at::Tensor per_token = p.slice(1, tokens_.begin, tokens_.end).t().reshape({-1, h, w});  // [k, h, w]
    add_normalised(layer, step, minmax_spatial(per_token).mean(0));                                // [h, w]
  }
}

void HeatmapAccumulator::add_token_mean(int layer, int step, const at::Tensor& map) {
  LDMG_CHECK(options_.order == TokenOrder::MeanThenNormalise,
             "a token-mean map cannot be normalised per token (paper order); pass the probabilities");
  LDMG_CHECK(map.dim() == 2, "token-mean map must be [h, w]");
  if (tokens_.empty()) {
    seen_.emplace(layer, step);
    return;
  }
  add_normalised(layer, step, minmax_spatial(map.to(at::kFloat)));
}

void HeatmapAccumulator::add_normalised(int layer, int step, const at::Tensor& map01) {
  LDMG_CHECK(seen_.emplace(layer, step).second, "attention map of layer {} step {} added twice", layer, step);
  const at::Tensor up = resize_bilinear(map01.unsqueeze(0), options_.out_size)[0];  // [out, out]
  if (!sum_.defined()) sum_ = at::zeros({options_.out_size, options_.out_size}, up.options().dtype(at::kDouble));
  sum_.add_(up.to(at::kDouble));
}

at::Tensor HeatmapAccumulator::finish() const {
  LDMG_CHECK(!seen_.empty(), "no attention maps were aggregated (empty layer or step selection?)");
  if (tokens_.empty())
    return at::full({options_.out_size, options_.out_size}, std::numeric_limits<float>::quiet_NaN(), at::kFloat);
  return (sum_ / static_cast<double>(seen_.size())).to(at::kFloat);
}

}  // namespace ldmg::grounding
