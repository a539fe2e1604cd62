#include "analysis/window_prefix.h"

#include <torch/torch.h>

#include <limits>

#include "core/check.h"

namespace ldmg::analysis {

WindowPrefix::WindowPrefix(grounding::TokenSlice tokens, grounding::TokenOrder order, std::int64_t out_size)
    : tokens_(tokens), order_(order), out_size_(out_size) {}

void WindowPrefix::add_layer(int layer, const at::Tensor& probs, std::int64_t h, std::int64_t w, int first_step) {
  LDMG_CHECK(probs.dim() == 3 && probs.size(1) == h * w, "layer {}: maps must be [steps, {}, S], got {} dims of {} rows", layer,
             h * w, probs.dim(), probs.dim() > 1 ? probs.size(1) : 0);
  Layer L{h, w, first_step, static_cast<int>(probs.size(0)), {}, {}};
  if (!tokens_.empty()) {
    LDMG_CHECK(tokens_.end <= probs.size(2), "token slice {} outside the {} cached token columns",
               grounding::to_string(tokens_), probs.size(2));
    const at::Tensor p = probs.to(at::kFloat).slice(2, tokens_.begin, tokens_.end);  // [n, HW, k]
    at::Tensor norm;
    if (order_ == grounding::TokenOrder::MeanThenNormalise) {
      norm = grounding::minmax_spatial(p.mean(2).view({-1, h, w}));  // [n, h, w]
    } else {
      const at::Tensor per_token = p.permute({0, 2, 1}).reshape({L.n_steps, -1, h, w});  // [n, k, h, w]
      norm = grounding::minmax_spatial(per_token).mean(1);                               // [n, h, w]
    }
    const at::Tensor nan = norm.isnan();
    const at::Tensor zero = torch::zeros({1, h, w}, torch::kDouble);
    L.sum = torch::cat({zero, norm.to(torch::kDouble).masked_fill(nan, 0.0).cumsum(0)});  // [n+1, h, w]
    L.nans = torch::cat({zero.to(torch::kInt), nan.to(torch::kInt).cumsum(0, torch::kInt)});
  }
  layers_[layer] = std::move(L);
}

void WindowPrefix::add_cached(const cache::AttentionCacheReader& reader, int prompt, const std::vector<int>& layers) {
  const auto& spec = reader.spec();
  const int first = spec.cached_steps.front();
  LDMG_CHECK(spec.cached_steps.back() - first + 1 == static_cast<int>(spec.cached_steps.size()),
             "{}: the cached steps are not contiguous", reader.path());
  for (int l : layers) {
    if (has_layer(l)) continue;
    const int pos = spec.layer_position(l);
    LDMG_CHECK(pos >= 0, "{}: attn2 layer {} is not cached", reader.path(), l);
    const auto& info = spec.layers[static_cast<std::size_t>(pos)];
    add_layer(l, reader.layer_maps(prompt, l), info.h, info.w, first);  // [steps, HW, n]
  }
}

at::Tensor WindowPrefix::average(const std::vector<int>& layers, int begin, int end) const {
  LDMG_CHECK(!layers.empty() && begin < end, "empty layer or step selection");
  if (tokens_.empty())  // as the accumulator: no tokens -> all NaN
    return torch::full({out_size_, out_size_}, std::numeric_limits<float>::quiet_NaN(), torch::kFloat);
  std::map<std::pair<std::int64_t, std::int64_t>, at::Tensor> by_size;  // native size -> window sum [h, w]
  for (int l : layers) {
    const auto it = layers_.find(l);
    LDMG_CHECK(it != layers_.end(), "layer {} was not loaded", l);
    const Layer& L = it->second;
    const int b = begin - L.first_step, e = end - L.first_step;
    LDMG_CHECK(b >= 0 && e <= L.n_steps, "layer {}: steps {}:{} outside the cached {}:{}", l, begin, end, L.first_step,
               L.first_step + L.n_steps);
    at::Tensor s = L.sum[e] - L.sum[b];                                        // [h, w]
    s.masked_fill_((L.nans[e] - L.nans[b]) > 0, std::numeric_limits<double>::quiet_NaN());
    auto& acc = by_size[{L.h, L.w}];
    acc = acc.defined() ? acc + s : s;
  }
  at::Tensor total;
  for (const auto& [size, s] : by_size) {
    const at::Tensor up = grounding::resize_bilinear(s.unsqueeze(0), out_size_)[0];  // [out, out] float64
    total = total.defined() ? total + up : up;
  }
  const double count = static_cast<double>(layers.size()) * (end - begin);
  return (total / count).to(torch::kFloat);
}

}  // namespace ldmg::analysis
