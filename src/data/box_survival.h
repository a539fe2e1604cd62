#pragma once
// Which boxes of a pair survive the image's resize + center crop, and where
// they land in the crop (official/data/ms_cxr.py:85-106; QUIRKS.md §7).
//
// faithful (default): box v (1-based, CSV order) is drawn with value 5*v into a
// csv_height x csv_width raster (later boxes overwrite earlier ones; parts
// beyond the raster are clipped like Python slicing); the raster is resized
// like the image (bilinear on float32, align_corners=False, no antialias),
// rounded half-to-even back to integers (torchvision casts with torch.round)
// and center-cropped; box v survives iff some pixel equals exactly 5*v.
// Interpolation halos can keep a cropped-away box alive (a later box's border
// blending 10 -> 0 passes through 5): this is reproduced on purpose.
// Its 512-space box is [x_first, y_first, x_last - x_first, y_last - y_first]
// over the matching pixels in row-major order (first = topmost row's leftmost,
// last = bottom row's rightmost), so w/h are one less than the extent.
//
// geometric: box v survives iff its rectangle, clipped to the image and mapped
// through the resize (x * resized/in) and the crop offset, overlaps the crop
// with positive area. Its 512-space box spans the covered pixels
// [floor(x0), ceil(x1) - 1] clamped to the crop, with the same w = last - first
// convention. No halos, no overwriting.
#include <string>
#include <vector>

#include "data/box.h"

namespace ldmg::data {

enum class SurvivalRule { faithful, geometric };

struct SurvivedBoxes {
  std::vector<Box> original;  // survivors in original pixels, CSV order (upstream `original_bbox` after pops)
  std::vector<Box> cropped;   // the same boxes in size x size crop pixels (upstream `final_bbox`, `bbox_512`)
  std::vector<int> kept;      // 0-based indices of the survivors in the input
  bool skipped() const { return original.empty(); }  // upstream skips such a pair (eval_ldm.py:63-65)
};

// `csv_width` x `csv_height` is the CSV's image size (not the file's).
SurvivedBoxes survive_boxes(const std::vector<Box>& boxes, int csv_width, int csv_height, int size = 512,
                            SurvivalRule rule = SurvivalRule::faithful);

SurvivalRule parse_survival_rule(const std::string& name);  // "faithful" | "geometric"
const char* to_string(SurvivalRule rule);

}  // namespace ldmg::data
