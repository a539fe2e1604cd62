#pragma once
// The units of a sweep: every selected image at every T, with all its pairs,
// each named by content (work_unit.h) so that resume, retries and rank counts
// never change what a unit is. Rank 0 makes the plan and broadcasts it; it is
// also written to <run>/plan.json for `status` and offline analysis.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "data/ms_cxr.h"

namespace ldmg::sweep {

// What names a unit besides its image, prompts and T: every setting that
// changes the unit's outputs, as canonical "key=value;..." strings.
struct SweepSettings {
  std::string inversion;     // spacing, stepper, mode, attention kernel, latent scale
  std::string outputs;       // cache mode/dtype, heatmap configs, box rule, class-name override,
                             // a DICOM conversion other than the default
  std::string model_digest;  // models_digest()
  std::string code_version;  // version_string()
};

struct SweepUnit {
  std::string id;            // unit_id()
  int T = 0;
  std::string image_path;    // resolved under the images root
  std::string path;          // as written in the CSV
  std::string image_sha256;  // of the file bytes; sha256("missing:" + path) when unreadable
  std::vector<int> pairs;    // pair indices (dataset order)
};

struct SweepPlan {
  std::vector<int> Ts;
  std::vector<int> pairs;    // every selected pair index, dataset order
  std::vector<SweepUnit> units;  // T-major, then images in order of first appearance
  SweepSettings settings;

  // Position of a unit by id, or -1.
  int find(const std::string& unit_id) const;
};

// `selected`: pair indices of `dataset` to run (dataset order).
SweepPlan make_sweep_plan(const data::MsCxrDataset& dataset, const std::vector<int>& selected,
                          const std::vector<int>& Ts, const SweepSettings& settings);

// The sha256 of every selected image file, images in order of first
// appearance; sha256("missing:" + CSV path), with a warning, for a missing
// one. The only part of planning that reads the images: rank 0 does it and
// broadcasts the digests, and every rank plans from them (the plan of a 10^5
// unit sweep is tens of MB as JSON, its digests a few).
std::vector<std::string> image_digests(const data::MsCxrDataset& dataset, const std::vector<int>& selected);
// The plan from image_digests(dataset, selected); throws ldmg::Error when
// their number is not the number of selected images.
SweepPlan make_sweep_plan(const data::MsCxrDataset& dataset, const std::vector<int>& selected,
                          const std::vector<int>& Ts, const SweepSettings& settings,
                          const std::vector<std::string>& digests);

nlohmann::json plan_to_json(const SweepPlan& plan);
// The plan's "settings" member, both ways (also what rank 0 broadcasts).
nlohmann::json settings_to_json(const SweepSettings& s);
SweepSettings settings_from_json(const nlohmann::json& j);
// The bytes of plan_to_json(plan).dump(1) + "\n", made one unit at a time
// (the whole JSON tree of a 10^5-unit plan takes hundreds of MB).
std::string plan_json_text(const SweepPlan& plan);
// Throws ldmg::Error naming `what` (and the unit's index) on a malformed plan.
// Files are read with read_plan_file (plan_reader.h), which never holds the
// whole tree and gives the same errors.
SweepPlan plan_from_json(const nlohmann::json& j, const std::string& what);
// Element `index` of a plan's "units" (plan_from_json's check of one unit,
// shared with read_plan_file).
SweepUnit unit_from_json(const nlohmann::json& unit, const std::string& what, std::size_t index);

std::string plan_path(const std::string& run_dir);  // <run>/plan.json

}  // namespace ldmg::sweep
