#include "data/box_survival.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/check.h"
#include "data/geometry.h"
#include "data/preprocess.h"

namespace ldmg::data {

namespace {

// official/data/ms_cxr.py:85-106 with the "ddpm" transform of data/utils.py:142-143.
SurvivedBoxes survive_faithful(const std::vector<Box>& boxes, const ResizeCrop& g) {
  const int n = static_cast<int>(boxes.size());
  LDMG_CHECK(static_cast<std::int64_t>(n) * 5 < (std::int64_t{1} << 24),
             "too many boxes ({}) for an exact float32 raster", n);
  // int64 upstream; 5*v is exact in float32, which is what torchvision casts to anyway.
  at::Tensor raster = at::zeros({1, 1, g.in_height, g.in_width}, at::kFloat);  // [1, 1, H, W]
  for (int v = 1; v <= n; ++v) {
    const Box& b = boxes[v - 1];
    // bbox[:, y:y+h, x:x+w] = 5*v: Python slices clip at the end; x, y >= 0 (validated).
    const std::int64_t y0 = std::min<std::int64_t>(b.y, g.in_height), y1 = std::min<std::int64_t>(std::int64_t{b.y} + b.h, g.in_height);
    const std::int64_t x0 = std::min<std::int64_t>(b.x, g.in_width), x1 = std::min<std::int64_t>(std::int64_t{b.x} + b.w, g.in_width);
    LDMG_CHECK(b.x >= 0 && b.y >= 0, "box {} [{}, {}, {}, {}] has a negative origin", v, b.x, b.y, b.w, b.h);
    if (y1 > y0 && x1 > x0) raster.slice(2, y0, y1).slice(3, x0, x1).fill_(5.0f * v);
  }
  // torchvision: float interpolation, then torch.round (half to even) before the int64 cast.
  const at::Tensor crop = at::round(center_crop(resize_shorter_side(raster, g), g));  // [1, 1, size, size]
  const float* px = crop.data_ptr<float>();

  struct Extent {
    std::int64_t first = -1, last = -1;
  };
  std::vector<Extent> ext(n + 1);
  const std::int64_t total = std::int64_t{g.size} * g.size;
  for (std::int64_t i = 0; i < total; ++i) {
    const float val = px[i];
    if (val <= 0.0f) continue;
    const auto iv = static_cast<std::int64_t>(val);
    if (iv % 5 != 0 || iv / 5 > n) continue;
    Extent& e = ext[iv / 5];
    if (e.first < 0) e.first = i;
    e.last = i;
  }
  SurvivedBoxes out;
  for (int v = 1; v <= n; ++v) {
    const Extent& e = ext[v];
    if (e.first < 0) continue;  // "Index {idx} has a [-1,] * 4 bbox": popped upstream
    const int fy = static_cast<int>(e.first / g.size), fx = static_cast<int>(e.first % g.size);
    const int ly = static_cast<int>(e.last / g.size), lx = static_cast<int>(e.last % g.size);
    out.original.push_back(boxes[v - 1]);
    out.cropped.push_back(Box{fx, fy, lx - fx, ly - fy});
    out.kept.push_back(v - 1);
  }
  return out;
}

// Geometric alternative: continuous rectangle through resize (scale out/in) and crop.
SurvivedBoxes survive_geometric(const std::vector<Box>& boxes, const ResizeCrop& g) {
  const double sx = static_cast<double>(g.resized_width) / g.in_width;
  const double sy = static_cast<double>(g.resized_height) / g.in_height;
  SurvivedBoxes out;
  for (std::size_t i = 0; i < boxes.size(); ++i) {
    const Box& b = boxes[i];
    const double x0 = std::clamp<double>(b.x, 0, g.in_width) * sx - g.crop_left;
    const double x1 = std::clamp<double>(static_cast<double>(b.x) + b.w, 0, g.in_width) * sx - g.crop_left;
    const double y0 = std::clamp<double>(b.y, 0, g.in_height) * sy - g.crop_top;
    const double y1 = std::clamp<double>(static_cast<double>(b.y) + b.h, 0, g.in_height) * sy - g.crop_top;
    const double cx0 = std::max(x0, 0.0), cx1 = std::min(x1, static_cast<double>(g.size));
    const double cy0 = std::max(y0, 0.0), cy1 = std::min(y1, static_cast<double>(g.size));
    if (!(cx1 > cx0 && cy1 > cy0)) continue;
    const int fx = static_cast<int>(std::floor(cx0)), fy = static_cast<int>(std::floor(cy0));
    const int lx = std::max(fx, static_cast<int>(std::ceil(cx1)) - 1);
    const int ly = std::max(fy, static_cast<int>(std::ceil(cy1)) - 1);
    out.original.push_back(b);
    out.cropped.push_back(Box{fx, fy, lx - fx, ly - fy});
    out.kept.push_back(static_cast<int>(i));
  }
  return out;
}

}  // namespace

SurvivedBoxes survive_boxes(const std::vector<Box>& boxes, int csv_width, int csv_height, int size,
                            SurvivalRule rule) {
  const ResizeCrop g = resize_crop_geometry(csv_height, csv_width, size);
  return rule == SurvivalRule::faithful ? survive_faithful(boxes, g) : survive_geometric(boxes, g);
}

SurvivalRule parse_survival_rule(const std::string& name) {
  if (name == "faithful") return SurvivalRule::faithful;
  if (name == "geometric") return SurvivalRule::geometric;
  LDMG_FAIL("unknown box survival rule '{}' (expected 'faithful' or 'geometric')", name);
}

const char* to_string(SurvivalRule rule) { return rule == SurvivalRule::faithful ? "faithful" : "geometric"; }

}  // namespace ldmg::data
