#pragma once
// An RGB raster to draw figures on: fills, outlines, blits, text in our
// bitmap font, and alpha-blended colour-mapped float maps (NaN = transparent).
// Coordinates are pixels, (0,0) top-left; drawing outside is clipped.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "viz/colormap.h"

namespace ldmg::viz {

class Canvas {
 public:
  Canvas(int width, int height, Rgb background = {255, 255, 255});

  int width() const { return width_; }
  int height() const { return height_; }
  const std::vector<std::uint8_t>& rgb() const { return rgb_; }  // row-major, 3 bytes a pixel

  Rgb get(int x, int y) const;    // throws ldmg::Error outside the canvas
  void set(int x, int y, Rgb c);  // ignored outside
  void fill(Rgb c);
  void fill_rect(int x, int y, int w, int h, Rgb c);
  // Outline of the w x h rectangle at (x, y), `thickness` pixels drawn inwards.
  void draw_rect(int x, int y, int w, int h, Rgb c, int thickness = 1);
  void blit(const Canvas& src, int x, int y);
  // A gray image (w x h bytes, row-major) as RGB at (x, y).
  void blit_gray(int w, int h, const std::uint8_t* gray, int x, int y);
  // One line per '\n'; returns the width of the widest line. `scale` >= 1.
  int draw_text(int x, int y, std::string_view text, Rgb c, int scale = 1);
  // Blends cmap(map[i]) over the w x h area at (x, y) with weight `alpha`;
  // NaN entries leave the canvas as it is.
  void blend_map(int x, int y, int w, int h, const float* map, const Colormap& cmap, float alpha);

  void save_png(const std::string& path) const;

 private:
  int width_, height_;
  std::vector<std::uint8_t> rgb_;
};

}  // namespace ldmg::viz
