#include "metrics/miou.h"

#include <cmath>

#include "core/check.h"

namespace ldmg::metrics {

double miou(const MapView& map, std::span<const Box> boxes, std::span<const float> thresholds) {
  check_view(map, boxes);
  LDMG_CHECK(!thresholds.empty(), "mIoU needs at least one threshold");
  const std::vector<std::uint8_t> target = box_union_mask(map, boxes);
  float sum = 0.f;  // ious = torch.empty(5) (float32); ious.mean()
  for (const float thr : thresholds) {
    std::uint64_t inter = 0, uni = 0;
    for (std::int64_t i = 0; i < map.size(); ++i) {
      const bool pred = map.data[i] > thr;  // NaN compares false
      const std::uint64_t w = map.weight(i);
      inter += (pred && target[i]) ? w : 0;
      uni += (pred || target[i]) ? w : 0;
    }
    const double iou = uni == 0 ? 0.0 : static_cast<double>(inter) / static_cast<double>(uni);
    sum += static_cast<float>(iou);
  }
  return static_cast<double>(sum / static_cast<float>(thresholds.size()));
}

}  // namespace ldmg::metrics
