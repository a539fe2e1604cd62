#pragma once
// `search`: the best heatmap config per pathology, honestly estimated.
// For each category, K-fold cross-validation over its scored pairs: on each
// fold the config with the best mean metric on the other K-1 folds is chosen
// and scored on the held-out fold; the CV score is the mean over all pairs of
// their held-out scores. Next to it: the in-sample best (chosen and scored on
// every pair: optimistic) and the paper's default config.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "analysis/offline_analysis.h"

namespace ldmg::analysis {

struct SearchOptions {
  int folds = 5;
  std::uint64_t seed = 0;
  ScoreField metric = kMiou;  // kAbsCnr, kCnr, kMiou, kAuroc
};

ScoreField parse_search_metric(const std::string& s);  // miou | cnr (= |CNR|) | signed-cnr | auroc

struct CategorySearch {
  std::string category;
  std::size_t n = 0;          // scored pairs
  int folds = 0;              // K used (fewer pairs than K: leave-one-out; < 2 pairs: 0, no CV)
  std::size_t best = 0;       // in-sample best config (index into the table's configs)
  double best_score = 0;      // its mean over all pairs (in-sample)
  double cv_score = 0;        // mean held-out score (NaN without CV)
  std::vector<std::size_t> fold_choice;  // config chosen on each fold
  double default_score = 0;   // the paper default config's mean (NaN if not in the table)
};

// `paper_default`: index of the paper's config in table.configs, or -1.
std::vector<CategorySearch> search_configs(const ScoreTable& table, const data::MsCxrDataset& dataset,
                                           const SearchOptions& options, int paper_default);

// Deterministic fold of each of n items (Fisher-Yates with mt19937_64(seed)).
std::vector<int> assign_folds(std::size_t n, int folds, std::uint64_t seed);

nlohmann::json search_json(const ScoreTable& table, const std::vector<CategorySearch>& result,
                           const SearchOptions& options, const nlohmann::json& provenance);
std::string search_markdown(const nlohmann::json& j);
// A job file with one 'config = SPEC' per distinct in-sample best, each
// preceded by the categories it wins (analyze --grid/--job read it).
std::string best_ini(const ScoreTable& table, const std::vector<CategorySearch>& result, const SearchOptions& options);

// scores.csv: every evaluated config's in-sample score per pathology (the
// numbers the search compares; analysis/plot_search.py draws them), one row
// per config x category in table and dataset order, then a row per config
// with category "Average" (the mean over the pathologies where the score is
// defined, as search.json's average). Columns:
//   T,metric,config,layers,window,window_begin,window_end,tokens,otsu,sigma,order,category,n,score
// layers..order spell the config as heatmap_spec does; window_begin/end is
// the resolved step window [begin, end) for `num_steps` inversion steps;
// n = pairs in the mean (non-NaN values; Average: their sum over the
// categories); score = their mean, "nan" when n = 0. Shortest round-trip
// decimals: the values equal search.json's bit for bit.
std::string search_scores_csv(const ScoreTable& table, const data::MsCxrDataset& dataset, const SearchOptions& options,
                              int num_steps);

}  // namespace ldmg::analysis
