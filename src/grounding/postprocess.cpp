#include "grounding/postprocess.h"

#include <ATen/ATen.h>

#include <limits>

#include "core/check.h"
#include "grounding/gaussian_filter.h"
#include "grounding/otsu.h"

namespace ldmg::grounding {

at::Tensor normalise_01(const at::Tensor& map) {
  const at::Tensor m = map.to(at::kFloat);
  const at::Tensor mn = m.min(), mx = m.max();  // NaN propagates, as in torch
  return (m - mn) / (mx - mn);
}

PostprocessResult postprocess_heatmap(const at::Tensor& averaged, const PostprocessOptions& opt) {
  LDMG_CHECK(averaged.dim() == 2, "heatmap must be 2-D");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  PostprocessResult r;
  r.gauss = opt.sigma > 0 ? gaussian_filter(averaged, opt.sigma) : averaged.to(at::kFloat).contiguous();
  r.gauss_min = r.gauss.min().item<float>();
  r.gauss_max = r.gauss.max().item<float>();
  r.norm = normalise_01(r.gauss);
  r.threshold = static_cast<float>(nan);
  r.otsu_margin = nan;
  if (!opt.otsu) {
    r.final = r.norm;
    return r;
  }
  OtsuResult o = apply_otsu(r.norm);
  r.final = o.masked;
  r.threshold = o.threshold;
  r.otsu_margin = o.margin;
  r.mask_count = o.mask_count;
  return r;
}

}  // namespace ldmg::grounding
