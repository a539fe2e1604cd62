#include "runner/pair_scoring.h"

#include <ATen/ATen.h>

#include "core/check.h"
#include "grounding/back_to_original.h"
#include "metrics/auroc.h"
#include "metrics/cnr.h"
#include "metrics/miou.h"

namespace ldmg::runner {

metrics::PairMetrics score_heatmap(const at::Tensor& heatmap512, const std::vector<data::Box>& boxes, int width,
                                   int height) {
  LDMG_CHECK(width > 0 && height > 0, "image size {}x{} is not positive", width, height);
  // official/eval_ldm.py:82-94: nearest to s x s, NaN padding to h x w.
  const at::Tensor full = grounding::back_to_original(heatmap512.to(at::kFloat), width, height).contiguous();  // [h,w]
  metrics::MapView view;
  view.data = full.data_ptr<float>();
  view.height = full.size(0);
  view.width = full.size(1);
  std::vector<metrics::Box> mb;
  for (const auto& b : boxes) mb.push_back({b.x, b.y, b.w, b.h});
  metrics::PairMetrics m;
  const metrics::CnrValue c = metrics::cnr(view, mb);
  m.abs_cnr = c.abs_cnr;
  m.cnr = c.cnr;
  m.miou = metrics::miou(view, mb);
  m.auroc = metrics::auroc_binned(view, mb);
  m.auroc_exact = metrics::auroc_exact(view, mb);
  return m;
}

}  // namespace ldmg::runner
