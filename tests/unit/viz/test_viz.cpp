// Figures: colour tables against hand-evaluated jet segments, the font and
// text layout, canvas drawing, and the overlay's pixels at known places
// (also after the PNG round trip).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>

#include "core/check.h"
#include "io/png_writer.h"
#include "support/fixtures.h"
#include "viz/bitmap_font.h"
#include "viz/canvas.h"
#include "viz/colormap.h"
#include "viz/overlay.h"

using namespace ldmg;
using namespace ldmg::viz;

namespace {
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
const Rgb kGreen{0, 255, 0};
}  // namespace

TEST(Colormap, JetEntriesMatchTheSegmentData) {
  const Colormap& jet = colormap(ColormapName::jet);
  // Entry i samples x = i * (1/255) (numpy.linspace) of matplotlib's jet segments as its
  // _create_lookup_table does; bytes truncate y*255. Whole table checked once against a
  // numpy re-implementation of that function (identical for all 256 entries).
  EXPECT_EQ(jet.entry(0), (Rgb{0, 0, 127}));        // r 0, g 0, b 0.5
  EXPECT_EQ(jet.entry(255), (Rgb{127, 0, 0}));      // r 0.5, g 0, b 0
  EXPECT_EQ(jet.entry(32), (Rgb{0, 0, 255}));       // x .1255: g (x-.125)/.25 = .002 -> 0
  EXPECT_EQ(jet.entry(200), (Rgb{255, 118, 0}));    // x .7843: g 1-(x-.64)/.27 = .4655 -> 118.7
  EXPECT_EQ(jet.entry(230), (Rgb{241, 7, 0}));      // x .9020: r 1-.5(x-.89)/.11 = .9456; g .0298
  EXPECT_EQ(jet.entry(100), (Rgb{34, 255, 212}));   // x .3922: r (x-.35)/.31 = .1361; b 1-(x-.34)/.31 = .8318
  EXPECT_EQ(jet.entry(128), (Rgb{125, 255, 121}));  // x .5020: r .4902 (exactly 125 in doubles), b .4775
  // Lookup as matplotlib: index = min(int(v * 256), 255), clamped.
  EXPECT_EQ(jet(0.0f), jet.entry(0));
  EXPECT_EQ(jet(-3.0f), jet.entry(0));
  EXPECT_EQ(jet(0.25f), jet.entry(64));
  EXPECT_EQ(jet(0.5f), jet.entry(128));
  EXPECT_EQ(jet(0.999f), jet.entry(255));
  EXPECT_EQ(jet(1.0f), jet.entry(255));
  EXPECT_EQ(jet(7.0f), jet.entry(255));
  EXPECT_EQ(colormap(ColormapName::gray)(0.5f), (Rgb{128, 128, 128}));
  EXPECT_EQ(colormap_from_name("jet"), ColormapName::jet);
  EXPECT_THROW(colormap_from_name("viridis"), ldmg::Error);
}

TEST(BitmapFont, GlyphsTextAndWrapping) {
  const Glyph& i = glyph('I');  // ".###." then "..#.."
  EXPECT_FALSE(i.pixel(0, 0));
  EXPECT_TRUE(i.pixel(1, 0) && i.pixel(2, 0) && i.pixel(3, 0));
  EXPECT_TRUE(i.pixel(2, 3));
  EXPECT_FALSE(i.pixel(1, 3));
  EXPECT_EQ(&glyph(200), &glyph('?'));
  EXPECT_EQ(to_font_text("caf\xc3\xa9 \xe2\x80\x94 x"), "caf? ? x");
  EXPECT_EQ(text_width("abc", 2), (3 * 6 - 1) * 2);
  EXPECT_EQ(text_width("", 3), 0);
  EXPECT_EQ(wrap_text("the quick brown fox", 10), (std::vector<std::string>{"the quick", "brown fox"}));
  EXPECT_EQ(wrap_text("abcdefghij k", 4), (std::vector<std::string>{"abcd", "efgh", "ij k"}));
  EXPECT_EQ(wrap_text("a\nb", 10), (std::vector<std::string>{"a", "b"}));
  for (const auto& line : wrap_text("Small left apical pneumothorax with a visible pleural line", 12))
    EXPECT_LE(line.size(), 12u) << line;
}

