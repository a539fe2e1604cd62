#pragma once
// `ldmground score`: another method's predictions (pipeline/prediction_reader.h)
// scored under exactly `evaluate`'s protocol: the same pair selection, image
// size check, box survival rule (SPEC §9), back-mapping (SPEC §7), metrics
// (SPEC §8, metrics::score_map) and report rows, so that the report
// (pipeline/evaluation_report.h) sits next to our own runs.
//
// A heatmap is either
//  - on the 512 grid (512 x 512): the analogue of our final heatmap, mapped
//    back to the original image as `evaluate` maps ours (nearest to s x s,
//    NaN padding; pipeline::score_heatmap), or
//  - at the original image size (the image file's H x W, as hi-ml's BioViL
//    similarity maps come): scored as it is, NaN pixels ignored.
// A 512 x 512 image makes both readings the same map.
// Boxes (x, y, w, h, score in original pixels) become a map at the original
// size first (BoxMap). The conventions then apply in this order, on the map's
// own grid: clamp negatives, Otsu, (512 grid: back-mapping), metrics.
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "data/box.h"
#include "data/box_survival.h"
#include "data/ms_cxr.h"
#include "metrics/aggregate.h"
#include "pipeline/evaluation_report.h"
#include "pipeline/prediction_reader.h"

namespace ldmg::pipeline {

// How boxes become a map: max = every pixel whose centre lies inside a box
// ([x, x+w) x [y, y+h) around (col + 0.5, row + 0.5); integer boxes cover
// columns x..x+w-1, rows y..y+h-1 like MS-CXR's) takes the highest score of
// the boxes covering it; pixels outside every box are 0.
enum class BoxMap { max };
BoxMap parse_box_map(const std::string& name);
const char* to_string(BoxMap m);

struct ScoringConventions {
  // BioViL(-T): negative cosine similarities set to 0 before scoring (the
  // authors' eval_biovil_t.py: sim_map.clamp(min=0)); NaN stays NaN.
  bool clamp_negative = false;
  // Our binary Otsu (grounding::apply_otsu: skimage threshold_multiotsu,
  // classes=2, map * (map > thr)) on the prediction's finite pixels, as our
  // pipeline applies it to its normalised map. On by default, as ours; off
  // for maps that are final already (evaluate's heatmap_512 is refused with
  // it on: Otsu would be applied twice).
  bool otsu = true;
  BoxMap box_map = BoxMap::max;
};

// The map a prediction is scored on, before any convention: the heatmap as
// given, or the boxes drawn at width x height. [h, w] float32 on the CPU.
at::Tensor prediction_map(const Prediction& p, int width, int height, BoxMap box_map);

// Clamp and Otsu as `c` says; NaN pixels stay NaN and are left out of the
// Otsu histogram; an all-NaN or constant map becomes all NaN under Otsu (as
// ours: no threshold exists).
at::Tensor apply_conventions(const at::Tensor& map, const ScoringConventions& c);

// Every metric of one pair. `boxes`: the surviving ground-truth boxes in
// original pixels; width x height: the image file's size. Throws ldmg::Error
// naming the prediction when its shape is neither 512 x 512 nor the image's.
metrics::PairMetrics score_prediction(const Prediction& p, const std::vector<data::Box>& boxes, int width, int height,
                                      const ScoringConventions& c, const std::string& image_path);

struct ExternalScoringOptions {
  std::string dataset_csv;  // for messages (select_pairs)
  data::SurvivalRule survival = data::SurvivalRule::faithful;
  ScoringConventions conventions;
  int limit = -1;
  std::string category;
  bool fail_fast = false;  // an unreadable image stops the run instead of failing its pairs
};

// The rows of `evaluate` for the selected pairs, in dataset order: skipped
// where no box survives, `error` where the image cannot be read or its size
// differs from the CSV's (as evaluate); a missing or malformed prediction of
// a pair that is scored throws ldmg::Error.
std::vector<PairRow> score_external(const data::MsCxrDataset& dataset, const PredictionReader& predictions,
                                    const ExternalScoringOptions& options);

}  // namespace ldmg::pipeline
