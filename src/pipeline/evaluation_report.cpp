#include "pipeline/evaluation_report.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "core/check.h"
#include "data/csv.h"
#include "io/file_bytes.h"

namespace ldmg::pipeline {

namespace {

std::string num(double v) { return std::isnan(v) ? "nan" : fmt::format("{}", v); }

nlohmann::json num_json(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

std::vector<metrics::PairMetrics> scored(const std::vector<PairRow>& rows) {
  std::vector<metrics::PairMetrics> out;
  for (const auto& r : rows)
    if (!r.skipped && r.error.empty()) out.push_back(r.metrics);
  return out;
}

struct MetricSpec {
  metrics::Metric metric;
  const char* key;
  const char* label;
  double scale;  // 100 where the paper reports %
};
constexpr MetricSpec kMetrics[] = {{metrics::Metric::AbsCnr, "abs_cnr", "\\|CNR\\|", 1.0},
                                   {metrics::Metric::Cnr, "cnr", "CNR", 1.0},
                                   {metrics::Metric::Miou, "miou", "mIoU %", 100.0},
                                   {metrics::Metric::Auroc, "auroc", "AUC-ROC %", 100.0},
                                   {metrics::Metric::AurocExact, "auroc_exact", "AUC-ROC exact %", 100.0}};
}  // namespace

std::string pairs_csv(const std::vector<PairRow>& rows, const std::string& provenance_line) {
  std::string out;
  if (!provenance_line.empty()) out += "# " + provenance_line + "\n";
  out += "pair,dicom_id,path,category,prompt,skipped,cnr_abs,cnr,miou,auroc,auroc_exact\n";
  for (const auto& r : rows) {
    out += fmt::format("{},{},{},{},{},", r.pair, data::csv_field(r.dicom_id), data::csv_field(r.path), data::csv_field(r.category),
                       data::csv_field(r.prompt));
    if (!r.error.empty())
      out += "error,,,,,\n";
    else if (r.skipped)
      out += "1,,,,,\n";
    else
      out += fmt::format("0,{},{},{},{},{}\n", num(r.metrics.abs_cnr), num(r.metrics.cnr), num(r.metrics.miou),
                         num(r.metrics.auroc), num(r.metrics.auroc_exact));
  }
  return out;
}

nlohmann::json summary_json(const std::vector<PairRow>& rows, const std::vector<std::string>& class_order,
                            const ReportOptions& options, const nlohmann::json& provenance) {
  const auto pairs = scored(rows);
  const auto cats = metrics::per_category(pairs, class_order);
  const auto summary = metrics::summarize(cats);
  nlohmann::json j;
  j["title"] = options.title;
  j["provenance"] = provenance;
  std::size_t n_skipped = 0, n_failed = 0;
  for (const auto& r : rows) {
    n_skipped += r.skipped;
    n_failed += !r.error.empty();
  }
  j["pairs"] = {{"total", rows.size()}, {"scored", pairs.size()}, {"skipped", n_skipped}, {"failed", n_failed}};
  j["bootstrap"] = {{"resamples", options.bootstrap.resamples},
                    {"seed", options.bootstrap.seed},
                    {"confidence", options.bootstrap.confidence},
                    {"scheme", "pairs resampled with replacement within each category; average = macro mean of "
                               "the resampled category means; percentile interval"}};
  nlohmann::json jc = nlohmann::json::array();
  for (const auto& c : cats) {
    nlohmann::json e;
    e["name"] = c.name;
    e["n"] = c.n;
    jc.push_back(e);
  }
  for (const auto& spec : kMetrics) {
    // --bootstrap 0: no intervals (null in JSON, no table in Markdown).
    metrics::BootstrapResult boot;
    if (options.bootstrap.resamples > 0) {
      boot = metrics::bootstrap_ci(pairs, class_order, spec.metric, options.bootstrap);
    } else {
      const double nan = std::numeric_limits<double>::quiet_NaN();
      boot.per_category.assign(cats.size(), {nan, nan});
      boot.average = {nan, nan};
    }
    for (std::size_t i = 0; i < cats.size(); ++i) {
      const auto& ms = cats[i].get(spec.metric);
      jc[i][spec.key] = {{"mean", num_json(ms.mean)},
                         {"std", num_json(ms.std)},
                         {"ci95", {num_json(boot.per_category[i].low), num_json(boot.per_category[i].high)}}};
    }
    const auto& s = summary.get(spec.metric);
    j["average"][spec.key] = {{"mean", num_json(s.mean)},
                              {"std", num_json(s.std)},
                              {"ci95", {num_json(boot.average.low), num_json(boot.average.high)}}};
  }
  j["categories"] = jc;
  j["official_log"] = metrics::official_summary_text(cats, rows.size());
  return j;
}

std::string summary_markdown(const nlohmann::json& s) {
  auto cell = [](const nlohmann::json& v, double scale) -> std::string {
    if (v.is_null()) return "–";
    return fmt::format("{:.2f}", v.get<double>() * scale);
  };
  std::string md = fmt::format("# {}\n\n", s["title"].get<std::string>());
  md += fmt::format("Pairs: {} total, {} scored, {} skipped (no box survived preprocessing), {} failed.\n\n",
                    s["pairs"]["total"].get<int>(), s["pairs"]["scored"].get<int>(), s["pairs"]["skipped"].get<int>(),
                    s["pairs"]["failed"].get<int>());
  md += "| metric |";
  std::string rule = "|---|";
  for (const auto& c : s["categories"]) {
    md += fmt::format(" {} (N={}) |", c["name"].get<std::string>(), c["n"].get<int>());
    rule += "---|";
  }
  md += " Avg |\n" + rule + "---|\n";
  for (const auto& spec : kMetrics) {
    md += fmt::format("| {} |", spec.label);
    for (const auto& c : s["categories"])
      md += fmt::format(" {} ± {} |", cell(c[spec.key]["mean"], spec.scale), cell(c[spec.key]["std"], spec.scale));
    const auto& a = s["average"][spec.key];
    md += fmt::format(" {} ± {} |\n", cell(a["mean"], spec.scale), cell(a["std"], spec.scale));
  }
  md += "\nmean ± population std over pairs (categories) and over category means (Avg, macro), as the authors' "
        "eval_ldm.py.";
  const bool intervals = s["bootstrap"]["resamples"].get<int>() > 0;
  if (intervals) {
    md += " Bootstrap 95% intervals:\n\n| metric |";
    for (const auto& c : s["categories"]) md += fmt::format(" {} |", c["name"].get<std::string>());
    md += " Avg |\n" + rule + "---|\n";
  } else {
    md += "\n";
  }
  for (const auto& spec : kMetrics) {
    if (!intervals) break;
    md += fmt::format("| {} |", spec.label);
    for (const auto& c : s["categories"])
      md += fmt::format(" [{}, {}] |", cell(c[spec.key]["ci95"][0], spec.scale), cell(c[spec.key]["ci95"][1], spec.scale));
    const auto& a = s["average"][spec.key]["ci95"];
    md += fmt::format(" [{}, {}] |\n", cell(a[0], spec.scale), cell(a[1], spec.scale));
  }
  md += fmt::format("\nAuthors' log lines:\n\n```\n{}```\n\nProvenance:\n\n```json\n{}\n```\n",
                    s["official_log"].get<std::string>(), s["provenance"].dump(2));
  return md;
}

void write_evaluation_report(const std::string& out_dir, const std::vector<PairRow>& rows,
                             const std::vector<std::string>& class_order, const ReportOptions& options,
                             const nlohmann::json& provenance) {
  std::filesystem::create_directories(out_dir);
  const nlohmann::json s = summary_json(rows, class_order, options, provenance);
  // pairs.csv stays plain CSV (pandas/our reader without comment handling);
  // its provenance is summary.json's, written next to it.
  io::write_file_atomic(out_dir + "/pairs.csv", pairs_csv(rows, ""));
  io::write_file_atomic(out_dir + "/summary.json", s.dump(2) + "\n");
  io::write_file_atomic(out_dir + "/summary.md", summary_markdown(s));
  io::write_file_atomic(out_dir + "/summary.log", s["official_log"].get<std::string>());
}

}  // namespace ldmg::pipeline
