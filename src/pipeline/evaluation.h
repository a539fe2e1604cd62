#pragma once
// `evaluate`: every MS-CXR pair through the online pipeline, one inversion
// per image (all its prompts), results in dataset order.
#include <functional>
#include <string>
#include <vector>

#include "data/box_survival.h"
#include "data/ms_cxr.h"
#include "pipeline/evaluation_report.h"
#include "pipeline/image_grounder.h"
#include "pipeline/image_scoring.h"
#include "pipeline/model_bundle.h"

namespace ldmg::pipeline {

struct EvaluateOptions {
  std::string dataset_csv;
  std::string images_root;
  GroundingOptions grounding;
  data::SurvivalRule survival = data::SurvivalRule::faithful;
  int limit = -1;                 // first N pairs (after the category filter); -1 = all
  std::string category;           // only this category; empty = all
  std::vector<int> only_pairs;    // only these pair indices (e.g. Table III runs); empty = all
  bool fail_fast = false;         // stop at the first failed pair instead of recording it
  int batch_images = 1;           // images per batched inversion (fast mode; score_images)
  // tokens=pathology uses the pair's category as the class name unless this
  // is set (upstream's cls_name argument, as in the Table III runs).
  std::string class_name_override;
  data::DicomConversion dicom_conversion = data::DicomConversion::mimic_jpg;  // DICOM images -> 8 bits
};

struct EvaluationResult {
  std::vector<std::vector<PairRow>> rows;  // [config][pair in dataset order]
  std::vector<std::string> class_order;    // categories of the whole CSV, first appearance
  std::size_t images = 0;
  std::size_t dicom_images = 0;  // images read that were DICOM (failed reads not counted)
  double seconds = 0.0;
  long unet_calls = 0;
};

// The pairs `options` selects (category, only_pairs, limit), in dataset
// order; throws ldmg::Error on an unknown category or an empty selection.
// Cheap: call it before loading the models to fail early.
std::vector<const data::Pair*> select_pairs(const data::MsCxrDataset& dataset, const EvaluateOptions& options);

// on_heatmap (optional) receives every final heatmap as soon as it exists.
// Reads options.dataset_csv; the second form takes it already parsed.
EvaluationResult run_evaluation(ModelBundle& models, const EvaluateOptions& options,
                                const std::function<void(const PairHeatmap&)>& on_heatmap = {});
EvaluationResult run_evaluation(ModelBundle& models, const data::MsCxrDataset& dataset, const EvaluateOptions& options,
                                const std::function<void(const PairHeatmap&)>& on_heatmap = {});

}  // namespace ldmg::pipeline
