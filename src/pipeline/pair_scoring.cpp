#include "pipeline/pair_scoring.h"

#include <ATen/ATen.h>

#include "core/check.h"
#include "grounding/back_to_original.h"
#include "metrics/score_map.h"

namespace ldmg::pipeline {

metrics::PairMetrics score_heatmap(const at::Tensor& heatmap512, const std::vector<data::Box>& boxes, int width,
                                   int height) {
  LDMG_CHECK(width > 0 && height > 0, "image size {}x{} is not positive", width, height);
  // official/eval_ldm.py:82-94: nearest to s x s, NaN padding to h x w.
  return score_original_size_map(grounding::back_to_original(heatmap512.to(at::kFloat), width, height), boxes);
}

metrics::PairMetrics score_original_size_map(const at::Tensor& map, const std::vector<data::Box>& boxes) {
  LDMG_CHECK(map.dim() == 2 && map.scalar_type() == at::kFloat, "score_original_size_map: expected a [h,w] float32 map");
  const at::Tensor full = map.contiguous();
  metrics::MapView view;
  view.data = full.data_ptr<float>();
  view.height = full.size(0);
  view.width = full.size(1);
  std::vector<metrics::Box> mb;
  for (const auto& b : boxes) mb.push_back({b.x, b.y, b.w, b.h});
  return metrics::score_map(view, mb);
}

}  // namespace ldmg::pipeline
