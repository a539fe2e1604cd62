#include "analysis/run_inputs.h"

#include <filesystem>

#include "cache/attention_cache_format.h"
#include "core/check.h"
#include "io/file_bytes.h"
#include "pipeline/image_grounder.h"
#include "pipeline/image_scoring.h"
#include "pipeline/model_bundle.h"
#include "sweep/plan_reader.h"
#include "sweep/unit_result.h"

namespace ldmg::analysis {

namespace fs = std::filesystem;

RunInputs::RunInputs(const std::string& run_dir)
    : run_dir_(fs::absolute(run_dir).lexically_normal().string()),
      job_(JobIni::read(run_dir_ + "/job.ini")) {
  const std::string pp = sweep::plan_path(run_dir_);
  LDMG_CHECK(fs::exists(pp), "'{}' is not a sweep run folder: no plan.json", run_dir_);
  plan_ = sweep::read_plan_file(pp);
  ledger_ = sweep::read_ledgers(run_dir_);
  for (const auto& u : plan_.units)
    LDMG_CHECK(ledger_.status(u.id).has_value(), "unit {} (T={}, '{}') is not recorded in {}/ledger: finish the sweep "
               "first (ldmground sweep --job {}/job.ini)", u.id, u.T, u.path, run_dir_, run_dir_);
  dataset_ = std::make_unique<data::MsCxrDataset>(data::read_ms_cxr(job_.path("dataset", run_dir_)));
  survival_ = data::parse_survival_rule(job_.get_or("box-rule", "faithful"));
  class_name_override_ = job_.get_or("class-name", "");
  configs_ = job_heatmap_configs(job_);
  dicom_conversion_ = job_dicom_conversion(job_);
}

std::string RunInputs::class_name(const data::Pair& p) const {
  return class_name_override_.empty() ? p.category : class_name_override_;
}

const text::ClipTokenizer& RunInputs::tokenizer() const {
  if (!tokenizer_) tokenizer_ = text::ClipTokenizer::load(job_tokenizer_dir(job_, run_dir_));
  return *tokenizer_;
}

std::string RunInputs::cache_file(int unit) const {
  return cache::cache_unit_path(run_dir_ + "/cache", plan_.units.at(static_cast<std::size_t>(unit)).id);
}

std::vector<PairSource> RunInputs::pair_sources(int T) const {
  std::vector<PairSource> out;
  for (std::size_t ui = 0; ui < plan_.units.size(); ++ui) {
    const sweep::SweepUnit& u = plan_.units[ui];
    if (u.T != T) continue;
    const std::string rpath = sweep::unit_result_path(run_dir_, u.id);
    if (*ledger_.status(u.id) == sweep::UnitStatus::failed && !fs::exists(rpath)) {
      // Failed before its rows existed (as write_sweep_results): the ledger's error for every pair.
      for (int i : u.pairs) {
        PairSource s{i, static_cast<int>(ui), -1, pipeline::base_row(dataset()[static_cast<std::size_t>(i)])};
        s.fixed.error = ledger_.latest.at(u.id).error;
        out.push_back(std::move(s));
      }
      continue;
    }
    const sweep::UnitResult res = sweep::read_unit_result(run_dir_, u.id);
    LDMG_CHECK(res.rows.size() == u.pairs.size(), "{}: {} pairs, the plan has {}", rpath, res.rows.size(),
               u.pairs.size());
    int prompt = 0;
    for (std::size_t k = 0; k < u.pairs.size(); ++k) {
      LDMG_CHECK(!res.rows[k].empty(), "{}: pair {} has no rows", rpath, u.pairs[k]);
      const pipeline::PairRow& r = res.rows[k].front();
      PairSource s{u.pairs[k], static_cast<int>(ui), -1, {}};
      if (r.skipped || !r.error.empty()) {
        // Config-independent rows: identity + skipped/error, no metrics.
        s.fixed = pipeline::base_row(dataset()[static_cast<std::size_t>(u.pairs[k])]);
        s.fixed.skipped = r.skipped;
        s.fixed.error = r.error;
      } else {
        // The cache holds the grounded pairs only, in unit order (as write_cache_index).
        s.prompt = prompt++;
      }
      out.push_back(std::move(s));
    }
    if (prompt > 0)
      LDMG_CHECK(fs::exists(cache_file(static_cast<int>(ui))), "unit {} has {} grounded pair(s) but no cache file {}: "
                 "offline analysis needs a sweep run with --cache full (or window)", u.id, prompt,
                 cache_file(static_cast<int>(ui)));
  }
  // Plan order = dataset order of the pairs (units hold the pairs of one image).
  std::vector<PairSource> ordered;
  ordered.reserve(out.size());
  for (int i : plan_.pairs)
    for (auto& s : out)
      if (s.pair == i) {
        ordered.push_back(std::move(s));
        break;
      }
  LDMG_CHECK(ordered.size() == out.size(), "{}: the units at T={} do not cover the plan's pairs", run_dir_, T);
  return ordered;
}

std::vector<pipeline::HeatmapConfig> job_heatmap_configs(const JobIni& job) {
  // The same assembly as cli::grounding_options_from.
  std::vector<pipeline::HeatmapConfig> configs = {pipeline::make_heatmap_config(
      job.get_or("layers", "3,4,6,7"), job.get_or("window", "paper"), job.get_or("tokens", "all"),
      job.get_or("otsu", "on"), std::stod(job.get_or("sigma", "2.5")), job.get_or("order", "code"))};
  for (const auto& spec : job.all("config")) configs.push_back(pipeline::parse_heatmap_spec(spec));
  return configs;
}

std::string job_tokenizer_dir(const JobIni& job, const std::string& run_dir) {
  if (const std::string dir = job.get_or("tokenizer", ""); !dir.empty()) return dir;
  pipeline::ModelPaths paths;
  paths.fill_from_dir(job.path("model-dir", run_dir));
  return paths.tokenizer;
}

data::DicomConversion job_dicom_conversion(const JobIni& job) {
  return data::parse_dicom_conversion(job.get_or("dicom-conversion", "mimic_jpg"),
                                      fmt::format("{}: dicom-conversion", job.source()));
}

grounding::TokenSlice offline_tokens(const pipeline::HeatmapConfig& config, const std::vector<std::int64_t>& ids,
                                     const RunInputs& run, const std::string& class_name) {
  return pipeline::config_tokens(
      config, ids, [&]() -> const text::ClipTokenizer& { return run.tokenizer(); }, class_name);
}

}  // namespace ldmg::analysis