TEST(Canvas, RectanglesTextAndBlending) {
  Canvas c(40, 30, Rgb{100, 100, 100});
  c.draw_rect(5, 5, 10, 8, kGreen, 2);
  EXPECT_EQ(c.get(5, 5), kGreen);
  EXPECT_EQ(c.get(6, 6), kGreen);                  // second ring
  EXPECT_EQ(c.get(14, 12), kGreen);                // bottom-right corner (x+w-1, y+h-1)
  EXPECT_EQ(c.get(7, 7), (Rgb{100, 100, 100}));    // inside untouched
  EXPECT_EQ(c.get(15, 13), (Rgb{100, 100, 100}));  // outside untouched
  const int w = c.draw_text(20, 2, "I", Rgb{0, 0, 0}, 2);
  EXPECT_EQ(w, 10);
  EXPECT_EQ(c.get(20 + 2, 2), (Rgb{0, 0, 0}));        // glyph pixel (1,0) at scale 2
  EXPECT_EQ(c.get(20 + 1, 2), (Rgb{100, 100, 100}));  // glyph pixel (0,0) is blank
  const float map[2] = {kNaN, 1.0f};
  c.blend_map(0, 20, 2, 1, map, colormap(ColormapName::jet), 0.5f);
  EXPECT_EQ(c.get(0, 20), (Rgb{100, 100, 100}));  // NaN: transparent
  EXPECT_EQ(c.get(1, 20), (Rgb{114, 50, 50}));    // round(.5*100 + .5*(127,0,0))
  c.draw_rect(-5, -5, 100, 100, kGreen, 1);       // clipped, no crash
  EXPECT_THROW(c.get(40, 0), ldmg::Error);
}

namespace {
// A synthetic 200x160 case: gradient image, heatmap NaN on the left 60
// columns and a horizontal ramp elsewhere, one box.
struct Synthetic {
  int w = 200, h = 160;
  std::vector<std::uint8_t> gray;
  std::vector<float> heat;
  Synthetic() : gray(w * h), heat(w * h) {
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        gray[y * w + x] = static_cast<std::uint8_t>((x + 2 * y) % 256);
        heat[y * w + x] = x < 60 ? kNaN : static_cast<float>(x - 60) / 139.0f;
      }
  }
};
}  // namespace

TEST(Overlay, PixelsAtKnownSpotsSurviveThePng) {
  Synthetic s;
  const std::vector<OverlayBox> boxes = {{120, 40, 50, 60}};
  OverlayOptions opt;
  opt.box_thickness = 3;
  const std::string caption = "Right lower lobe consolidation";
  const Canvas canvas = render_overlay({s.w, s.h, s.gray.data()}, s.heat.data(), boxes, caption, opt);
  const OverlayLayout L = overlay_layout({s.w, s.h, s.gray.data()}, caption, opt);
  ASSERT_EQ(L.image.width, 200);  // below max_side: not resized
  ASSERT_EQ(L.caption_lines, 1);
  EXPECT_GT(L.image_y, L.caption_y);  // caption above

  const std::string path = test::temp_dir("overlay") + "/o.png";
  canvas.save_png(path);
  const io::PngPixels png = io::read_png(path);
  ASSERT_EQ(png.width, canvas.width());
  ASSERT_EQ(png.height, canvas.height());
  ASSERT_EQ(png.channels, 3);
  auto px = [&](int x, int y) {
    const std::size_t i = (static_cast<std::size_t>(y) * png.width + x) * 3;
    return Rgb{png.pixels[i], png.pixels[i + 1], png.pixels[i + 2]};
  };
  const Colormap& jet = colormap(ColormapName::jet);
  // Box border: left edge at x = 120..122, all along its height.
  for (int y : {40, 70, 99}) EXPECT_EQ(px(L.image_x + 120, L.image_y + y), kGreen) << y;
  EXPECT_EQ(px(L.image_x + 122, L.image_y + 70), kGreen);
  EXPECT_EQ(px(L.image_x + 169, L.image_y + 41), kGreen);  // right edge x + w - 1
  // NaN region shows the gray image unchanged.
  for (auto [x, y] : {std::pair{10, 10}, std::pair{59, 150}, std::pair{0, 0}}) {
    const std::uint8_t g = s.gray[y * s.w + x];
    EXPECT_EQ(px(L.image_x + x, L.image_y + y), (Rgb{g, g, g})) << x << "," << y;
  }
  // Heatmap region: alpha 0.5 blend of gray and jet.
  {
    const int x = 100, y = 20;
    const std::uint8_t g = s.gray[y * s.w + x];
    const Rgb m = jet(s.heat[y * s.w + x]);
    auto mix = [](int a, int b) { return static_cast<std::uint8_t>(std::lround(0.5f * a + 0.5f * b)); };
    EXPECT_EQ(px(L.image_x + x, L.image_y + y), (Rgb{mix(g, m.r), mix(g, m.g), mix(g, m.b)}));
  }
  // Colour bar: top = the colormap's max colour, bottom = its min colour.
  EXPECT_EQ(px(L.bar_x + L.bar_width / 2, L.bar_y), jet(1.0f));
  EXPECT_EQ(px(L.bar_x + L.bar_width / 2, L.bar_y), (Rgb{127, 0, 0}));
  EXPECT_EQ(px(L.bar_x + L.bar_width / 2, L.bar_y + L.bar_height - 1), (Rgb{0, 0, 127}));
  EXPECT_EQ(px(L.bar_x - 1, L.bar_y + 5), (Rgb{0, 0, 0}));  // frame
  // Some caption ink inside the caption band, none in the margin above it.
  int ink = 0;
  for (int y = L.caption_y; y < L.caption_y + line_height(L.font_scale); ++y)
    for (int x = 0; x < png.width; ++x) ink += px(x, y) == Rgb{0, 0, 0};
  EXPECT_GT(ink, 50);
  for (int x = 0; x < png.width; ++x) EXPECT_EQ(px(x, 0), (Rgb{255, 255, 255}));
}

