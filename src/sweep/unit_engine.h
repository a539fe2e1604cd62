#pragma once
// The seam between the sweep's runner (sweep.cpp: plan, queue, ledger, unit
// results, reports, cache index) and what computes a unit. run_sweep with a
// ModelBundle passes ModelUnitEngine (model_unit_engine.h); the scale
// simulator (bench/sweep_scale) passes a zero-cost stub, so it drives the very
// same runner code at 10^5 units.
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "cache/attention_cache_format.h"
#include "diffusion/attention_sink.h"
#include "diffusion/inversion.h"
#include "pipeline/image_scoring.h"
#include "sweep/sweep_plan.h"

namespace ldmg::sweep {

struct SweepOptions;

// One unit to compute, as the runner hands it over.
struct UnitTask {
  const SweepUnit* unit = nullptr;
  std::vector<const data::Pair*> pairs;  // the unit's pairs, dataset order
  // Opens the unit's cache writer (the runner sets spec.unit_id, spec.T and
  // spec.config_json) and returns it as a sink for the maps; null with
  // --cache none. A second call replaces the first writer and its partial file.
  std::function<diffusion::AttentionSink*(cache::CacheUnitSpec spec)> open_cache;
  // Progress inside the unit; throws ldmg::Interrupted on a stop request.
  diffusion::ProgressHook progress;
};

class UnitEngine {
 public:
  virtual ~UnitEngine() = default;
  // One line for every rank's log (device, threads).
  virtual std::string describe() const = 0;
  // Every setting that names the units besides image, prompts and T (sweep_plan.h).
  virtual SweepSettings settings(const SweepOptions& o) const = 0;
  // Throws ldmg::Error when the job cannot run at one of o.Ts (a config's
  // window beyond the schedule). Rank 0 calls it before planning: a bad grid
  // is the job's error, not the units'.
  virtual void check_grid(const SweepOptions& o) const = 0;
  // The "files" entry of the reports' provenance (the model files' hashes).
  virtual nlohmann::json file_hashes() const = 0;
  // Computes units of one T together and hands each outcome to
  // on_outcome(k, ...) exactly once, as soon as it is known. ldmg::Interrupted
  // from a progress hook propagates; the outcomes already delivered stand.
  virtual void run_units(const SweepOptions& o, std::vector<UnitTask>& tasks,
                         const pipeline::OutcomeHook& on_outcome) = 0;
};

}  // namespace ldmg::sweep
