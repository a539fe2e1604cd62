#pragma once
// The results of an evaluation run: OUT/pairs.csv (one row per merged pair in
// dataset order), OUT/summary.json and OUT/summary.md (per-category and
// average tables laid out like the paper's Table I, with bootstrap 95%
// intervals), OUT/summary.log (the authors' final log lines).
// Deterministic: the same results give the same bytes, whatever the number
// of ranks or the order they were computed in.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "metrics/aggregate.h"
#include "metrics/bootstrap.h"

namespace ldmg::pipeline {

struct PairRow {
  int pair = 0;
  std::string dicom_id, path, category, prompt;
  bool skipped = false;   // no box survived preprocessing (upstream skips the pair)
  std::string error;      // non-empty: the pair failed (bad image, ...)
  metrics::PairMetrics metrics;
  float otsu_threshold = 0.f;
  double otsu_margin = 0.0;
};

struct ReportOptions {
  metrics::BootstrapOptions bootstrap;
  std::string title = "ldmground evaluation";
};

std::string pairs_csv(const std::vector<PairRow>& rows, const std::string& provenance_line);
nlohmann::json summary_json(const std::vector<PairRow>& rows, const std::vector<std::string>& class_order,
                            const ReportOptions& options, const nlohmann::json& provenance);
std::string summary_markdown(const nlohmann::json& summary);

// Writes the files above into out_dir (created if needed), each atomically.
void write_evaluation_report(const std::string& out_dir, const std::vector<PairRow>& rows,
                             const std::vector<std::string>& class_order, const ReportOptions& options,
                             const nlohmann::json& provenance);

}  // namespace ldmg::pipeline
