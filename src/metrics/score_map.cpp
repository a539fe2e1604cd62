#include "metrics/score_map.h"

#include <limits>

#include "metrics/auroc.h"
#include "metrics/cnr.h"
#include "metrics/miou.h"

namespace ldmg::metrics {

PairMetrics score_map(const MapView& map, std::span<const Box> boxes, bool exact_auroc) {
  PairMetrics m;
  const CnrValue c = cnr(map, boxes);
  m.abs_cnr = c.abs_cnr;
  m.cnr = c.cnr;
  m.miou = miou(map, boxes);
  m.auroc = auroc_binned(map, boxes);
  m.auroc_exact = exact_auroc ? auroc_exact(map, boxes) : std::numeric_limits<double>::quiet_NaN();
  return m;
}

}  // namespace ldmg::metrics
