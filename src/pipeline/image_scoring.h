#pragma once
// One image with all its MS-CXR pairs through the online pipeline: read the
// image, apply the box survival rule, ground every surviving prompt with one
// inversion, score each (pair, config) at the original size. The per-image
// step shared by `evaluate` and `sweep`, so both give the same rows;
// score_images does it for several images with one batched inversion.
#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <vector>

#include "data/box_survival.h"
#include "data/image.h"
#include "data/ms_cxr.h"
#include "pipeline/evaluation_report.h"
#include "pipeline/image_grounder.h"

namespace ldmg::pipeline {

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
  data::ImageOptions image;         // how the image file is decoded (DICOM: the conversion to 8 bits)
};

// Called once the image is read and the surviving pairs are known (never
// with an empty list); returns an extra sink for the captured maps, or null.
using SinkFactory =
    std::function<diffusion::AttentionSink*(const data::GrayImage& image, const std::vector<const data::Pair*>& grounded)>;

struct ScoredImage {
  std::vector<std::vector<PairRow>> rows;  // [k = position in `pairs`][config]
  std::vector<PairHeatmap> heatmaps;       // grounded pairs x configs, in that order
  long unet_calls = 0;                     // forward passes it took part in (batched: the batch's)
  int width = 0, height = 0;               // the image file's size
  bool dicom = false;                      // the image file was DICOM
};

// Every pair of `pairs` must have the same image_path. Throws ldmg::Error on
// a bad image or a failure in the pipeline (the caller records it per pair).
ScoredImage score_image_pairs(ModelBundle& models, const std::vector<const data::Pair*>& pairs,
                              const ImageScoringOptions& options, const SinkFactory& sink_factory = {},
                              const diffusion::ProgressHook& progress = {});

// One image of score_images: its pairs, an optional sink factory and progress.
// The factory may be called a second time for the same task (the batch failed
// and the image runs again alone): the new sink replaces the first one, whose
// maps are incomplete.
struct ImageTask {
  std::vector<const data::Pair*> pairs;  // non-empty, all of one image
  SinkFactory sink_factory;
  diffusion::ProgressHook progress;
};

struct ImageOutcome {
  ScoredImage scored;  // when error is empty
  std::string error;   // why the image failed (ldmg::Error, LibTorch's c10::Error, ...)
};

// Receives each task's outcome once, as soon as it is known (a bad image
// before the batch runs, the others after it).
using OutcomeHook = std::function<void(std::size_t task, ImageOutcome&& outcome)>;

// Several images scored as score_image_pairs scores each, in one batched
// inversion (ground_images) when there are two or more to invert and the mode
// is fast (otherwise one at a time). An image that fails to read or check
// fails alone before the batch; if the batch throws, every image of it runs
// again alone, so a failure fails only its own image. ldmg::Interrupted (a
// stop request, e.g. from a progress hook) propagates: the outcomes already
// delivered stand, the others are abandoned. Returns the U-Net calls made.
long score_images(ModelBundle& models, const std::vector<ImageTask>& tasks, const ImageScoringOptions& options,
                  const OutcomeHook& on_outcome);

// A row with the pair's identity and nothing scored.
PairRow base_row(const data::Pair& p);

// The image file of `pairs` (all of one image), read once with `options`;
// throws ldmg::Error when its size differs from any pair's CSV size (the
// boxes would not match).
data::GrayImage read_checked_image(const std::vector<const data::Pair*>& pairs, const data::ImageOptions& options = {});

}  // namespace ldmg::pipeline
