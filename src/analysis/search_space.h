#pragma once
// The space `search` explores, from a text file: one key per line with
// alternatives separated by '|', every combination a heatmap config.
//   layers = 3,4,6,7 | all | 6,7
//   window = paper | 0:20          # explicit windows, and/or:
//   window-start = 0 | 50          # every start x length: start:start+length
//   window-length = 20 | 67
//   tokens = all | pathology
//   otsu = on | off
//   sigma = 2.5 | 0
//   order = code | paper
// A key may repeat (its alternatives add up); missing keys keep the paper's
// default; '#' starts a comment.
#include <string>
#include <vector>

#include "pipeline/heatmap_config.h"

namespace ldmg::analysis {

// Throws ldmg::Error naming the file and line for an unknown key or a bad value.
std::vector<pipeline::HeatmapConfig> parse_search_space(const std::string& text, const std::string& what);

// The parse_heatmap_spec spelling of a config (its inverse):
// "layers=3,4,6,7;window=paper;tokens=all;otsu=on;sigma=2.5;order=code".
std::string heatmap_spec(const pipeline::HeatmapConfig& c);

// A grid file: one heatmap spec per line; or a job file (any 'config = SPEC'
// line: a sweep job, search's best.ini): its main config if it spells out
// layers/window/tokens/otsu/sigma/order, then its config lines. '#'
// comments; duplicates (same name) dropped.
std::vector<pipeline::HeatmapConfig> parse_grid(const std::string& text, const std::string& what);

}  // namespace ldmg::analysis
