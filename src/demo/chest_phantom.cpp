#include "demo/chest_phantom.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"

namespace ldmg::demo {

namespace {

double sigmoid(double t) { return 1.0 / (1.0 + std::exp(-t)); }

struct Ellipse {
  double cx = 0, cy = 0, rx = 1, ry = 1;
  // Soft inside-ness: ~1 inside, ~0 outside, edge width `edge` in radius units.
  double mask(double x, double y, double edge) const {
    const double dx = (x - cx) / rx, dy = (y - cy) / ry;
    return sigmoid((1.0 - std::sqrt(dx * dx + dy * dy)) / edge);
  }
};

struct Blob {
  double cx, cy, sx, sy, amp;
  double at(double x, double y) const {
    const double dx = (x - cx) / sx, dy = (y - cy) / sy;
    const double e = 0.5 * (dx * dx + dy * dy);
    return e > 20.0 ? 0.0 : amp * std::exp(-e);
  }
};

// One box's worth of a finding: blobs, or an effusion (fluid filling the
// lung base below a meniscus), or the heart shadow.
struct Component {
  int finding = 0;
  std::vector<Blob> blobs;
  const Ellipse* lung = nullptr;  // effusion: the lung it fills
  double level = 0, meniscus = 0, lateral = 0, amp = 0;
  const Ellipse* heart = nullptr;  // cardiomegaly: the (enlarged) heart

