#include "analysis/config_search.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <algorithm>
#include <random>

#include "analysis/search_space.h"
#include "core/check.h"
#include "data/csv.h"

namespace ldmg::analysis {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

const char* metric_name(ScoreField f) {
  switch (f) {
    case kAbsCnr: return "|CNR|";
    case kCnr: return "CNR";
    case kMiou: return "mIoU";
    case kAuroc: return "AUC-ROC";
    default: return "?";
  }
}

// Mean over `items` (source indices) of config c's metric; NaN values skipped
// (`used`, when given, receives how many values were not).
double mean_of(const ScoreTable& t, std::size_t c, const std::vector<std::size_t>& items, ScoreField f,
               std::size_t* used = nullptr) {
  double s = 0;
  std::size_t n = 0;
  for (std::size_t i : items) {
    const double v = t.at(c, i, f);
    if (std::isnan(v)) continue;
    s += v;
    ++n;
  }
  if (used) *used = n;
  return n ? s / static_cast<double>(n) : kNaN;
}

// The grounded sources of each category of the dataset, in dataset category order.
std::vector<std::vector<std::size_t>> category_items(const ScoreTable& t, const data::MsCxrDataset& dataset) {
  const auto& cats = dataset.categories();
  std::vector<std::vector<std::size_t>> out(cats.size());
  for (std::size_t i = 0; i < t.sources.size(); ++i) {
    if (!t.grounded(i)) continue;
    const std::string& cat = dataset[static_cast<std::size_t>(t.sources[i].pair)].category;
    const auto it = std::find(cats.begin(), cats.end(), cat);
    LDMG_ASSERT(it != cats.end(), "pair {}: category '{}' not in the dataset's list", t.sources[i].pair, cat);
    out[static_cast<std::size_t>(it - cats.begin())].push_back(i);
  }
  return out;
}

// Argmax over configs; ties and NaN -> the earlier config.
std::size_t best_config(const ScoreTable& t, const std::vector<std::size_t>& items, ScoreField f) {
  std::size_t best = 0;
  double best_v = -std::numeric_limits<double>::infinity();
  for (std::size_t c = 0; c < t.configs.size(); ++c) {
    const double v = mean_of(t, c, items, f);
    if (v > best_v) {
      best_v = v;
      best = c;
    }
  }
  return best;
}

double num(const nlohmann::json& j) { return j.is_null() ? kNaN : j.get<double>(); }
nlohmann::json jnum(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
}  // namespace

ScoreField parse_search_metric(const std::string& s) {
  if (s == "miou") return kMiou;
  if (s == "cnr" || s == "abs-cnr") return kAbsCnr;
  if (s == "signed-cnr") return kCnr;
  if (s == "auroc") return kAuroc;
  LDMG_FAIL("--metric: expected miou, cnr (|CNR|), signed-cnr or auroc, got '{}'", s);
}

std::vector<int> assign_folds(std::size_t n, int folds, std::uint64_t seed) {
  LDMG_CHECK(folds >= 1, "--folds must be at least 1, got {}", folds);
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 rng(seed);  // the engine is fully specified by the standard; the distribution is ours
  for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  std::vector<int> fold(n);
  for (std::size_t k = 0; k < n; ++k) fold[order[k]] = static_cast<int>(k % static_cast<std::size_t>(folds));
  return fold;
}

std::vector<CategorySearch> search_configs(const ScoreTable& t, const data::MsCxrDataset& dataset,
                                           const SearchOptions& o, int paper_default) {
  std::vector<CategorySearch> out;
  const auto by_category = category_items(t, dataset);
  for (std::size_t k = 0; k < by_category.size(); ++k) {
    CategorySearch r;
    r.category = dataset.categories()[k];
    const std::vector<std::size_t>& items = by_category[k];
    r.n = items.size();
    if (items.empty()) {
      r.best_score = r.cv_score = r.default_score = kNaN;
      out.push_back(r);
      continue;
    }
    r.best = best_config(t, items, o.metric);
    r.best_score = mean_of(t, r.best, items, o.metric);
    r.default_score = paper_default >= 0 ? mean_of(t, static_cast<std::size_t>(paper_default), items, o.metric) : kNaN;
    r.folds = items.size() < 2 ? 0 : std::min<int>(o.folds, static_cast<int>(items.size()));
    r.cv_score = kNaN;
    if (r.folds >= 2) {
      const std::vector<int> fold = assign_folds(items.size(), r.folds, o.seed);
      double held_sum = 0;
      std::size_t held_n = 0;
      for (int f = 0; f < r.folds; ++f) {
        std::vector<std::size_t> train, test;
        for (std::size_t k = 0; k < items.size(); ++k) (fold[k] == f ? test : train).push_back(items[k]);
        const std::size_t c = best_config(t, train, o.metric);
        r.fold_choice.push_back(c);
        for (std::size_t i : test) {
          const double v = t.at(c, i, o.metric);
          if (std::isnan(v)) continue;
          held_sum += v;
          ++held_n;
        }
      }
      r.cv_score = held_n ? held_sum / static_cast<double>(held_n) : kNaN;
    }
    out.push_back(r);
  }
  return out;
}

nlohmann::json search_json(const ScoreTable& t, const std::vector<CategorySearch>& res, const SearchOptions& o,
                           const nlohmann::json& provenance) {
  nlohmann::json j;
  j["format"] = "ldmground.search";
  j["schema_version"] = 1;
  j["provenance"] = provenance;
  j["T"] = t.T;
  j["metric"] = metric_name(o.metric);
  j["folds"] = o.folds;
  j["seed"] = o.seed;
  j["configs_evaluated"] = t.configs.size();
  nlohmann::json cats = nlohmann::json::array();
  // Averages over the categories where each is defined (CV needs >= 2 pairs).
  double cv = 0, best = 0, def = 0;
  int n_cv = 0, n_best = 0, n_def = 0;
  for (const auto& r : res) {
    nlohmann::json c = {{"category", r.category}, {"n", r.n}, {"folds", r.folds}};
    if (r.n) {
      c["in_sample_best"] = {{"config", t.configs[r.best].name()}, {"spec", heatmap_spec(t.configs[r.best])},
                             {"score", jnum(r.best_score)}};
      nlohmann::json fc = nlohmann::json::array();
      for (auto k : r.fold_choice) fc.push_back(t.configs[k].name());
      c["cv"] = {{"score", jnum(r.cv_score)}, {"fold_choices", fc}};
      c["paper_default"] = jnum(r.default_score);
    }
    if (!std::isnan(r.cv_score)) cv += r.cv_score, ++n_cv;
    if (!std::isnan(r.best_score)) best += r.best_score, ++n_best;
    if (!std::isnan(r.default_score)) def += r.default_score, ++n_def;
    cats.push_back(c);
  }
  j["categories"] = cats;
  j["average"] = {{"cv", jnum(cv / n_cv)}, {"in_sample_best", jnum(best / n_best)},
                  {"paper_default", jnum(def / n_def)}, {"categories_with_cv", n_cv}};
  return j;
}

std::string search_markdown(const nlohmann::json& j) {
  auto f = [](const nlohmann::json& v) { return v.is_null() ? std::string("n/a") : fmt::format("{:.4f}", v.get<double>()); };
  std::string out = fmt::format("# Config search, T={}, metric {}\n\n{} configs; {}-fold cross-validation per "
                                "pathology (seed {}). CV = mean held-out score of the config chosen on the other "
                                "folds; in-sample = chosen and scored on all pairs (optimistic).\n\n",
                                j["T"].get<int>(), j["metric"].get<std::string>(), j["configs_evaluated"].get<int>(),
                                j["folds"].get<int>(), j["seed"].get<std::uint64_t>());
  out += "| Pathology | n | CV | in-sample best | paper default | best config |\n|---|---|---|---|---|---|\n";
  for (const auto& c : j["categories"]) {
    if (c["n"].get<std::size_t>() == 0) {
      out += fmt::format("| {} | 0 | n/a | n/a | n/a | |\n", c["category"].get<std::string>());
      continue;
    }
    out += fmt::format("| {} | {} | {} | {} | {} | `{}` |\n", c["category"].get<std::string>(), c["n"].get<int>(),
                       f(c["cv"]["score"]), f(c["in_sample_best"]["score"]), f(c["paper_default"]),
                       c["in_sample_best"]["config"].get<std::string>());
  }
  const auto& a = j["average"];
  out += fmt::format("| **Avg** | | {} | {} | {} | |\n\nAvg: mean over the pathologies where defined (CV over the {} "
                     "with >= 2 scored pairs).\n",
                     f(a["cv"]), f(a["in_sample_best"]), f(a["paper_default"]), a["categories_with_cv"].get<int>());
  if (j.contains("throughput")) {
    const auto& tp = j["throughput"];
    out += fmt::format("\n{} pair-configs in {:.2f} s on {} core(s): {:.1f} configs/s per core (per pair).\n",
                       tp["pair_configs"].get<long>(), num(tp["seconds"]), tp["cores"].get<int>(),
                       num(tp["pair_configs_per_s_per_core"]));
  }
  return out;
}

std::string best_ini(const ScoreTable& t, const std::vector<CategorySearch>& res, const SearchOptions& o) {
  std::string out = fmt::format("# ldmground search: in-sample best heatmap config per pathology, T={}, metric {}\n"
                                "# use: ldmground analyze --run RUN --grid best.ini (or --job best.ini)\n"
                                "steps = {}\n",
                                t.T, metric_name(o.metric), t.T);
  std::vector<std::size_t> written;
  for (const auto& r : res) {
    if (r.n == 0) continue;
    out += fmt::format("# {}: {} = {:.4f} in-sample, {:.4f} cross-validated\n", r.category, metric_name(o.metric),
                       r.best_score, r.cv_score);
    if (std::find(written.begin(), written.end(), r.best) != written.end()) continue;
    written.push_back(r.best);
    out += fmt::format("config = {}\n", heatmap_spec(t.configs[r.best]));
  }
  return out;
}

std::string search_scores_csv(const ScoreTable& t, const data::MsCxrDataset& dataset, const SearchOptions& o,
                              int num_steps) {
  auto num = [](double v) { return std::isnan(v) ? std::string("nan") : fmt::format("{}", v); };
  const auto by_category = category_items(t, dataset);
  std::string out = "T,metric,config,layers,window,window_begin,window_end,tokens,otsu,sigma,order,category,n,score\n";
  for (std::size_t c = 0; c < t.configs.size(); ++c) {
    // "layers=3,4,6,7;window=paper;..." -> the values, in heatmap_spec's key order.
    std::vector<std::string> spec;
    const std::string s = heatmap_spec(t.configs[c]);
    for (std::size_t b = 0; b <= s.size();) {
      const std::size_t e = std::min(s.find(';', b), s.size());
      const std::string kv = s.substr(b, e - b);
      LDMG_ASSERT(kv.find('=') != std::string::npos, "heatmap_spec '{}'", s);
      spec.push_back(kv.substr(kv.find('=') + 1));
      b = e + 1;
    }
    LDMG_ASSERT(spec.size() == 6, "heatmap_spec '{}': expected layers, window, tokens, otsu, sigma, order", s);
    const auto [wb, we] = t.configs[c].window(t.T, num_steps);
    const std::string head = fmt::format("{},{},{},{},{},{},{},{},{},{},{}", t.T, data::csv_field(metric_name(o.metric)),
                                         data::csv_field(t.configs[c].name()), data::csv_field(spec[0]), spec[1], wb, we,
                                         spec[2], spec[3], spec[4], spec[5]);
    double sum = 0;
    std::size_t n_sum = 0, n_cat = 0;
    for (std::size_t k = 0; k < by_category.size(); ++k) {
      std::size_t n = 0;
      const double m = mean_of(t, c, by_category[k], o.metric, &n);
      out += fmt::format("{},{},{},{}\n", head, data::csv_field(dataset.categories()[k]), n, num(m));
      if (std::isnan(m)) continue;
      sum += m, n_sum += n, ++n_cat;
    }
    out += fmt::format("{},Average,{},{}\n", head, n_sum, num(n_cat ? sum / static_cast<double>(n_cat) : kNaN));
  }
  return out;
}

}  // namespace ldmg::analysis
