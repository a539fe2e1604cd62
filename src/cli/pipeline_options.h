#pragma once
// Options shared by the commands that run the model (ground, evaluate,
// parity, sweep): where the models are, and how to ground.
#include <nlohmann/json.hpp>

#include "cli/options.h"
#include "runner/image_grounder.h"
#include "runner/model_bundle.h"

namespace ldmg::cli {

void add_model_options(po::options_description& desc);
runner::ModelPaths model_paths_from(const po::variables_map& vm);
model::Precision precision_from(const po::variables_map& vm);

// several_T: --steps may repeat (a sweep's grid), as std::vector<int>.
void add_grounding_options(po::options_description& desc, bool several_T = false);
// T is the first --steps value when several are allowed.
runner::GroundingOptions grounding_options_from(const po::variables_map& vm);
// Every --steps value, checked (1..1000, no duplicates), in the order given.
std::vector<int> steps_from(const po::variables_map& vm);

// The resolved options as JSON (provenance).
nlohmann::json options_json(const po::variables_map& vm);

}  // namespace ldmg::cli
