#pragma once
// Every metric of one pair from its map and boxes (SPEC §8): the one place
// where |CNR|, CNR, mIoU and both AUC-ROCs are computed together, so that
// the online path (pipeline/pair_scoring.h: the materialised original-size
// map) and the offline shortcut (analysis/scoring_grid.h: the compressed grid
// with per-cell pixel weights) score with the same calls in the same order.
#include <span>

#include "metrics/aggregate.h"
#include "metrics/map_view.h"

namespace ldmg::metrics {

// cnr, miou, auroc_binned and auroc_exact of `map` (weights honoured) against
// the union of `boxes`; `category` is left empty. exact_auroc = false leaves
// auroc_exact NaN (it sorts every pixel).
PairMetrics score_map(const MapView& map, std::span<const Box> boxes, bool exact_auroc = true);

}  // namespace ldmg::metrics
