#pragma once
// Everything the report page shows, gathered from a sweep's run folder (and
// optional analyze / search / score output folders) into one JSON object,
// which the site writes as data.js. Reads files only: no model, no MPI. A run
// in progress gives what is done (units recorded in the ledger), said so in
// `run.complete` and each source's `partial`.
//
//   format "ldmground.report", schema_version 1, title
//   run:        dir, units, done, failed, pending, complete, Ts, configs
//   provenance: version, model_digest, settings, files (model hashes, from a
//               finished run's summary.json), job (job.ini), runs (runs.jsonl)
//   metrics:    [[key, label]] of the per-pair metrics, in table order
//   categories: pathology names, dataset order
//   sources:    one per scored table: {id, kind run|analysis|score, label, dir,
//               T, config, partial, summary (evaluate's summary.json without
//               provenance and official_log)}
//   columns, rows: the per-pair table, one row per (source, pair); columns
//               are kRowColumns (report_data.h), rows arrays in that order
//   failures:   failed units {unit, T, path, pairs, error, rank, time}
//   tables:     analyze --tables {dir, markdown}
//   search:     search outputs {dir, result (search.json)}
//   figures:    PNGs found in analysis folders {title, src, from} (src filled
//               by the site writer, relative to the site)
#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ldmg::report {

inline constexpr const char* kReportFormat = "ldmground.report";
inline constexpr int kReportSchemaVersion = 1;

// Columns of the per-pair rows. status: "ok" | "skipped" | "failed";
// metrics null unless ok; tokens: the averaged tokens (from the cache) or
// null; thumb / overlay: image paths relative to the site, or null.
enum RowColumn {
  kSource,
  kPair,
  kCategory,
  kPrompt,
  kDicom,
  kStatus,
  kAbsCnr,
  kCnr,
  kMiou,
  kAuroc,
  kOtsu,
  kTokens,
  kThumb,
  kOverlay,
  kError,
  kRowColumnCount
};
inline constexpr std::array<const char*, kRowColumnCount> kRowColumns = {
    "source", "pair",  "category", "prompt", "dicom_id", "status",  "cnr_abs", "cnr",
    "miou",   "auroc", "otsu",     "tokens", "thumb",    "overlay", "error"};

struct ReportInputs {
  std::string run_dir;                     // a sweep's run folder (finished or not)
  std::vector<std::string> analysis_dirs;  // analyze / search outputs, or folders of figures
  std::vector<std::string> score_dirs;     // evaluate-format folders (pairs.csv + summary.json)
};

// Throws ldmg::Error naming the folder or file when the run folder has no
// plan.json or job.ini, when a file it reads is malformed, or when an
// analysis / score folder holds nothing the report can show.
nlohmann::json gather_report_data(const ReportInputs& inputs);

// Rows of an evaluate-format pairs.csv (source column = `source`). Throws
// naming the file on a missing column or a malformed number.
std::vector<nlohmann::json> rows_from_pairs_csv(const std::string& path, int source);

}  // namespace ldmg::report
