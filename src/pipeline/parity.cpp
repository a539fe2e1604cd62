#include "pipeline/parity.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cmath>

#include "core/check.h"
#include "core/log.h"
#include "io/file_bytes.h"
#include "model/state_dict.h"
#include "pipeline/evaluation.h"

namespace ldmg::pipeline {

void ParityTally::check(double ours, double golden, double tol, const std::string& what) {
  const double err = std::abs(ours - golden);
  ++compared;
  if (std::isnan(ours) && std::isnan(golden)) return;
  max_err = std::max(max_err, std::isnan(err) ? INFINITY : err);
  if (!(err <= tol)) {
    ++failures;
    messages.push_back(fmt::format("{}: ours {} vs golden {} (|diff| {:.3g} > {:.0e})", what, ours, golden, err, tol));
  }
}

int ParityReport::failures() const {
  int n = 0;
  for (const auto& [_, t] : tallies) n += t.failures;
  return n;
}

std::string ParityReport::table() const {
  std::string s = fmt::format("parity vs golden/{} (T={}, {} pairs, {:.1f} s)\n  {:<22} {:>8} {:>12} {:>7}\n", golden,
                              T, pairs, seconds, "quantity", "compared", "max |diff|", "status");
  for (const auto& [name, t] : tallies)
    s += fmt::format("  {:<22} {:>8} {:>12.3g} {:>7}\n", name, t.compared, t.max_err, t.failures ? "FAIL" : "ok");
  for (const auto& [name, t] : tallies)
    for (const auto& m : t.messages) s += "  ! " + m + "\n";
  return s;
}

namespace {
// A [512,512] map vs the golden's [::8, ::8] subsample and float64 row/col sums.
void compare_heatmap(ParityTally& t, const at::Tensor& ours512, const model::StateDict& golden, const std::string& key,
                     double tol, const std::string& what, bool sums = true) {
  const auto s8 = golden.find(key + "_s8");
  if (s8 == golden.end()) return;
  const at::Tensor o = ours512.to(at::kDouble);
  const at::Tensor ours_s8 = o.slice(0, 0, 512, 8).slice(1, 0, 512, 8);
  const at::Tensor g = s8->second.to(at::kDouble);
  const at::Tensor both_nan = at::isnan(ours_s8).logical_and(at::isnan(g));
  const at::Tensor diff = (ours_s8 - g).abs().masked_fill(both_nan, 0.0);
  t.check(diff.max().item<double>(), 0.0, tol, what + " " + key + "_s8");
  for (const char* axis : {"_rowsum", "_colsum"}) {
    if (!sums) break;
    const auto gs = golden.find(key + axis);
    if (gs == golden.end()) continue;
    const at::Tensor ours = at::nan_to_num(o, 0.0).sum(std::string(axis) == "_rowsum" ? 1 : 0);
    const at::Tensor rel = (ours - gs->second.to(at::kDouble)).abs() / (gs->second.to(at::kDouble).abs() + 1.0);
    t.check(rel.max().item<double>(), 0.0, tol, what + " " + key + axis + " (relative)");
  }
}
}  // namespace

ParityReport check_parity(const std::string& fixtures, const std::string& golden_name, ModelBundle& models,
                          const ParityOptions& options) {
  const std::string gdir = fixtures + "/golden/" + golden_name;
  const auto g = nlohmann::json::parse(io::read_file_bytes(gdir + "/metrics.json"));
  ParityReport rep;
  rep.golden = golden_name;
  rep.T = g["T"].get<int>();

  EvaluateOptions eo;
  eo.dataset_csv = fixtures + "/dataset/ms_cxr.csv";
  eo.images_root = fixtures + "/dataset/images";
  eo.grounding.T = rep.T;
  eo.grounding.mode = options.mode;
  eo.grounding.stepper =
      g["stepper"].get<std::string>() == "new" ? diffusion::Stepper::New : diffusion::Stepper::Library;
  eo.fail_fast = true;

  std::map<std::string, nlohmann::json> by_key;
  for (const auto& e : g["per_sample"]) by_key[e["key"].get<std::string>()] = e;
  const double tol = options.metric_tolerance;

  // Heatmaps against the per-sample goldens: the normalised map before Otsu
  // (smooth in the inputs), and the final map where both thresholds agree.
  auto on_heatmap = [&](const std::string& key, const PairHeatmap& h, const std::string& what) {
    const auto it = by_key.find(key);
    if (it == by_key.end() || !it->second.contains("file")) return;
    const auto samples = model::load_state_dict(gdir + "/" + it->second["file"].get<std::string>());
    compare_heatmap(rep.tallies["normalised heatmap"], h.normalised, samples, "heatmap_norm", options.heatmap_tolerance,
                    what);
    const auto& thr = it->second["otsu_thresholds"];
    // Final map: where both thresholds agree, outside the band of pixels whose
    // normalised value is within our heatmap error of the threshold (those flip).
    if (!thr.empty() && !thr[0].is_null() && thr[0].get<double>() == h.otsu_threshold &&
        samples.count("heatmap_final_512_s8") && samples.count("heatmap_norm_s8")) {
      const at::Tensor ours = h.heatmap512.to(at::kDouble).slice(0, 0, 512, 8).slice(1, 0, 512, 8);
      const at::Tensor gold = samples.at("heatmap_final_512_s8").to(at::kDouble);
      const at::Tensor safe = (samples.at("heatmap_norm_s8").to(at::kDouble) - thr[0].get<double>()).abs() >
                              options.heatmap_tolerance;
      const at::Tensor diff = (ours - gold).abs().masked_fill(safe.logical_not(), 0.0);
      rep.tallies["final heatmap (s8, off the flip band)"].check(at::nan_to_num(diff, 0.0).max().item<double>(), 0.0,
                                                                 options.heatmap_tolerance, what + " heatmap_final_512_s8");
    }
  };

  const auto res = run_evaluation(models, eo, [&](const PairHeatmap& h) {
    on_heatmap(std::to_string(h.pair), h, fmt::format("pair {}", h.pair));
  });
  rep.seconds = res.seconds;
  const auto& rows = res.rows.at(0);
  rep.pairs = static_cast<int>(rows.size());

  for (const auto& [key, e] : by_key) {
    if (key.rfind("t3_", 0) == 0) continue;
    const int idx = e["pair_index"].get<int>();
    const PairRow& r = rows.at(idx);
    const std::string p = fmt::format("pair {}", idx);
    rep.tallies["skipped flag"].check(r.skipped, e["skipped"].get<bool>(), 0.0, p + " skipped");
    if (r.skipped || e["skipped"].get<bool>()) continue;
    const double margin = e["otsu_margin"].get<double>();
    const bool same_threshold = r.otsu_threshold == e["otsu_thresholds"][0].get<double>();
    rep.tallies["Otsu threshold"].check(r.otsu_threshold, e["otsu_thresholds"][0].get<double>(),
                                        margin > options.margin_floor ? 0.0 : 1.0 / 256, p + " Otsu threshold");
    const std::string group = same_threshold ? "" : " (threshold 1 bin off)";
    const double mtol = same_threshold ? tol : options.shifted_threshold_metric_tolerance;
    rep.tallies["|CNR|" + group].check(r.metrics.abs_cnr, e["CNR"].get<double>(), mtol, p + " |CNR|");
    rep.tallies["CNR" + group].check(r.metrics.cnr, e["CNR_nonabs"].get<double>(), mtol, p + " CNR");
    rep.tallies["mIoU" + group].check(r.metrics.miou, e["mIoU"].get<double>(), mtol, p + " mIoU");
    rep.tallies["AUC-ROC" + group].check(r.metrics.auroc, e["AUC_ROC"].get<double>(), mtol, p + " AUC-ROC");
    rep.tallies["AUC-ROC exact" + group].check(r.metrics.auroc_exact,
                                               e["AUC_ROC_exact_nan_excluded_NOT_OFFICIAL"].get<double>(), mtol,
                                               p + " exact AUC");
  }

  // eval_ldm.py's final lines.
  std::vector<metrics::PairMetrics> scored;
  for (const auto& r : rows)
    if (!r.skipped) scored.push_back(r.metrics);
  const auto cats = metrics::per_category(scored, res.class_order);
  const auto s = metrics::summarize(cats);
  const std::pair<const char*, const metrics::MeanStd*> lines[] = {
      {"abs_CNR", &s.abs_cnr}, {"CNR", &s.cnr}, {"mIoU", &s.miou}, {"AUC_ROC", &s.auroc}};
  for (const auto& [key, ms] : lines) {
    const auto& gs = g["summary"][key];
    for (const char* stat : {"mean", "std"}) {
      const double ours = std::string(stat) == "mean" ? ms->mean : ms->std;
      const double gold = gs[stat].is_null() ? NAN : gs[stat].get<double>();
      rep.tallies["summary"].check(ours, gold, tol, fmt::format("summary {} {}", key, stat));
    }
  }

  // Table III: pathology tokens, with the run's class name.
  if (options.table3 && g.contains("table3"))
    for (const auto& e : g["table3"]) {
      EvaluateOptions one = eo;
      one.only_pairs = {e["pair_index"].get<int>()};
      one.class_name_override = e["cls_name"].get<std::string>();
      one.grounding.configs[0].tokens = TokenMode::pathology;
      const std::string key = fmt::format("t3_{}", e["pair_index"].get<int>());
      const std::string p = fmt::format("Table III pair {} ({})", e["pair_index"].get<int>(), one.class_name_override);
      const auto r3 = run_evaluation(models, one, [&](const PairHeatmap& h) { on_heatmap(key, h, p); });
      const PairRow& row = r3.rows.at(0).at(0);
      auto& t = rep.tallies["Table III"];
      t.check(row.metrics.abs_cnr, e["CNR"].get<double>(), tol, p + " |CNR|");
      t.check(row.metrics.cnr, e["CNR_nonabs"].get<double>(), tol, p + " CNR");
      t.check(row.metrics.miou, e["mIoU"].get<double>(), tol, p + " mIoU");
      t.check(row.metrics.auroc, e["AUC_ROC"].get<double>(), tol, p + " AUC-ROC");
    }
  return rep;
}

}  // namespace ldmg::pipeline
