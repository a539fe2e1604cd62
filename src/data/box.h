#pragma once
// A bounding box in pixels: columns x .. x+w-1, rows y .. y+h-1 (MS-CXR's
// x, y, w, h).
#include <compare>
#include <cstdint>

namespace ldmg::data {

struct Box {
  int x = 0, y = 0, w = 0, h = 0;
  friend auto operator<=>(const Box&, const Box&) = default;
};

}  // namespace ldmg::data
