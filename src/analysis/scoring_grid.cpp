#include "analysis/scoring_grid.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <limits>

#include "core/check.h"
#include "grounding/back_to_original.h"
#include "metrics/score_map.h"

namespace ldmg::analysis {

namespace {

struct Axis {
  std::vector<std::int64_t> start;   // first original coordinate of each segment (+ n at the end)
  std::vector<std::int64_t> source;  // 512 index of each segment, -1 = padding
  // Segment index that starts at original coordinate c (c a cut point or n).
  std::int64_t at(std::int64_t c) const {
    return std::lower_bound(start.begin(), start.end(), c) - start.begin();
  }
};

// One axis of back_to_original: n original pixels, s of them map to the map
// (padding floor((n-s)/2) before), cut also at every box edge in `edges`.
Axis make_axis(std::int64_t n, std::int64_t s, std::int64_t map_size, std::vector<std::int64_t> edges) {
  const std::int64_t pad = (n - s) / 2;
  auto src = [&](std::int64_t c) {
    return c >= pad && c < pad + s ? grounding::nearest_source_index(c - pad, map_size, s) : -1;
  };
  std::sort(edges.begin(), edges.end());
  Axis a;
  std::size_t e = 0;
  for (std::int64_t c = 0; c < n; ++c) {
    while (e < edges.size() && edges[e] < c) ++e;
    const bool edge = e < edges.size() && edges[e] == c;
    if (c == 0 || edge || src(c) != a.source.back()) {
      a.start.push_back(c);
      a.source.push_back(src(c));
    }
  }
  a.start.push_back(n);
  return a;
}

}  // namespace

ScoringGrid::ScoringGrid(int width, int height, const std::vector<data::Box>& boxes, std::int64_t map_size)
    : map_size_(map_size) {
  LDMG_CHECK(width > 0 && height > 0, "image size {}x{} is not positive", width, height);
  const std::int64_t s = std::min(width, height);
  std::vector<std::int64_t> xe, ye;
  for (const auto& b : boxes) {
    LDMG_CHECK(b.x >= 0 && b.y >= 0 && b.w >= 0 && b.h >= 0, "box (x={}, y={}, w={}, h={}) has a negative value", b.x,
               b.y, b.w, b.h);
    // Clipped like the metrics' Python slices.
    xe.push_back(std::min<std::int64_t>(b.x, width));
    xe.push_back(std::min<std::int64_t>(std::int64_t{b.x} + b.w, width));
    ye.push_back(std::min<std::int64_t>(b.y, height));
    ye.push_back(std::min<std::int64_t>(std::int64_t{b.y} + b.h, height));
  }
  const Axis ax = make_axis(width, s, map_size, xe), ay = make_axis(height, s, map_size, ye);
  row_src_ = ay.source;
  col_src_ = ax.source;
  weights_.resize(row_src_.size() * col_src_.size());
  for (std::size_t r = 0; r < row_src_.size(); ++r)
    for (std::size_t c = 0; c < col_src_.size(); ++c)
      weights_[r * col_src_.size() + c] =
          static_cast<std::uint32_t>((ay.start[r + 1] - ay.start[r]) * (ax.start[c + 1] - ax.start[c]));
  for (const auto& b : boxes) {
    const std::int64_t x0 = ax.at(std::min<std::int64_t>(b.x, width));
    const std::int64_t x1 = ax.at(std::min<std::int64_t>(std::int64_t{b.x} + b.w, width));
    const std::int64_t y0 = ay.at(std::min<std::int64_t>(b.y, height));
    const std::int64_t y1 = ay.at(std::min<std::int64_t>(std::int64_t{b.y} + b.h, height));
    boxes_.push_back({x0, y0, x1 - x0, y1 - y0});
  }
}

metrics::PairMetrics ScoringGrid::score(const at::Tensor& heatmap512, bool exact_auroc) const {
  LDMG_CHECK(heatmap512.dim() == 2 && heatmap512.size(0) == map_size_ && heatmap512.size(1) == map_size_,
             "heatmap must be [{}, {}]", map_size_, map_size_);
  const at::Tensor m = heatmap512.to(at::kCPU, at::kFloat).contiguous();
  const float* src = m.data_ptr<float>();
  const std::int64_t R = rows(), C = cols();
  std::vector<float> cells(static_cast<std::size_t>(R * C));  // [R, C] the original map's value per cell
  for (std::int64_t r = 0; r < R; ++r)
    for (std::int64_t c = 0; c < C; ++c)
      cells[r * C + c] = row_src_[r] < 0 || col_src_[c] < 0 ? std::numeric_limits<float>::quiet_NaN()
                                                             : src[row_src_[r] * map_size_ + col_src_[c]];
  return metrics::score_map(metrics::MapView{cells.data(), R, C, weights_.data()}, boxes_, exact_auroc);
}

}  // namespace ldmg::analysis
