#pragma once
// The online results of one work unit, <run>/units/<unit_id>.json: every
// pair's row for every heatmap config. Written atomically before the ledger
// records the unit, so a unit the ledger calls done always has its rows;
// numbers are written with round-trip precision, so gathering them gives the
// same bytes as scoring in one process.
#include <string>
#include <vector>

#include "pipeline/evaluation_report.h"

namespace ldmg::sweep {

struct UnitResult {
  std::string unit_id;
  int T = 0;
  std::vector<std::string> configs;        // heatmap config names, in order
  std::vector<std::vector<pipeline::PairRow>> rows;  // [pair of the unit][config]
  double seconds = 0;
  long unet_calls = 0;
};

std::string unit_result_path(const std::string& run_dir, const std::string& unit_id);
std::string format_unit_result(const UnitResult& r);
// Throws ldmg::Error naming `what` when the text is not a unit result.
UnitResult parse_unit_result(const std::string& text, const std::string& what);
void write_unit_result(const std::string& run_dir, const UnitResult& r);
UnitResult read_unit_result(const std::string& run_dir, const std::string& unit_id);

}  // namespace ldmg::sweep
