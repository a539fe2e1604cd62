#pragma once
// 256-entry colour tables computed from their published definitions, looked
// up the way matplotlib's Colormap.__call__(x, bytes=True) does:
// index = min(int(x * 256), 255), entries truncated from [0,1] to bytes.
// jet: matplotlib's piecewise-linear segment data (_cm.py _jet_data);
// gray: the identity ramp. viridis is not offered: it is a 256-point listed
// map we would have to copy rather than compute.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace ldmg::viz {

struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
  friend bool operator==(const Rgb&, const Rgb&) = default;
};

enum class ColormapName { jet, gray };

class Colormap {
 public:
  explicit Colormap(std::array<Rgb, 256> table) : table_(table) {}
  // Values outside [0,1] clamp to the ends; NaN is the caller's business
  // (maps treat it as transparent) and gives entry 0 here.
  Rgb operator()(float value) const;
  const Rgb& entry(int index) const { return table_.at(static_cast<std::size_t>(index)); }

 private:
  std::array<Rgb, 256> table_;
};

const Colormap& colormap(ColormapName name);
// "jet" or "gray"; throws ldmg::Error naming the choices otherwise.
ColormapName colormap_from_name(std::string_view name);
const char* to_string(ColormapName name);

}  // namespace ldmg::viz
