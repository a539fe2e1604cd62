#pragma once
// Several methods side by side in the paper's Table I layout (`ldmground
// compare`): one row per pathology plus Avg, one column group per method
// (|CNR|, CNR, mIoU %, AUC-ROC %, mean ± std), read from the summary.json that
// `evaluate`, `score`, `sweep` (results/T<T>/<config>/) and `analyze`
// (OUT/T<T>/<config>/) write. Nothing is recomputed: the cells are those
// files' numbers. Torch-free.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ldmg::analysis {

struct MethodSummary {
  std::string label;   // column group title
  std::string source;  // the summary.json read
  nlohmann::json summary;
};

// `spec`: "LABEL=PATH" or "PATH"; PATH is a summary.json or a folder holding
// one. Without a label: provenance.method (score), else the folder's name.
// Throws ldmg::Error naming the file and the key when it is not a summary.json
// of ours.
MethodSummary read_method_summary(const std::string& spec);

struct ComparisonTables {
  std::string markdown, csv, json;
};

// Rows: the categories of the first method in its order, then any others'
// that it lacks; a method without a category shows "–". N: one value when
// the methods agree, else each method's joined with "/".
ComparisonTables compare_methods(const std::vector<MethodSummary>& methods);

// OUT/compare.{md,csv,json}
void write_comparison(const std::string& out_dir, const ComparisonTables& t);

}  // namespace ldmg::analysis
