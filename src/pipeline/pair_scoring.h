#pragma once
// Scores a final 512x512 heatmap of one image-sentence pair against its
// boxes at the original image size (SPEC §7-§8): the same code for the
// online (evaluate, sweep) and offline (analyze) paths.
#include <ATen/core/Tensor.h>

#include <vector>

#include "data/box.h"
#include "metrics/aggregate.h"

namespace ldmg::pipeline {

// heatmap512: [S,S] float32 (NaN allowed); width/height: the image file's size.
metrics::PairMetrics score_heatmap(const at::Tensor& heatmap512, const std::vector<data::Box>& boxes, int width,
                                   int height);

// A map already at the original image size, [h,w] float32 contiguous (NaN
// allowed), scored against the boxes: score_heatmap's last step.
metrics::PairMetrics score_original_size_map(const at::Tensor& map, const std::vector<data::Box>& boxes);

}  // namespace ldmg::pipeline
