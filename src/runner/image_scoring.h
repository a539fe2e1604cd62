#pragma once
// One image with all its MS-CXR pairs through the online pipeline: read the
// image, apply the box survival rule, ground every surviving prompt with one
// inversion, score each (pair, config) at the original size. The per-image
// step shared by `evaluate` and `sweep`, so both give the same rows.
#include <ATen/core/Tensor.h>

#include <functional>
#include <vector>

#include "data/box_survival.h"
#include "data/image.h"
#include "data/ms_cxr.h"
#include "runner/evaluation_report.h"
#include "runner/image_grounder.h"

namespace ldmg::runner {

// Everything kept per scored pair and config, for outputs beyond the tables.
struct PairHeatmap {
  int pair = 0;
  int config = 0;
  at::Tensor heatmap512;  // final (post-Otsu) heatmap
  at::Tensor normalised;  // before Otsu (blurred, min-max normalised)
  float otsu_threshold = 0.f;
  double otsu_margin = 0.0;
  std::vector<std::int64_t> token_ids;
  grounding::TokenSlice tokens;
};

struct ImageScoringOptions {
  GroundingOptions grounding;
  data::SurvivalRule survival = data::SurvivalRule::faithful;
  std::string class_name_override;  // tokens=pathology: use this instead of the pair's category
  CaptureExtent extra_capture;      // with a sink from the factory (the cache)
};

// Called once the image is read and the surviving pairs are known (never
// with an empty list); returns an extra sink for the captured maps, or null.
using SinkFactory =
    std::function<diffusion::AttentionSink*(const data::GrayImage& image, const std::vector<const data::Pair*>& grounded)>;

struct ScoredImage {
  std::vector<std::vector<PairRow>> rows;  // [k = position in `pairs`][config]
  std::vector<PairHeatmap> heatmaps;       // grounded pairs x configs, in that order
  long unet_calls = 0;
  int width = 0, height = 0;               // the image file's size
};

// Every pair of `pairs` must have the same image_path. Throws ldmg::Error on
// a bad image or a failure in the pipeline (the caller records it per pair).
ScoredImage score_image_pairs(ModelBundle& models, const std::vector<const data::Pair*>& pairs,
                              const ImageScoringOptions& options, const SinkFactory& sink_factory = {},
                              const diffusion::ProgressHook& progress = {});

// A row with the pair's identity and nothing scored.
PairRow base_row(const data::Pair& p);

}  // namespace ldmg::runner
