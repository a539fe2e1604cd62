#pragma once
// A synthetic frontal chest radiograph: body, two lung fields, mediastinum,
// spine, heart, clavicles, ribs as soft bands, low-frequency texture and
// noise, plus findings where report sentences place them. Pure arithmetic on
// a float raster, quantised to 8-bit gray; deterministic for a seed.
#include <cstdint>
#include <vector>

#include "demo/report_sentences.h"
#include "demo/rng.h"

namespace ldmg::demo {

struct PhantomFinding {
  SentenceTemplate sentence;
  Side side = Side::none;  // right/left lung; ignored for bilateral and heart findings
};

// (x, y, w, h) in pixels, as MS-CXR writes boxes.
struct PixelBox {
  int x = 0, y = 0, w = 0, h = 0;
};

struct Phantom {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;         // row-major, width * height
  std::vector<std::vector<PixelBox>> boxes;  // per finding: one box (two for bilateral findings)
};

// Each finding's box encloses the pixels where its own contribution reaches
// 35% of its peak. Sizes below 64 px per side are rejected.
Phantom render_chest_phantom(int width, int height, const std::vector<PhantomFinding>& findings, Rng& rng);

}  // namespace ldmg::demo
