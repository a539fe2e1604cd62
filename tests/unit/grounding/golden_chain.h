#pragma once
// Runs our heatmap chain on one golden sample, starting from the golden
// `layer_token_mean` [4, W, 16, 16] (layers 3,4,6,7 x window steps): min-max,
// resize, mean, Gaussian, normalise, Otsu, back to the original size.
#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "grounding/back_to_original.h"
#include "grounding/golden.h"
#include "grounding/heatmap_aggregation.h"
#include "grounding/postprocess.h"
#include "grounding/token_selection.h"

namespace ldmg::test {

struct ChainOutput {
  at::Tensor token_mean_norm;  // [4, W, 16, 16]
  at::Tensor avg;              // [512, 512]
  grounding::PostprocessResult post;
  at::Tensor orig;  // [h, w] (undefined unless a size was given)
};

inline std::vector<std::int64_t> ids_of(const at::Tensor& t) {
  std::vector<std::int64_t> v;
  for (std::int64_t i = 0; i < t.numel(); ++i) v.push_back(static_cast<std::int64_t>(t[i].item<float>()));
  return v;
}

// `tokens_empty`: the Table III no-match case (the heatmap is all NaN).
inline ChainOutput run_golden_chain(const std::map<std::string, at::Tensor>& g, bool tokens_empty, std::int64_t width,
                                    std::int64_t height) {
  ChainOutput out;
  const at::Tensor ltm = g.at("layer_token_mean");  // [4, W, 16, 16]
  out.token_mean_norm = grounding::minmax_spatial(ltm);
  const grounding::TokenSlice tokens = tokens_empty ? grounding::TokenSlice{} : grounding::TokenSlice{1, 2};
  grounding::HeatmapAccumulator acc(tokens);
  const int layers[] = {3, 4, 6, 7};
  for (std::int64_t l = 0; l < ltm.size(0); ++l)
    for (std::int64_t s = 0; s < ltm.size(1); ++s) acc.add_token_mean(layers[l], static_cast<int>(s), ltm[l][s]);
  out.avg = acc.finish();
  out.post = grounding::postprocess_heatmap(out.avg);
  if (width > 0) out.orig = grounding::back_to_original(out.post.final, width, height);
  return out;
}

inline at::Tensor s8(const at::Tensor& m) { return m.slice(0, 0, m.size(0), 8).slice(1, 0, m.size(1), 8); }
inline at::Tensor rowsum(const at::Tensor& m) { return m.to(at::kDouble).nan_to_num(0).sum(1); }
inline at::Tensor colsum(const at::Tensor& m) { return m.to(at::kDouble).nan_to_num(0).sum(0); }

// max |a - b| / max(1, |b|) for sums.
inline double max_rel_diff(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor bd = b.to(at::kDouble);
  return ((a.to(at::kDouble) - bd).abs() / bd.abs().clamp_min(1.0)).max().item<double>();
}

}  // namespace ldmg::test
