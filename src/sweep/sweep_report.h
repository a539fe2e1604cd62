#pragma once
// The end of a sweep (rank 0, every unit of the plan recorded): the units'
// rows gathered in dataset order into evaluate's reports, one folder per T
// and heatmap config, and an index over the per-unit cache files. The bytes
// depend only on the units' results, never on ranks, order or resumes.
#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "data/ms_cxr.h"
#include "pipeline/evaluation_report.h"
#include "pipeline/heatmap_config.h"
#include "sweep/ledger.h"
#include "sweep/sweep_plan.h"

namespace ldmg::sweep {

// <run>/results/T<T>/<config name>
std::string results_dir(const std::string& run_dir, int T, const std::string& config_name);

struct GatheredResults {
  std::vector<std::string> dirs;  // written report folders
  std::size_t failed_pairs = 0;
  // Per T, per dataset pair index: whether the pair was grounded (neither
  // skipped nor failed), i.e. has maps in its unit's cache file. The rows
  // themselves are not kept: 10^5 units' rows are hundreds of MB.
  std::map<int, std::vector<bool>> grounded;
};

// Throws ldmg::Error naming the unit when a unit is not recorded or its
// results file is missing or unreadable.
GatheredResults write_sweep_results(const std::string& run_dir, const SweepPlan& plan, const data::MsCxrDataset& dataset,
                                    const LedgerState& ledger, const std::vector<pipeline::HeatmapConfig>& configs,
                                    const pipeline::ReportOptions& report, const nlohmann::json& provenance);

// <run>/cache/manifest.json (every cached unit: file, T, pairs) and
// <run>/cache/index.h5: external links /units/<id> -> <id>.h5:/ and
// /pairs/T<T>/<pair> -> <id>.h5:/prompts/<p>, so h5py opens the run as one.
// With `gathered`, which pairs each unit cached comes from it; without, from
// reading every unit's rows again. manifest.json is written a unit at a time.
void write_cache_index(const std::string& run_dir, const SweepPlan& plan, const LedgerState& ledger,
                       const GatheredResults* gathered = nullptr);

}  // namespace ldmg::sweep
