#pragma once
// Shortcuts (a) and (b) for many heatmap configs on one cached prompt.
// The online aggregation (grounding::HeatmapAccumulator) min-max normalises
// every (layer, step) map at native size, resizes it bilinearly to 512 and
// averages. Normalisation is not linear, but it happens first; what follows
// is: bilinear resize is linear and the same for every map of one native
// size, so resize(sum of normalised maps) = sum of resized maps (a), and a
// sum over a step window is a difference of prefix sums over steps (b).
// So: per layer, prefix sums of the normalised native maps (float64, NaN
// counted apart so one constant map does not poison later windows); per
// config, O(1) window sums per layer, one sum per native size, one resize per
// size. Differs from the accumulator by float rounding only (float32 resize
// per map there, float64 here): |diff| <= 1e-5 on [0, 1] maps, tested.
#include <ATen/core/Tensor.h>

#include <map>
#include <vector>

#include "cache/attention_cache_reader.h"
#include "grounding/heatmap_aggregation.h"

namespace ldmg::analysis {

class WindowPrefix {
 public:
  WindowPrefix(grounding::TokenSlice tokens, grounding::TokenOrder order, std::int64_t out_size = 512);

  // probs: [n_steps, h*w, n_tokens] of steps first_step .. first_step+n_steps-1.
  void add_layer(int layer, const at::Tensor& probs, std::int64_t h, std::int64_t w, int first_step);
  // Every layer in `layers` of prompt `prompt` from a cache unit (contiguous cached steps).
  void add_cached(const cache::AttentionCacheReader& reader, int prompt, const std::vector<int>& layers);

  bool has_layer(int layer) const { return layers_.count(layer) > 0; }
  // [out, out] float32: the mean over `layers` x steps [begin, end) of the
  // resized normalised maps = HeatmapAccumulator::finish() for that config.
  at::Tensor average(const std::vector<int>& layers, int begin, int end) const;

 private:
  struct Layer {
    std::int64_t h = 0, w = 0;
    int first_step = 0, n_steps = 0;
    at::Tensor sum;   // [n_steps+1, h, w] float64 prefix sums, NaN read as 0
    at::Tensor nans;  // [n_steps+1, h, w] int32 prefix counts of NaN
  };
  grounding::TokenSlice tokens_;
  grounding::TokenOrder order_;
  std::int64_t out_size_;
  std::map<int, Layer> layers_;
};

}  // namespace ldmg::analysis
