#include "metrics/auroc.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/check.h"

namespace ldmg::metrics {

double auroc_binned(const MapView& map, std::span<const Box> boxes, int num_thresholds) {
  check_view(map, boxes);
  LDMG_CHECK(num_thresholds >= 2, "binned AUROC needs at least 2 thresholds, got {}", num_thresholds);
  const std::vector<std::uint8_t> target = box_union_mask(map, boxes);
  // torch.linspace(0, 1, n) in float32 (symmetric evaluation as ATen's CPU kernel).
  const int n = num_thresholds;
  const float step = 1.0f / static_cast<float>(n - 1);
  std::vector<float> thr(n);
  for (int k = 0; k < n; ++k) thr[k] = k < n / 2 ? 0.0f + step * k : 1.0f - step * (n - k - 1);
  std::vector<std::int64_t> tp(n, 0), fp(n, 0);
  for (std::int64_t i = 0; i < map.size(); ++i) {
    const float v = map.data[i];
    const std::int64_t w = map.weight(i);
    for (int k = 0; k < n; ++k) {
      if (!(v >= thr[k])) break;  // thresholds ascend: once below, below all later ones
      (target[i] ? tp[k] : fp[k]) += w;
    }
  }
  // cum_* = [0, count(thr_{n-1}), ..., count(thr_0)]
  std::vector<std::int64_t> ctp{0}, cfp{0};
  for (int k = n - 1; k >= 0; --k) {
    ctp.push_back(tp[k]);
    cfp.push_back(fp[k]);
  }
  const std::int64_t factor = ctp.back() * cfp.back();
  if (factor == 0) return 0.5;
  std::int64_t twice_area = 0;  // sum (dx * (y[i] + y[i+1])) in int64, as torch.trapz on int64
  for (std::size_t i = 0; i + 1 < ctp.size(); ++i) twice_area += (cfp[i + 1] - cfp[i]) * (ctp[i] + ctp[i + 1]);
  const float area = static_cast<float>(twice_area) / 2.0f;  // int64 tensor / 2. -> float32
  return static_cast<double>(area) / static_cast<double>(factor);
}

double auroc_exact(const MapView& map, std::span<const Box> boxes) {
  check_view(map, boxes);
  const std::vector<std::uint8_t> target = box_union_mask(map, boxes);
  std::vector<std::int64_t> idx;
  idx.reserve(map.size());
  for (std::int64_t i = 0; i < map.size(); ++i)
    if (!std::isnan(map.data[i]) && map.weight(i) > 0) idx.push_back(i);
  std::sort(idx.begin(), idx.end(), [&](std::int64_t a, std::int64_t b) { return map.data[a] < map.data[b]; });
  // Mann-Whitney: sum over positives of (negatives below + half the tied negatives).
  double neg_below = 0, num = 0, pos_total = 0, neg_total = 0;
  for (std::size_t g = 0; g < idx.size();) {
    std::size_t e = g;
    double pos = 0, neg = 0;
    while (e < idx.size() && map.data[idx[e]] == map.data[idx[g]]) {
      (target[idx[e]] ? pos : neg) += map.weight(idx[e]);
      ++e;
    }
    num += pos * (neg_below + 0.5 * neg);
    neg_below += neg;
    pos_total += pos;
    neg_total += neg;
    g = e;
  }
  if (pos_total == 0 || neg_total == 0) return std::nan("");
  return num / (pos_total * neg_total);
}

}  // namespace ldmg::metrics
