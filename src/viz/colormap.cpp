#include "viz/colormap.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/check.h"

namespace ldmg::viz {

namespace {

// One channel of a segmented map: anchor points (x, y) with x ascending from
// 0 to 1; no discontinuities are needed for jet.
struct Anchor {
  double x, y;
};

// Linear interpolation of the channel at the 256 evenly spaced points
// i/255, as matplotlib's lookup-table construction does, then bytes by
// truncation of y * 255.
std::array<std::uint8_t, 256> sample_channel(const std::vector<Anchor>& anchors) {
  std::array<std::uint8_t, 256> out{};
  for (int i = 0; i < 256; ++i) {
    const double x = i * (1.0 / 255.0);  // numpy.linspace(0, 1, 256)
    double y = anchors.back().y;
    for (std::size_t k = 1; k < anchors.size(); ++k) {
      if (x <= anchors[k].x) {
        const Anchor& a = anchors[k - 1];
        const Anchor& b = anchors[k];
        y = b.x > a.x ? a.y + (x - a.x) / (b.x - a.x) * (b.y - a.y) : b.y;
        break;
      }
    }
    y = std::clamp(y, 0.0, 1.0);
    out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(y * 255.0);
  }
  return out;
}

Colormap make_jet() {
  // matplotlib _cm.py _jet_data (after MATLAB's jet).
  const auto r = sample_channel({{0.0, 0.0}, {0.35, 0.0}, {0.66, 1.0}, {0.89, 1.0}, {1.0, 0.5}});
  const auto g = sample_channel({{0.0, 0.0}, {0.125, 0.0}, {0.375, 1.0}, {0.64, 1.0}, {0.91, 0.0}, {1.0, 0.0}});
  const auto b = sample_channel({{0.0, 0.5}, {0.11, 1.0}, {0.34, 1.0}, {0.65, 0.0}, {1.0, 0.0}});
  std::array<Rgb, 256> t{};
  for (std::size_t i = 0; i < 256; ++i) t[i] = Rgb{r[i], g[i], b[i]};
  return Colormap(t);
}

Colormap make_gray() {
  std::array<Rgb, 256> t{};
  for (std::size_t i = 0; i < 256; ++i) {
    const auto v = static_cast<std::uint8_t>(i);
    t[i] = Rgb{v, v, v};
  }
  return Colormap(t);
}

}  // namespace

Rgb Colormap::operator()(float value) const {
  if (!(value > 0.0f)) return table_[0];  // also NaN
  const float scaled = value * 256.0f;
  const int index = scaled >= 255.0f ? 255 : static_cast<int>(scaled);
  return table_[static_cast<std::size_t>(index)];
}

const Colormap& colormap(ColormapName name) {
  static const Colormap jet = make_jet();
  static const Colormap gray = make_gray();
  switch (name) {
    case ColormapName::jet:
      return jet;
    case ColormapName::gray:
      return gray;
  }
  LDMG_ASSERT(false, "unknown colormap {}", static_cast<int>(name));
  return jet;
}

ColormapName colormap_from_name(std::string_view name) {
  if (name == "jet") return ColormapName::jet;
  if (name == "gray" || name == "grey") return ColormapName::gray;
  LDMG_FAIL("unknown colormap '{}' (expected 'jet' or 'gray')", name);
}

const char* to_string(ColormapName name) {
  switch (name) {
    case ColormapName::jet:
      return "jet";
    case ColormapName::gray:
      return "gray";
  }
  return "?";
}

}  // namespace ldmg::viz