TEST(Overlay, LargeImagesAreDownscaledWithBoxes) {
  const int w = 1600, h = 1200;
  std::vector<std::uint8_t> gray(w * h, 80);
  for (int y = 0; y < h; ++y)
    for (int x = 800; x < w; ++x) gray[y * w + x] = 200;
  std::vector<float> heat(w * h, kNaN);
  const Canvas canvas = render_overlay({w, h, gray.data()}, heat.data(), {{400, 300, 800, 600}}, "", {});
  const OverlayLayout L = overlay_layout({w, h, gray.data()}, "", {});
  EXPECT_EQ(L.image.width, 768);
  EXPECT_EQ(L.image.height, 576);
  EXPECT_EQ(L.caption_lines, 0);
  EXPECT_EQ(canvas.get(L.image_x + 10, L.image_y + 10), (Rgb{80, 80, 80}));  // box-filtered, uniform
  EXPECT_EQ(canvas.get(L.image_x + 700, L.image_y + 10), (Rgb{200, 200, 200}));
  EXPECT_EQ(canvas.get(L.image_x + 192, L.image_y + 288), kGreen);      // box left edge at 400 * 0.48
  EXPECT_EQ(canvas.get(L.image_x + 576 - 1, L.image_y + 200), kGreen);  // right edge (1200 * 0.48) - 1
}

TEST(Overlay, WritesAnExampleFigure) {
  // A chest-X-ray-like picture: dark background, two bright lung fields
  // framed by brighter mediastinum; heatmap square in the middle, NaN pads
  // left/right (SPEC §7 back-mapping of a non-square image).
  const int w = 1200, h = 1000;
  std::vector<std::uint8_t> gray(w * h);
  std::vector<float> heat(w * h, kNaN);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const double u = (x - w / 2.0) / (w / 2.0), v = (y - h / 2.0) / (h / 2.0);
      const double body = std::exp(-(u * u * 1.2 + v * v * 0.8) * 1.5);
      const double lungs = std::exp(-((std::abs(u) - 0.4) * (std::abs(u) - 0.4) * 18 + (v + 0.05) * (v + 0.05) * 3));
      gray[y * w + x] = static_cast<std::uint8_t>(std::clamp(40 + 180 * body - 90 * lungs, 0.0, 255.0));
      if (x >= 100 && x < 1100) {
        const double hx = (x - 820.0) / 160, hy = (y - 620.0) / 140;
        heat[y * w + x] = static_cast<float>(std::exp(-(hx * hx + hy * hy)));
      }
    }
  const Canvas canvas = render_overlay({w, h, gray.data()}, heat.data(), {{700, 500, 260, 230}},
                                       "Right lower lobe consolidation, unchanged from prior \xe2\x80\x94 "
                                       "with small right pleural effusion (example; no real patient)",
                                       {});
  const std::string path = test::temp_dir("overlay_example") + "/example.png";
  canvas.save_png(path);
  EXPECT_EQ(io::read_png(path).width, canvas.width());
  if (const char* out = std::getenv("LDMG_OVERLAY_EXAMPLE")) canvas.save_png(out);
}
