#include "analysis/offline_analysis.h"

#include <torch/torch.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "analysis/scoring_grid.h"
#include "analysis/window_prefix.h"
#include "cache/attention_cache_reader.h"
#include "cache/cached_heatmap.h"
#include "core/check.h"
#include "core/log.h"
#include "core/progress.h"
#include "data/box_survival.h"
#include "grounding/postprocess.h"
#include "pipeline/image_scoring.h"
#include "pipeline/pair_scoring.h"
#include "sweep/mpi_env.h"

namespace ldmg::analysis {

namespace {

void put(std::vector<double>& v, std::size_t base, const metrics::PairMetrics& m, float thr, double margin,
         bool empty) {
  v[base + kAbsCnr] = m.abs_cnr;
  v[base + kCnr] = m.cnr;
  v[base + kMiou] = m.miou;
  v[base + kAuroc] = m.auroc;
  v[base + kAurocExact] = m.auroc_exact;
  v[base + kOtsuThreshold] = thr;
  v[base + kOtsuMargin] = margin;
  v[base + kTokensEmpty] = empty ? 1.0 : 0.0;
}

// One unit's grounded pairs x every config, into table.values.
void score_unit(const RunInputs& run, const AnalysisOptions& o, ScoreTable& table, const std::vector<std::size_t>& srcs) {
  const cache::AttentionCacheReader reader(run.cache_file(table.sources[srcs.front()].unit));
  const auto& spec = reader.spec();
  const int n_steps = static_cast<int>(spec.timesteps.size());
  std::set<int> layer_union;
  for (const auto& c : o.configs) layer_union.insert(c.layers.begin(), c.layers.end());
  const std::vector<int> layers(layer_union.begin(), layer_union.end());
  const std::size_t n_src = table.sources.size();
  for (std::size_t si : srcs) {
    const PairSource& s = table.sources[si];
    const data::Pair& p = run.dataset()[static_cast<std::size_t>(s.pair)];
    const auto& cp = spec.prompts.at(static_cast<std::size_t>(s.prompt));
    LDMG_CHECK(cp.pair_index == s.pair, "{}: prompt {} is pair {}, the unit's rows say pair {}", reader.path(), s.prompt,
               cp.pair_index, s.pair);
    const data::SurvivedBoxes surv = data::survive_boxes(p.boxes, p.csv_width, p.csv_height, 512, run.survival());
    LDMG_CHECK(!surv.skipped(), "pair {}: no box survives ({}) but the sweep grounded it", s.pair,
               data::to_string(run.survival()));
    const int W = static_cast<int>(cp.image_width), H = static_cast<int>(cp.image_height);
    if (!o.fast) {
      const cache::CachedPromptMaps maps(reader, s.prompt);
      for (std::size_t c = 0; c < o.configs.size(); ++c) {
        const auto tokens = offline_tokens(o.configs[c], cp.token_ids, run, run.class_name(p));
        const pipeline::ConfigHeatmap h = maps.heatmap(o.configs[c], tokens);
        const auto m = pipeline::score_heatmap(h.post.final, surv.original, W, H);
        put(table.values, (c * n_src + si) * kNumFields, m, h.post.threshold, h.post.otsu_margin, tokens.empty());
      }
      continue;
    }
    const ScoringGrid grid(W, H, surv.original);
    std::map<std::tuple<int, int, int>, WindowPrefix> prefixes;  // (token begin, end, order) -> sums
    for (std::size_t c = 0; c < o.configs.size(); ++c) {
      const auto& cfg = o.configs[c];
      const auto tokens = offline_tokens(cfg, cp.token_ids, run, run.class_name(p));
      const auto key = std::make_tuple(tokens.begin, tokens.end, static_cast<int>(cfg.order));
      auto it = prefixes.find(key);
      if (it == prefixes.end()) {
        it = prefixes.emplace(key, WindowPrefix(tokens, cfg.order)).first;
        it->second.add_cached(reader, s.prompt, layers);
      }
      const auto [b, e] = cfg.window(static_cast<int>(spec.T), n_steps);
      grounding::PostprocessOptions po;
      po.sigma = cfg.sigma;
      po.otsu = cfg.otsu;
      const auto post = grounding::postprocess_heatmap(it->second.average(cfg.layers, b, e), po);
      put(table.values, (c * n_src + si) * kNumFields, grid.score(post.final, o.exact_auroc), post.threshold, post.otsu_margin,
          tokens.empty());
    }
  }
}

}  // namespace

std::vector<pipeline::PairRow> ScoreTable::rows(std::size_t config, const data::MsCxrDataset& dataset) const {
  std::vector<pipeline::PairRow> out;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const PairSource& s = sources[i];
    if (s.prompt < 0) {
      out.push_back(s.fixed);
      continue;
    }
    const data::Pair& p = dataset[static_cast<std::size_t>(s.pair)];
    pipeline::PairRow r = pipeline::base_row(p);
    r.metrics.category = p.category;
    r.metrics.abs_cnr = at(config, i, kAbsCnr);
    r.metrics.cnr = at(config, i, kCnr);
    r.metrics.miou = at(config, i, kMiou);
    r.metrics.auroc = at(config, i, kAuroc);
    r.metrics.auroc_exact = at(config, i, kAurocExact);
    r.otsu_threshold = static_cast<float>(at(config, i, kOtsuThreshold));
    r.otsu_margin = at(config, i, kOtsuMargin);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<ScoreTable> analyze_run(const RunInputs& run, const AnalysisOptions& o, const sweep::MpiEnv* env) {
  LDMG_CHECK(!o.configs.empty(), "analyze: no heatmap config");
  const int rank = env ? env->rank() : 0, size = env ? env->size() : 1;
  std::vector<int> Ts = o.Ts.empty() ? run.plan().Ts : o.Ts;
  std::unique_ptr<sweep::SumReducer> reducer;
  if (env && size > 1) {
    reducer = sweep::make_sum_reducer(*env, o.reduce);
    log::info("analyze: scores reduced with {}", reducer->name());
  }
  std::vector<ScoreTable> out;
  for (int T : Ts) {
    LDMG_CHECK(std::find(run.plan().Ts.begin(), run.plan().Ts.end(), T) != run.plan().Ts.end(),
               "--steps {}: the run has T = {}", T, fmt::join(run.plan().Ts, ", "));
    ScoreTable table;
    table.T = T;
    table.configs = o.configs;
    table.sources = run.pair_sources(T);
    table.values.assign(o.configs.size() * table.sources.size() * kNumFields, 0.0);
    // Units with grounded pairs, in plan order; dealt round robin to the ranks.
    std::map<int, std::vector<std::size_t>> by_unit;
    for (std::size_t i = 0; i < table.sources.size(); ++i)
      if (table.grounded(i)) by_unit[table.sources[i].unit].push_back(i);
    std::vector<const std::vector<std::size_t>*> mine;
    int k = 0;
    for (const auto& [u, srcs] : by_unit)
      if (k++ % size == rank) mine.push_back(&srcs);
    Progress progress(fmt::format("analyze T={} ({} configs, {})", T, o.configs.size(), o.fast ? "fast" : "exact"),
                      static_cast<long>(mine.size()));
    std::string error;
    for (std::size_t j = 0; j < mine.size() && error.empty(); ++j) {
      try {
        score_unit(run, o, table, *mine[j]);
      } catch (const Error& e) {
        error = e.what();  // reported by every rank below, never a hang in the reduce
      }
      progress.update(static_cast<long>(j + 1));
    }
    progress.finish();
    if (env && size > 1) {
      LDMG_CHECK(env->all_true(error.empty()), "analyze failed on a rank{}{}", error.empty() ? "" : ": ", error);
      // Each value is set by exactly one rank and 0 elsewhere: the sum is exact.
      reducer->sum_to_root(table.values);
    } else {
      LDMG_CHECK(error.empty(), "{}", error);
    }
    out.push_back(std::move(table));
  }
  return out;
}

pipeline::ReportOptions report_options(const RunInputs& run) {
  pipeline::ReportOptions ro;
  ro.bootstrap.resamples = std::stoi(run.job().get_or("bootstrap", "1000"));
  ro.bootstrap.seed = std::stoull(run.job().get_or("seed", "0"));
  return ro;
}

std::vector<std::string> write_analysis_reports(const std::string& out_dir, const RunInputs& run,
                                                const std::vector<ScoreTable>& tables, const nlohmann::json& provenance) {
  std::vector<std::string> dirs;
  for (const auto& t : tables)
    for (std::size_t c = 0; c < t.configs.size(); ++c) {
      const std::string dir = fmt::format("{}/T{}/{}", out_dir, t.T, t.configs[c].name());
      pipeline::ReportOptions ro = report_options(run);
      ro.title = fmt::format("ldmground analyze, T={}, {}", t.T, t.configs[c].name());
      nlohmann::json pj = provenance;
      pj["T"] = t.T;
      pj["heatmap_config"] = t.configs[c].name();
      pipeline::write_evaluation_report(dir, t.rows(c, run.dataset()), run.dataset().categories(), ro, pj);
      dirs.push_back(dir);
    }
  return dirs;
}

}  // namespace ldmg::analysis
