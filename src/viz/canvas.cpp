#include "viz/canvas.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"
#include "io/png_writer.h"
#include "viz/bitmap_font.h"

namespace ldmg::viz {

Canvas::Canvas(int width, int height, Rgb background) : width_(width), height_(height) {
  LDMG_CHECK(width > 0 && height > 0 && width <= 1 << 15 && height <= 1 << 15, "bad canvas size {}x{}", width, height);
  rgb_.resize(static_cast<std::size_t>(width) * height * 3);
  fill(background);
}

Rgb Canvas::get(int x, int y) const {
  LDMG_CHECK(x >= 0 && y >= 0 && x < width_ && y < height_, "pixel ({}, {}) outside the {}x{} canvas", x, y, width_,
             height_);
  const std::size_t i = (static_cast<std::size_t>(y) * width_ + x) * 3;
  return Rgb{rgb_[i], rgb_[i + 1], rgb_[i + 2]};
}

void Canvas::set(int x, int y, Rgb c) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
  const std::size_t i = (static_cast<std::size_t>(y) * width_ + x) * 3;
  rgb_[i] = c.r;
  rgb_[i + 1] = c.g;
  rgb_[i + 2] = c.b;
}

void Canvas::fill(Rgb c) { fill_rect(0, 0, width_, height_, c); }

void Canvas::fill_rect(int x, int y, int w, int h, Rgb c) {
  const int x0 = std::max(x, 0), y0 = std::max(y, 0);
  const int x1 = std::min(x + w, width_), y1 = std::min(y + h, height_);
  for (int yy = y0; yy < y1; ++yy)
    for (int xx = x0; xx < x1; ++xx) set(xx, yy, c);
}

void Canvas::draw_rect(int x, int y, int w, int h, Rgb c, int thickness) {
  if (w <= 0 || h <= 0) return;
  const int t = std::max(1, std::min({thickness, (w + 1) / 2, (h + 1) / 2}));
  fill_rect(x, y, w, t, c);          // top
  fill_rect(x, y + h - t, w, t, c);  // bottom
  fill_rect(x, y, t, h, c);          // left
  fill_rect(x + w - t, y, t, h, c);  // right
}

void Canvas::blit(const Canvas& src, int x, int y) {
  for (int yy = 0; yy < src.height_; ++yy)
    for (int xx = 0; xx < src.width_; ++xx) set(x + xx, y + yy, src.get(xx, yy));
}

void Canvas::blit_gray(int w, int h, const std::uint8_t* gray, int x, int y) {
  for (int yy = 0; yy < h; ++yy)
    for (int xx = 0; xx < w; ++xx) {
      const std::uint8_t v = gray[static_cast<std::size_t>(yy) * w + xx];
      set(x + xx, y + yy, Rgb{v, v, v});
    }
}

int Canvas::draw_text(int x, int y, std::string_view text, Rgb c, int scale) {
  LDMG_CHECK(scale >= 1, "text scale must be >= 1, got {}", scale);
  const std::string t = to_font_text(text);
  int cx = x, cy = y, widest = 0;
  for (char ch : t) {
    if (ch == '\n') {
      widest = std::max(widest, cx - x - (kCellWidth - kGlyphWidth) * scale);
      cx = x;
      cy += line_height(scale);
      continue;
    }
    const Glyph& g = glyph(static_cast<unsigned char>(ch));
    for (int gy = 0; gy < kGlyphHeight; ++gy)
      for (int gx = 0; gx < kGlyphWidth; ++gx)
        if (g.pixel(gx, gy)) fill_rect(cx + gx * scale, cy + gy * scale, scale, scale, c);
    cx += kCellWidth * scale;
  }
  return std::max(widest, cx - x - (kCellWidth - kGlyphWidth) * scale);
}

void Canvas::blend_map(int x, int y, int w, int h, const float* map, const Colormap& cmap, float alpha) {
  const float a = std::clamp(alpha, 0.0f, 1.0f);
  for (int yy = 0; yy < h; ++yy) {
    const int py = y + yy;
    if (py < 0 || py >= height_) continue;
    for (int xx = 0; xx < w; ++xx) {
      const int px = x + xx;
      if (px < 0 || px >= width_) continue;
      const float v = map[static_cast<std::size_t>(yy) * w + xx];
      if (std::isnan(v)) continue;
      const Rgb m = cmap(v);
      const std::size_t i = (static_cast<std::size_t>(py) * width_ + px) * 3;
      auto mix = [a](std::uint8_t under, std::uint8_t over) {
        return static_cast<std::uint8_t>(std::lround((1.0f - a) * under + a * over));
      };
      rgb_[i] = mix(rgb_[i], m.r);
      rgb_[i + 1] = mix(rgb_[i + 1], m.g);
      rgb_[i + 2] = mix(rgb_[i + 2], m.b);
    }
  }
}

void Canvas::save_png(const std::string& path) const { io::write_png_rgb(path, width_, height_, rgb_.data()); }

}  // namespace ldmg::viz
