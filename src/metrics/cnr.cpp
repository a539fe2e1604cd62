#include "metrics/cnr.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/check.h"

namespace ldmg::metrics {

namespace {

struct MeanVar {
  float mean = 0.f;
  float var = 0.f;
};

// torch.nanmean and metrics/utils.py:nanvar (mean of squared deviations from
// the float32 mean) over the pixels where `take` holds; weighted.
template <class Take>
MeanVar nan_mean_var(const MapView& m, Take take) {
  double sum = 0, count = 0;
  for (std::int64_t i = 0; i < m.size(); ++i) {
    const float v = m.data[i];
    if (std::isnan(v) || !take(i)) continue;
    const double w = m.weight(i);
    sum += w * v;
    count += w;
  }
  MeanVar r;
  r.mean = static_cast<float>(sum / count);  // 0/0 -> NaN like nanmean of nothing
  double sq = 0;
  for (std::int64_t i = 0; i < m.size(); ++i) {
    const float v = m.data[i];
    if (std::isnan(v) || !take(i)) continue;
    const float d = v - r.mean;
    sq += m.weight(i) * static_cast<double>(d * d);
  }
  r.var = static_cast<float>(sq / count);
  return r;
}

float nan_to_num(float v) {
  if (std::isnan(v)) return 0.f;
  if (std::isinf(v)) return v > 0 ? std::numeric_limits<float>::max() : std::numeric_limits<float>::lowest();
  return v;
}

}  // namespace

CnrValue cnr(const MapView& map, std::span<const Box> boxes) {
  check_view(map, boxes);
  if (boxes.empty()) return {std::nan(""), std::nan("")};
  std::vector<std::uint8_t> removed(map.size(), 0);  // pixels set to NaN by earlier boxes
  double sum_abs = 0, sum_signed = 0;
  for (const Box& b : boxes) {
    const std::int64_t y1 = std::min(b.y + b.h, map.height), x1 = std::min(b.x + b.w, map.width);
    auto in_box = [&](std::int64_t i) {
      const std::int64_t y = i / map.width, x = i % map.width;
      return y >= b.y && y < y1 && x >= b.x && x < x1;
    };
    const MeanVar in = nan_mean_var(map, [&](std::int64_t i) { return !removed[i] && in_box(i); });
    for (std::int64_t y = b.y; y < y1; ++y)
      for (std::int64_t x = b.x; x < x1; ++x) removed[y * map.width + x] = 1;
    const MeanVar out = nan_mean_var(map, [&](std::int64_t i) { return !removed[i]; });
    const float diff = in.mean - out.mean;
    const float denom = std::sqrt(in.var + out.var);
    sum_abs += nan_to_num(std::abs(diff) / denom);
    sum_signed += nan_to_num(diff / denom);
  }
  const double n = static_cast<double>(boxes.size());
  return {sum_abs / n, sum_signed / n};
}

}  // namespace ldmg::metrics
