#pragma once
// A heatmap on the original image as the metrics see it: a float32 buffer
// (row-major h x w, NaN = no value) with optional per-pixel integer weights,
// and ground-truth boxes in original pixels (SPEC.md §8).
#include <cstdint>
#include <span>
#include <vector>

namespace ldmg::metrics {

// (x, y, w, h): rows y..y+h-1, columns x..x+w-1; clipped to the map like a
// Python slice sim_map[y:y+h, x:x+w].
struct Box {
  std::int64_t x = 0, y = 0, w = 0, h = 0;
};

// Non-owning. `weights` (optional, same size) makes pixel i count weights[i]
// times in every mean, variance and count: a 512-grid map with weights = how
// many original pixels each 512-pixel covers equals the materialised
// original-size map. Weight 0 = absent. Without weights every pixel counts 1.
struct MapView {
  const float* data = nullptr;
  std::int64_t height = 0;
  std::int64_t width = 0;
  const std::uint32_t* weights = nullptr;

  std::int64_t size() const { return height * width; }
  std::uint32_t weight(std::int64_t i) const { return weights ? weights[i] : 1u; }
};

// Throws ldmg::Error when the view is null/empty or a box has negative
// coordinates or size (upstream's Python slices would silently wrap).
void check_view(const MapView& map, std::span<const Box> boxes);

// The union of the boxes as a 0/1 mask of the map's size (target of mIoU/AUC).
std::vector<std::uint8_t> box_union_mask(const MapView& map, std::span<const Box> boxes);

}  // namespace ldmg::metrics
