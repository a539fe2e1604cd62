#pragma once
// Mean IoU over thresholds (upstream official/metrics/eval_metrics.py:75-92).
#include <span>
#include <vector>

#include "metrics/map_view.h"

namespace ldmg::metrics {

// target = union of the boxes; for each threshold pred = map > thr (float32
// compare, NaN false); IoU = |pred & target| / |pred | target| (weighted
// counts), stored as float32; the result is the float32 mean of the IoUs.
// A threshold with an empty union counts IoU 0 (upstream: ZeroDivisionError).
inline constexpr float kMiouThresholds[] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f};

double miou(const MapView& map, std::span<const Box> boxes,
            std::span<const float> thresholds = std::span<const float>(kMiouThresholds));

}  // namespace ldmg::metrics
