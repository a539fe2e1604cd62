#pragma once
// Contrast-to-noise ratio (upstream official/metrics/eval_metrics.py:16-36,
// QUIRKS.md §8).
#include <span>

#include "metrics/map_view.h"

namespace ldmg::metrics {

struct CnrValue {
  double abs_cnr = 0.0;  // mean over boxes of |mu_in - mu_out| / sqrt(var_in + var_out)
  double cnr = 0.0;      // the same with the signed difference
};

// Per box, in order, on a working copy of the map: in = the box's non-NaN
// pixels (mean, population variance), then the box is set to NaN; out = all
// remaining non-NaN pixels (so later boxes also exclude earlier ones). Means
// and variances are float32 values (accumulated in double); the ratio is a
// float32 op; NaN -> 0, +-inf -> +-3.4028235e38 (torch.nan_to_num). The
// pair's value is the mean over boxes; no boxes -> NaN.
CnrValue cnr(const MapView& map, std::span<const Box> boxes);

}  // namespace ldmg::metrics
