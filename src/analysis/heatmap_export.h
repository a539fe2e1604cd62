#pragma once
// `analyze --heatmaps PAIRS`: what a Fig. 3-style figure of chosen pairs
// needs, computed by analyze's exact path (cache::CachedPromptMaps, the
// online code and order), so that plotting (analysis/plot_overlays.py) only
// draws. One file per T and config, OUT/T<T>/<config>/heatmaps.h5:
//
//   root attributes: format "ldmground.heatmaps", schema_version 1, T,
//     heatmap_config (name), heatmap_spec, pairs (the pair indices in the
//     order asked: the figure's default order), provenance (JSON)
//   /pairs/<pair> (decimal pair index), attributes: prompt, category,
//     dicom_id, image_path (as in the CSV), image_width, image_height,
//     token_ids, token_strings, token_slice [begin, end) of the averaged
//     tokens, otsu_threshold, otsu_margin (NaN without Otsu), and the pair's
//     metrics abs_cnr, cnr, miou, auroc, auroc_exact (= its pairs.csv row)
//     /pairs/<pair>/heatmap_512  float32 [512, 512]  the final heatmap
//     /pairs/<pair>/heatmap      float32 [H, W]  the same at the image's size
//                                (grounding::back_to_original: NaN outside the mapped square)
//     /pairs/<pair>/image        uint8 [H, W]  the X-ray as decoded (16-bit files: value / 257, rounded)
//     /pairs/<pair>/boxes        float64 [n, 4]  every ground-truth box, x, y, w, h in image pixels, CSV order
//     /pairs/<pair>/box_scored   int64 [n]  1 where the box survives the crop and is scored (data/box_survival.h)
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "analysis/run_inputs.h"
#include "pipeline/heatmap_config.h"

namespace ldmg::analysis {

// "0,3,7" -> {0, 3, 7}; throws ldmg::Error naming `what` on anything else
// (empty items, negatives, non-numbers) or a repeated index.
std::vector<int> parse_pair_list(const std::string& text, const std::string& what);

// Writes OUT/T<T>/<config name>/heatmaps.h5 for every T and config; returns
// the files. Throws ldmg::Error naming the pair when it is not in the run's
// plan at a T or was not grounded there (skipped: no box survived; failed),
// and naming the image when it cannot be read or its size differs from the
// cache's.
std::vector<std::string> write_pair_heatmaps(const std::string& out_dir, const RunInputs& run, const std::vector<int>& Ts,
                                             const std::vector<pipeline::HeatmapConfig>& configs,
                                             const std::vector<int>& pairs, const nlohmann::json& provenance);

}  // namespace ldmg::analysis
