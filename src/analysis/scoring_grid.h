#pragma once
// Shortcut (c): the metrics of a 512 heatmap at the original image size
// without materialising the original-size map. back_to_original (SPEC §7)
// maps every original row/column to one 512 row/column (nearest) or to the
// NaN padding; cutting each axis where that source changes and where a box
// starts or ends gives a compressed grid (~512 x 512) whose cells are
// constant on the original map and either inside or outside every box. The
// metrics run on it with per-cell weights (metrics::MapView) through
// metrics::score_map, as pipeline::score_heatmap's do, so they count
// exactly the original pixels: mIoU and AUC-ROC are equal, CNR equal up to
// float summation order (|diff| <= 1e-5, tested).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "data/box.h"
#include "metrics/aggregate.h"
#include "metrics/map_view.h"

namespace ldmg::analysis {

class ScoringGrid {
 public:
  // width x height: the image file's size; boxes in original pixels (the survivors).
  ScoringGrid(int width, int height, const std::vector<data::Box>& boxes, std::int64_t map_size = 512);

  // heatmap512: [map_size, map_size] float32 (CPU); = pipeline::score_heatmap.
  // exact_auroc = false leaves auroc_exact NaN (it sorts every cell).
  metrics::PairMetrics score(const at::Tensor& heatmap512, bool exact_auroc = true) const;

  std::int64_t rows() const { return static_cast<std::int64_t>(row_src_.size()); }
  std::int64_t cols() const { return static_cast<std::int64_t>(col_src_.size()); }
  const std::vector<metrics::Box>& boxes() const { return boxes_; }
  const std::vector<std::uint32_t>& weights() const { return weights_; }

 private:
  std::int64_t map_size_;
  std::vector<std::int64_t> row_src_, col_src_;  // 512 index of each compressed row/column, -1 = padding
  std::vector<std::uint32_t> weights_;           // [rows * cols] original pixels per cell
  std::vector<metrics::Box> boxes_;              // in compressed cells
};

}  // namespace ldmg::analysis
