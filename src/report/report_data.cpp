#include "report/report_data.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>

#include "analysis/job_ini.h"
#include "analysis/run_inputs.h"
#include "core/check.h"
#include "core/log.h"
#include "data/csv.h"
#include "data/ms_cxr.h"
#include "io/file_bytes.h"
#include "pipeline/evaluation_report.h"
#include "pipeline/heatmap_config.h"
#include "sweep/ledger.h"
#include "sweep/plan_reader.h"
#include "sweep/sweep_plan.h"
#include "sweep/sweep_report.h"
#include "sweep/unit_result.h"

namespace ldmg::report {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json make_row(int source, int pair, const std::string& category, const std::string& prompt, const std::string& dicom,
              const std::string& status) {
  json row = json::array();
  for (int c = 0; c < kRowColumnCount; ++c) row.push_back(nullptr);
  row[kSource] = source;
  row[kPair] = pair;
  row[kCategory] = category;
  row[kPrompt] = prompt;
  row[kDicom] = dicom;
  row[kStatus] = status;
  return row;
}

json row_from_pair_row(int source, const pipeline::PairRow& r) {
  const std::string status = !r.error.empty() ? "failed" : r.skipped ? "skipped" : "ok";
  json row = make_row(source, r.pair, r.category, r.prompt, r.dicom_id, status);
  if (status == "ok") {
    row[kAbsCnr] = number_or_null(r.metrics.abs_cnr);
    row[kCnr] = number_or_null(r.metrics.cnr);
    row[kMiou] = number_or_null(r.metrics.miou);
    row[kAuroc] = number_or_null(r.metrics.auroc);
    row[kOtsu] = number_or_null(r.otsu_threshold);
  }
  if (!r.error.empty()) row[kError] = r.error;
  return row;
}

// summary.json as the page shows it: the numbers, not the provenance or the log.
json summary_for_page(json s) {
  s.erase("provenance");
  s.erase("official_log");
  return s;
}

json read_json_file(const std::string& path) {
  const std::string text = io::read_file_bytes(path);
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  LDMG_CHECK(!j.is_discarded(), "'{}' is not valid JSON", path);
  return j;
}

// job.ini as {key: value} ({key: [values]} for repeated keys), comments dropped.
json job_to_json(const std::string& path) {
  json j = json::object();
  const std::string text = io::read_file_bytes(path);
  std::size_t b = 0;
  while (b < text.size()) {
    std::size_t e = text.find('\n', b);
    if (e == std::string::npos) e = text.size();
    const std::string line = analysis::trim(text.substr(b, e - b));
    b = e + 1;
    if (line.empty() || line[0] == '#') continue;
    const std::size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = analysis::trim(line.substr(0, eq)), value = analysis::trim(line.substr(eq + 1));
    if (!j.contains(key)) {
      j[key] = value;
    } else {
      if (!j[key].is_array()) j[key] = json::array({j[key]});
      j[key].push_back(value);
    }
  }
  return j;
}

json read_jsonl(const std::string& path) {
  json lines = json::array();
  if (!fs::exists(path)) return lines;
  const std::string text = io::read_file_bytes(path);
  std::size_t b = 0;
  while (b < text.size()) {
    std::size_t e = text.find('\n', b);
    if (e == std::string::npos) e = text.size();
    json j = json::parse(text.substr(b, e - b), nullptr, false);
    if (!j.is_discarded()) lines.push_back(std::move(j));  // a torn last line of a running sweep
    b = e + 1;
  }
  return lines;
}

// The folders under `root` (itself included, two levels down: analyze's
// T<T>/<config>/) that hold an evaluate-format summary.json + pairs.csv.
std::vector<fs::path> summary_dirs(const fs::path& root) {
  std::vector<fs::path> dirs;
  auto holds = [](const fs::path& d) { return fs::exists(d / "summary.json") && fs::exists(d / "pairs.csv"); };
  if (holds(root)) return {root};
  std::vector<fs::path> level1;
  for (const auto& e : fs::directory_iterator(root))
    if (e.is_directory()) level1.push_back(e.path());
  std::sort(level1.begin(), level1.end());
  for (const auto& d1 : level1) {
    if (holds(d1)) {
      dirs.push_back(d1);
      continue;
    }
    std::vector<fs::path> level2;
    for (const auto& e : fs::directory_iterator(d1))
      if (e.is_directory() && holds(e.path())) level2.push_back(e.path());
    std::sort(level2.begin(), level2.end());
    dirs.insert(dirs.end(), level2.begin(), level2.end());
  }
  return dirs;
}

std::vector<fs::path> pngs_in(const fs::path& root) {
  std::vector<fs::path> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    if (it.depth() >= 1) it.disable_recursion_pending();  // the folder and one below (figs/)
    if (it->is_regular_file() && it->path().extension() == ".png") out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::vector<json> rows_from_pairs_csv(const std::string& path, int source) {
  const data::CsvTable t = data::parse_csv(
      [&] {
        // evaluate may put one "# provenance" line first.
        std::string text = io::read_file_bytes(path);
        if (!text.empty() && text[0] == '#') text.erase(0, std::min(text.size(), text.find('\n') + 1));
        return text;
      }(),
      path);
  auto col = [&](const char* name) {
    const int c = t.column(name);
    LDMG_CHECK(c >= 0,
               "'{}': no column '{}' (expected evaluate's pairs.csv: pair,dicom_id,path,category,prompt,"
               "skipped,cnr_abs,cnr,miou,auroc,auroc_exact)",
               path, name);
    return c;
  };
  const int c_pair = col("pair"), c_dicom = col("dicom_id"), c_cat = col("category"), c_prompt = col("prompt"),
            c_skipped = col("skipped"), c_abs = col("cnr_abs"), c_cnr = col("cnr"), c_miou = col("miou"),
            c_auroc = col("auroc");
  auto number = [&](const data::CsvRecord& r, int c) -> json {
    const std::string& f = r.fields[c];
    if (f.empty() || f == "nan") return nullptr;
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(f, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    LDMG_CHECK(used == f.size(), "'{}' line {}: column '{}' is '{}', expected a number", path, r.line, t.header[c], f);
    return number_or_null(v);
  };
  std::vector<json> rows;
  for (const data::CsvRecord& r : t.rows) {
    const json pair = number(r, c_pair);
    LDMG_CHECK(pair.is_number(), "'{}' line {}: no pair index", path, r.line);
    const std::string& sk = r.fields[c_skipped];
    const std::string status = sk == "error" ? "failed" : sk == "1" ? "skipped" : "ok";
    LDMG_CHECK(sk == "error" || sk == "1" || sk == "0", "'{}' line {}: skipped is '{}', expected 0, 1 or error", path,
               r.line, sk);
    json row = make_row(source, static_cast<int>(pair.get<double>()), r.fields[c_cat], r.fields[c_prompt],
                        r.fields[c_dicom], status);
    if (status == "ok") {
      row[kAbsCnr] = number(r, c_abs);
      row[kCnr] = number(r, c_cnr);
      row[kMiou] = number(r, c_miou);
      row[kAuroc] = number(r, c_auroc);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

json gather_report_data(const ReportInputs& in) {
  const std::string run = fs::absolute(in.run_dir).lexically_normal().string();
  const std::string plan_file = sweep::plan_path(run), job_file = run + "/job.ini";
  LDMG_CHECK(fs::exists(plan_file), "'{}' is not a sweep run folder: {} is missing (a sweep writes it when it starts)",
             run, plan_file);
  LDMG_CHECK(fs::exists(job_file), "'{}' is not a sweep run folder: {} is missing", run, job_file);
  const sweep::SweepPlan plan = sweep::read_plan_file(plan_file);
  const sweep::LedgerState ledger = sweep::read_ledgers(run);
  const analysis::JobIni job = analysis::JobIni::read(job_file);

  std::vector<std::string> configs;
  for (const pipeline::HeatmapConfig& c : analysis::job_heatmap_configs(job)) configs.push_back(c.name());

  // The dataset names the pairs of failed units (their rows were never written).
  std::unique_ptr<data::MsCxrDataset> dataset;
  if (const std::string csv = job.path_or_as_written("dataset", run); !csv.empty()) {
    try {
      dataset = std::make_unique<data::MsCxrDataset>(data::read_ms_cxr(csv));
    } catch (const std::exception& e) {
      log::warn("report: the run's dataset '{}' cannot be read ({}): failed pairs are shown without their prompts", csv,
                e.what());
    }
  }

  json out;
  out["format"] = kReportFormat;
  out["schema_version"] = kReportSchemaVersion;
  out["title"] = fmt::format("ldmground report: {}", fs::path(run).filename().string());
  json metrics = json::array({json::array({"cnr_abs", "|CNR|"}), json::array({"cnr", "CNR"}),
                              json::array({"miou", "mIoU"}), json::array({"auroc", "AUC-ROC"})});
  out["metrics"] = metrics;
  json columns = json::array();
  for (const char* c : kRowColumns) columns.push_back(c);
  out["columns"] = columns;

  // Sources of the run: T-major, then configs in job order.
  json sources = json::array();
  auto source_of = [&](int T, std::size_t c) {
    const auto it = std::find(plan.Ts.begin(), plan.Ts.end(), T);
    LDMG_CHECK(it != plan.Ts.end(), "{}: a unit has T={}, not one of the plan's Ts", plan_file, T);
    return static_cast<int>((it - plan.Ts.begin()) * configs.size() + c);
  };
  for (int T : plan.Ts)
    for (const std::string& c : configs)
      sources.push_back({{"id", sources.size()},
                         {"kind", "run"},
                         {"label", fmt::format("T={} {}", T, c)},
                         {"dir", run},
                         {"T", T},
                         {"config", c},
                         {"partial", false}});

  std::vector<std::vector<pipeline::PairRow>> source_rows(sources.size());
  json rows = json::array(), failures = json::array();
  std::size_t done = 0, failed = 0, pending = 0;
  for (const sweep::SweepUnit& u : plan.units) {
    const auto status = ledger.status(u.id);
    if (!status) {
      ++pending;
      continue;
    }
    if (*status == sweep::UnitStatus::failed) {
      ++failed;
      const sweep::LedgerRecord& rec = ledger.latest.at(u.id);
      failures.push_back({{"unit", u.id},
                          {"T", u.T},
                          {"path", u.path},
                          {"pairs", u.pairs},
                          {"error", rec.error},
                          {"rank", rec.rank},
                          {"time", rec.time}});
      for (int pair : u.pairs) {
        pipeline::PairRow r;
        r.pair = pair;
        r.path = u.path;
        r.error = rec.error.empty() ? "failed" : rec.error;
        if (dataset && pair >= 0 && static_cast<std::size_t>(pair) < dataset->size()) {
          const data::Pair& p = (*dataset)[static_cast<std::size_t>(pair)];
          r.category = p.category;
          r.prompt = p.prompt;
          r.dicom_id = p.dicom_id;
        }
        for (std::size_t c = 0; c < configs.size(); ++c) source_rows[source_of(u.T, c)].push_back(r);
      }
      continue;
    }
    const sweep::UnitResult res = sweep::read_unit_result(run, u.id);
    LDMG_CHECK(res.configs == configs, "{}: unit {} has configs [{}], the job [{}]", sweep::unit_result_path(run, u.id),
               u.id, fmt::format("{}", fmt::join(res.configs, ", ")), fmt::format("{}", fmt::join(configs, ", ")));
    LDMG_CHECK(res.rows.size() == u.pairs.size(), "{}: {} pair rows, the plan's unit has {} pairs",
               sweep::unit_result_path(run, u.id), res.rows.size(), u.pairs.size());
    ++done;
    for (const auto& per_pair : res.rows)
      for (std::size_t c = 0; c < configs.size(); ++c) source_rows[source_of(u.T, c)].push_back(per_pair.at(c));
  }
  const bool complete = pending == 0;

  std::vector<std::string> class_order;
  if (dataset) class_order = dataset->categories();
  for (const auto& per_source : source_rows)
    for (const auto& r : per_source)
      if (!r.category.empty() && std::find(class_order.begin(), class_order.end(), r.category) == class_order.end())
        class_order.push_back(r.category);

  pipeline::ReportOptions ro;
  ro.bootstrap.resamples = std::stoi(job.get_or("bootstrap", "1000"));
  ro.bootstrap.seed = std::stoull(job.get_or("seed", "0"));
  json files = json::object();
  for (std::size_t s = 0; s < sources.size(); ++s) {
    auto& rs = source_rows[s];
    std::sort(rs.begin(), rs.end(), [](const auto& a, const auto& b) { return a.pair < b.pair; });
    for (const auto& r : rs) rows.push_back(row_from_pair_row(static_cast<int>(s), r));
    const std::string finished =
        sweep::results_dir(run, sources[s]["T"].get<int>(), sources[s]["config"].get<std::string>()) + "/summary.json";
    if (complete && fs::exists(finished)) {
      json j = read_json_file(finished);
      if (j.contains("provenance") && j["provenance"].contains("files")) files = j["provenance"]["files"];
      sources[s]["summary"] = summary_for_page(std::move(j));
    } else {
      // Not gathered yet (running, or stopped): the same summary over the pairs done so far.
      ro.title = sources[s]["label"].get<std::string>();
      sources[s]["summary"] = summary_for_page(pipeline::summary_json(rs, class_order, ro, json::object()));
      sources[s]["partial"] = !complete;
    }
  }

  json tables = json::array(), search = json::array(), figures = json::array();
  auto add_scored_dirs = [&](const std::string& root, const std::string& kind) {
    const fs::path base = fs::absolute(root).lexically_normal();
    LDMG_CHECK(fs::is_directory(base), "--{} '{}' is not a folder", kind, root);
    std::size_t found = 0;
    for (const fs::path& d : summary_dirs(base)) {
      json j = read_json_file((d / "summary.json").string());
      const int id = static_cast<int>(sources.size());
      const json prov = j.value("provenance", json::object());
      std::string label = kind + " " + base.filename().string();
      // append, not `"/" + path.string()`: GCC 12 flags that operator+ (an rvalue insert at 0) with a false
      // -Wstringop-overflow after inlining.
      if (d != base) label.append("/").append(d.lexically_relative(base).string());
      json src = {{"id", id},
                  {"kind", kind},
                  {"label", label},
                  {"dir", d.string()},
                  {"partial", false},
                  {"T", prov.contains("T") ? prov["T"] : json(nullptr)},
                  {"config", prov.contains("heatmap_config") ? prov["heatmap_config"] : json(nullptr)},
                  {"summary", summary_for_page(std::move(j))}};
      sources.push_back(std::move(src));
      for (auto& r : rows_from_pairs_csv((d / "pairs.csv").string(), id)) rows.push_back(std::move(r));
      ++found;
    }
    return found;
  };
  for (const std::string& a : in.analysis_dirs) {
    std::size_t found = add_scored_dirs(a, "analysis");
    const fs::path base = fs::absolute(a).lexically_normal();
    if (fs::exists(base / "tables.md")) {
      tables.push_back({{"dir", base.string()}, {"markdown", io::read_file_bytes((base / "tables.md").string())}});
      ++found;
    }
    if (fs::exists(base / "search.json")) {
      search.push_back({{"dir", base.string()}, {"result", read_json_file((base / "search.json").string())}});
      ++found;
    }
    for (const fs::path& png : pngs_in(base)) {
      figures.push_back({{"title", png.lexically_relative(base).string()},
                         {"from", base.string()},
                         {"file", png.string()},
                         {"src", nullptr}});
      ++found;
    }
    LDMG_CHECK(found > 0,
               "--analysis '{}': nothing to show (expected analyze's T<T>/<config>/summary.json, tables.md, "
               "search's search.json, or PNG figures)",
               a);
  }
  for (const std::string& s : in.score_dirs)
    LDMG_CHECK(add_scored_dirs(s, "score") > 0,
               "--score '{}': no summary.json + pairs.csv in it or two levels below "
               "(expected an evaluate-format folder)",
               s);

  // Pathologies only an analysis or score folder has come after the run's.
  for (const json& r : rows)
    if (r[kCategory].is_string() && !r[kCategory].get<std::string>().empty() &&
        std::find(class_order.begin(), class_order.end(), r[kCategory].get<std::string>()) == class_order.end())
      class_order.push_back(r[kCategory].get<std::string>());
  json configs_json = configs;
  out["run"] = {{"dir", run},
                {"units", plan.units.size()},
                {"done", done},
                {"failed", failed},
                {"pending", pending},
                {"complete", complete},
                {"pairs", plan.pairs.size()},
                {"Ts", plan.Ts},
                {"configs", configs_json}};
  out["provenance"] = {{"version", plan.settings.code_version},
                       {"model_digest", plan.settings.model_digest},
                       {"settings", {{"inversion", plan.settings.inversion}, {"outputs", plan.settings.outputs}}},
                       {"files", files},
                       {"job", job_to_json(job_file)},
                       {"runs", read_jsonl(run + "/runs.jsonl")}};
  out["categories"] = class_order;
  out["sources"] = std::move(sources);
  out["rows"] = std::move(rows);
  out["failures"] = std::move(failures);
  out["tables"] = std::move(tables);
  out["search"] = std::move(search);
  out["figures"] = std::move(figures);
  return out;
}

}  // namespace ldmg::report
