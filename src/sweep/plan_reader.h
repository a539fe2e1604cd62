#pragma once
// Reads <run>/plan.json without its units as a JSON tree: nlohmann's parser
// callback converts each unit as it ends and drops it (reading a 10^5-unit
// plan peaked at 180 MiB through the tree, 46 MiB this way;
// bench/plan_read measures both).
#include <string>

#include "sweep/sweep_plan.h"

namespace ldmg::sweep {

// The plan in `path`, as plan_from_json(json::parse(<file>), path) gives it,
// with the same checks and messages (file name, unit index). Throws
// ldmg::Error naming the file when it cannot be read, and naming the file and
// the byte offset when it is not valid JSON (truncated, damaged).
SweepPlan read_plan_file(const std::string& path);

// The same from text already in memory; `what` names it in errors.
SweepPlan read_plan_text(const std::string& text, const std::string& what);

}  // namespace ldmg::sweep
