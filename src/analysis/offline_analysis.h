#pragma once
// `analyze`: every heatmap config of a grid recomputed from a sweep's
// attention cache and scored, for every pair of the plan at each T. The
// exact path uses the online code and order (cache::CachedPromptMaps +
// pipeline::score_heatmap), so the sweep's own config gives byte-identical
// pairs.csv from a float32 cache; the fast path (WindowPrefix + ScoringGrid)
// is for grids and `search`. Under MPI the cache units are dealt to the
// ranks round robin and the scores reduced onto rank 0 (MPI, or NCCL on
// device buffers in a CUDA + NCCL build: sweep/sum_reducer.h).
#include <string>
#include <vector>

#include "analysis/run_inputs.h"
#include "pipeline/evaluation_report.h"
#include "pipeline/heatmap_config.h"
#include "sweep/sum_reducer.h"

namespace ldmg::sweep {
class MpiEnv;
}

namespace ldmg::analysis {

struct AnalysisOptions {
  std::vector<pipeline::HeatmapConfig> configs;
  std::vector<int> Ts;  // empty: every T of the plan
  bool fast = false;    // shortcuts (a)-(c) instead of the online code
  bool exact_auroc = true;  // false: auroc_exact = NaN (an O(n log n) sort per pair-config; search skips it)
  sweep::ReduceBackend reduce = sweep::ReduceBackend::automatic;  // how ranks' scores reach rank 0
};

// Per scored pair and config: the values a row needs, as doubles (reduced with MPI_SUM).
enum ScoreField { kAbsCnr, kCnr, kMiou, kAuroc, kAurocExact, kOtsuThreshold, kOtsuMargin, kTokensEmpty, kNumFields };

// Every pair of one T x every config.
struct ScoreTable {
  int T = 0;
  std::vector<pipeline::HeatmapConfig> configs;
  std::vector<PairSource> sources;  // plan order
  std::vector<double> values;       // [config][source][field]; only grounded sources are set

  double at(std::size_t config, std::size_t source, ScoreField f) const {
    return values[(config * sources.size() + source) * kNumFields + f];
  }
  // The report rows of one config, plan order (= pipeline::score_image_pairs' rows).
  std::vector<pipeline::PairRow> rows(std::size_t config, const data::MsCxrDataset& dataset) const;
  // Whether a pair was scored (not skipped, not failed).
  bool grounded(std::size_t source) const { return sources[source].prompt >= 0; }
};

// Collective when env is given (every rank calls it; rank 0 gets the full
// tables, the others partial ones). Throws ldmg::Error naming the cache file
// on a missing layer/step or an unreadable unit.
std::vector<ScoreTable> analyze_run(const RunInputs& run, const AnalysisOptions& options,
                                    const sweep::MpiEnv* env = nullptr);

// OUT/T<T>/<config name>/{pairs.csv,summary.json,summary.md,summary.log}; returns the folders.
std::vector<std::string> write_analysis_reports(const std::string& out_dir, const RunInputs& run,
                                                const std::vector<ScoreTable>& tables, const nlohmann::json& provenance);

// The sweep's report options (bootstrap resamples and seed from job.ini).
pipeline::ReportOptions report_options(const RunInputs& run);

}  // namespace ldmg::analysis
