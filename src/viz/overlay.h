#pragma once
// The paper's qualitative figure (Fig. 3): the X-ray in gray, the grounding
// heatmap blended over it in a colour map, the ground-truth boxes as green
// rectangles, a vertical colour bar with ticks 0.0 / 0.5 / 1.0 on the right
// and the prompt, wrapped, as a caption.
#include <cstdint>
#include <string>
#include <vector>

#include "viz/canvas.h"
#include "viz/colormap.h"

namespace ldmg::viz {

// A borrowed 8-bit grayscale image, row-major (index = y * width + x).
struct GrayView {
  int width = 0;
  int height = 0;
  const std::uint8_t* pixels = nullptr;
};

// A box in original image pixels (MS-CXR x, y, w, h).
struct OverlayBox {
  double x = 0, y = 0, w = 0, h = 0;
};

struct OverlayOptions {
  float alpha = 0.5f;  // heatmap weight over the image
  ColormapName colormap = ColormapName::jet;
  int max_side = 768;  // larger images are downscaled to this longer side
  Rgb box_color{0, 255, 0};
  int box_thickness = 0;  // 0: max(2, displayed longer side / 256)
  int font_scale = 0;     // 0: max(1, displayed longer side / 384)
  bool caption_above = true;
  bool color_bar = true;
  Rgb background{255, 255, 255};
  Rgb text_color{0, 0, 0};
};

// Displayed image size for an original size under `max_side`: scale =
// min(1, max_side / max(w, h)), sides rounded, at least 1.
struct DisplaySize {
  int width = 0, height = 0;
  double scale = 1.0;
};
DisplaySize display_size(int width, int height, int max_side);

// `heatmap` has image.width * image.height values in [0, 1], NaN where there
// is no map (the padding of SPEC §7), or is null for the image and boxes
// only. Downscaling: box filter (area mean) for the image, nearest sample
// for the heatmap (values are shown as computed, NaN borders stay sharp).
Canvas render_overlay(const GrayView& image, const float* heatmap, const std::vector<OverlayBox>& boxes,
                      const std::string& caption, const OverlayOptions& options = {});

// Where render_overlay put things, for callers that annotate further and
// for tests.
struct OverlayLayout {
  int image_x = 0, image_y = 0;  // top-left of the displayed image
  DisplaySize image;
  int bar_x = 0, bar_y = 0, bar_width = 0, bar_height = 0;  // colour bar interior (0 if none)
  int caption_y = 0, caption_lines = 0;
  int font_scale = 1;
};
OverlayLayout overlay_layout(const GrayView& image, const std::string& caption, const OverlayOptions& options = {});

}  // namespace ldmg::viz