  double at(double x, double y) const {
    if (heart) return amp * heart->mask(x, y, 0.06);
    if (lung) {
      const double lat = std::clamp(lateral * (x - lung->cx) / lung->rx, -1.0, 1.0);  // +1 at the outer edge
      const double top = level - meniscus * std::max(lat, 0.0);
      return amp * lung->mask(x, y, 0.05) * sigmoid((y - top) / (0.02 * lung->ry));
    }
    double v = 0;
    for (const auto& b : blobs) v += b.at(x, y);
    return v;
  }
};

}  // namespace

Phantom render_chest_phantom(int width, int height, const std::vector<PhantomFinding>& findings, Rng& rng) {
  LDMG_CHECK(width >= 64 && height >= 64, "demo chest image must be at least 64x64 pixels, got {}x{}", width, height);
  const double W = width, H = height;
  auto j = [&](double a) { return rng.uniform(-a, a); };

  // Anatomy, in pixels. Lung 0 is on the image's left (the patient's right).
  Ellipse body{W * (0.5 + j(0.01)), H * (0.58 + j(0.02)), W * (0.47 + j(0.02)), H * (0.62 + j(0.02))};
  Ellipse lungs[2];
  for (int s = 0; s < 2; ++s) {
    const double dir = s == 0 ? -1.0 : 1.0;
    lungs[s] = {W * (0.5 + dir * (0.205 + j(0.015))), H * (0.46 + j(0.02)), W * (0.155 + j(0.012)),
                H * (0.29 + j(0.02))};
  }
  Ellipse heart{W * (0.535 + j(0.01)), H * (0.63 + j(0.015)), W * (0.12 + j(0.01)), H * (0.10 + j(0.01))};
  const double rib_phase = rng.uniform(0.0, 1.0);
  const double rib_curve = rng.uniform(0.9, 1.3);
  double tex_f[4][2], tex_p[4];
  for (int k = 0; k < 4; ++k) {
    tex_f[k][0] = rng.uniform(1.0, 4.0) * 6.283185307179586 / W;
    tex_f[k][1] = rng.uniform(1.0, 4.0) * 6.283185307179586 / H;
    tex_p[k] = rng.uniform(0.0, 6.283185307179586);
  }

  // Findings -> components (one per box).
  std::vector<Component> comps;
  std::vector<Ellipse> big_hearts;
  big_hearts.reserve(findings.size());
  bool cardiomegaly = false;
  for (std::size_t f = 0; f < findings.size(); ++f) {
    const auto& t = findings[f].sentence;
    const double sc = t.scale;
    if (t.zone == Zone::heart) {
      cardiomegaly = true;
      Ellipse h = heart;
      h.rx *= 1.25 + 0.15 * sc;
      h.ry *= 1.15 + 0.1 * sc;
      h.cx += 0.25 * (h.rx - heart.rx);
      big_hearts.push_back(h);
      Component c;
      c.finding = static_cast<int>(f);
      c.heart = &big_hearts.back();
      c.amp = 0.30;
      comps.push_back(c);
      continue;
    }
    std::vector<int> sides;
    if (t.bilateral) sides = {0, 1};
    else sides = {findings[f].side == Side::right ? 0 : 1};
    LDMG_CHECK(t.bilateral || findings[f].side == Side::right || findings[f].side == Side::left,
               "finding '{}' needs a left or right side", t.text);
    for (int s : sides) {
      const Ellipse& L = lungs[s];
      const double lat = s == 0 ? -1.0 : 1.0;  // towards the outer chest wall
      Component c;
      c.finding = static_cast<int>(f);
      if (t.category == "Pleural Effusion") {
        c.lung = &lungs[s];
        c.lateral = lat;
        c.level = L.cy + L.ry * (0.62 - 0.22 * sc + j(0.04));
        c.meniscus = L.ry * 0.18;
        c.amp = 0.30;
        comps.push_back(c);
        continue;
      }
      double cx = L.cx, cy = L.cy, sx = 0.30 * L.rx, sy = 0.14 * L.ry;
      switch (t.zone) {
        case Zone::apex: cx += lat * 0.30 * L.rx; cy -= 0.68 * L.ry; sx = 0.28 * L.rx; sy = 0.12 * L.ry; break;
        case Zone::upper: cx += lat * 0.05 * L.rx; cy -= 0.40 * L.ry; break;
        case Zone::mid: cx += lat * 0.10 * L.rx; break;
        case Zone::lower: cx += lat * 0.05 * L.rx; cy += 0.42 * L.ry; sx = 0.34 * L.rx; break;
        case Zone::base: cy += 0.66 * L.ry; sx = 0.42 * L.rx; sy = 0.06 * L.ry; break;
        case Zone::perihilar: cx -= lat * 0.42 * L.rx; cy += 0.05 * L.ry; sx = 0.26 * L.rx; sy = 0.20 * L.ry; break;
        case Zone::heart: break;
      }
      cx += j(0.05) * L.rx;
      cy += j(0.04) * L.ry;
      sx *= sc;
      sy *= sc;
      const double amp = t.lucent ? -0.16 : (t.category == "Consolidation" ? 0.30 : 0.24);
      c.blobs.push_back({cx, cy, sx, sy, amp});
      for (int k = 0; k < 2; ++k)  // irregular outline: two satellites
        c.blobs.push_back({cx + j(0.7) * sx, cy + j(0.7) * sy, sx * rng.uniform(0.5, 0.8), sy * rng.uniform(0.5, 0.8),
                           amp * rng.uniform(0.4, 0.7)});
      comps.push_back(c);
    }
  }

  Phantom out;
  out.width = width;
  out.height = height;
  out.pixels.resize(static_cast<std::size_t>(width) * height);
  out.boxes.resize(findings.size());
  std::vector<std::vector<float>> contrib(comps.size(), std::vector<float>(out.pixels.size()));

  const Ellipse& heart_drawn = cardiomegaly ? big_hearts.front() : heart;
  const double spine_x = W * 0.5;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const double px = x + 0.5, py = y + 0.5;
      const std::size_t idx = static_cast<std::size_t>(y) * width + x;
      double v = 0.05 + 0.45 * body.mask(px, py, 0.04);
      // Lungs (air: dark), with ribs as soft bright bands that bow downwards laterally.
      for (const auto& L : lungs) {
        double m = L.mask(px, py, 0.05);
        if (m < 1e-4) continue;
        double rib = 0;
        const double d = (px - spine_x) / (0.5 * W);
        const double yy = (py - (L.cy - L.ry) - rib_curve * 0.12 * H * d * d) / (0.105 * L.ry);
        const double ph = yy + rib_phase;
        const double frac = ph - std::floor(ph) - 0.5;
        rib = std::exp(-frac * frac / (2 * 0.09 * 0.09));
        v += m * (-0.30 + 0.07 * rib);
      }
      // Mediastinum, spine, heart (unless a finding draws it), clavicles, abdomen.
      const double u = (px - spine_x) / W;
      const double vert = sigmoid((py - 0.08 * H) / (0.02 * H));
      v += vert * (0.14 * std::exp(-u * u / (2 * 0.05 * 0.05)) + 0.08 * std::exp(-u * u / (2 * 0.018 * 0.018)));
      if (!cardiomegaly) v += 0.22 * heart_drawn.mask(px, py, 0.06);
      for (int s = -1; s <= 1; s += 2) {
        const double t = std::clamp(s * u / 0.3, 0.0, 1.0);
        const double cy = H * (0.17 - 0.05 * t), cxl = spine_x + s * W * (0.04 + 0.28 * t);
        const double dx = (px - cxl) / W, dy = (py - cy) / H;
        v += 0.10 * std::exp(-(dx * dx + dy * dy) / (2 * 0.011 * 0.011)) * (t > 0 && t < 1 ? 1.0 : 0.3);
      }
      v += 0.06 * sigmoid((py - 0.8 * H) / (0.02 * H)) * body.mask(px, py, 0.04);
      for (int k = 0; k < 4; ++k) v += 0.012 * std::sin(tex_f[k][0] * px + tex_p[k]) * std::sin(tex_f[k][1] * py + k);
      for (std::size_t c = 0; c < comps.size(); ++c) {
        const double cv = comps[c].at(px, py);
        contrib[c][idx] = static_cast<float>(cv);
        v += cv;
      }
      v += 0.012 * rng.normal();
      out.pixels[idx] = static_cast<std::uint8_t>(std::lround(std::clamp(v, 0.0, 1.0) * 255.0));
    }
  }

  for (std::size_t c = 0; c < comps.size(); ++c) {
    float peak = 0;
    for (float a : contrib[c]) peak = std::max(peak, std::fabs(a));
    int x0 = width, y0 = height, x1 = -1, y1 = -1;
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x)
        if (std::fabs(contrib[c][static_cast<std::size_t>(y) * width + x]) >= 0.35f * peak) {
          x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
        }
    LDMG_ASSERT(x1 >= x0 && y1 >= y0, "a demo finding left no pixels");
    out.boxes[static_cast<std::size_t>(comps[c].finding)].push_back({x0, y0, x1 - x0 + 1, y1 - y0 + 1});
  }
  return out;
}

}  // namespace ldmg::demo
