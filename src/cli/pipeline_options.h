#pragma once
// Options shared by the commands that run the model (ground, evaluate,
// parity, sweep): where the models are, and how to ground.
#include <nlohmann/json.hpp>

#include "cli/options.h"
#include "data/image.h"
#include "pipeline/image_grounder.h"
#include "pipeline/model_bundle.h"

namespace ldmg::cli {

void add_model_options(po::options_description& desc);
pipeline::ModelPaths model_paths_from(const po::variables_map& vm);
model::Precision precision_from(const po::variables_map& vm);

// several_T: --steps may repeat (a sweep's grid), as std::vector<int>.
void add_grounding_options(po::options_description& desc, bool several_T = false);
// T is the first --steps value when several are allowed.
pipeline::GroundingOptions grounding_options_from(const po::variables_map& vm);
// Every --steps value, checked (1..1000, no duplicates), in the order given.
std::vector<int> steps_from(const po::variables_map& vm);

// --batch-images (evaluate, sweep): images inverted together in one U-Net batch.
void add_batch_option(po::options_description& desc);
// Its value as given: N >= 1, or 0 for auto; throws on anything else (check
// it before loading the models).
int batch_images_option(const po::variables_map& vm);
// The batch for models on `device`: auto = 1 on a CPU, kGpuBatchImages on
// CUDA; 1 in faithful mode (with a log line when more was asked for).
int resolve_batch_images(int requested, const std::string& device, diffusion::InversionMode mode);
inline constexpr int kGpuBatchImages = 8;

// --dicom-conversion (every command that decodes X-rays for the model or a
// figure: ground, evaluate, sweep; a job file key of sweep): how DICOM stored
// values become 8 bits (docs/images.md). PNG and JPEG ignore it.
void add_dicom_conversion_option(po::options_description& desc);
// Its value; throws naming the option and the accepted values otherwise.
data::DicomConversion dicom_conversion_from(const po::variables_map& vm);

// The resolved options as JSON (provenance).
nlohmann::json options_json(const po::variables_map& vm);

}  // namespace ldmg::cli
