#include "viz/overlay.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"
#include "viz/bitmap_font.h"

namespace ldmg::viz {

namespace {

constexpr int kMargin = 12;
constexpr int kBarGap = 14;
constexpr int kBarWidth = 20;
constexpr int kTickLength = 5;

int auto_font_scale(const DisplaySize& d, const OverlayOptions& o) {
  return o.font_scale > 0 ? o.font_scale : std::max(1, std::max(d.width, d.height) / 384);
}

int caption_chars(int width_px, int scale) {
  return std::max(1, (width_px + (kCellWidth - kGlyphWidth) * scale) / (kCellWidth * scale));
}

// Integer-bound box filter: output pixel (ox, oy) averages source rows
// [y0, y1) and columns [x0, x1) with x0 = floor(ox * W / w).
std::vector<std::uint8_t> downscale_gray(const GrayView& im, int w, int h) {
  std::vector<std::uint8_t> out(static_cast<std::size_t>(w) * h);
  for (int oy = 0; oy < h; ++oy) {
    const int y0 = static_cast<int>(static_cast<std::int64_t>(oy) * im.height / h);
    const int y1 = std::max(y0 + 1, static_cast<int>(static_cast<std::int64_t>(oy + 1) * im.height / h));
    for (int ox = 0; ox < w; ++ox) {
      const int x0 = static_cast<int>(static_cast<std::int64_t>(ox) * im.width / w);
      const int x1 = std::max(x0 + 1, static_cast<int>(static_cast<std::int64_t>(ox + 1) * im.width / w));
      std::uint64_t sum = 0;
      for (int y = y0; y < y1; ++y)
        for (int x = x0; x < x1; ++x) sum += im.pixels[static_cast<std::size_t>(y) * im.width + x];
      const std::uint64_t n = static_cast<std::uint64_t>(y1 - y0) * (x1 - x0);
      out[static_cast<std::size_t>(oy) * w + ox] = static_cast<std::uint8_t>((sum + n / 2) / n);
    }
  }
  return out;
}

// Nearest sample at the centre of each output pixel.
std::vector<float> downscale_nearest(const float* map, int W, int H, int w, int h) {
  std::vector<float> out(static_cast<std::size_t>(w) * h);
  for (int oy = 0; oy < h; ++oy) {
    const int sy = std::min(H - 1, static_cast<int>((oy + 0.5) * H / h));
    for (int ox = 0; ox < w; ++ox) {
      const int sx = std::min(W - 1, static_cast<int>((ox + 0.5) * W / w));
      out[static_cast<std::size_t>(oy) * w + ox] = map[static_cast<std::size_t>(sy) * W + sx];
    }
  }
  return out;
}

}  // namespace

DisplaySize display_size(int width, int height, int max_side) {
  LDMG_CHECK(width > 0 && height > 0, "bad image size {}x{}", width, height);
  LDMG_CHECK(max_side > 0, "max_side must be positive, got {}", max_side);
  DisplaySize d;
  d.scale = std::min(1.0, static_cast<double>(max_side) / std::max(width, height));
  d.width = std::max(1, static_cast<int>(std::lround(width * d.scale)));
  d.height = std::max(1, static_cast<int>(std::lround(height * d.scale)));
  return d;
}

OverlayLayout overlay_layout(const GrayView& image, const std::string& caption, const OverlayOptions& o) {
  OverlayLayout L;
  L.image = display_size(image.width, image.height, o.max_side);
  L.font_scale = auto_font_scale(L.image, o);
  const int s = L.font_scale;
  const int label_w = text_width("0.0", s);
  const int right = o.color_bar ? kBarGap + kBarWidth + 2 + kTickLength + 4 + label_w : 0;
  const int total_w = kMargin + L.image.width + right + kMargin;
  L.caption_lines =
      caption.empty() ? 0 : static_cast<int>(wrap_text(caption, caption_chars(total_w - 2 * kMargin, s)).size());
  const int caption_h = L.caption_lines > 0 ? L.caption_lines * line_height(s) + kMargin / 2 : 0;
  L.image_x = kMargin;
  L.image_y = kMargin + (o.caption_above ? caption_h : 0);
  L.caption_y = o.caption_above ? kMargin : L.image_y + L.image.height + kMargin;
  if (o.color_bar) {
    L.bar_x = L.image_x + L.image.width + kBarGap + 1;  // interior, inside a 1-pixel frame
    L.bar_y = L.image_y + 1;
    L.bar_width = kBarWidth;
    L.bar_height = std::max(1, L.image.height - 2);
  }
  return L;
}

Canvas render_overlay(const GrayView& image, const float* heatmap, const std::vector<OverlayBox>& boxes,
                      const std::string& caption, const OverlayOptions& o) {
  LDMG_CHECK(image.pixels != nullptr, "render_overlay: no image pixels");
  const OverlayLayout L = overlay_layout(image, caption, o);
  const int s = L.font_scale;
  const int label_w = text_width("0.0", s);
  const int right = o.color_bar ? kBarGap + kBarWidth + 2 + kTickLength + 4 + label_w : 0;
  const int total_w = kMargin + L.image.width + right + kMargin;
  const int caption_h = L.caption_lines > 0 ? L.caption_lines * line_height(s) + kMargin / 2 : 0;
  const int total_h = kMargin + L.image.height + caption_h + kMargin;
  Canvas canvas(total_w, total_h, o.background);

  // Image, then the heatmap over it.
  const int dw = L.image.width, dh = L.image.height;
  const bool resized = dw != image.width || dh != image.height;
  if (resized) {
    const auto small = downscale_gray(image, dw, dh);
    canvas.blit_gray(dw, dh, small.data(), L.image_x, L.image_y);
  } else {
    canvas.blit_gray(dw, dh, image.pixels, L.image_x, L.image_y);
  }
  const Colormap& cmap = colormap(o.colormap);
  if (heatmap != nullptr) {
    if (resized) {
      const auto small = downscale_nearest(heatmap, image.width, image.height, dw, dh);
      canvas.blend_map(L.image_x, L.image_y, dw, dh, small.data(), cmap, o.alpha);
    } else {
      canvas.blend_map(L.image_x, L.image_y, dw, dh, heatmap, cmap, o.alpha);
    }
  }

  // Boxes, scaled with the image, clipped to it.
  const int thickness = o.box_thickness > 0 ? o.box_thickness : std::max(2, std::max(dw, dh) / 256);
  for (const OverlayBox& b : boxes) {
    const int x0 = std::clamp(static_cast<int>(std::lround(b.x * L.image.scale)), 0, dw);
    const int y0 = std::clamp(static_cast<int>(std::lround(b.y * L.image.scale)), 0, dh);
    const int x1 = std::clamp(static_cast<int>(std::lround((b.x + b.w) * L.image.scale)), 0, dw);
    const int y1 = std::clamp(static_cast<int>(std::lround((b.y + b.h) * L.image.scale)), 0, dh);
    canvas.draw_rect(L.image_x + x0, L.image_y + y0, x1 - x0, y1 - y0, o.box_color, thickness);
  }

  // Colour bar: top row = 1.0, bottom row = 0.0, ticks and labels on the right.
  if (o.color_bar) {
    canvas.draw_rect(L.bar_x - 1, L.bar_y - 1, L.bar_width + 2, L.bar_height + 2, o.text_color, 1);
    for (int r = 0; r < L.bar_height; ++r) {
      const float v = L.bar_height > 1 ? 1.0f - static_cast<float>(r) / static_cast<float>(L.bar_height - 1) : 1.0f;
      canvas.fill_rect(L.bar_x, L.bar_y + r, L.bar_width, 1, cmap(v));
    }
    const int tick_x = L.bar_x + L.bar_width + 1;
    const char* labels[3] = {"1.0", "0.5", "0.0"};
    for (int k = 0; k < 3; ++k) {
      const int ty = L.bar_y + static_cast<int>(std::lround(k * (L.bar_height - 1) / 2.0));
      canvas.fill_rect(tick_x, ty, kTickLength, 1, o.text_color);
      const int text_y = std::clamp(ty - (kCapHeight * s) / 2, 0, canvas.height() - kCapHeight * s);
      canvas.draw_text(tick_x + kTickLength + 4, text_y, labels[k], o.text_color, s);
    }
  }

  // Caption, wrapped to the figure width.
  if (L.caption_lines > 0) {
    const auto lines = wrap_text(caption, caption_chars(total_w - 2 * kMargin, s));
    for (std::size_t i = 0; i < lines.size(); ++i)
      canvas.draw_text(kMargin, L.caption_y + static_cast<int>(i) * line_height(s), lines[i], o.text_color, s);
  }
  return canvas;
}

}  // namespace ldmg::viz
