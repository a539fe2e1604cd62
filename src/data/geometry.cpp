#include "data/geometry.h"

#include <cstdint>

#include "core/check.h"

namespace ldmg::data {

// torchvision 0.14 transforms/functional.py _compute_resized_output_size, then
// MONAI CenterSpatialCrop's roi_center - roi_size//2.
ResizeCrop resize_crop_geometry(int height, int width, int size) {
  LDMG_CHECK(height > 0 && width > 0, "image size must be positive, got {}x{} (W x H)", width, height);
  LDMG_CHECK(size > 0, "target size must be positive, got {}", size);
  const bool portrait = width <= height;
  const std::int64_t short_side = portrait ? width : height;
  const std::int64_t long_side = portrait ? height : width;
  // Python: int(size * long / short): true division of exact integers, then truncation.
  const double ratio = static_cast<double>(std::int64_t{size} * long_side) / static_cast<double>(short_side);
  const int new_long = static_cast<int>(ratio);
  ResizeCrop g;
  g.in_height = height;
  g.in_width = width;
  g.size = size;
  g.resized_width = portrait ? size : new_long;
  g.resized_height = portrait ? new_long : size;
  LDMG_ASSERT(g.resized_width >= size && g.resized_height >= size, "resized {}x{} smaller than {}", g.resized_width,
              g.resized_height, size);
  g.crop_top = g.resized_height / 2 - size / 2;
  g.crop_left = g.resized_width / 2 - size / 2;
  return g;
}

}  // namespace ldmg::data
