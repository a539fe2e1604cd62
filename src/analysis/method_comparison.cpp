#include "analysis/method_comparison.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

#include "core/check.h"
#include "core/version.h"
#include "data/csv.h"
#include "io/file_bytes.h"

namespace ldmg::analysis {

namespace fs = std::filesystem;

namespace {

struct Col {
  const char* key;  // summary.json metric key
  const char* md;
  const char* csv;
  double scale;
};
// Table I's columns; the exact AUC stays in the CSV and JSON.
constexpr Col kCols[] = {{"abs_cnr", "\\|CNR\\|", "abs_cnr", 1.0},
                         {"cnr", "CNR", "cnr", 1.0},
                         {"miou", "mIoU %", "miou_pct", 100.0},
                         {"auroc", "AUC-ROC %", "auroc_pct", 100.0},
                         {"auroc_exact", nullptr, "auroc_exact_pct", 100.0}};

const std::string kAvg = "Avg";

double number(const nlohmann::json& v) {
  return v.is_number() ? v.get<double>() : std::numeric_limits<double>::quiet_NaN();
}

// Checks the keys compare reads, naming the file and the key.
void check_summary(const nlohmann::json& s, const std::string& source) {
  auto need = [&](bool ok, const std::string& key, const char* what) {
    LDMG_CHECK(ok, "'{}' is not a summary.json of evaluate/score/sweep/analyze: key '{}' {}", source, key, what);
  };
  need(s.is_object(), "/", "must be an object");
  need(s.contains("categories") && s["categories"].is_array(), "categories", "must be an array");
  need(s.contains("average") && s["average"].is_object(), "average", "must be an object");
  need(s.contains("pairs") && s["pairs"].contains("scored") && s["pairs"]["scored"].is_number_integer(), "pairs.scored",
       "must be an integer");
  auto metric_block = [&](const nlohmann::json& b, const std::string& where) {
    for (const auto& c : kCols) {
      const std::string k = where + "." + c.key;
      need(b.contains(c.key) && b[c.key].is_object(), k, "must be an object");
      for (const char* f : {"mean", "std"})
        need(b[c.key].contains(f) && (b[c.key][f].is_number() || b[c.key][f].is_null()), k + "." + f,
             "must be a number or null");
    }
  };
  for (std::size_t i = 0; i < s["categories"].size(); ++i) {
    const auto& c = s["categories"][i];
    const std::string where = fmt::format("categories[{}]", i);
    need(c.contains("name") && c["name"].is_string(), where + ".name", "must be a string");
    need(c.contains("n") && c["n"].is_number_integer(), where + ".n", "must be an integer");
    metric_block(c, where);
  }
  metric_block(s["average"], "average");
}

// The block of `name` (a category or Avg) in a summary, or null.
const nlohmann::json* block_of(const nlohmann::json& s, const std::string& name) {
  if (name == kAvg) return &s["average"];
  for (const auto& c : s["categories"])
    if (c["name"].get<std::string>() == name) return &c;
  return nullptr;
}

int n_of(const nlohmann::json& s, const std::string& name) {
  if (name == kAvg) return s["pairs"]["scored"].get<int>();
  const auto* b = block_of(s, name);
  return b ? (*b)["n"].get<int>() : -1;
}

// Two decimals as the paper; huge values (a CNR of nan_to_num's float max: a
// map constant outside the box) in short scientific form.
std::string two_decimals(double v) { return std::abs(v) < 1e6 ? fmt::format("{:.2f}", v) : fmt::format("{:.3g}", v); }

std::string pm(const nlohmann::json* b, const Col& c) {
  if (!b) return "–";
  const double mean = number((*b)[c.key]["mean"]), sd = number((*b)[c.key]["std"]);
  if (std::isnan(mean)) return "n/a";
  return two_decimals(mean * c.scale) + " ± " + two_decimals(sd * c.scale);
}

std::string csvnum(double v, double scale) { return std::isnan(v) ? "" : fmt::format("{}", v * scale); }

}  // namespace

MethodSummary read_method_summary(const std::string& spec) {
  MethodSummary m;
  std::string path = spec;
  const auto eq = spec.find('=');
  if (eq != std::string::npos && !fs::exists(spec)) {
    m.label = spec.substr(0, eq);
    path = spec.substr(eq + 1);
    LDMG_CHECK(!m.label.empty(), "'{}': empty label before '=' (expected LABEL=PATH or PATH)", spec);
  }
  if (fs::is_directory(path)) path = (fs::path(path) / "summary.json").string();
  LDMG_CHECK(fs::is_regular_file(path),
             "'{}': no summary.json there (expected a summary.json or a folder holding one: "
             "evaluate's or score's OUT, a sweep's results/T<T>/<config>/)",
             spec);
  m.source = path;
  try {
    m.summary = nlohmann::json::parse(io::read_file_bytes(path));
  } catch (const nlohmann::json::exception& e) {
    LDMG_FAIL("'{}' is not valid JSON: {}", path, e.what());
  }
  check_summary(m.summary, path);
  if (m.label.empty()) {
    const auto& prov = m.summary.value("provenance", nlohmann::json::object());
    if (prov.is_object() && prov.contains("method") && prov["method"].is_string())
      m.label = prov["method"].get<std::string>();
    else
      m.label = fs::absolute(path).parent_path().filename().string();
  }
  return m;
}

ComparisonTables compare_methods(const std::vector<MethodSummary>& methods) {
  LDMG_CHECK(!methods.empty(), "compare: no summaries given");
  std::vector<std::string> rows;
  for (const auto& m : methods)
    for (const auto& c : m.summary["categories"]) {
      const std::string name = c["name"].get<std::string>();
      if (std::find(rows.begin(), rows.end(), name) == rows.end()) rows.push_back(name);
    }
  rows.push_back(kAvg);

  ComparisonTables t;
  // Markdown: Table I with one column group per method.
  std::string& md = t.markdown;
  md +=
      "# Table I: methods compared\n\nPer pathology, mean ± std over pairs; Avg: mean ± std of the category means "
      "(macro), N = pairs scored.\n\n| Pathology | N |";
  std::string rule = "|---|---|";
  for (const auto& m : methods)
    for (const auto& c : kCols) {
      if (!c.md) continue;
      md += fmt::format(" {} {} |", m.label, c.md);
      rule += "---|";
    }
  md += "\n" + rule + "\n";
  for (const auto& name : rows) {
    std::vector<int> ns;
    for (const auto& m : methods) ns.push_back(n_of(m.summary, name));
    const bool same = std::all_of(ns.begin(), ns.end(), [&](int n) { return n == ns.front(); });
    std::vector<std::string> nt;
    for (int n : ns) nt.push_back(n < 0 ? "–" : std::to_string(n));
    md += fmt::format("| {} | {} |", name, same ? nt.front() : fmt::format("{}", fmt::join(nt, "/")));
    for (const auto& m : methods) {
      const auto* b = block_of(m.summary, name);
      for (const auto& c : kCols)
        if (c.md) md += fmt::format(" {} |", pm(b, c));
    }
    md += "\n";
  }
  md += "\nSources:\n\n";
  for (const auto& m : methods) md += fmt::format("- {}: `{}`\n", m.label, m.source);

  // CSV: one line per method and pathology (long format, for plotting).
  t.csv = "method,pathology,n";
  for (const auto& c : kCols) t.csv += fmt::format(",{0}_mean,{0}_std,{0}_ci95_low,{0}_ci95_high", c.csv);
  t.csv += ",source\n";
  nlohmann::json j;
  j["title"] = "Table I: methods compared";
  j["ldmground_version"] = version_string();
  j["methods"] = nlohmann::json::array();
  for (const auto& m : methods) {
    nlohmann::json jm = {{"label", m.label}, {"source", m.source}};
    if (m.summary.contains("title")) jm["title"] = m.summary["title"];
    nlohmann::json jr = nlohmann::json::array();
    for (const auto& name : rows) {
      const auto* b = block_of(m.summary, name);
      if (!b) continue;
      const int n = n_of(m.summary, name);
      nlohmann::json e = {{"pathology", name}, {"n", n}};
      t.csv += fmt::format("{},{},{}", data::csv_field(m.label), data::csv_field(name), n);
      for (const auto& c : kCols) {
        const auto& v = (*b)[c.key];
        const nlohmann::json ci = v.value("ci95", nlohmann::json::array({nullptr, nullptr}));
        const double lo = ci.is_array() && ci.size() == 2 ? number(ci[0]) : std::nan("");
        const double hi = ci.is_array() && ci.size() == 2 ? number(ci[1]) : std::nan("");
        t.csv += fmt::format(",{},{},{},{}", csvnum(number(v["mean"]), c.scale), csvnum(number(v["std"]), c.scale),
                             csvnum(lo, c.scale), csvnum(hi, c.scale));
        e[c.key] = {{"mean", v["mean"]}, {"std", v["std"]}, {"ci95", ci}};
      }
      t.csv += "," + data::csv_field(m.source) + "\n";
      jr.push_back(e);
    }
    jm["rows"] = jr;
    j["methods"].push_back(jm);
  }
  j["note"] =
      "metric values as in summary.json (fractions, not %); rows in the markdown table follow the first "
      "method's categories";
  t.json = j.dump(2) + "\n";
  return t;
}

void write_comparison(const std::string& out_dir, const ComparisonTables& t) {
  fs::create_directories(out_dir);
  io::write_file_atomic(out_dir + "/compare.md", t.markdown);
  io::write_file_atomic(out_dir + "/compare.csv", t.csv);
  io::write_file_atomic(out_dir + "/compare.json", t.json);
}

}  // namespace ldmg::analysis
