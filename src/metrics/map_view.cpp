#include "metrics/map_view.h"

#include <algorithm>

#include "core/check.h"

namespace ldmg::metrics {

void check_view(const MapView& map, std::span<const Box> boxes) {
  LDMG_CHECK(map.data != nullptr && map.height > 0 && map.width > 0, "metrics need a non-empty map, got {}x{}",
             map.height, map.width);
  for (std::size_t i = 0; i < boxes.size(); ++i) {
    const Box& b = boxes[i];
    LDMG_CHECK(b.x >= 0 && b.y >= 0 && b.w >= 0 && b.h >= 0, "box {} (x={}, y={}, w={}, h={}) has a negative value", i,
               b.x, b.y, b.w, b.h);
  }
}

std::vector<std::uint8_t> box_union_mask(const MapView& map, std::span<const Box> boxes) {
  std::vector<std::uint8_t> mask(map.size(), 0);
  for (const Box& b : boxes) {
    const std::int64_t y1 = std::min(b.y + b.h, map.height), x1 = std::min(b.x + b.w, map.width);
    for (std::int64_t y = b.y; y < y1; ++y)
      for (std::int64_t x = b.x; x < x1; ++x) mask[y * map.width + x] = 1;
  }
  return mask;
}

}  // namespace ldmg::metrics
