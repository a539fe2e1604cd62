#include "sweep/sweep_report.h"

#include <filesystem>
#include <map>

#include "cache/attention_cache_format.h"
#include "cache/cache_manifest.h"
#include "core/check.h"
#include "core/log.h"
#include "io/file_bytes.h"
#include "io/hdf5_file.h"
#include "pipeline/image_scoring.h"
#include "sweep/json_text.h"
#include "sweep/unit_result.h"

namespace ldmg::sweep {

std::string results_dir(const std::string& run_dir, int T, const std::string& config_name) {
  return fmt::format("{}/results/T{}/{}", run_dir, T, config_name);
}

GatheredResults write_sweep_results(const std::string& run_dir, const SweepPlan& plan, const data::MsCxrDataset& dataset,
                                    const LedgerState& ledger, const std::vector<pipeline::HeatmapConfig>& configs,
                                    const pipeline::ReportOptions& report, const nlohmann::json& provenance) {
  const std::size_t n_cfg = configs.size();
  GatheredResults out;
  for (int T : plan.Ts) {
    std::map<int, std::vector<pipeline::PairRow>> by_pair;  // pair -> row per config
    for (const SweepUnit& u : plan.units) {
      if (u.T != T) continue;
      const auto status = ledger.status(u.id);
      LDMG_CHECK(status.has_value(), "unit {} (T={}, '{}') is not recorded in {}/ledger", u.id, u.T, u.path, run_dir);
      const std::string path = unit_result_path(run_dir, u.id);
      if (*status == UnitStatus::failed && !std::filesystem::exists(path)) {
        // Failed before its rows existed: the ledger's error stands for every pair.
        for (int i : u.pairs) {
          pipeline::PairRow r = pipeline::base_row(dataset[static_cast<std::size_t>(i)]);
          r.error = ledger.latest.at(u.id).error;
          by_pair[i].assign(n_cfg, r);
        }
        continue;
      }
      UnitResult res = read_unit_result(run_dir, u.id);
      LDMG_CHECK(res.rows.size() == u.pairs.size() && res.configs.size() == n_cfg, "{}: {} pairs x {} configs, the plan "
                 "has {} x {}", path, res.rows.size(), res.configs.size(), u.pairs.size(), n_cfg);
      for (std::size_t c = 0; c < n_cfg; ++c)
        LDMG_CHECK(res.configs[c] == configs[c].name(), "{}: config {} is '{}', expected '{}'", path, c, res.configs[c],
                   configs[c].name());
      for (std::size_t k = 0; k < u.pairs.size(); ++k) by_pair[u.pairs[k]] = std::move(res.rows[k]);
    }
    std::vector<std::vector<pipeline::PairRow>> per_cfg(n_cfg);
    for (int i : plan.pairs)
      for (std::size_t c = 0; c < n_cfg; ++c) per_cfg[c].push_back(std::move(by_pair.at(i).at(c)));
    std::vector<bool>& grounded = out.grounded[T];
    grounded.assign(dataset.size(), false);
    for (std::size_t k = 0; k < plan.pairs.size(); ++k) {
      const pipeline::PairRow& r = per_cfg.front()[k];
      out.failed_pairs += !r.error.empty();
      grounded.at(static_cast<std::size_t>(plan.pairs[k])) = !r.skipped && r.error.empty();
    }
    for (std::size_t c = 0; c < n_cfg; ++c) {
      const std::string dir = results_dir(run_dir, T, configs[c].name());
      pipeline::ReportOptions ro = report;
      ro.title = fmt::format("ldmground sweep, T={}, {}", T, configs[c].name());
      nlohmann::json pj = provenance;
      pj["T"] = T;
      pj["heatmap_config"] = configs[c].name();
      write_evaluation_report(dir, per_cfg[c], dataset.categories(), ro, pj);
      out.dirs.push_back(dir);
    }
  }
  return out;
}

void write_cache_index(const std::string& run_dir, const SweepPlan& plan, const LedgerState& ledger,
                       const GatheredResults* gathered) {
  const std::string dir = run_dir + "/cache";
  struct CachedPair {
    int pair, prompt;
  };
  std::vector<std::vector<CachedPair>> unit_pairs;  // per cached unit
  std::vector<const SweepUnit*> cached;
  for (const SweepUnit& u : plan.units) {
    if (ledger.status(u.id) != UnitStatus::ok) continue;
    if (!std::filesystem::exists(cache::cache_unit_path(dir, u.id))) continue;  // every pair skipped: nothing cached
    cached.push_back(&u);
  }
  std::filesystem::create_directories(dir);
  io::h5::File index = io::h5::File::create(dir + "/index.h5");
  index.set_string_attr("format", "ldmground.attention_cache_index");
  index.set_int_attr("schema_version", cache::kAttentionCacheSchemaVersion);
  {
  io::h5::Group by_unit = index.create_group("units");
  io::h5::Group by_pair = index.create_group("pairs");
  for (const SweepUnit* u : cached) {
    const std::string file = u->id + ".h5";
    by_unit.link_external(u->id, file, "/");
    io::h5::Group t = by_pair.require_group(fmt::format("T{}", u->T));
    // The cache holds the grounded pairs only, in unit order: which, from the
    // gathered rows or else from the unit's rows.
    std::vector<bool> grounded(u->pairs.size());
    if (gathered) {
      const std::vector<bool>& g = gathered->grounded.at(u->T);
      for (std::size_t k = 0; k < u->pairs.size(); ++k) grounded[k] = g.at(static_cast<std::size_t>(u->pairs[k]));
    } else {
      const UnitResult res = read_unit_result(run_dir, u->id);
      for (std::size_t k = 0; k < u->pairs.size(); ++k) {
        const pipeline::PairRow& r = res.rows.at(k).front();
        grounded[k] = !r.skipped && r.error.empty();
      }
    }
    std::vector<CachedPair>& pairs = unit_pairs.emplace_back();
    for (std::size_t k = 0; k < u->pairs.size(); ++k) {
      if (!grounded[k]) continue;
      const int p = static_cast<int>(pairs.size());
      t.link_external(std::to_string(u->pairs[k]), file, cache::cache_prompt_group(p));
      pairs.push_back({u->pairs[k], p});
    }
  }
  }  // groups closed before the commit
  index.commit();
  const nlohmann::json head = {{"format", cache::kCacheManifestFormat},
                               {"schema_version", cache::kAttentionCacheSchemaVersion}};
  const std::string manifest = dump1_with_array(head, "units", cached.size(), [&](std::size_t i) {
    const SweepUnit& u = *cached[i];
    nlohmann::json pairs = nlohmann::json::array();
    for (const CachedPair& p : unit_pairs[i]) pairs.push_back({{"pair", p.pair}, {"prompt", p.prompt}});
    return nlohmann::json{{"unit", u.id}, {"file", u.id + ".h5"}, {"T", u.T}, {"path", u.path}, {"pairs", pairs}};
  });
  io::write_file_atomic(dir + "/manifest.json", manifest + "\n");
  log::info("cache index: {} units in {}/index.h5 and manifest.json", cached.size(), dir);
}

}  // namespace ldmg::sweep
