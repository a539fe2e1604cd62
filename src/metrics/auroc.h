#pragma once
// Pixel-level AUC-ROC of a heatmap against the union of the boxes.
#include <span>

#include "metrics/map_view.h"

namespace ldmg::metrics {

// As published (official/metrics/eval_metrics.py:118-125): torcheval 0.0.7
// binary_binned_auroc(map, target, threshold=num_thresholds). Thresholds
// linspace(0, 1, n) in float32; pred = map >= thr (NaN never positive);
// TP/FP counts per threshold, cumulated from the highest threshold down with
// a leading 0; trapezoid(tp, fp) (an integer sum, halved in float32) divided
// by tp_total * fp_total at threshold 0. 0.5 when that product is 0. Pixels
// that are NaN (or < 0) are thereby excluded.
double auroc_binned(const MapView& map, std::span<const Box> boxes, int num_thresholds = 5);

// Exact ROC AUC over the non-NaN pixels (sklearn roc_auc_score semantics:
// ties count one half; weighted by the pixel weights). NaN when there are no
// positive or no negative pixels (sklearn raises). Not part of the paper.
double auroc_exact(const MapView& map, std::span<const Box> boxes);

}  // namespace ldmg::metrics
