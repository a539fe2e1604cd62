#pragma once
// `sweep`: the dataset x T grid as content-named work units (sweep_plan.h),
// taken dynamically by every MPI rank (work_queue.h; with --batch-images, up
// to N consecutive units at a time, those of one T inverted in one U-Net
// batch but each recorded on its own), each unit's attention
// cached to HDF5 (attention_cache_writer.h) and its online rows saved
// (unit_result.h) before the ledger records it (ledger.h). Re-running the
// same command on the same run folder skips what is done; SIGTERM/SIGUSR1
// abandon the unit in progress and exit with kResumeExitCode. Once every
// unit is done, rank 0 gathers the rows into the same reports as `evaluate`,
// one per T and heatmap config (sweep_report.h). What computes a unit is a
// UnitEngine (unit_engine.h): the model here, a zero-cost stub in the scale
// simulator (bench/sweep_scale, docs/running-at-scale.md).
//
// Run folder:
//   job.ini            the resolved job (written by rank 0 at every start)
//   plan.json          the units (sweep_plan.h)
//   runs.jsonl         one line per invocation: start, ranks, host, outcome
//   ledger/rank<R>.jsonl, units/<id>.json, logs/rank<R>.log
//   cache/<id>.h5, cache/index.h5, cache/manifest.json
//   results/T<T>/<config>/{pairs.csv,summary.json,summary.md,summary.log}
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "cache/attention_cache_writer.h"
#include "data/box_survival.h"
#include "data/image.h"
#include "pipeline/evaluation_report.h"
#include "pipeline/image_grounder.h"

namespace ldmg::sweep {

class MpiEnv;
class UnitEngine;

enum class CacheMode { full, window, none };
CacheMode parse_cache_mode(const std::string& s);  // "full" | "window" | "none"
const char* to_string(CacheMode m);

struct SweepOptions {
  std::string run_dir;
  std::string dataset_csv;
  std::string images_root;
  std::vector<int> Ts = {300};
  pipeline::GroundingOptions grounding;  // everything but T (taken from Ts)
  data::SurvivalRule survival = data::SurvivalRule::faithful;
  std::string class_name_override;  // tokens=pathology: this class name for every pair
  // DICOM images -> 8 bits (--dicom-conversion); a non-default one is part of
  // the units' names (SweepSettings::outputs), so a resume with another
  // conversion runs new units.
  data::DicomConversion dicom_conversion = data::DicomConversion::mimic_jpg;
  int limit = -1;                   // first N pairs after the category filter
  std::string category;             // only this category
  CacheMode cache = CacheMode::full;
  cache::AttentionCacheOptions cache_options;
  bool retry_failed = false;
  bool fail_fast = false;
  // Units of the same T a rank takes together and inverts in one U-Net batch
  // (pipeline::score_images; fast mode). Each stays its own unit: cache file,
  // rows, ledger line. Not part of the units' names: results equal one at a
  // time within float32 batch rounding, not bit for bit.
  int batch_images = 1;
  std::string attention_kernel = "fused";  // part of the units' names
  pipeline::ReportOptions report;
  nlohmann::json job;   // the resolved job (deterministic: no host, time or ranks), in every report
  std::string job_ini;  // the same as a job file, written to <run>/job.ini
};

struct SweepOutcome {
  int exit_code = 0;  // 0 all ok; 1 some units failed (recorded); kResumeExitCode stopped, resume me
  std::size_t units_total = 0;
  std::size_t units_done_before = 0;  // skipped: done in an earlier run
  std::size_t units_run = 0;          // by this rank in this run
  std::size_t units_failed = 0;       // in the whole run folder, after this run
  double seconds = 0;
  // Where this rank's time went (seconds): planning and checking what is done
  // until the first unit can be taken; taking and recording units; rank 0's
  // reports and cache index (0 elsewhere, and when the run stopped).
  double startup_seconds = 0;
  double units_seconds = 0;
  double results_seconds = 0;
  double index_seconds = 0;
};

// Collective over env's communicator. Throws ldmg::Error on setup problems
// (bad CSV, run folder locked), the same on every rank.
SweepOutcome run_sweep(const MpiEnv& env, pipeline::ModelBundle& models, const SweepOptions& options);
// The same runner with another unit engine (unit_engine.h): the scale
// simulator's zero-cost stub.
SweepOutcome run_sweep(const MpiEnv& env, UnitEngine& engine, const SweepOptions& options);

}  // namespace ldmg::sweep
