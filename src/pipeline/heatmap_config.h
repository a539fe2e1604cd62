#pragma once
// One online heatmap configuration: which attn2 layers, which steps, which
// tokens, and the post-processing (SPEC §6). The paper's best setup is the
// default. A config has a canonical name, used in outputs and as a hash input.
#include <optional>
#include <string>
#include <vector>

#include "grounding/heatmap_aggregation.h"

namespace ldmg::pipeline {

enum class TokenMode {
  all,        // positions 1..n-2 of the unpadded prompt (upstream default)
  pathology,  // the Table III rule: sub-tokens of the pair's category name
  slice,      // explicit positions [begin, end)
};

struct HeatmapConfig {
  std::vector<int> layers = {3, 4, 6, 7};  // 0-based attn2 indices in module order
  // Step window [begin, end) of inversion step indices; unset = the paper's
  // T//2 - 10*T//100 .. T//2 + 10*T//100 (official/eval_ldm.py:52).
  std::optional<int> window_begin, window_end;
  TokenMode tokens = TokenMode::all;
  int token_begin = 0, token_end = 0;  // TokenMode::slice
  bool otsu = true;
  double sigma = 2.5;
  grounding::TokenOrder order = grounding::TokenOrder::MeanThenNormalise;

  // "L3,4,6,7_Wpaper_Tall_otsu_s2.5_code" — stable, filename-safe.
  std::string name() const;
  // Resolved window for T (num_steps: length of the schedule).
  std::pair<int, int> window(int T, int num_steps) const;
};

// Parses the option spellings shared by the CLI and job files:
// layers "3,4,6,7" or "all"; window "paper" or "A:B"; tokens "all" |
// "pathology" | "i:j"; otsu "on"/"off"; order "code"/"paper".
std::vector<int> parse_layers(const std::string& text, int num_layers = 11);
HeatmapConfig make_heatmap_config(const std::string& layers, const std::string& window, const std::string& tokens,
                                  const std::string& otsu, double sigma, const std::string& order);
// "layers=3,4,6,7;window=paper;tokens=all;otsu=on;sigma=2.5;order=code" (any
// subset of keys; the others keep their defaults) -> config.
HeatmapConfig parse_heatmap_spec(const std::string& spec);

}  // namespace ldmg::pipeline
