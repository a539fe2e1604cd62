#pragma once
// Fig. 3-style overlays (image, heatmap, boxes, prompt) for pairs of a sweep,
// recomputed from its attention cache: no model run, any heatmap config the
// cache covers.
#include <string>
#include <vector>

#include "data/image.h"
#include "pipeline/heatmap_config.h"
#include "text/clip_tokenizer.h"

namespace ldmg::sweep {

struct OverlayRequest {
  std::string run_dir;      // a finished sweep with --cache full or window
  std::string images_root;  // the sweep's --images
  data::ImageOptions image; // the sweep's --dicom-conversion (image.dicom)
  pipeline::HeatmapConfig config;
  int T = -1;               // -1: the first T of the run
  std::vector<int> pairs;   // pair indices; empty: the first `max_pairs` cached pairs
  int max_pairs = 4;
  std::string out_dir;      // <out>/T<T>_pair<NNNN>.png
};

// Returns the PNG paths written. Throws ldmg::Error naming the run folder
// when it has no cache index or a requested pair is not cached.
std::vector<std::string> write_cached_overlays(const OverlayRequest& request, const text::ClipTokenizer& tokenizer);

}  // namespace ldmg::sweep
