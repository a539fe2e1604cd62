#pragma once
// The paper's tables from analyzed grids, as Markdown, CSV and LaTeX:
//  Table I   per category mean ± std of |CNR|, CNR, mIoU %, AUC-ROC % and
//            the Avg row (metrics::summarize), one block per (T, config);
//  Table II  one ablation row per (T, config): its Avg over categories;
//  Table III pathology tokens vs all tokens for each pair of configs that
//            differ only in `tokens`, restricted to the prompts containing
//            their class name (the pathology token slice is not empty).
#include <string>
#include <vector>

#include "analysis/offline_analysis.h"

namespace ldmg::analysis {

struct PaperTables {
  std::string markdown, csv, latex;
};

PaperTables paper_tables(const std::vector<ScoreTable>& tables, const data::MsCxrDataset& dataset);

// OUT/tables.{md,csv,tex}
void write_paper_tables(const std::string& out_dir, const PaperTables& t);

}  // namespace ldmg::analysis
