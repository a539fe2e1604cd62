#pragma once
// A finished sweep's run folder as offline analysis needs it: the resolved
// job (job.ini: dataset, box rule, class-name override, heatmap configs,
// models), the plan, the ledger, the dataset CSV, and for every T which
// pairs have cached maps (and where) and which keep the row the sweep
// recorded (skipped: no box survived; failed: the unit's error).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "analysis/job_ini.h"
#include "data/box_survival.h"
#include "data/image.h"
#include "data/ms_cxr.h"
#include "pipeline/evaluation_report.h"
#include "pipeline/heatmap_config.h"
#include "sweep/ledger.h"
#include "sweep/sweep_plan.h"
#include "text/clip_tokenizer.h"

namespace ldmg::analysis {

// One pair of the plan at one T.
struct PairSource {
  int pair = 0;         // dataset index
  int unit = 0;         // position of its unit in the plan
  int prompt = -1;      // prompt of the unit's cache file; -1: not grounded, `fixed` is its row
  pipeline::PairRow fixed;  // skipped / failed row (metrics unset) when prompt < 0
};

class RunInputs {
 public:
  // Throws ldmg::Error naming the file when job.ini, plan.json, the ledger or
  // the CSV cannot be read, or when a unit of the plan is not recorded.
  explicit RunInputs(const std::string& run_dir);

  const std::string& run_dir() const { return run_dir_; }
  const JobIni& job() const { return job_; }
  const sweep::SweepPlan& plan() const { return plan_; }
  const sweep::LedgerState& ledger() const { return ledger_; }
  const data::MsCxrDataset& dataset() const { return *dataset_; }
  data::SurvivalRule survival() const { return survival_; }
  // How the sweep decoded DICOM images (its --dicom-conversion): figures re-read them the same way.
  data::DicomConversion dicom_conversion() const { return dicom_conversion_; }
  // The class name tokens=pathology uses for a pair (the job's --class-name, else its category).
  std::string class_name(const data::Pair& p) const;
  // The sweep's heatmap configs, in its order (the main one, then --config lines).
  const std::vector<pipeline::HeatmapConfig>& configs() const { return configs_; }
  // The tokenizer of the job's models (loaded on first use: tokens=pathology only).
  const text::ClipTokenizer& tokenizer() const;

  // Every pair of the plan at T, in plan (= dataset) order.
  std::vector<PairSource> pair_sources(int T) const;
  // <run>/cache/<unit id>.h5
  std::string cache_file(int unit) const;

 private:
  std::string run_dir_;
  JobIni job_;
  sweep::SweepPlan plan_;
  sweep::LedgerState ledger_;
  std::unique_ptr<data::MsCxrDataset> dataset_;
  data::SurvivalRule survival_ = data::SurvivalRule::faithful;
  data::DicomConversion dicom_conversion_ = data::DicomConversion::mimic_jpg;
  std::string class_name_override_;
  std::vector<pipeline::HeatmapConfig> configs_;
  mutable std::optional<text::ClipTokenizer> tokenizer_;
};

// A sweep's heatmap configs from its job.ini, in its order (the main one,
// then the `config` lines), as cli::grounding_options_from assembles them.
std::vector<pipeline::HeatmapConfig> job_heatmap_configs(const JobIni& job);

// The tokenizer folder a sweep used: its job.ini's `tokenizer`, else the one
// in its `model-dir` (JobIni::path: as the sweep saw it, else beside the run).
std::string job_tokenizer_dir(const JobIni& job, const std::string& run_dir);

// A sweep's --dicom-conversion from its job.ini (mimic_jpg when absent: runs
// made before the option existed); throws naming the file on a bad value.
data::DicomConversion job_dicom_conversion(const JobIni& job);

// The tokens a config averages for one cached prompt: pipeline::config_tokens,
// with the tokenizer needed (and loaded) only for tokens=pathology.
grounding::TokenSlice offline_tokens(const pipeline::HeatmapConfig& config, const std::vector<std::int64_t>& ids,
                                     const RunInputs& run, const std::string& class_name);

}  // namespace ldmg::analysis
